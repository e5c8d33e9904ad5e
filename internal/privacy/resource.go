package privacy

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	"entgo.io/ent/dialect/sql/schema"
	"entgo.io/ent/schema/field"
	"github.com/google/uuid"

	"atrium/ent"
	"atrium/ent/agent"
	"atrium/ent/conversation"
	"atrium/ent/document"
	"atrium/ent/kgedge"
	"atrium/ent/kgnode"
	"atrium/ent/knowledgegraph"
	"atrium/ent/message"
	"atrium/ent/migrate"
	"atrium/ent/share"
	"atrium/internal/viewer"
)

// resourceKind is a type of resource people create in a tenant (its table
// has TenantMixin's tenant_id and created_by). Export lists a person's rows
// of every kind; erasure deletes them or hands them to the tenant, per the
// tenant's erasure_policy. A new resource type is one line in resourceKinds.
type resourceKind struct {
	Key       string             // key in the export's "resources" object
	Table     string             // table name
	ShareType share.ResourceType // resource_type of its shares; "" when it cannot be shared
	Children  []childTable       // rows that belong to a resource and go with it
}

// childTable holds rows that belong to a resource of another table (the
// messages of a conversation): exported inside it and deleted with it.
type childTable struct {
	Key   string // key inside the exported resource
	Table string
	FK    string // column naming the parent resource
}

// resourceKinds lists every kind of resource a person creates. Parents come
// before kinds that may be their children, so deletion finds the children
// gone already.
var resourceKinds = []resourceKind{
	{Key: "conversations", Table: conversation.Table, ShareType: share.ResourceTypeConversation,
		Children: []childTable{{Key: "messages", Table: message.Table, FK: message.FieldConversationID}}},
	// Messages the person wrote in other people's conversations.
	{Key: "messages", Table: message.Table},
	{Key: "documents", Table: document.Table, ShareType: share.ResourceTypeDocument},
	{Key: "agents", Table: agent.Table, ShareType: share.ResourceTypeAgent},
	{Key: "knowledge_graphs", Table: knowledgegraph.Table, ShareType: share.ResourceTypeKnowledgeGraph,
		Children: []childTable{
			{Key: "edges", Table: kgedge.Table, FK: kgedge.FieldGraphID},
			{Key: "nodes", Table: kgnode.Table, FK: kgnode.FieldGraphID},
		}},
	// Nodes and edges the person added to other people's graphs.
	{Key: "knowledge_edges", Table: kgedge.Table},
	{Key: "knowledge_nodes", Table: kgnode.Table},
}

// organisationTables are tenant-owned tables whose rows record who set
// something up (created_by) but are the tenant's, not a person's creation:
// erasure hands their authorship to the tenant whatever its policy, and
// export lists what concerns the person in its own category (memberships,
// shares). Every table with created_by is either here or a resource kind;
// a test keeps it so.
var organisationTables = []string{"memberships", "member_roles", "teams", "team_members", "shares", "invitations", "roles", llmUsageTable,
	"service_accounts", "service_account_keys"}

// llmUsageTable records the tokens of each LLM call, by caller (created_by).
// Its rows are the tenant's accounting: export lists them under llm_usage;
// erasure keeps them, with authorship handed to the tenant, whatever the
// policy. Named as a string so that export works whether or not this
// binary's schema has the table yet.
const llmUsageTable = "llm_usages"

// ResourceTables returns the tables of the resource kinds export and
// erasure handle, and the tenant-owned tables that are deliberately not
// resources.
func ResourceTables() (resources, organisation []string) {
	for _, k := range resourceKinds {
		resources = append(resources, k.Table)
		for _, ch := range k.Children {
			resources = append(resources, ch.Table)
		}
	}
	return resources, append([]string(nil), organisationTables...)
}

// querier is what raw SQL needs of an *ent.Client or *ent.Tx (the
// sql/execquery feature).
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// dialectOf returns the dialect of the database behind c without a query of
// its own: the SQL builder of a (never matching) query knows it.
func dialectOf(ctx context.Context, c *ent.Client) (string, error) {
	var d string
	_, err := c.Tenant.Query().Where(func(s *entsql.Selector) {
		d = s.Dialect()
		s.Where(entsql.False())
	}).Exist(viewer.ForUser(ctx, uuid.Nil)) // matches nothing: no bypass needed
	return d, err
}

// Rebind turns ? placeholders into $n ones for PostgreSQL.
func Rebind(dia, q string) string {
	if dia != dialect.Postgres {
		return q
	}
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// tableOf returns ent's description of a table.
func tableOf(name string) *schema.Table {
	for _, t := range migrate.Tables {
		if t.Name == name {
			return t
		}
	}
	return nil
}

// selectRows reads the rows of table matching where as JSON-friendly maps,
// with every column the schema declares.
func selectRows(ctx context.Context, q querier, dia, table, where string, args ...any) ([]map[string]any, error) {
	t := tableOf(table)
	if t == nil {
		return nil, fmt.Errorf("gdpr: unknown table %s", table)
	}
	cols := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		cols[i] = QuoteIdent(c.Name)
	}
	query := fmt.Sprintf("SELECT %s FROM %s WHERE %s ORDER BY %s", strings.Join(cols, ", "), QuoteIdent(table), where, QuoteIdent("id"))
	rows, err := q.QueryContext(ctx, Rebind(dia, query), args...)
	if err != nil {
		return nil, fmt.Errorf("gdpr: read %s: %w", table, err)
	}
	defer rows.Close()
	out := []map[string]any{}
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, fmt.Errorf("gdpr: read %s: %w", table, err)
		}
		row := make(map[string]any, len(cols))
		for i, c := range t.Columns {
			row[c.Name] = jsonValue(c, vals[i])
		}
		out = append(out, row)
	}
	return out, rows.Err()
}

// jsonValue makes a scanned database value readable in JSON the same way on
// SQLite and PostgreSQL.
func jsonValue(c *schema.Column, v any) any {
	switch x := v.(type) {
	case nil:
		return nil
	case [16]byte:
		return uuid.UUID(x).String()
	case time.Time:
		return x.UTC()
	case []byte:
		if c.Type == field.TypeJSON && json.Valid(x) {
			return json.RawMessage(x)
		}
		if c.Type == field.TypeUUID && len(x) == 16 {
			return uuid.UUID(x).String()
		}
		if c.Type == field.TypeString || c.Type == field.TypeEnum || c.Type == field.TypeUUID || c.Type == field.TypeTime {
			if utf8.Valid(x) {
				return string(x)
			}
		}
		return base64.StdEncoding.EncodeToString(x)
	case string:
		if c.Type == field.TypeJSON && json.Valid([]byte(x)) {
			return json.RawMessage(x)
		}
		return x
	default:
		return x
	}
}

// QuoteIdent quotes an identifier; both dialects accept double quotes.
func QuoteIdent(id string) string { return `"` + strings.ReplaceAll(id, `"`, `""`) + `"` }

// exportResources returns the person's resources of every kind, across
// tenants, keyed by kind.
func exportResources(ctx context.Context, q querier, dia string, userID uuid.UUID) (map[string][]map[string]any, error) {
	out := map[string][]map[string]any{}
	for _, k := range resourceKinds {
		rows, err := selectRows(ctx, q, dia, k.Table, QuoteIdent("created_by")+" = ?", userID)
		if err != nil {
			return nil, err
		}
		for _, row := range rows {
			for _, ch := range k.Children {
				kids, err := selectRows(ctx, q, dia, ch.Table, QuoteIdent(ch.FK)+" = ?", row["id"])
				if err != nil {
					return nil, err
				}
				row[ch.Key] = kids
			}
		}
		out[k.Key] = rows
	}
	return out, nil
}

// deleteResources deletes the person's resources in one tenant, with their
// children and the shares of them.
func deleteResources(ctx context.Context, q querier, dia string, tenantID, userID uuid.UUID) error {
	for _, k := range resourceKinds {
		mine := fmt.Sprintf("SELECT %s FROM %s WHERE %s = ? AND %s = ?", QuoteIdent("id"), QuoteIdent(k.Table), QuoteIdent("tenant_id"), QuoteIdent("created_by"))
		for _, ch := range k.Children {
			stmt := fmt.Sprintf("DELETE FROM %s WHERE %s IN (%s)", QuoteIdent(ch.Table), QuoteIdent(ch.FK), mine)
			if _, err := q.ExecContext(ctx, Rebind(dia, stmt), tenantID, userID); err != nil {
				return fmt.Errorf("gdpr: delete %s of %s: %w", ch.Table, k.Table, err)
			}
		}
		if k.ShareType != "" {
			stmt := fmt.Sprintf("DELETE FROM %s WHERE %s = ? AND %s IN (%s)", QuoteIdent(share.Table), QuoteIdent(share.FieldResourceType), QuoteIdent(share.FieldResourceID), mine)
			if _, err := q.ExecContext(ctx, Rebind(dia, stmt), string(k.ShareType), tenantID, userID); err != nil {
				return fmt.Errorf("gdpr: delete shares of %s: %w", k.Table, err)
			}
		}
		stmt := fmt.Sprintf("DELETE FROM %s WHERE %s = ? AND %s = ?", QuoteIdent(k.Table), QuoteIdent("tenant_id"), QuoteIdent("created_by"))
		if _, err := q.ExecContext(ctx, Rebind(dia, stmt), tenantID, userID); err != nil {
			return fmt.Errorf("gdpr: delete %s: %w", k.Table, err)
		}
	}
	return nil
}

// resourceTenants returns the tenants in which the person created resources
// of any kind (also tenants they have left since).
func resourceTenants(ctx context.Context, q querier, dia string, userID uuid.UUID) ([]uuid.UUID, error) {
	seen := map[uuid.UUID]bool{}
	var out []uuid.UUID
	for _, k := range resourceKinds {
		stmt := fmt.Sprintf("SELECT DISTINCT %s FROM %s WHERE %s = ?", QuoteIdent("tenant_id"), QuoteIdent(k.Table), QuoteIdent("created_by"))
		rows, err := q.QueryContext(ctx, Rebind(dia, stmt), userID)
		if err != nil {
			return nil, fmt.Errorf("gdpr: tenants of %s: %w", k.Table, err)
		}
		for rows.Next() {
			var id uuid.UUID
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, err
			}
			if !seen[id] {
				seen[id] = true
				out = append(out, id)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// clearAuthorship hands every row the person created or last changed, in
// every table that records authorship, to the tenant's system identity
// (uuid.Nil). created_by is immutable to services, hence raw SQL.
func clearAuthorship(ctx context.Context, q querier, dia string, userID uuid.UUID) error {
	for _, t := range migrate.Tables {
		for _, c := range t.Columns {
			if c.Name != "created_by" && c.Name != "updated_by" {
				continue
			}
			stmt := fmt.Sprintf("UPDATE %s SET %s = ? WHERE %s = ?", QuoteIdent(t.Name), QuoteIdent(c.Name), QuoteIdent(c.Name))
			if _, err := q.ExecContext(ctx, Rebind(dia, stmt), uuid.Nil, userID); err != nil {
				return fmt.Errorf("gdpr: clear %s.%s: %w", t.Name, c.Name, err)
			}
		}
	}
	return nil
}

// ResourceKeys are the keys of Bundle.Resources, one per resource kind.
func ResourceKeys() []string {
	keys := make([]string, len(resourceKinds))
	for i, k := range resourceKinds {
		keys[i] = k.Key
	}
	return keys
}
