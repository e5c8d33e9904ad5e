package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// Document is a text or markdown document of a tenant: context for agents
// and conversations, linked from knowledge graphs.
type Document struct{ ent.Schema }

// Mixin of Document.
func (Document) Mixin() []ent.Mixin { return []ent.Mixin{BaseMixin{}, TenantMixin{}} }

// Fields of Document.
func (Document) Fields() []ent.Field {
	return []ent.Field{
		field.String("title").NotEmpty().MaxRuneLen(300),
		field.Text("content"),
		field.Enum("content_type").NamedValues("Plain", "text/plain", "Markdown", "text/markdown").Default("text/markdown"),
		field.Strings("tags").Optional(),
		field.JSON("metadata", map[string]string{}).Optional(),
	}
}

// Indexes of Document.
func (Document) Indexes() []ent.Index {
	return []ent.Index{index.Fields("tenant_id", "id"), index.Fields("created_by"),
		// A viewer's own rows newest first (authz.Access.VisibleTop).
		index.Fields("tenant_id", "created_by", "id")}
}
