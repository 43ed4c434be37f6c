package allocator

import (
	"fmt"
	"math/bits"
	"reflect"
	"strings"
)

// ReprAligner is implemented, on the pointer type, by element types that
// stand for a Rust type with #[repr(align(N))]: ReprAlign returns N, which
// raises the type's alignment above what Go gives it. It must be declared
// on *T (it is called on a nil *T), be a power of two no larger than 1<<29
// (Rust's limit), and divide the type's size, as Rust pads a repr(align)
// type's size to a multiple of its alignment.
//
//	type Page struct{ B [4096]byte }
//	func (*Page) ReprAlign() uint64 { return 4096 }
type ReprAligner interface {
	ReprAlign() uint64
}

// maxReprAlign is the largest alignment #[repr(align(N))] accepts.
const maxReprAlign = 1 << 29

// ArrayLayout is the kernel's ArrayLayout<T> (rust/kernel/alloc/layout.rs):
// the layout of an array of Len elements of T, with the invariant
// Len * size_of::<T>() <= isize::MAX. The zero value is ArrayLayout::empty().
type ArrayLayout[T any] struct {
	n uint64 // elements; n * size_of::<T>() <= isize::MAX
}

// LayoutError is the kernel's LayoutError: an array of Len elements of
// ElemSize bytes overflows usize or exceeds isize::MAX bytes.
type LayoutError struct {
	Len      uint64 // elements asked for
	ElemSize uint64 // bytes per element
}

func (e *LayoutError) Error() string {
	if hi, _ := bits.Mul64(e.Len, e.ElemSize); hi != 0 {
		return fmt.Sprintf("layout error: %d elements of %d bytes overflow usize", e.Len, e.ElemSize)
	}
	return fmt.Sprintf("layout error: %d elements of %d bytes is %d bytes, more than isize::MAX", e.Len, e.ElemSize, e.Len*e.ElemSize)
}

// Is makes a LayoutError match ErrBadSize.
func (e *LayoutError) Is(target error) bool { return target == ErrBadSize }

// NewArrayLayout is ArrayLayout::new: the layout of n elements of T, or a
// *LayoutError when n * size_of::<T>() overflows or exceeds isize::MAX.
// Zero-sized T accepts every n.
//
// Like the doctest in layout.rs:
//
//	NewArrayLayout[int32](15)              // Len() == 15
//	NewArrayLayout[int32](math.MaxInt64)   // error: overflows usize
//	NewArrayLayout[int32](math.MaxInt64/2) // error: more than isize::MAX
func NewArrayLayout[T any](n uint64) (ArrayLayout[T], error) {
	size := elemLayoutOf(reflect.TypeFor[T]()).Size
	if _, ok := arrayBytes(n, size); !ok {
		return ArrayLayout[T]{}, &LayoutError{Len: n, ElemSize: size}
	}
	return ArrayLayout[T]{n: n}, nil
}

// Len returns the number of elements.
func (l ArrayLayout[T]) Len() uint64 { return l.n }

// IsEmpty reports whether the layout holds no elements.
func (l ArrayLayout[T]) IsEmpty() bool { return l.n == 0 }

// Layout converts to a Layout, as From<ArrayLayout<T>> for Layout does
// (Layout::array): Len * size_of::<T>() bytes aligned to align_of::<T>().
func (l ArrayLayout[T]) Layout() Layout {
	e := elemLayoutOf(reflect.TypeFor[T]())
	return Layout{Size: l.n * e.Size, Align: e.Align}
}

// arrayBytes returns n*size when it is at most isize::MAX.
func arrayBytes(n, size uint64) (uint64, bool) {
	hi, lo := bits.Mul64(n, size)
	return lo, hi == 0 && lo <= maxIsize
}

// elemLayoutOf returns size_of and align_of of t, the alignment raised by
// a valid ReprAlign declared on *t. It never fails: an invalid ReprAlign
// is ignored here and refused by elemOf.
func elemLayoutOf(t reflect.Type) Layout {
	l := Layout{Size: uint64(t.Size()), Align: uint64(t.Align())}
	if a, ok := reprAlign(t); ok && isPowerOfTwo(a) && a > l.Align && a <= maxReprAlign {
		l.Align = a
	}
	return l
}

// reprAlign calls ReprAlign on a nil *t when *t (and not t) declares it.
func reprAlign(t reflect.Type) (uint64, bool) {
	if t.Implements(reflect.TypeFor[ReprAligner]()) || !reflect.PointerTo(t).Implements(reflect.TypeFor[ReprAligner]()) {
		return 0, false
	}
	return reflect.Zero(reflect.PointerTo(t)).Interface().(ReprAligner).ReprAlign(), true
}

// elemInfo is what a Box or Vec knows about its element type.
type elemInfo struct {
	layout Layout // size_of and align_of, with any ReprAlign
	name   string // the Rust spelling where there is one: u8, [u32; 4], Huge
}

// zst reports whether the element type is zero-sized.
func (e elemInfo) zst() bool { return e.layout.Size == 0 }

// ElemTypeError says why a type cannot be the element of a Box or Vec.
// Their memory is the simulated machine's RAM, outside the Go heap, where
// the garbage collector neither sees nor updates pointers, so element types
// must hold no Go pointers: only booleans, numbers, and arrays and structs
// of them.
type ElemTypeError struct {
	Type   reflect.Type // the element type refused
	Path   string       // where in Type the problem is: "" for Type itself, ".Name", "[0].Next", ...
	Reason string       // what is wrong there
}

func (e *ElemTypeError) Error() string {
	where := ""
	if e.Path != "" {
		where = " at " + e.Path
	}
	return fmt.Sprintf("element type %v cannot live in kernel memory: %s%s", e.Type, e.Reason, where)
}

// elemOf checks that T can live in kernel memory and describes it.
func elemOf[T any]() (elemInfo, error) {
	t := reflect.TypeFor[T]()
	if path, kind, ok := goPointerIn(t, ""); ok {
		return elemInfo{}, &ElemTypeError{Type: t, Path: path,
			Reason: fmt.Sprintf("%s holds a Go pointer, which the garbage collector cannot follow outside the Go heap (use booleans, numbers, and arrays and structs of them)", kind)}
	}
	if t.Implements(reflect.TypeFor[ReprAligner]()) {
		return elemInfo{}, &ElemTypeError{Type: t, Reason: "ReprAlign must be declared on the pointer type, as it is called on a nil pointer"}
	}
	if a, ok := reprAlign(t); ok {
		switch {
		case !isPowerOfTwo(a) || a > maxReprAlign:
			return elemInfo{}, &ElemTypeError{Type: t, Reason: fmt.Sprintf("ReprAlign %d is not a power of two up to 1<<29", a)}
		case uint64(t.Size())%a != 0:
			return elemInfo{}, &ElemTypeError{Type: t, Reason: fmt.Sprintf("size %d is not a multiple of ReprAlign %d (Rust pads a repr(align) type to its alignment)", t.Size(), a)}
		}
	}
	return elemInfo{layout: elemLayoutOf(t), name: rustTypeName(t)}, nil
}

// goPointerIn finds the first part of t that holds a Go pointer and
// returns its path and what it is ("a string").
func goPointerIn(t reflect.Type, path string) (string, string, bool) {
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128:
		return "", "", false
	case reflect.Array:
		return goPointerIn(t.Elem(), path+"[0]")
	case reflect.Struct:
		for i := range t.NumField() {
			f := t.Field(i)
			if p, k, ok := goPointerIn(f.Type, path+"."+f.Name); ok {
				return p, k, true
			}
		}
		return "", "", false
	case reflect.Interface, reflect.UnsafePointer:
		return path, "an " + t.String(), true
	case reflect.Pointer:
		return path, "a pointer", true
	}
	return path, "a " + t.Kind().String(), true
}

// rustBasicName spells Go's unnamed basic types as Rust does.
func rustBasicName(k reflect.Kind) (string, bool) {
	switch k {
	case reflect.Bool:
		return "bool", true
	case reflect.Int:
		return "isize", true
	case reflect.Int64:
		return "i64", true
	case reflect.Int8:
		return "i8", true
	case reflect.Int16:
		return "i16", true
	case reflect.Int32:
		return "i32", true
	case reflect.Uint, reflect.Uintptr:
		return "usize", true
	case reflect.Uint8:
		return "u8", true
	case reflect.Uint16:
		return "u16", true
	case reflect.Uint32:
		return "u32", true
	case reflect.Uint64:
		return "u64", true
	case reflect.Float32:
		return "f32", true
	case reflect.Float64:
		return "f64", true
	}
	return "", false
}

// rustTypeName names t for event texts: u8 for uint8, [u32; 4] for
// [4]uint32, () for struct{}, and the Go name for named types.
func rustTypeName(t reflect.Type) string {
	if t.Name() != "" && t.PkgPath() != "" {
		return t.Name()
	}
	if n, ok := rustBasicName(t.Kind()); ok {
		return n
	}
	switch t.Kind() {
	case reflect.Array:
		return fmt.Sprintf("[%s; %d]", rustTypeName(t.Elem()), t.Len())
	case reflect.Struct:
		if t.NumField() == 0 {
			return "()"
		}
		fields := make([]string, t.NumField())
		for i := range fields {
			fields[i] = rustTypeName(t.Field(i).Type)
		}
		return "(" + strings.Join(fields, ", ") + ")"
	}
	return t.String()
}
