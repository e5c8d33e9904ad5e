package resource_test

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"atrium/ent"
	"atrium/ent/knowledgegraph"
	"atrium/ent/share"
	"atrium/internal/page"
	"atrium/internal/testkit"
)

// TestListMatchesModel pages through the lists of viewers with random
// ownership, user shares and team shares (redundant ones included: a graph
// shared with a user and with their team, or with its own owner's team) and
// compares each walk with the visible set computed here. A plain list takes
// the per-source top-n union (authz.Access.VisibleTop); a filtered one the
// whole-set shape (Visible); both must give every visible graph exactly
// once, newest first, whatever the page size.
func TestListMatchesModel(t *testing.T) {
	for _, db := range testkit.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			b := setupOn(t, db.Open(t))
			rng := rand.New(rand.NewPCG(7, uint64(len(db.Name))))
			users := make([]uuid.UUID, 5)
			for i := range users {
				users[i] = uuid.Must(uuid.NewV7())
			}
			teams := make([]uuid.UUID, 3)
			for i := range teams {
				teams[i] = uuid.Must(uuid.NewV7())
			}
			// member[u] are user u's teams.
			member := make([][]uuid.UUID, len(users))
			for i := range users {
				for _, tm := range teams {
					if rng.IntN(2) == 0 {
						member[i] = append(member[i], tm)
					}
				}
			}
			type graph struct {
				id, owner uuid.UUID
				shared    []uuid.UUID // subjects: users and teams
			}
			var graphs []graph
			for range 60 {
				owner := rng.IntN(len(users))
				g := b.mustGraph(t, b.as(b.tenant, users[owner], nil))
				gr := graph{id: g.ID, owner: users[owner]}
				for _, u := range users {
					if u != gr.owner && rng.IntN(5) == 0 {
						b.mustShare(t, g.ID, share.SubjectTypeUser, u, share.LevelViewer)
						gr.shared = append(gr.shared, u)
					}
				}
				for _, tm := range teams {
					if rng.IntN(5) == 0 {
						b.mustShare(t, g.ID, share.SubjectTypeTeam, tm, share.LevelViewer)
						gr.shared = append(gr.shared, tm)
					}
				}
				graphs = append(graphs, gr)
			}
			// Another tenant's graph, shared with everyone's ids there,
			// is never listed.
			other := b.newTenant(t)
			og := b.mustGraph(t, b.as(other, users[0], nil))
			for _, u := range users {
				require.NoError(t, b.c.Share.Create().SetResourceType("knowledge_graph").SetResourceID(og.ID).
					SetSubjectType(share.SubjectTypeUser).SetSubjectID(u).SetLevel(share.LevelViewer).
					Exec(b.as(other, users[0], nil, "share.manage")))
			}

			for i, u := range users {
				var want []uuid.UUID
				for _, g := range graphs {
					if g.owner == u || slices.Contains(g.shared, u) || slices.ContainsFunc(g.shared, func(s uuid.UUID) bool { return slices.Contains(member[i], s) }) {
						want = append(want, g.id)
					}
				}
				slices.SortFunc(want, func(a, b uuid.UUID) int { return -slices.Compare(a[:], b[:]) })
				ctx := b.as(b.tenant, u, member[i])
				for _, n := range []int{1, 2, 3, 7, 100} {
					// walk pages through a list to its end.
					walk := func(list func(cursor string) (page.Page[*ent.KnowledgeGraph], error)) []uuid.UUID {
						var ids []uuid.UUID
						for cursor := ""; ; {
							p, err := list(cursor)
							require.NoError(t, err)
							require.LessOrEqual(t, len(p.Items), n)
							for _, g := range p.Items {
								ids = append(ids, g.ID)
							}
							if cursor = p.NextCursor; cursor == "" {
								return ids
							}
						}
					}
					plain := walk(func(cursor string) (page.Page[*ent.KnowledgeGraph], error) {
						return b.graphs.List(ctx, cursor, n)
					})
					filtered := walk(func(cursor string) (page.Page[*ent.KnowledgeGraph], error) {
						return b.graphs.ListWhere(ctx, cursor, n, knowledgegraph.NameEQ("g"))
					})
					require.Equal(t, want, plain, "user %d, page size %d", i, n)
					require.Equal(t, want, filtered, "user %d, page size %d (filtered)", i, n)
				}
			}
		})
	}
}
