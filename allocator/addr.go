package allocator

import (
	"fmt"
	"strconv"
)

// Addr is a kernel virtual address as the simulated kernel sees it: a
// direct-map address (DirectMapBase + pfn*PageSize), a vmalloc address
// (VmallocStart + offset), ZeroSizePtr, or 0 (NULL).
type Addr uint64

// Kernel address-space constants (x86_64, 4-level paging, as
// Documentation/arch/x86/x86_64/mm.rst lays them out).
const (
	// DirectMapBase is page_offset_base without KASLR: physical address 0
	// appears here, so pfn N lives at DirectMapBase + N*PAGE_SIZE.
	DirectMapBase Addr = 0xffff888000000000
	// VmallocStart is VMALLOC_START without KASLR.
	VmallocStart Addr = 0xffffc90000000000
	// VmallocEnd is VMALLOC_END (inclusive end ffffe8ffffffffff).
	VmallocEnd Addr = 0xffffe90000000000
	// ZeroSizePtr is what kmalloc(0) returns: ((void *)16).
	ZeroSizePtr Addr = 16
)

// ZeroOrNull reports ZERO_OR_NULL_PTR(a): a <= 16.
func (a Addr) ZeroOrNull() bool { return a <= ZeroSizePtr }

// String prints the address as the kernel's %px does, with a 0x prefix.
func (a Addr) String() string { return string(a.Append(make([]byte, 0, 18))) }

// Append appends the address as String prints it.
func (a Addr) Append(b []byte) []byte {
	if a <= ZeroSizePtr {
		return hexTo(b, uint64(a))
	}
	const digits = "0123456789abcdef"
	b = append(b, "0x"...)
	for shift := 60; shift >= 0; shift -= 4 {
		b = append(b, digits[uint64(a)>>shift&0xf])
	}
	return b
}

// Name prints a pointer as a reader wants it: NULL, ZERO_SIZE_PTR, or
// the address.
func (a Addr) Name() string {
	switch a {
	case 0:
		return "NULL"
	case ZeroSizePtr:
		return "ZERO_SIZE_PTR"
	}
	return a.String()
}

// Size helpers.
const (
	KiB = 1 << 10
	MiB = 1 << 20
	GiB = 1 << 30
)

// FormatBytes prints a byte count the way people say it: 4096 -> "4 KiB",
// 12288 -> "12 KiB", 100 -> "100 B".
func FormatBytes(n uint64) string { return string(appendBytes(nil, n)) }

// HumanBytes prints a byte count rounded to one decimal, as people read
// a total: 64172851 -> "61.2 MiB", 904 -> "904 B".
func HumanBytes(n uint64) string {
	switch {
	case n >= GiB:
		return fmt.Sprintf("%.1f GiB", float64(n)/GiB)
	case n >= MiB:
		return fmt.Sprintf("%.1f MiB", float64(n)/MiB)
	case n >= KiB:
		return fmt.Sprintf("%.1f KiB", float64(n)/KiB)
	}
	return fmt.Sprintf("%d B", n)
}

// appendBytes appends n as FormatBytes prints it.
func appendBytes(b []byte, n uint64) []byte {
	switch {
	case n >= GiB && n%GiB == 0:
		return append(strconv.AppendUint(b, n/GiB, 10), " GiB"...)
	case n >= MiB && n%MiB == 0:
		return append(strconv.AppendUint(b, n/MiB, 10), " MiB"...)
	case n >= KiB && n%KiB == 0:
		return append(strconv.AppendUint(b, n/KiB, 10), " KiB"...)
	}
	return append(strconv.AppendUint(b, n, 10), " B"...)
}

// Count says how many of something there are: Count(1, "page") is
// "1 page", Count(3, "page") is "3 pages". Explanations in every package
// use it, so their plurals agree.
func Count(n uint64, word string) string {
	return strconv.FormatUint(n, 10) + " " + plural(n, word)
}

// plural returns word, with an s unless n is 1: plural(1, "page") is "page".
func plural(n uint64, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}
