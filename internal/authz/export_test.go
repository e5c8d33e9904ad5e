package authz

// WithoutShapes makes a render its list predicates with ent's builder on
// every call, as before internal/sqltemplate: the reference its templates
// are compared with.
func WithoutShapes(a *Access) { a.shapes = nil }
