package heapview

// ResetSeriesForTest forgets the series made, so that a benchmark makes
// them again.
func ResetSeriesForTest(m *Model) { m.series.built = nil }

// ResetColumnsForTest forgets the timeline's columns and each series'
// range and biggest change, so that a
// benchmark draws the timeline as it was drawn before they were kept.
func ResetColumnsForTest(m *Model) {
	m.series.tops, m.series.sums = map[colsKey][]int64{}, map[SeriesKey]seriesSum{}
}
