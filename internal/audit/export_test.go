package audit

// CanonicalOf is canonicalOf, for tests that write events of format 1.
var CanonicalOf = canonicalOf
