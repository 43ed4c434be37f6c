package allocator

// logEvents returns every event of l, for tests that index and slice them.
func logEvents(l *EventLog) []Event {
	out := make([]Event, l.Len())
	for i := range out {
		out[i] = l.At(i)
	}
	return out
}

// ri returns the realloc decision of e, nil when it has none.
func ri(e Event) *ReallocInfo {
	r, ok := e.Realloc()
	if !ok {
		return nil
	}
	return &r
}
