package resource_test

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"atrium/ent"
	"atrium/ent/auditevent"
	"atrium/ent/kgnode"
	"atrium/ent/share"
	"atrium/internal/app"
	"atrium/internal/audit"
	"atrium/internal/authz"
	"atrium/internal/fault"
	"atrium/internal/resource"
	"atrium/internal/testkit"
	"atrium/internal/viewer"

	_ "atrium/ent/runtime"
)

// The shared mechanism over a real table: knowledge graphs, whose nodes
// belong to them (Spec.Cascade).
type testBundle struct {
	c      *ent.Client
	graphs *resource.Kind[*ent.KnowledgeGraph]
	tenant uuid.UUID
}

func setup(t *testing.T) *testBundle {
	t.Helper()
	return setupOn(t, testkit.SQLite(t))
}

func setupOn(t *testing.T, db *app.Database) *testBundle {
	t.Helper()
	access := authz.NewAccess(db.Client)
	w := audit.NewWriter(db.Client, db.Dialect, slog.New(slog.NewTextHandler(io.Discard, nil)))
	b := &testBundle{c: db.Client, graphs: resource.Register(resource.Deps{Client: db.Client, Audit: w, Access: access},
		resource.Spec[*ent.KnowledgeGraph]{Type: authz.KnowledgeGraph, Manage: authz.KnowledgeManage,
			Actions: "knowledge",
			ID:      func(g *ent.KnowledgeGraph) uuid.UUID { return g.ID },
			Cascade: func(ctx context.Context, tx *ent.Tx, id uuid.UUID) error {
				_, err := tx.KGNode.Delete().Where(kgnode.GraphID(id)).Exec(ctx)
				return err
			}},
		func(c *ent.Client) *ent.KnowledgeGraphClient { return c.KnowledgeGraph })}
	b.tenant = b.newTenant(t)
	return b
}

func (b *testBundle) newTenant(t *testing.T) uuid.UUID {
	t.Helper()
	id := uuid.Must(uuid.NewV7())
	tn, err := b.c.Tenant.Create().SetName("T").SetSlug("t-" + id.String()).Save(viewer.System(context.Background(), viewer.ReasonTest))
	require.NoError(t, err)
	return tn.ID
}

// as is a member of the tenant holding grants, in teams.
func (b *testBundle) as(tenant, user uuid.UUID, teams []uuid.UUID, grants ...string) context.Context {
	return viewer.NewContext(context.Background(), &viewer.Viewer{UserID: user, TenantID: tenant,
		Perms: authz.NewSet(grants...).WithTeams(teams)})
}

func (b *testBundle) sys() context.Context {
	return viewer.SystemForTenant(context.Background(), b.tenant, viewer.ReasonTest)
}

// mustGraph creates a graph owned by ctx's viewer, with one node.
func (b *testBundle) mustGraph(t *testing.T, ctx context.Context) *ent.KnowledgeGraph {
	t.Helper()
	g, err := b.graphs.Create(ctx, func(tx *ent.Tx) (*ent.KnowledgeGraph, error) {
		return tx.KnowledgeGraph.Create().SetName("g").Save(ctx)
	})
	require.NoError(t, err)
	require.NoError(t, b.c.KGNode.Create().SetGraphID(g.ID).SetType("t").SetLabel("l").Exec(ctx))
	return g
}

func (b *testBundle) mustShare(t *testing.T, id uuid.UUID, st share.SubjectType, subject uuid.UUID, l share.Level) {
	t.Helper()
	require.NoError(t, b.c.Share.Create().SetResourceType(authz.KnowledgeGraph).SetResourceID(id).
		SetSubjectType(st).SetSubjectID(subject).SetLevel(l).Exec(b.sys()))
}

func (b *testBundle) rename(ctx context.Context, id uuid.UUID) error {
	_, err := b.graphs.Update(ctx, id, nil, func(tx *ent.Tx) (*ent.KnowledgeGraph, error) {
		return tx.KnowledgeGraph.UpdateOneID(id).SetName("renamed").Save(ctx)
	})
	return err
}

// expect checks what ctx's viewer may do to the graph: read (and see it in
// a list), update, delete, tried in that order (a delete that succeeds
// deletes it).
func (b *testBundle) expect(t *testing.T, ctx context.Context, id uuid.UUID, want [3]fault.Code) {
	t.Helper()
	if want[0] == ok {
		require.Equal(t, []uuid.UUID{id}, b.listed(t, ctx))
	} else {
		require.Empty(t, b.listed(t, ctx))
	}
	_, err := b.graphs.Get(ctx, id)
	got := [3]fault.Code{code(err), code(b.rename(ctx, id))}
	got[2] = code(b.graphs.Delete(ctx, id))
	require.Equal(t, want, got)
}

func (b *testBundle) listed(t *testing.T, ctx context.Context) []uuid.UUID {
	t.Helper()
	p, err := b.graphs.List(ctx, "", 100)
	require.NoError(t, err)
	var ids []uuid.UUID
	for _, g := range p.Items {
		ids = append(ids, g.ID)
	}
	return ids
}

// ok is the code of no error.
const ok = fault.Code("")

func code(err error) fault.Code {
	if err == nil {
		return ok
	}
	return fault.CodeOf(err)
}

func TestKind(t *testing.T) {
	t.Parallel()
	read := []string{authz.KnowledgeRead, authz.KnowledgeUpdate, authz.KnowledgeDelete}

	t.Run("OK/Owner", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		owner := b.as(b.tenant, uuid.New(), nil, read...)
		g := b.mustGraph(t, owner)
		b.expect(t, owner, g.ID, [3]fault.Code{ok, ok, ok})
		n, err := b.c.KnowledgeGraph.Query().Count(b.sys())
		require.NoError(t, err)
		require.Zero(t, n)
	})

	t.Run("OK/SharedWithUser", func(t *testing.T) {
		t.Parallel()
		for _, tc := range []struct {
			level     share.Level
			read, upd fault.Code
			del       fault.Code
		}{
			{share.LevelViewer, ok, fault.Forbidden, fault.Forbidden},
			{share.LevelEditor, ok, ok, fault.Forbidden},
			{share.LevelOwner, ok, ok, ok},
		} {
			t.Run(string(tc.level), func(t *testing.T) {
				t.Parallel()
				b := setup(t)
				g := b.mustGraph(t, b.as(b.tenant, uuid.New(), nil, read...))
				user := uuid.New()
				b.mustShare(t, g.ID, share.SubjectTypeUser, user, tc.level)
				ctx := b.as(b.tenant, user, nil, read...)
				b.expect(t, ctx, g.ID, [3]fault.Code{tc.read, tc.upd, tc.del})
			})
		}
	})

	t.Run("OK/SharedWithTeam", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		g := b.mustGraph(t, b.as(b.tenant, uuid.New(), nil, read...))
		team, other := uuid.New(), uuid.New()
		b.mustShare(t, g.ID, share.SubjectTypeTeam, team, share.LevelEditor)
		inTeam := b.as(b.tenant, uuid.New(), []uuid.UUID{other, team}, read...)
		b.expect(t, inTeam, g.ID, [3]fault.Code{ok, ok, fault.Forbidden})

		notInTeam := b.as(b.tenant, uuid.New(), []uuid.UUID{other}, read...)
		b.expect(t, notInTeam, g.ID, [3]fault.Code{fault.NotFound, fault.NotFound, fault.NotFound})
	})

	t.Run("OK/Manage", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		g := b.mustGraph(t, b.as(b.tenant, uuid.New(), nil, read...))
		admin := b.as(b.tenant, uuid.New(), nil, authz.KnowledgeManage)
		b.expect(t, admin, g.ID, [3]fault.Code{ok, ok, ok})
	})

	t.Run("ErrNotFound/NotVisible", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		g := b.mustGraph(t, b.as(b.tenant, uuid.New(), nil, read...))
		// Another type's manage permission and a share of another resource
		// give nothing.
		user := uuid.New()
		b.mustShare(t, uuid.New(), share.SubjectTypeUser, user, share.LevelOwner)
		stranger := b.as(b.tenant, user, nil, append(read, authz.DocumentManage)...)
		b.expect(t, stranger, g.ID, [3]fault.Code{fault.NotFound, fault.NotFound, fault.NotFound})
	})

	t.Run("ErrNotFound/OtherTenant", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		g := b.mustGraph(t, b.as(b.tenant, uuid.New(), nil, read...))
		admin := b.as(b.newTenant(t), uuid.New(), nil, "*")
		b.expect(t, admin, g.ID, [3]fault.Code{fault.NotFound, fault.NotFound, fault.NotFound})
	})

	t.Run("OK/DeleteTakesSharesAndContent", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		owner := b.as(b.tenant, uuid.New(), nil, read...)
		g, keep := b.mustGraph(t, owner), b.mustGraph(t, owner)
		b.mustShare(t, g.ID, share.SubjectTypeUser, uuid.New(), share.LevelViewer)
		b.mustShare(t, keep.ID, share.SubjectTypeUser, uuid.New(), share.LevelViewer)
		require.NoError(t, b.graphs.Delete(owner, g.ID))
		shares, err := b.c.Share.Query().All(b.sys())
		require.NoError(t, err)
		require.Len(t, shares, 1)
		require.Equal(t, keep.ID, shares[0].ResourceID)
		nodes, err := b.c.KGNode.Query().All(b.sys())
		require.NoError(t, err)
		require.Len(t, nodes, 1)
		require.Equal(t, keep.ID, nodes[0].GraphID)
	})

	t.Run("OK/Audited", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		owner := b.as(b.tenant, uuid.New(), nil, read...)
		g := b.mustGraph(t, owner)
		require.NoError(t, b.rename(owner, g.ID))
		require.NoError(t, b.graphs.Delete(owner, g.ID))
		evs, err := b.c.AuditEvent.Query().Where(auditevent.ResourceID(g.ID)).Order(ent.Asc(auditevent.FieldID)).All(b.sys())
		require.NoError(t, err)
		var actions []string
		for _, e := range evs {
			require.Equal(t, "knowledge_graph", e.ResourceType)
			actions = append(actions, e.Action)
		}
		require.Equal(t, []string{"knowledge.created", "knowledge.updated", "knowledge.deleted"}, actions)
	})

	t.Run("ErrRollback", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		owner := b.as(b.tenant, uuid.New(), nil, read...)
		g := b.mustGraph(t, owner)
		_, err := b.graphs.Update(owner, g.ID, func(context.Context) error {
			return fault.Fields(fault.FieldError{Field: "document_ids", Message: "document not found"})
		}, func(tx *ent.Tx) (*ent.KnowledgeGraph, error) {
			t.Fatal("save ran after a failed check")
			return nil, nil
		})
		require.Equal(t, fault.Invalid, fault.CodeOf(err))
		got, err := b.graphs.Get(owner, g.ID)
		require.NoError(t, err)
		require.Equal(t, "g", got.Name)
	})
}
