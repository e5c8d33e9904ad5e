package httpapi_test

import (
	"bufio"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"atrium/gen/api"
	"atrium/internal/audit"
	"atrium/internal/authz"
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
	})
}
