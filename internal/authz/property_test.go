package authz_test

import (
	"context"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"atrium/ent"
	"atrium/ent/memberrole"
	"atrium/ent/membership"
	"atrium/ent/teammember"
	"atrium/internal/app"
	"atrium/internal/authz"
	"atrium/internal/cache"
	"atrium/internal/fault"
	"atrium/internal/testkit"
)

// answer is everything the caches hold for a (tenant, user).
type answer struct {
	Member bool
	Perms  []string
	Teams  []uuid.UUID
}

func answerOf(r *authz.Resolver, t, u uuid.UUID) (answer, error) {
	s, err := r.Permissions(context.Background(), t, u)
	if err != nil {
		if fault.CodeOf(err) == fault.Unauthenticated {
			return answer{}, nil
		}
		return answer{}, err
	}
	var teams []uuid.UUID // nil and empty are the same answer
	teams = append(teams, s.Teams()...)
	slices.SortFunc(teams, func(a, b uuid.UUID) int { return slices.Compare(a[:], b[:]) })
	return answer{Member: true, Perms: s.List(), Teams: teams}, nil
}

// world is a small authorization model: tenants × users × roles × teams,
// changed at random through random instances.
type world struct {
	tb        testing.TB
	f         fixtures
	rnd       *rand.Rand
	instances []*authz.Resolver
	ref       *authz.Resolver // reads the database every time
	tenants   []uuid.UUID
	users     []uuid.UUID
	roles     map[uuid.UUID][]uuid.UUID // tenant -> assignable roles (own + the shared viewer role)
	teams     map[uuid.UUID][]uuid.UUID

	member   map[[2]uuid.UUID]membership.Status // absent = not a member
	assigned map[[3]uuid.UUID]bool              // tenant, user, role
	inTeam   map[[3]uuid.UUID]bool              // tenant, team, user
}

func newWorld(tb testing.TB, db *app.Database, seed uint64, instances ...*authz.Resolver) *world {
	tb.Helper()
	f := fixtures{tb, db.Client}
	w := &world{
		tb: tb, f: f, rnd: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		instances: instances,
		ref:       authz.NewResolver(db.Client, cache.NewLocalBus(), quiet, authz.WithoutCache()),
		roles:     map[uuid.UUID][]uuid.UUID{}, teams: map[uuid.UUID][]uuid.UUID{},
		member: map[[2]uuid.UUID]membership.Status{}, assigned: map[[3]uuid.UUID]bool{}, inTeam: map[[3]uuid.UUID]bool{},
	}
	tb.Cleanup(w.ref.Close)
	for range 4 {
		w.users = append(w.users, f.User())
	}
	for range 2 {
		t := f.Tenant()
		w.tenants = append(w.tenants, t)
		for _, u := range w.users {
			f.Member(t, u)
			w.member[[2]uuid.UUID{t, u}] = membership.StatusActive
		}
		w.roles[t] = []uuid.UUID{f.Role(t, w.grants()...), f.Role(t, w.grants()...), authz.RoleViewerID}
		w.teams[t] = []uuid.UUID{f.Team(t, w.users[0]), f.Team(t, w.users[0])}
	}
	return w
}

func pick[T any](r *rand.Rand, s []T) T { return s[r.IntN(len(s))] }

// grants is a random grant list: catalog names, resource wildcards, rarely "*".
func (w *world) grants() []string {
	var out []string
	for range w.rnd.IntN(4) {
		switch w.rnd.IntN(8) {
		case 0:
			out = append(out, "conversation.*")
		case 1:
			if w.rnd.IntN(4) == 0 {
				out = append(out, "*")
			}
		default:
			out = append(out, pick(w.rnd, authz.Catalog).Name)
		}
	}
	return out
}

// step applies one random change through instance r and returns what it did.
func (w *world) step(r *authz.Resolver) string {
	f := w.f
	t, u := pick(w.rnd, w.tenants), pick(w.rnd, w.users)
	mk := [2]uuid.UUID{t, u}
	switch w.rnd.IntN(7) {
	case 0, 1: // assign or unassign a role
		role := pick(w.rnd, w.roles[t])
		k := [3]uuid.UUID{t, u, role}
		if w.assigned[k] {
			f.Unassign(r, t, u, role)
			delete(w.assigned, k)
			return "unassign"
		}
		f.Assign(r, t, u, role)
		w.assigned[k] = true
		return "assign"
	case 2: // edit a role's grants
		role := pick(w.rnd, w.roles[t])
		inv := t
		if role == authz.RoleViewerID {
			inv = uuid.Nil // a system role is every tenant's
		}
		f.SetGrants(r, inv, role, w.grants()...)
		return "edit role"
	case 3, 4: // join or leave a team
		team := pick(w.rnd, w.teams[t])
		k := [3]uuid.UUID{t, team, u}
		if w.inTeam[k] {
			f.Leave(r, t, team, u)
			delete(w.inTeam, k)
			return "leave team"
		}
		f.Join(r, t, team, u)
		w.inTeam[k] = true
		return "join team"
	case 5: // suspend or reactivate
		switch w.member[mk] {
		case membership.StatusActive:
			f.SetStatus(r, t, u, membership.StatusSuspended)
			w.member[mk] = membership.StatusSuspended
			return "suspend"
		case membership.StatusSuspended:
			f.SetStatus(r, t, u, membership.StatusActive)
			w.member[mk] = membership.StatusActive
			return "reactivate"
		}
		return "noop"
	default: // remove the member (with roles and teams) or add them back
		if _, ok := w.member[mk]; !ok {
			f.tx(r, t, u, func(ctx context.Context, tx *ent.Tx) error {
				return tx.Membership.Create().SetTenantID(t).SetUserID(u).SetCreatedBy(u).SetUpdatedBy(u).Exec(ctx)
			})
			w.member[mk] = membership.StatusActive
			return "add member"
		}
		f.tx(r, t, u, func(ctx context.Context, tx *ent.Tx) error {
			if _, err := tx.MemberRole.Delete().Where(memberrole.TenantID(t), memberrole.UserID(u)).Exec(ctx); err != nil {
				return err
			}
			if _, err := tx.TeamMember.Delete().Where(teammember.TenantID(t), teammember.UserID(u)).Exec(ctx); err != nil {
				return err
			}
			_, err := tx.Membership.Delete().Where(membership.TenantID(t), membership.UserID(u)).Exec(ctx)
			return err
		})
		delete(w.member, mk)
		for k := range w.assigned {
			if k[0] == t && k[1] == u {
				delete(w.assigned, k)
			}
		}
		for k := range w.inTeam {
			if k[0] == t && k[2] == u {
				delete(w.inTeam, k)
			}
		}
		return "remove member"
	}
}

// check compares every cached answer with the database: at once on the
// instance that made the change, within the propagation bound elsewhere.
// Instances are asked in random order, so that one reading a shared entry
// first is not always the one that made the change.
func (w *world) check(i int, op string, mutator *authz.Resolver) {
	w.tb.Helper()
	order := slices.Clone(w.instances)
	w.rnd.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	for _, t := range w.tenants {
		for _, u := range w.users {
			want, err := answerOf(w.ref, t, u)
			require.NoError(w.tb, err)
			for _, r := range order {
				if r == mutator {
					got, err := answerOf(r, t, u)
					require.NoError(w.tb, err)
					require.Equal(w.tb, want, got, "step %d (%s): the changing instance answers from a stale cache", i, op)
					continue
				}
				var last answer
				_, ok := waitFor(propagationBound, func() bool {
					last, err = answerOf(r, t, u)
					return err == nil && slices.Equal(last.Perms, want.Perms) && last.Member == want.Member && slices.Equal(last.Teams, want.Teams)
				})
				require.NoError(w.tb, err)
				require.True(w.tb, ok, "step %d (%s): another instance still answers %v, want %v", i, op, last, want)
			}
		}
	}
}

func seed(tb testing.TB) uint64 {
	if s := os.Getenv("ATRIUM_PROPERTY_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		require.NoError(tb, err)
		return n
	}
	n := uint64(time.Now().UnixNano())
	tb.Logf("seed %d (rerun with ATRIUM_PROPERTY_SEED=%d)", n, n)
	return n
}

func TestCachedEqualsDatabase(t *testing.T) {
	t.Parallel()

	t.Run("OKTwoInstancesPostgresRedis", func(t *testing.T) {
		t.Parallel()
		db := testkit.Postgres(t)
		url := testkit.RedisURL(t)
		a, _ := instance(t, db, url)
		b, _ := instance(t, db, url)
		w := newWorld(t, db, seed(t), a, b)
		w.check(-1, "start", a)
		for i := range 150 {
			r := pick(w.rnd, w.instances)
			w.check(i, w.step(r), r)
		}
	})

	t.Run("OKOneInstanceSQLite", func(t *testing.T) {
		t.Parallel()
		db := testkit.SQLite(t)
		r := authz.NewResolver(db.Client, cache.NewLocalBus(), quiet)
		t.Cleanup(r.Close)
		w := newWorld(t, db, seed(t), r)
		for i := range 150 {
			w.check(i, w.step(r), r)
		}
	})
}
