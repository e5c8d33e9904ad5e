package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"atrium/ent/auditevent"
	"atrium/gen/api"
	"atrium/internal/apptest"
	"atrium/internal/audit"
	"atrium/internal/authz"
	"atrium/internal/ratelimit"
	"atrium/internal/testkit"
	"atrium/internal/viewer"
)

func TestAuditEvents(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, bu *bundle) {
		ctx, admin := bu.ctx, bu.a.Client
		t.Run("OK/ListAndFilter", func(t *testing.T) {
			p, err := admin.ListAuditEvents(ctx, api.ListAuditEventsParams{Action: api.NewOptString("conversation.created")})
			require.NoError(t, err)
			require.Len(t, p.Items, 1)
			e := p.Items[0]
			require.Equal(t, bu.convA.ID, e.ResourceID.Value)
			require.Equal(t, bu.tenantA, e.TenantID.Value)
			require.NotEqual(t, bu.a.UserID, e.Actor.Value, "the actor is a pseudonym")
			require.Len(t, e.Hash, 64)

			mine, err := admin.ListAuditEvents(ctx, api.ListAuditEventsParams{Actor: api.NewOptUUID(bu.a.UserID)})
			require.NoError(t, err)
			require.GreaterOrEqual(t, len(mine.Items), 2) // conversation + message
			for _, e := range mine.Items {
				require.Equal(t, p.Items[0].Actor, e.Actor)
			}
		})
		t.Run("ErrOtherTenantNeverSeen", func(t *testing.T) {
			p, err := bu.b.Client.ListAuditEvents(ctx, api.ListAuditEventsParams{Limit: api.NewOptInt(100)})
			require.NoError(t, err)
			for _, e := range p.Items {
				require.Equal(t, bu.tenantB, e.TenantID.Value)
				require.NotEqual(t, bu.convA.ID, e.ResourceID.Value)
			}
		})
		t.Run("ErrNoPermission", func(t *testing.T) {
			m := bu.env.Member(bu.tenantA, authz.RoleMemberID)
			_, err := m.Client.ListAuditEvents(ctx, api.ListAuditEventsParams{})
			requireStatus(t, err, 403)
		})
		t.Run("OK/ExportNDJSON", func(t *testing.T) {
			req, err := http.NewRequest("GET", bu.env.Server.URL+"/api/v1/audit-events/export", nil)
			require.NoError(t, err)
			req.Header.Set("Authorization", "Bearer "+bu.a.Token)
			res, err := bu.env.Server.Client().Do(req)
			require.NoError(t, err)
			defer res.Body.Close()
			require.Equal(t, 200, res.StatusCode)
			require.Equal(t, "application/x-ndjson", res.Header.Get("Content-Type"))
			var last int64
			n := 0
			sc := bufio.NewScanner(res.Body)
			for sc.Scan() {
				var r audit.Record
				require.NoError(t, json.Unmarshal(sc.Bytes(), &r))
				require.Equal(t, bu.tenantA.String(), r.Chain)
				require.Greater(t, r.Seq, last, "oldest first, in chain order")
				last = r.Seq
				n++
			}
			require.GreaterOrEqual(t, n, 2)
		})
		t.Run("OK/ChainVerifies", func(t *testing.T) {
			reps, err := audit.Verify(ctx, bu.env.App.DB.Client, "")
			require.NoError(t, err)
			for _, r := range reps {
				require.Empty(t, r.Problems, "chain %s", r.Chain)
			}
		})
		t.Run("OK/VerifyChain", func(t *testing.T) {
			got, err := admin.VerifyAuditChain(ctx)
			require.NoError(t, err)
			reps, err := audit.Verify(ctx, bu.env.App.DB.Client, bu.tenantA.String())
			require.NoError(t, err)
			require.True(t, got.Verified)
			require.Equal(t, int64(reps[0].Events), got.Events, "the same verifier as the CLI")
			require.Equal(t, reps[0].Head, got.HeadSeq)
			require.GreaterOrEqual(t, got.Events, int64(2))
			require.False(t, got.BrokenSeq.Set)
			require.False(t, got.Reason.Set)
		})
		t.Run("ErrVerifyNoPermission", func(t *testing.T) {
			for _, role := range []uuid.UUID{authz.RoleMemberID, authz.RoleViewerID} {
				m := bu.env.Member(bu.tenantA, role)
				_, err := m.Client.VerifyAuditChain(ctx)
				requireStatus(t, err, 403)
			}
		})
		// Last: it breaks tenant B's chain.
		t.Run("ErrTampered/OtherTenantNeverRead", func(t *testing.T) {
			_, err := bu.b.Client.CreateConversation(ctx, &api.ConversationCreate{Title: api.NewOptString("B's")})
			require.NoError(t, err)
			db := bu.env.App.DB
			sys := viewer.System(ctx, viewer.ReasonTest)
			ev, err := db.Client.AuditEvent.Query().Where(auditevent.Chain(bu.tenantB.String()),
				auditevent.Action("conversation.created")).Only(sys)
			require.NoError(t, err)
			q := "UPDATE audit_events SET action = ? WHERE id = ?"
			if db.Dialect == "postgres" {
				q = "UPDATE audit_events SET action = $1 WHERE id = $2"
			}
			_, err = db.DB.ExecContext(ctx, q, "conversation.forged", ev.ID)
			require.NoError(t, err)

			got, err := bu.b.Client.VerifyAuditChain(ctx)
			require.NoError(t, err)
			require.False(t, got.Verified)
			require.Equal(t, ev.Seq, got.BrokenSeq.Value)
			require.Equal(t, api.AuditChainVerificationReasonEdited, got.Reason.Value)
			require.Equal(t, ev.Seq, got.HeadSeq, "it stops at the break")

			// A's verification reads only A's rows: B's break is not A's.
			mine, err := admin.VerifyAuditChain(ctx)
			require.NoError(t, err)
			require.True(t, mine.Verified)
			reps, err := audit.Verify(ctx, db.Client, bu.tenantA.String())
			require.NoError(t, err)
			require.Equal(t, int64(reps[0].Events), mine.Events)
		})
	})
}

// TestAuditVerifyRateLimited: verification reads the whole chain, so a
// tenant's admins share one allowance; beyond it, 429 with Retry-After, and
// another tenant's allowance is its own.
func TestAuditVerifyRateLimited(t *testing.T) {
	t.Parallel()
	env := apptest.New(t, testkit.SQLite(t), apptest.WithRateLimits(ratelimit.Config{PerUser: ratelimit.PerHour(1, 1)}))
	ctx := context.Background()
	ta, tb := env.Tenant(), env.Tenant()
	a1, a2 := env.Member(ta.ID, authz.RoleAdminID), env.Member(ta.ID, authz.RoleAdminID)
	_, err := a1.Client.VerifyAuditChain(ctx)
	require.NoError(t, err)
	_, err = a2.Client.VerifyAuditChain(ctx)
	requireStatus(t, err, 429)
	_, err = env.Member(tb.ID, authz.RoleAdminID).Client.VerifyAuditChain(ctx)
	require.NoError(t, err, "tenant B's allowance is not A's")
}
