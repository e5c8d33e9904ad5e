package audit

// FastAppends is how many of w's appends took the remembered-head path.
func FastAppends(w *Writer) int64 { return w.fast.Load() }
