package authz_test

import (
	"context"
	"fmt"
	"testing"

	"entgo.io/ent/dialect"
	"entgo.io/ent/dialect/sql"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"atrium/internal/authz"
	"atrium/internal/viewer"
)

// TestVisibleShapes checks that the list predicates written from their
// templates (internal/sqltemplate) are, for every shape, the text and
// arguments ent's builder renders for the same viewer: a second viewer of
// the same shape gets their own ids, never the first one's.
func TestVisibleShapes(t *testing.T) {
	cached := authz.NewAccess(nil)
	built := authz.NewAccess(nil)
	authz.WithoutShapes(built)
	for _, a := range []*authz.Access{cached, built} {
		a.Register(authz.Conversation, authz.ConversationManage, nil)
		a.Register(authz.Document, authz.DocumentManage, nil)
	}
	render := func(d string, tenant uuid.UUID, p func(*sql.Selector)) (string, []any) {
		s := sql.Dialect(d).Select("*").From(sql.Table("conversations"))
		s.Where(sql.EQ("tenant_id", tenant)) // the privacy filter's argument comes first
		p(s)
		return s.Query()
	}
	newViewer := func(teams int, grants ...string) *viewer.Viewer {
		ts := make([]uuid.UUID, teams)
		for i := range ts {
			ts[i] = uuid.New()
		}
		return &viewer.Viewer{TenantID: uuid.New(), UserID: uuid.New(), Perms: authz.NewSet(grants...).WithTeams(ts)}
	}
	for _, d := range []string{dialect.Postgres, dialect.SQLite} {
		for _, rt := range []authz.ResourceType{authz.Conversation, authz.Document} {
			for teams := range 4 {
				for _, n := range []int{1, 51} {
					for _, after := range []uuid.UUID{uuid.Nil, uuid.New()} {
						name := fmt.Sprintf("%s/%s/teams%d/n%d/after%t", d, rt, teams, n, after != uuid.Nil)
						for i := range 3 { // a miss, then hits
							ctx := viewer.NewContext(context.Background(), newViewer(teams))
							v := viewer.FromContext(ctx)
							wantQ, wantArgs := render(d, v.TenantID, built.VisibleTop(ctx, rt, after, n))
							gotQ, gotArgs := render(d, v.TenantID, cached.VisibleTop(ctx, rt, after, n))
							require.Equal(t, wantQ, gotQ, "%s: top, viewer %d", name, i)
							require.Equal(t, wantArgs, gotArgs, "%s: top, viewer %d", name, i)
							require.Contains(t, gotArgs, v.UserID, name)
							require.Contains(t, gotQ, fmt.Sprintf("LIMIT %d", n), name)
							if after != uuid.Nil {
								require.Contains(t, gotArgs, after, name)
							}
							wantQ, wantArgs = render(d, v.TenantID, built.Visible(ctx, rt))
							gotQ, gotArgs = render(d, v.TenantID, cached.Visible(ctx, rt))
							require.Equal(t, wantQ, gotQ, "%s: visible, viewer %d", name, i)
							require.Equal(t, wantArgs, gotArgs, "%s: visible, viewer %d", name, i)
						}
					}
				}
			}
		}
	}
	t.Run("OKManageSeesAll", func(t *testing.T) {
		ctx := viewer.NewContext(context.Background(), newViewer(1, authz.ConversationManage))
		q, args := render(dialect.Postgres, uuid.New(), cached.VisibleTop(ctx, authz.Conversation, uuid.Nil, 51))
		require.NotContains(t, q, " IN ")
		require.Len(t, args, 1)
	})
}
