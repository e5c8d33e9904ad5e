package compliance

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"time"

	"entgo.io/ent/dialect"
	"github.com/google/uuid"

	"atrium/ent"
	"atrium/ent/actorref"
	"atrium/ent/share"
	"atrium/ent/tenant"
	"atrium/ent/user"
	"atrium/internal/audit"
	"atrium/internal/authz"
	"atrium/internal/cache"
	"atrium/internal/privacy"
	"atrium/internal/session"
	"atrium/internal/viewer"
)

// GDPRCheck is the result of one `atrium audit gdpr` probe.
type GDPRCheck struct {
	Name     string   `json:"name"`
	OK       bool     `json:"ok"`
	Summary  string   `json:"summary"`
	Problems []string `json:"problems,omitempty"`
}

// GDPR check names.
const (
	GDPRExport       = "export"
	GDPRErasure      = "erasure"
	GDPRMinimisation = "minimisation"
	GDPRAudit        = "audit"
)

// AllowedPersonalColumns are the columns that hold personal data on
// purpose: each is exported, and cleared or deleted by erasure (see
// docs/compliance.md). The minimisation check fails on any other column
// whose name suggests personal data.
var AllowedPersonalColumns = map[string]bool{
	"users.email":           true,
	"users.display_name":    true,
	"invitations.email":     true,
	"tenants.name":          true, // an organisation, not a person
	"teams.name":            true,
	"roles.name":            true,
	"credentials.name":      true, // the label a person gave their device
	"agents.name":           true, // an assistant's name
	"knowledge_graphs.name": true, // a graph's title
	"service_accounts.name": true, // a backend service's name, not a person's
}

// personalWords are column-name words that suggest personal data.
var personalWords = map[string]bool{
	"email": true, "mail": true, "name": true, "firstname": true, "lastname": true, "surname": true,
	"fullname": true, "username": true, "phone": true, "mobile": true, "tel": true, "address": true,
	"addr": true, "ip": true, "street": true, "city": true, "zip": true, "postcode": true, "postal": true,
	"birth": true, "birthday": true, "birthdate": true, "dob": true, "age": true, "gender": true,
	"sex": true, "password": true, "passwd": true, "pwd": true, "secret": true, "ssn": true,
	"passport": true, "iban": true, "salary": true, "location": true, "geo": true, "latitude": true,
	"longitude": true, "nationality": true,
}

// personalFragments suggest personal data anywhere in a column name
// ("useremail", "homephone").
var personalFragments = []string{"email", "phone", "password", "passwd", "secret", "address", "birth", "user_agent", "useragent"}

// SuggestsPersonalData reports whether a column name suggests personal data.
func SuggestsPersonalData(column string) bool {
	c := strings.ToLower(column)
	for _, w := range strings.FieldsFunc(c, func(r rune) bool { return r == '_' || r == '-' || r == ' ' }) {
		if personalWords[w] {
			return true
		}
	}
	for _, f := range personalFragments {
		if strings.Contains(c, f) {
			return true
		}
	}
	return false
}

// Column is one column of the live schema.
type Column struct{ Table, Name string }

// LiveColumns lists every column of every table in the live database.
func LiveColumns(ctx context.Context, q querier, dia string) ([]Column, error) {
	var query string
	switch dia {
	case dialect.Postgres:
		query = `SELECT c.table_name, c.column_name FROM information_schema.columns c
			JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
			WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'
			ORDER BY c.table_name, c.ordinal_position`
	case dialect.SQLite:
		query = `SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p
			WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' ORDER BY m.name, p.cid`
	default:
		return nil, fmt.Errorf("gdpr: unsupported dialect %q", dia)
	}
	rows, err := q.QueryContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("gdpr: list columns: %w", err)
	}
	defer rows.Close()
	var out []Column
	for rows.Next() {
		var c Column
		if err := rows.Scan(&c.Table, &c.Name); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// Leftovers lists the columns of the live schema that still hold any of
// needles (as text, anywhere in the value), except those allow accepts.
func Leftovers(ctx context.Context, q querier, dia string, needles []string, allow func(Column) bool) ([]string, error) {
	cols, err := LiveColumns(ctx, q, dia)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, c := range cols {
		if allow != nil && allow(c) {
			continue
		}
		var conds []string
		var args []any
		for _, n := range needles {
			if n == "" {
				continue
			}
			conds = append(conds, fmt.Sprintf("CAST(%s AS TEXT) LIKE ?", privacy.QuoteIdent(c.Name)))
			args = append(args, "%"+n+"%")
		}
		if len(conds) == 0 {
			return nil, nil
		}
		stmt := fmt.Sprintf("SELECT count(*) FROM %s WHERE %s", privacy.QuoteIdent(c.Table), strings.Join(conds, " OR "))
		var n int
		rows, err := q.QueryContext(ctx, privacy.Rebind(dia, stmt), args...)
		if err != nil {
			return nil, fmt.Errorf("gdpr: scan %s.%s: %w", c.Table, c.Name, err)
		}
		if rows.Next() {
			err = rows.Scan(&n)
		}
		rows.Close()
		if err != nil {
			return nil, err
		}
		if n > 0 {
			out = append(out, fmt.Sprintf("%s.%s: %d row(s)", c.Table, c.Name, n))
		}
	}
	return out, nil
}

// CheckGDPR runs the probes of `atrium audit gdpr` on a live database:
// export and erasure of a throwaway person (in a transaction that is rolled
// back), data minimisation of the schema, and the audit trail's integrity.
func CheckGDPR(ctx context.Context, client *ent.Client, db *sql.DB, dia string, log *slog.Logger) []GDPRCheck {
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	exp, era := gdprProbe(ctx, client, dia, log)
	return []GDPRCheck{exp, era, checkMinimisation(ctx, db, dia), checkAudit(ctx, client)}
}

func gdprFailed(name string, err error) GDPRCheck {
	return GDPRCheck{Name: name, Summary: "could not run", Problems: []string{err.Error()}}
}

// gdprProbe creates a throwaway tenant, person and data in a transaction,
// exports and erases them, and rolls everything back.
func gdprProbe(ctx context.Context, client *ent.Client, dia string, log *slog.Logger) (exp, era GDPRCheck) {
	exp, era = GDPRCheck{Name: GDPRExport}, GDPRCheck{Name: GDPRErasure}
	tx, err := client.Tx(ctx)
	if err != nil {
		return gdprFailed(GDPRExport, err), gdprFailed(GDPRErasure, err)
	}
	defer func() { _ = tx.Rollback() }() // a probe never commits
	c := tx.Client()
	// The probe's own session store and resolver start cache goroutines:
	// stop them whatever happens.
	bus := cache.NewLocalBus()
	sessions := session.NewStore(c, bus, log, session.DefaultLifetimes)
	defer sessions.Close()
	resolver := authz.NewResolver(c, bus, log, authz.WithoutCache())
	defer resolver.Close()
	p, err := seedProbe(ctx, tx, dia, log, sessions, resolver)
	if err != nil {
		return gdprFailed(GDPRExport, fmt.Errorf("create probe data: %w", err)), gdprFailed(GDPRErasure, fmt.Errorf("create probe data: %w", err))
	}

	// Export.
	b, err := privacy.BuildBundle(ctx, c, dia, p.userID, time.Now())
	if err != nil {
		exp = gdprFailed(GDPRExport, err)
	} else {
		exp.Problems = p.checkBundle(b)
		exp.OK = len(exp.Problems) == 0
		exp.Summary = "a person's export carries every category and all of their data"
	}

	// Erasure.
	g := privacy.NewGDPR(c, p.sessions, p.resolver, p.writer, log)
	if err := g.EraseInTx(p.ctx, tx, dia, p.userID); err != nil {
		return exp, gdprFailed(GDPRErasure, err)
	}
	era.Summary = "erasure leaves no trace of the person but a tombstone id and audit pseudonyms"
	needles := []string{p.userID.String(), p.email, p.name}
	left, err := Leftovers(viewer.System(ctx, viewer.ReasonCompliance), tx, dia, needles, func(col Column) bool {
		return col.Table == "audit_events" || (col.Table == user.Table && col.Name == user.FieldID)
	})
	if err != nil {
		return exp, gdprFailed(GDPRErasure, err)
	}
	for _, l := range left {
		era.Problems = append(era.Problems, "left behind: "+l)
	}
	u, err := c.User.Get(viewer.System(ctx, viewer.ReasonCompliance), p.userID)
	switch {
	case err != nil:
		era.Problems = append(era.Problems, "the tombstone user row is gone: "+err.Error())
	case u.Status != user.StatusErased:
		era.Problems = append(era.Problems, "the user is not marked erased")
	}
	if n, err := c.ActorRef.Query().Where(actorref.UserID(p.userID)).Count(viewer.System(ctx, viewer.ReasonCompliance)); err != nil || n > 0 {
		era.Problems = append(era.Problems, "the audit pseudonym still leads to the person")
	}
	reps, err := audit.Verify(ctx, c, p.tenantID.String())
	if err != nil {
		era.Problems = append(era.Problems, "audit chain: "+err.Error())
	}
	for _, r := range reps {
		for _, pr := range r.Problems {
			era.Problems = append(era.Problems, "audit chain after erasure: "+pr.String())
		}
	}
	era.OK = len(era.Problems) == 0
	return exp, era
}

// probeData is the throwaway person of a probe.
type probeData struct {
	ctx                                        context.Context // the person signed in
	tenantID, userID, convID, msgID            uuid.UUID
	credID, sessionID, shareID, docID, agentID uuid.UUID
	email, name                                string
	sessions                                   *session.Store
	resolver                                   *authz.Resolver
	writer                                     *audit.Writer
}

func seedProbe(ctx context.Context, tx *ent.Tx, dia string, log *slog.Logger, sessions *session.Store, resolver *authz.Resolver) (*probeData, error) {
	c := tx.Client()
	tag := make([]byte, 8)
	_, _ = rand.Read(tag)
	h := hex.EncodeToString(tag)
	p := &probeData{email: "gdpr-probe-" + h + "@probe.invalid", name: "GDPR Probe " + h}
	p.sessions, p.resolver = sessions, resolver
	p.writer = audit.NewWriter(c, dia, log)
	sys := viewer.System(ctx, viewer.ReasonCompliance)
	t, err := c.Tenant.Create().SetName("Probe workspace").SetSlug("gdpr-probe-" + h).
		SetErasurePolicy(tenant.ErasurePolicyDelete).Save(sys)
	if err != nil {
		return nil, err
	}
	u, err := c.User.Create().SetDisplayName(p.name).SetEmail(p.email).SetLastTenantID(t.ID).Save(sys)
	if err != nil {
		return nil, err
	}
	p.tenantID, p.userID = t.ID, u.ID
	tctx := viewer.SystemForTenant(ctx, t.ID, viewer.ReasonCompliance)
	if err := c.Membership.Create().SetTenantID(t.ID).SetUserID(u.ID).SetCreatedBy(u.ID).SetUpdatedBy(u.ID).Exec(tctx); err != nil {
		return nil, err
	}
	if err := c.MemberRole.Create().SetTenantID(t.ID).SetUserID(u.ID).SetRoleID(authz.RoleAdminID).SetCreatedBy(u.ID).SetUpdatedBy(u.ID).Exec(tctx); err != nil {
		return nil, err
	}
	cred, err := c.Credential.Create().SetUserID(u.ID).SetCredentialID([]byte("gdpr-probe-" + h)).
		SetPublicKey([]byte{1}).SetName("probe key").Save(sys)
	if err != nil {
		return nil, err
	}
	s, err := p.sessions.Create(ctx, tx, session.CreateInput{UserID: u.ID, TenantID: t.ID, CredentialID: &cred.ID, AMR: []string{"hwk"}})
	if err != nil {
		return nil, err
	}
	p.credID, p.sessionID = cred.ID, s.ID
	p.ctx = viewer.NewContext(ctx, &viewer.Viewer{UserID: u.ID, TenantID: t.ID, SessionID: s.ID})
	conv, err := c.Conversation.Create().SetTenantID(t.ID).SetTitle("probe").SetCreatedBy(u.ID).SetUpdatedBy(u.ID).Save(tctx)
	if err != nil {
		return nil, err
	}
	msg, err := c.Message.Create().SetTenantID(t.ID).SetConversationID(conv.ID).SetRole("user").SetContent("probe").
		SetCreatedBy(u.ID).SetUpdatedBy(u.ID).Save(tctx)
	if err != nil {
		return nil, err
	}
	p.convID, p.msgID = conv.ID, msg.ID
	doc, err := c.Document.Create().SetTenantID(t.ID).SetTitle("probe").SetContent("probe").
		SetCreatedBy(u.ID).SetUpdatedBy(u.ID).Save(tctx)
	if err != nil {
		return nil, err
	}
	p.docID = doc.ID
	ag, err := c.Agent.Create().SetTenantID(t.ID).SetName("probe").SetModel("probe").
		SetCreatedBy(u.ID).SetUpdatedBy(u.ID).Save(tctx)
	if err != nil {
		return nil, err
	}
	p.agentID = ag.ID
	team, err := c.Team.Create().SetTenantID(t.ID).SetName("probe team").SetCreatedBy(u.ID).SetUpdatedBy(u.ID).Save(tctx)
	if err != nil {
		return nil, err
	}
	sh, err := c.Share.Create().SetTenantID(t.ID).SetResourceType(share.ResourceTypeConversation).SetResourceID(conv.ID).
		SetSubjectType(share.SubjectTypeTeam).SetSubjectID(team.ID).SetLevel(share.LevelViewer).
		SetCreatedBy(u.ID).SetUpdatedBy(u.ID).Save(tctx)
	if err != nil {
		return nil, err
	}
	p.shareID = sh.ID
	if err := p.writer.Record(p.ctx, tx, audit.Event{Action: "gdpr.probe", ResourceType: "conversation", ResourceID: conv.ID}); err != nil {
		return nil, err
	}
	return p, nil
}

// checkBundle lists what the probe person's export lacks.
func (p *probeData) checkBundle(b *privacy.Bundle) []string {
	var problems []string
	raw, err := json.Marshal(b)
	if err != nil {
		return []string{"the bundle does not encode: " + err.Error()}
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		return []string{"the bundle does not decode: " + err.Error()}
	}
	for _, k := range privacy.Categories {
		if _, ok := top[k]; !ok {
			problems = append(problems, "missing category "+k)
		}
	}
	if b.User.ID != p.userID || b.User.Email == nil || *b.User.Email != p.email || b.User.DisplayName != p.name {
		problems = append(problems, "user: profile incomplete")
	}
	if len(b.Memberships) != 1 || b.Memberships[0].TenantID != p.tenantID || len(b.Memberships[0].Roles) != 1 {
		problems = append(problems, "memberships: the probe tenant membership and its role are missing")
	}
	if len(b.Devices) != 1 || b.Devices[0].ID != p.credID {
		problems = append(problems, "devices: the probe device is missing")
	}
	if len(b.Sessions) != 1 || b.Sessions[0].ID != p.sessionID {
		problems = append(problems, "sessions: the probe session is missing")
	}
	found := false
	for _, r := range b.Resources["conversations"] {
		if r["id"] == p.convID.String() {
			msgs, _ := r["messages"].([]map[string]any)
			found = len(msgs) == 1 && msgs[0]["id"] == p.msgID.String()
		}
	}
	if !found {
		problems = append(problems, "resources: the probe conversation with its message is missing")
	}
	for _, k := range privacy.ResourceKeys() {
		if _, ok := b.Resources[k]; !ok {
			problems = append(problems, "resources: no "+k)
		}
	}
	if docs := b.Resources["documents"]; len(docs) != 1 || docs[0]["id"] != p.docID.String() {
		problems = append(problems, "resources: the probe document is missing")
	}
	if agents := b.Resources["agents"]; len(agents) != 1 || agents[0]["id"] != p.agentID.String() {
		problems = append(problems, "resources: the probe agent is missing")
	}
	if len(b.Shares) != 1 || b.Shares[0].ID != p.shareID {
		problems = append(problems, "shares: the probe share is missing")
	}
	if b.LLMUsage.Records == nil || b.LLMUsage.Note == "" {
		problems = append(problems, "llm_usage: no list or note")
	}
	if len(b.AuditEvents) == 0 {
		problems = append(problems, "audit_events: the probe's event is missing")
	}
	return problems
}

func checkMinimisation(ctx context.Context, db *sql.DB, dia string) GDPRCheck {
	ch := GDPRCheck{Name: GDPRMinimisation, Summary: "no column suggests personal data beyond the documented ones"}
	cols, err := LiveColumns(ctx, db, dia)
	if err != nil {
		return gdprFailed(GDPRMinimisation, err)
	}
	for _, c := range cols {
		key := c.Table + "." + c.Name
		if SuggestsPersonalData(c.Name) && !AllowedPersonalColumns[key] {
			ch.Problems = append(ch.Problems, "unexpected personal-data column "+key)
		}
	}
	sort.Strings(ch.Problems)
	ch.OK = len(ch.Problems) == 0
	return ch
}

func checkAudit(ctx context.Context, client *ent.Client) GDPRCheck {
	ch := GDPRCheck{Name: GDPRAudit, Summary: "every audit chain verifies"}
	reps, err := audit.Verify(ctx, client, "")
	if err != nil {
		return gdprFailed(GDPRAudit, err)
	}
	events := 0
	for _, r := range reps {
		events += r.Events
		for _, p := range r.Problems {
			ch.Problems = append(ch.Problems, p.String())
		}
	}
	ch.Summary = fmt.Sprintf("%d chain(s), %d event(s) verify", len(reps), events)
	ch.OK = len(ch.Problems) == 0
	return ch
}

// querier is what raw SQL needs of a *sql.DB, an *ent.Client or an *ent.Tx.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}
