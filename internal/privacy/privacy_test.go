package privacy_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"atrium/ent"
	"atrium/ent/auditevent"
	"atrium/ent/conversation"
	"atrium/ent/invitation"
	"atrium/ent/message"
	"atrium/ent/migrate"
	"atrium/ent/tenant"
	"atrium/gen/api"
	"atrium/internal/app"
	"atrium/internal/apptest"
	"atrium/internal/audit"
	"atrium/internal/authz"
	"atrium/internal/compliance"
	"atrium/internal/privacy"
	"atrium/internal/testkit"
	"atrium/internal/viewer"
)

// gdprBundle is a person (x) with data in two tenants: a, whose policy
// hands an erased member's resources to the tenant, and b, whose policy
// deletes them; with colleagues in both.
type gdprBundle struct {
	env                    *apptest.Env
	db                     *app.Database
	ctx                    context.Context
	a, b                   *ent.Tenant
	admin, colA, colB, x   *apptest.Member
	xName, xEmail          string
	xConvA, xConvB         uuid.UUID // x's conversations
	colConvA, colConvB     uuid.UUID // colleagues' conversations
	xMsgInColConv, xInvite uuid.UUID
	xDocA, xDocB           uuid.UUID // x's documents
	xAgentA, xAgentB       uuid.UUID // x's agents
	llmUsage               uuid.UUID // x's LLM call, when the schema records them
}

func setupGDPR(t *testing.T, db *app.Database) *gdprBundle {
	t.Helper()
	env := apptest.New(t, db)
	ctx := context.Background()
	sys := env.System()
	c := env.App.DB.Client
	g := &gdprBundle{env: env, db: db, ctx: ctx, a: env.Tenant(), b: env.Tenant()}
	require.NoError(t, c.Tenant.UpdateOne(g.b).SetErasurePolicy(tenant.ErasurePolicyDelete).Exec(sys))
	g.admin = env.Member(g.a.ID, authz.RoleAdminID)
	g.colA = env.Member(g.a.ID, authz.RoleMemberID)
	g.colB = env.Member(g.b.ID, authz.RoleAdminID)
	g.x = env.Member(g.a.ID, authz.RoleMemberID)
	g.xName, g.xEmail = "Ada "+uuid.NewString()[:8], "ada-"+uuid.NewString()[:8]+"@example.com"
	require.NoError(t, c.User.UpdateOneID(g.x.UserID).SetDisplayName(g.xName).SetEmail(g.xEmail).
		SetExternalID("legacy-"+g.xEmail).SetLastTenantID(g.a.ID).Exec(sys))

	// x also belongs to b, with a device and a team in a.
	bctx := viewer.SystemForTenant(ctx, g.b.ID, viewer.ReasonTest)
	actx := viewer.SystemForTenant(ctx, g.a.ID, viewer.ReasonTest)
	require.NoError(t, c.Membership.Create().SetTenantID(g.b.ID).SetUserID(g.x.UserID).SetCreatedBy(g.colB.UserID).SetUpdatedBy(g.colB.UserID).Exec(bctx))
	require.NoError(t, c.MemberRole.Create().SetTenantID(g.b.ID).SetUserID(g.x.UserID).SetRoleID(authz.RoleMemberID).SetCreatedBy(g.colB.UserID).SetUpdatedBy(g.colB.UserID).Exec(bctx))
	require.NoError(t, c.Credential.Create().SetUserID(g.x.UserID).SetCredentialID([]byte("cred-"+g.xEmail)).
		SetPublicKey([]byte{1, 2, 3}).SetName("Ada's phone").SetTransports([]string{"internal"}).Exec(sys))
	team, err := c.Team.Create().SetTenantID(g.a.ID).SetName("Ada's team").SetCreatedBy(g.x.UserID).SetUpdatedBy(g.x.UserID).Save(actx)
	require.NoError(t, err)
	require.NoError(t, c.TeamMember.Create().SetTenantID(g.a.ID).SetTeamID(team.ID).SetUserID(g.x.UserID).SetCreatedBy(g.admin.UserID).SetUpdatedBy(g.admin.UserID).Exec(actx))

	// Conversations through the API (so they are audited), in a.
	g.xConvA = mustConversation(t, g.x, "x in a")
	g.colConvA = mustConversation(t, g.colA, "colleague in a")
	_, err = g.x.Client.ShareConversation(ctx, &api.ShareCreate{SubjectType: api.ShareSubjectTypeUser, SubjectID: g.colA.UserID, Level: api.ShareLevelViewer},
		api.ShareConversationParams{ConversationId: g.xConvA})
	require.NoError(t, err)
	_, err = g.colA.Client.ShareConversation(ctx, &api.ShareCreate{SubjectType: api.ShareSubjectTypeUser, SubjectID: g.x.UserID, Level: api.ShareLevelEditor},
		api.ShareConversationParams{ConversationId: g.colConvA})
	require.NoError(t, err)
	m, err := c.Message.Create().SetTenantID(g.a.ID).SetConversationID(g.colConvA).SetRole(message.RoleUser).
		SetContent("x in a colleague's conversation").SetCreatedBy(g.x.UserID).SetUpdatedBy(g.x.UserID).Save(actx)
	require.NoError(t, err)
	g.xMsgInColConv = m.ID

	// In b, x's conversation is written directly (x's token is for a).
	conv, err := c.Conversation.Create().SetTenantID(g.b.ID).SetTitle("x in b").SetCreatedBy(g.x.UserID).SetUpdatedBy(g.x.UserID).Save(bctx)
	require.NoError(t, err)
	require.NoError(t, c.Message.Create().SetTenantID(g.b.ID).SetConversationID(conv.ID).SetRole(message.RoleUser).SetContent("x in b").
		SetCreatedBy(g.x.UserID).SetUpdatedBy(g.x.UserID).Exec(bctx))
	g.xConvB = conv.ID
	g.colConvB = mustConversation(t, g.colB, "colleague in b")

	doc, err := g.x.Client.CreateDocument(ctx, &api.DocumentCreate{Title: "Ada's notes", Content: "private notes"})
	require.NoError(t, err)
	g.xDocA = doc.ID
	docB, err := c.Document.Create().SetTenantID(g.b.ID).SetTitle("x in b").SetContent("notes").
		SetCreatedBy(g.x.UserID).SetUpdatedBy(g.x.UserID).Save(bctx)
	require.NoError(t, err)
	g.xDocB = docB.ID
	for _, at := range []struct {
		ctx context.Context
		id  uuid.UUID
		out *uuid.UUID
	}{{actx, g.a.ID, &g.xAgentA}, {bctx, g.b.ID, &g.xAgentB}} {
		ag, err := c.Agent.Create().SetTenantID(at.id).SetName("Ada's helper").SetModel("test-model").
			SetCreatedBy(g.x.UserID).SetUpdatedBy(g.x.UserID).Save(at.ctx)
		require.NoError(t, err)
		*at.out = ag.ID
	}

	g.llmUsage = mustLLMUsage(t, db, g.a.ID, g.x.UserID)

	inv, err := c.Invitation.Create().SetTenantID(g.a.ID).SetTokenHash([]byte("0123456789abcdef0123456789abcdef")).
		SetPurpose(invitation.PurposeEnroll).SetRoleID(authz.RoleMemberID).SetEmail("friend-of-ada@example.com").
		SetExpiresAt(time.Now().AddDate(0, 0, 7)).SetCreatedBy(g.x.UserID).SetUpdatedBy(g.x.UserID).Save(actx)
	require.NoError(t, err)
	g.xInvite = inv.ID
	return g
}

// mustLLMUsage records an LLM call of user in tenant when the schema has the
// table (raw SQL: it arrives with the LLM work), else returns uuid.Nil.
func mustLLMUsage(t *testing.T, db *app.Database, tenantID, userID uuid.UUID) uuid.UUID {
	t.Helper()
	var n int
	q := "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'llm_usages'"
	if db.Dialect == dialect.Postgres {
		q = "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'llm_usages'"
	}
	require.NoError(t, db.DB.QueryRow(q).Scan(&n))
	if n == 0 {
		return uuid.Nil
	}
	id := uuid.Must(uuid.NewV7())
	ins := "INSERT INTO llm_usages (id, created_at, updated_at, created_by, updated_by, tenant_id, model, provider, kind, prompt_tokens, completion_tokens) VALUES (?, ?, ?, ?, ?, ?, 'test-model', 'echo', 'completion', 10, 20)"
	if db.Dialect == dialect.Postgres {
		ins = "INSERT INTO llm_usages (id, created_at, updated_at, created_by, updated_by, tenant_id, model, provider, kind, prompt_tokens, completion_tokens) VALUES ($1, $2, $3, $4, $5, $6, 'test-model', 'echo', 'completion', 10, 20)"
	}
	now := time.Now().UTC()
	_, err := db.DB.Exec(ins, id, now, now, userID, userID, tenantID)
	require.NoError(t, err)
	return id
}

func mustConversation(t *testing.T, m *apptest.Member, title string) uuid.UUID {
	t.Helper()
	ctx := context.Background()
	conv, err := m.Client.CreateConversation(ctx, &api.ConversationCreate{Title: api.NewOptString(title)})
	require.NoError(t, err)
	_, err = m.Client.AppendMessage(ctx, &api.MessageCreate{Role: api.MessageRoleUser, Content: title + ": hello"},
		api.AppendMessageParams{ConversationId: conv.ID})
	require.NoError(t, err)
	return conv.ID
}

func requireStatus(t *testing.T, err error, status int) {
	t.Helper()
	require.Error(t, err)
	var se *api.ErrorStatusCode
	require.True(t, errors.As(err, &se), "want a problem response, got %v", err)
	require.Equal(t, status, se.StatusCode, "problem: %+v", se.Response)
}

func requireChainsVerify(t *testing.T, env *apptest.Env) {
	t.Helper()
	reps, err := audit.Verify(context.Background(), env.App.DB.Client, "")
	require.NoError(t, err)
	require.NotEmpty(t, reps)
	for _, r := range reps {
		require.Empty(t, r.Problems, "chain %s", r.Chain)
	}
}

var erase = &api.ErasureConfirm{Confirm: api.ErasureConfirmConfirmERASE}

var eraseMe = api.EraseMeParams{Confirm: api.EraseMeConfirmERASE}

func TestExportMyData(t *testing.T) {
	t.Parallel()
	for _, db := range testkit.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			g := setupGDPR(t, db.Open(t))
			t.Run("OK", func(t *testing.T) {
				out, err := g.x.Client.ExportMyData(g.ctx)
				require.NoError(t, err)
				raw, err := json.Marshal(out)
				require.NoError(t, err)
				for _, k := range privacy.Categories {
					require.Contains(t, out, k)
				}
				var b privacy.Bundle
				require.NoError(t, json.Unmarshal(raw, &b))
				require.Equal(t, privacy.ExportFormatVersion, b.FormatVersion)
				require.False(t, b.ExportedAt.IsZero())
				require.Equal(t, g.x.UserID, b.User.ID)
				require.Equal(t, g.xName, b.User.DisplayName)
				require.Equal(t, g.xEmail, *b.User.Email)
				require.Equal(t, "active", b.User.Status)

				require.Len(t, b.Memberships, 2)
				names := map[uuid.UUID]string{}
				for _, m := range b.Memberships {
					require.Len(t, m.Roles, 1)
					require.Equal(t, "member", m.Roles[0].Name)
					names[m.TenantID] = m.TenantName
				}
				require.Equal(t, map[uuid.UUID]string{g.a.ID: g.a.Name, g.b.ID: g.b.Name}, names)

				require.Len(t, b.Devices, 1)
				require.Equal(t, "Ada's phone", b.Devices[0].Name)
				require.Equal(t, []string{"internal"}, b.Devices[0].Transports)
				require.NotContains(t, string(raw), "public_key")
				require.NotContains(t, string(raw), "credential_id")

				require.Len(t, b.Sessions, 1)
				require.Equal(t, g.x.SessionID, b.Sessions[0].ID)

				convs := map[string]int{}
				for _, c := range b.Resources["conversations"] {
					msgs, _ := c["messages"].([]any)
					convs[c["id"].(string)] = len(msgs)
					require.Equal(t, g.x.UserID.String(), c["created_by"])
				}
				require.Equal(t, map[string]int{g.xConvA.String(): 1, g.xConvB.String(): 1}, convs)
				require.Len(t, b.Resources["messages"], 3) // one in each own conversation, one in a colleague's

				docs := map[string]bool{}
				for _, d := range b.Resources["documents"] {
					docs[d["id"].(string)] = true
				}
				require.Equal(t, map[string]bool{g.xDocA.String(): true, g.xDocB.String(): true}, docs)
				agents := map[string]bool{}
				for _, a := range b.Resources["agents"] {
					agents[a["id"].(string)] = true
				}
				require.Equal(t, map[string]bool{g.xAgentA.String(): true, g.xAgentB.String(): true}, agents)

				dirs := map[string]int{}
				for _, s := range b.Shares {
					dirs[s.Direction]++
				}
				require.Equal(t, map[string]int{"made": 1, "received": 1}, dirs)

				require.NotNil(t, b.LLMUsage.Records)
				if g.llmUsage == uuid.Nil {
					require.Empty(t, b.LLMUsage.Records)
					require.Equal(t, privacy.LLMUsageNote, b.LLMUsage.Note)
				} else {
					require.Len(t, b.LLMUsage.Records, 1)
					require.Equal(t, g.llmUsage.String(), b.LLMUsage.Records[0]["id"])
					require.Equal(t, privacy.LLMUsageRecordedNote, b.LLMUsage.Note)
				}

				actions := map[string]bool{}
				for _, e := range b.AuditEvents {
					actions[e.Action] = true
					require.Equal(t, g.a.ID, *e.TenantID)
				}
				require.True(t, actions["conversation.created"], "actions: %v", actions)
			})
			t.Run("OK/OnlyTheirs", func(t *testing.T) {
				out, err := g.colA.Client.ExportMyData(g.ctx)
				require.NoError(t, err)
				raw, err := json.Marshal(out)
				require.NoError(t, err)
				require.NotContains(t, string(raw), g.xEmail)
				require.NotContains(t, string(raw), g.xConvA.String()+`","status`) // not x's resource
				require.NotContains(t, string(raw), g.xConvB.String())
			})
			t.Run("ErrBadToken", func(t *testing.T) {
				_, err := g.env.Client("not-a-token").ExportMyData(g.ctx)
				requireStatus(t, err, 401)
			})
		})
	}
}

func TestEraseMe(t *testing.T) {
	t.Parallel()
	for _, db := range testkit.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			g := setupGDPR(t, db.Open(t))
			sys := g.env.System()
			c := g.env.App.DB.Client
			_, err := g.x.Client.GetMe(g.ctx)
			require.NoError(t, err)
			require.NoError(t, g.x.Client.EraseMe(g.ctx, eraseMe))

			t.Run("OK/NothingPersonalLeft", func(t *testing.T) {
				found := scanFor(t, g.db, []string{g.x.UserID.String(), g.xEmail, g.xName})
				require.Empty(t, found, "personal data left behind")
				requireChainsVerify(t, g.env)
				u, err := c.User.Get(sys, g.x.UserID)
				require.NoError(t, err)
				require.Equal(t, "erased", string(u.Status))
				require.Empty(t, u.DisplayName)
				require.Nil(t, u.Email)
				require.Nil(t, u.ExternalID)
				require.Nil(t, u.LastTenantID)
				_, ok := audit.Pseudonym(g.ctx, c, g.x.UserID)
				require.False(t, ok, "the actor link must be gone")
				inv, err := c.Invitation.Get(sys, g.xInvite)
				require.NoError(t, err)
				require.Nil(t, inv.Email)
			})
			t.Run("OK/Audited", func(t *testing.T) {
				for _, tn := range []uuid.UUID{g.a.ID, g.b.ID} {
					n, err := c.AuditEvent.Query().Where(auditevent.TenantID(tn), auditevent.Action(privacy.ActionErased), auditevent.ResourceID(g.x.UserID)).Count(sys)
					require.NoError(t, err)
					require.Equal(t, 1, n, "tenant %s records the erasure", tn)
				}
			})
			t.Run("OK/TenantDataIntact", func(t *testing.T) {
				// a transfers: x's conversation stays, owned by the tenant.
				conv, err := c.Conversation.Get(sys, g.xConvA)
				require.NoError(t, err)
				require.Equal(t, uuid.Nil, conv.CreatedBy)
				require.Equal(t, uuid.Nil, conv.UpdatedBy)
				n, err := c.Message.Query().Where(message.ConversationID(g.xConvA)).Count(sys)
				require.NoError(t, err)
				require.Equal(t, 1, n)
				// x's message in a colleague's conversation stays too, authorless.
				msg, err := c.Message.Get(sys, g.xMsgInColConv)
				require.NoError(t, err)
				require.Equal(t, uuid.Nil, msg.CreatedBy)
				doc, err := c.Document.Get(sys, g.xDocA)
				require.NoError(t, err)
				require.Equal(t, uuid.Nil, doc.CreatedBy)
				_, err = c.Document.Get(sys, g.xDocB)
				require.True(t, ent.IsNotFound(err), "%v", err)
				ag, err := c.Agent.Get(sys, g.xAgentA)
				require.NoError(t, err)
				require.Equal(t, uuid.Nil, ag.CreatedBy)
				_, err = c.Agent.Get(sys, g.xAgentB)
				require.True(t, ent.IsNotFound(err), "%v", err)
				// b deletes: x's conversation and its messages are gone.
				_, err = c.Conversation.Get(sys, g.xConvB)
				require.True(t, ent.IsNotFound(err), "%v", err)
				n, err = c.Message.Query().Where(message.ConversationID(g.xConvB)).Count(sys)
				require.NoError(t, err)
				require.Zero(t, n)
				// Colleagues' conversations are untouched.
				for _, id := range []uuid.UUID{g.colConvA, g.colConvB} {
					conv, err := c.Conversation.Get(sys, id)
					require.NoError(t, err)
					require.NotEqual(t, uuid.Nil, conv.CreatedBy)
				}
				n, err = c.Message.Query().Where(message.ConversationID(g.colConvA)).Count(sys)
				require.NoError(t, err)
				require.Equal(t, 2, n)
				got, err := g.colA.Client.GetConversation(g.ctx, api.GetConversationParams{ConversationId: g.colConvA})
				require.NoError(t, err)
				require.Equal(t, g.colConvA, got.ID)
				_, err = g.colB.Client.GetMe(g.ctx)
				require.NoError(t, err)
				n, err = c.Conversation.Query().Where(conversation.TenantID(g.a.ID)).Count(sys)
				require.NoError(t, err)
				require.Equal(t, 2, n)
			})
			t.Run("ErrOldTokenRejected", func(t *testing.T) {
				_, err := g.x.Client.GetMe(g.ctx)
				requireStatus(t, err, 401)
				_, err = g.x.Client.ExportMyData(g.ctx)
				requireStatus(t, err, 401)
			})
			t.Run("ErrNotFound/EraseAgain", func(t *testing.T) {
				requireStatus(t, g.admin.Client.EraseMember(g.ctx, erase, api.EraseMemberParams{UserId: g.x.UserID}), 404)
			})
		})
	}
}

func TestEraseMember(t *testing.T) {
	t.Parallel()
	for _, db := range testkit.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			g := setupGDPR(t, db.Open(t))
			t.Run("ErrConflict/MemberOfAnotherTenant", func(t *testing.T) {
				requireStatus(t, g.admin.Client.EraseMember(g.ctx, erase, api.EraseMemberParams{UserId: g.x.UserID}), 409)
				_, err := g.x.Client.GetMe(g.ctx)
				require.NoError(t, err, "a refused erasure changes nothing")
			})
			t.Run("ErrNotFound/CrossTenant", func(t *testing.T) {
				requireStatus(t, g.admin.Client.EraseMember(g.ctx, erase, api.EraseMemberParams{UserId: g.colB.UserID}), 404)
				requireStatus(t, g.admin.Client.EraseMember(g.ctx, erase, api.EraseMemberParams{UserId: uuid.New()}), 404)
			})
			t.Run("ErrForbidden/NotAnAdmin", func(t *testing.T) {
				requireStatus(t, g.colA.Client.EraseMember(g.ctx, erase, api.EraseMemberParams{UserId: g.admin.UserID}), 403)
			})
			t.Run("OK", func(t *testing.T) {
				require.NoError(t, g.admin.Client.EraseMember(g.ctx, erase, api.EraseMemberParams{UserId: g.colA.UserID}))
				_, err := g.colA.Client.GetMe(g.ctx)
				requireStatus(t, err, 401)
				require.Empty(t, scanFor(t, g.db, []string{g.colA.UserID.String()}))
				requireChainsVerify(t, g.env)
				conv, err := g.env.App.DB.Client.Conversation.Get(g.env.System(), g.colConvA)
				require.NoError(t, err, "a transfers the resources of the erased")
				require.Equal(t, uuid.Nil, conv.CreatedBy)
			})
			t.Run("ErrConflict/LastManager", func(t *testing.T) {
				// The admin may not erase themselves while x still needs someone to manage members.
				requireStatus(t, g.admin.Client.EraseMe(g.ctx, eraseMe), 409)
				_, err := g.admin.Client.GetMe(g.ctx)
				require.NoError(t, err)
			})
		})
	}
}

// TestResourceKindsCoverSchema: every table that records who created its
// rows is either a resource kind (exported, deleted or handed over by
// erasure) or deliberately an organisation table. A new resource type fails
// here until it is one line in privacy's resourceKinds.
func TestResourceKindsCoverSchema(t *testing.T) {
	t.Parallel()
	resources, org := privacy.ResourceTables()
	known := map[string]bool{}
	for _, n := range append(resources, org...) {
		known[n] = true
	}
	for _, tb := range migrate.Tables {
		for _, c := range tb.Columns {
			if c.Name == "created_by" {
				require.True(t, known[tb.Name], "table %s records created_by but is neither a resource kind nor an organisation table in internal/privacy/resource.go", tb.Name)
			}
		}
	}
}

// scanFor reads every column of every table of the database and returns
// "table.column" for each value that contains one of needles, except the
// tombstone user row's id and audit events (whose IDs the chain needs).
func scanFor(t *testing.T, db *app.Database, needles []string) []string {
	t.Helper()
	ctx := context.Background()
	var tablesQ string
	switch db.Dialect {
	case dialect.Postgres:
		tablesQ = "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
	default:
		tablesQ = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
	}
	tables := queryStrings(t, db.DB, tablesQ)
	require.Contains(t, tables, "users")
	var found []string
	for _, table := range tables {
		if table == "audit_events" {
			continue
		}
		rows, err := db.DB.QueryContext(ctx, fmt.Sprintf(`SELECT * FROM %q`, table))
		require.NoError(t, err)
		cols, err := rows.Columns()
		require.NoError(t, err)
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			require.NoError(t, rows.Scan(ptrs...))
			for i, v := range vals {
				s := textOf(v)
				for _, n := range needles {
					if !strings.Contains(strings.ToLower(s), strings.ToLower(n)) {
						continue
					}
					if table == "users" && cols[i] == "id" {
						continue // the tombstone
					}
					found = append(found, fmt.Sprintf("%s.%s = %q", table, cols[i], s))
				}
			}
		}
		require.NoError(t, rows.Err())
		rows.Close()
	}
	return found
}

func textOf(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case []byte:
		if len(x) == 16 {
			return string(x) + " " + uuid.UUID(x).String()
		}
		return string(x)
	case [16]byte:
		return uuid.UUID(x).String()
	default:
		return fmt.Sprint(x)
	}
}

func queryStrings(t *testing.T, db *sql.DB, q string) []string {
	t.Helper()
	rows, err := db.Query(q)
	require.NoError(t, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		require.NoError(t, rows.Scan(&s))
		out = append(out, s)
	}
	require.NoError(t, rows.Err())
	return out
}

// TestCheckGDPR runs the probes of `atrium audit gdpr` on every database
// (the command's own tests use SQLite).
func TestCheckGDPR(t *testing.T) {
	t.Parallel()
	for _, db := range testkit.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			g := setupGDPR(t, db.Open(t))
			ctx := context.Background()
			t.Run("OK", func(t *testing.T) {
				checks := compliance.CheckGDPR(ctx, g.db.Client, g.db.DB, g.db.Dialect, nil)
				require.Len(t, checks, 4)
				for _, c := range checks {
					require.True(t, c.OK, "%s: %v", c.Name, c.Problems)
				}
				// The probes rolled back: x is untouched, and there is no probe tenant.
				_, err := g.x.Client.GetMe(ctx)
				require.NoError(t, err)
				n, err := g.db.Client.Tenant.Query().Count(g.env.System())
				require.NoError(t, err)
				require.Equal(t, 2, n)
			})
			t.Run("ErrPersonalColumn", func(t *testing.T) {
				_, err := g.db.DB.Exec("ALTER TABLE teams ADD COLUMN home_address TEXT")
				require.NoError(t, err)
				checks := compliance.CheckGDPR(ctx, g.db.Client, g.db.DB, g.db.Dialect, nil)
				for _, c := range checks {
					if c.Name == compliance.GDPRMinimisation {
						require.False(t, c.OK)
						require.Equal(t, []string{"unexpected personal-data column teams.home_address"}, c.Problems)
					} else {
						require.True(t, c.OK, "%s: %v", c.Name, c.Problems)
					}
				}
			})
		})
	}
}

// TestErasureChainsInOrder: a person's erasure is recorded in the chain of
// every tenant they belonged to, appended in one order, by tenant id,
// whatever order their memberships come back in. Every transaction then
// takes those chains' locks in the same order, and two erasures of people
// in the same tenants cannot deadlock on them (each would wait for the
// chain the other locked first).
func TestErasureChainsInOrder(t *testing.T) {
	t.Parallel()
	env := apptest.New(t, testkit.Postgres(t))
	c := env.App.DB.Client
	sys := env.System()
	first, second := env.Tenant(), env.Tenant() // ids in this order
	env.Member(first.ID, authz.RoleAdminID)
	env.Member(second.ID, authz.RoleAdminID)
	// x joins the second tenant before the first.
	x := env.Member(second.ID, authz.RoleMemberID)
	fctx := viewer.SystemForTenant(context.Background(), first.ID, viewer.ReasonTest)
	require.NoError(t, c.Membership.Create().SetTenantID(first.ID).SetUserID(x.UserID).SetCreatedBy(x.UserID).SetUpdatedBy(x.UserID).Exec(fctx))
	require.NoError(t, c.MemberRole.Create().SetTenantID(first.ID).SetUserID(x.UserID).SetRoleID(authz.RoleMemberID).
		SetCreatedBy(x.UserID).SetUpdatedBy(x.UserID).Exec(fctx))

	require.NoError(t, x.Client.EraseMe(context.Background(), eraseMe))
	evs, err := c.AuditEvent.Query().Where(auditevent.Action(privacy.ActionErased), auditevent.ResourceID(x.UserID)).
		Order(ent.Asc(auditevent.FieldID)).All(sys) // ids are time-ordered: the order of the appends
	require.NoError(t, err)
	require.Len(t, evs, 2)
	require.Equal(t, []string{first.ID.String(), second.ID.String()}, []string{evs[0].Chain, evs[1].Chain})
	requireChainsVerify(t, env)
}
