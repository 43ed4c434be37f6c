package allocator

import (
	"errors"
	"math"
	"strings"
	"testing"
	"unsafe"
)

// TestArrayLayoutNew is the layout.rs doctest of ArrayLayout::new.
func TestArrayLayoutNew(t *testing.T) {
	l, err := NewArrayLayout[int32](15)
	if err != nil || l.Len() != 15 {
		t.Fatalf("ArrayLayout::<i32>::new(15) = %v, %v; want len 15", l.Len(), err)
	}
	if got := l.Layout(); got != (Layout{Size: 60, Align: 4}) {
		t.Errorf("Layout::from(ArrayLayout::<i32>::new(15)) = %+v, want 60 bytes aligned to 4", got)
	}
	_, err = NewArrayLayout[int32](math.MaxInt64)
	var le *LayoutError
	if !errors.As(err, &le) || !strings.Contains(err.Error(), "overflow usize") {
		t.Errorf("ArrayLayout::<i32>::new(isize::MAX) error = %v, want a LayoutError for the overflow", err)
	}
	_, err = NewArrayLayout[int32](math.MaxInt64 / 2)
	if !errors.As(err, &le) || !strings.Contains(err.Error(), "more than isize::MAX") {
		t.Errorf("ArrayLayout::<i32>::new(isize::MAX / 2) error = %v, want a LayoutError for exceeding isize::MAX", err)
	}
	if !errors.Is(err, ErrBadSize) {
		t.Errorf("LayoutError does not match ErrBadSize")
	}
}

func TestArrayLayoutBoundary(t *testing.T) {
	// isize::MAX / 4 elements of 4 bytes is isize::MAX - 3 bytes: allowed;
	// one more is not.
	if _, err := NewArrayLayout[uint32](math.MaxInt64 / 4); err != nil {
		t.Errorf("isize::MAX/4 u32s: %v", err)
	}
	if _, err := NewArrayLayout[uint32](math.MaxInt64/4 + 1); err == nil {
		t.Errorf("isize::MAX/4 + 1 u32s: no error")
	}
	if l, err := NewArrayLayout[struct{}](math.MaxUint64); err != nil || l.Layout().Size != 0 {
		t.Errorf("zero-sized elements: any length is allowed, got %v", err)
	}
	var empty ArrayLayout[uint64]
	if !empty.IsEmpty() || empty.Layout() != (Layout{Size: 0, Align: 8}) {
		t.Errorf("ArrayLayout::empty() = %+v", empty.Layout())
	}
}

type align128 struct{ B [1024]byte }

func (*align128) ReprAlign() uint64 { return 128 }

type badAlignValue struct{ B [64]byte }

func (badAlignValue) ReprAlign() uint64 { return 64 }

type badAlignSize struct{ B [100]byte }

func (*badAlignSize) ReprAlign() uint64 { return 64 }

type badAlignPow struct{ B [96]byte }

func (*badAlignPow) ReprAlign() uint64 { return 48 }

func TestReprAlign(t *testing.T) {
	if l, _ := NewArrayLayout[align128](3); l.Layout() != (Layout{Size: 3072, Align: 128}) {
		t.Errorf("[align128; 3] = %+v, want 3072 bytes aligned to 128", l.Layout())
	}
	for _, tc := range []struct {
		err  error
		want string
	}{
		{second(elemOf[badAlignValue]()), "declared on the pointer type"},
		{second(elemOf[badAlignSize]()), "size 100 is not a multiple of ReprAlign 64"},
		{second(elemOf[badAlignPow]()), "ReprAlign 48 is not a power of two"},
	} {
		var te *ElemTypeError
		if !errors.As(tc.err, &te) || !strings.Contains(tc.err.Error(), tc.want) {
			t.Errorf("error = %v, want an ElemTypeError containing %q", tc.err, tc.want)
		}
	}
}

func second[A, B any](_ A, b B) B { return b }

type withString struct {
	N    int
	Name string
}

type nested struct {
	A [2]struct {
		X uint64
		P *int
	}
}

func TestElemTypesWithGoPointersAreRefused(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{second(elemOf[*int]()), "element type *int cannot live in kernel memory: a pointer holds a Go pointer"},
		{second(elemOf[string]()), "a string holds a Go pointer"},
		{second(elemOf[[]byte]()), "a slice holds a Go pointer"},
		{second(elemOf[withString]()), "a string holds a Go pointer, which the garbage collector cannot follow outside the Go heap (use booleans, numbers, and arrays and structs of them) at .Name"},
		{second(elemOf[nested]()), "a pointer holds a Go pointer, which the garbage collector cannot follow outside the Go heap (use booleans, numbers, and arrays and structs of them) at .A[0].P"},
		{second(elemOf[struct{ U unsafe.Pointer }]()), "an unsafe.Pointer holds a Go pointer"},
		{second(elemOf[[4]map[int]int]()), "a map holds a Go pointer"},
		{second(elemOf[any]()), "an interface {} holds a Go pointer"},
		{second(elemOf[func()]()), "a func holds a Go pointer"},
		{second(elemOf[chan int]()), "a chan holds a Go pointer"},
	} {
		var te *ElemTypeError
		if !errors.As(tc.err, &te) || !strings.Contains(tc.err.Error(), tc.want) {
			t.Errorf("error = %v, want an ElemTypeError containing %q", tc.err, tc.want)
		}
	}
	for _, ok := range []error{
		second(elemOf[uint8]()), second(elemOf[[3]struct{ A, B float64 }]()), second(elemOf[struct{}]()),
		second(elemOf[uintptr]()), second(elemOf[complex128]()), second(elemOf[align128]()),
	} {
		if ok != nil {
			t.Errorf("pointer-free type refused: %v", ok)
		}
	}
}

func TestRustTypeNames(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{first(elemOf[uint8]()).name, "u8"},
		{first(elemOf[int32]()).name, "i32"},
		{first(elemOf[int]()).name, "isize"},
		{first(elemOf[[4]uint32]()).name, "[u32; 4]"},
		{first(elemOf[struct{}]()).name, "()"},
		{first(elemOf[struct{ A, B uint16 }]()).name, "(u16, u16)"},
		{first(elemOf[align128]()).name, "align128"},
	} {
		if tc.got != tc.want {
			t.Errorf("name %q, want %q", tc.got, tc.want)
		}
	}
}

func first[A, B any](a A, _ B) A { return a }
