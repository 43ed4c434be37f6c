//go:build unix && !linux

package allocator

// mapNoReserve is 0 where MAP_NORESERVE does not exist: a PROT_NONE
// anonymous reservation is not committed memory there either.
const mapNoReserve = 0

// hostMapLimit returns 0: these hosts have no vm.max_map_count to read.
func hostMapLimit() int64 { return 0 }
