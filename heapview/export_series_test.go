package heapview

// ResetSeriesForTest forgets the series made, so that a benchmark makes
// them again.
func ResetSeriesForTest(m *Model) { m.series.built = nil }
