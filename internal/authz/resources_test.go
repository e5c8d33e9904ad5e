package authz_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"atrium/ent/conversation"
	"atrium/ent/share"
	"atrium/internal/app"
	"atrium/internal/audit"
	"atrium/internal/authz"
	"atrium/internal/cache"
	"atrium/internal/testkit"
	"atrium/internal/viewer"
)

// accessOn is one instance's resource rule over conversations, cached in
// r (nil: not cached); lookups counts its owner queries (one per cache
// miss batch).
func accessOn(db *app.Database, r *authz.Resolver, lookups *atomic.Int64, gate func()) *authz.Access {
	var opts []authz.AccessOption
	if r != nil {
		opts = append(opts, authz.WithCache(r))
	}
	a := authz.NewAccess(db.Client, opts...)
	a.Register(authz.Conversation, authz.ConversationManage, func(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]uuid.UUID, error) {
		lookups.Add(1)
		if gate != nil {
			gate()
		}
		rows, err := db.Client.Conversation.Query().Where(conversation.IDIn(ids...)).
			Select(conversation.FieldID, conversation.FieldCreatedBy).All(ctx)
		if err != nil {
			return nil, err
		}
		out := map[uuid.UUID]uuid.UUID{}
		for _, c := range rows {
			out[c.ID] = c.CreatedBy
		}
		return out, nil
	})
	return a
}

func member(t, u uuid.UUID, teams ...uuid.UUID) context.Context {
	return viewer.NewContext(context.Background(), &viewer.Viewer{UserID: u, TenantID: t,
		Perms: authz.NewSet(authz.ConversationRead, authz.MessageRead, authz.ConversationShare).WithTeams(teams)})
}

func level(tb testing.TB, a *authz.Access, ctx context.Context, id uuid.UUID) authz.Decision {
	tb.Helper()
	ds, err := a.Decide(ctx, authz.Conversation, []uuid.UUID{id})
	require.NoError(tb, err)
	return ds[id]
}

func (f fixtures) Conversation(t, by uuid.UUID) uuid.UUID {
	f.tb.Helper()
	c, err := f.c.Conversation.Create().SetTenantID(t).SetTitle("c").SetCreatedBy(by).SetUpdatedBy(by).Save(f.in(t))
	require.NoError(f.tb, err)
	return c.ID
}

// TestResourceCache: owners and shares are cached per resource, so warm
// checks (single and batched) query nothing; sharing, revoking and deleting
// invalidate them on every instance through the bus; a revoked share stops
// access on the revoking instance at once and on the other when the message
// arrives.
func TestResourceCache(t *testing.T) {
	t.Parallel()
	db := testkit.SQLite(t)
	f := fixtures{t, db.Client}
	m := miniredis.RunT(t)
	url := "redis://" + m.Addr()
	ra, _ := instance(t, db, url)
	rb, _ := instance(t, db, url)
	var na, nb atomic.Int64
	a, b := accessOn(db, ra, &na, nil), accessOn(db, rb, &nb, nil)
	shares := authz.NewShares(db.Client, a, audit.NewWriter(db.Client, db.Dialect, quiet))

	tn, other := f.Tenant(), f.Tenant()
	owner, reader, stranger := f.User(), f.User(), f.User()
	for _, u := range []uuid.UUID{owner, reader} {
		f.Member(tn, u)
	}
	f.Member(other, stranger)
	team := f.Team(tn, owner)
	conv := f.Conversation(tn, owner)
	asOwner, asReader := member(tn, owner), member(tn, reader)

	// Not shared yet: not visible, and that is cached too.
	require.Equal(t, authz.None, level(t, b, asReader, conv).Level)
	before := nb.Load()
	for range 10 {
		require.Equal(t, authz.None, level(t, b, asReader, conv).Level)
		require.Equal(t, authz.ReasonOwner, level(t, b, asOwner, conv).Reason)
	}
	require.Equal(t, before, nb.Load(), "warm checks queried the database")

	// Shared on A: B sees it once the invalidation arrives.
	sh, err := shares.Share(asOwner, authz.Conversation, conv, authz.ShareInput{
		SubjectType: share.SubjectTypeUser, SubjectID: reader, Level: share.LevelViewer})
	require.NoError(t, err)
	require.Equal(t, authz.Decision{Level: authz.Viewer, Reason: authz.ReasonSharedUser}, level(t, a, asReader, conv))
	_, ok := waitFor(time.Second, func() bool { return level(t, b, asReader, conv).Level == authz.Viewer })
	require.True(t, ok, "B never saw the share")

	// A warm batch of 100 (this conversation and ids that do not exist)
	// queries nothing the second time.
	items := []authz.CheckItem{{Permission: authz.ConversationRead, ResourceType: authz.Conversation, ResourceID: conv}}
	for range 99 {
		items = append(items, authz.CheckItem{Permission: authz.ConversationRead, ResourceType: authz.Conversation, ResourceID: uuid.New()})
	}
	res, err := b.Check(asReader, items)
	require.NoError(t, err)
	require.True(t, res[0].Allowed)
	require.False(t, res[1].Allowed)
	before = nb.Load()
	res, err = b.Check(asReader, items)
	require.NoError(t, err)
	require.Equal(t, authz.CheckResult{Allowed: true, Reason: authz.ReasonSharedUser}, res[0])
	require.Equal(t, authz.CheckResult{Allowed: false, Reason: authz.ReasonNotVisible}, res[50])
	require.Equal(t, before, nb.Load(), "a warm batch queried the database")

	// Another tenant's member does not see it, though B has it cached.
	require.Equal(t, authz.None, level(t, b, member(other, stranger), conv).Level)

	// Revoked on A: A denies on its next call, B once the message arrives.
	require.NoError(t, shares.Revoke(asOwner, authz.Conversation, conv, sh.ID))
	require.Equal(t, authz.None, level(t, a, asReader, conv).Level, "the revoking instance still allowed")
	_, ok = waitFor(time.Second, func() bool { return level(t, b, asReader, conv).Level == authz.None })
	require.True(t, ok, "B still allowed a second after the revocation")

	// A team share, then the conversation deleted (its shares with it).
	_, err = shares.Share(asOwner, authz.Conversation, conv, authz.ShareInput{
		SubjectType: share.SubjectTypeTeam, SubjectID: team, Level: share.LevelEditor})
	require.NoError(t, err)
	inTeam := member(tn, reader, team)
	_, ok = waitFor(time.Second, func() bool {
		return level(t, b, inTeam, conv) == authz.Decision{Level: authz.Editor, Reason: authz.ReasonSharedTeam}
	})
	require.True(t, ok, "B never saw the team share")
	tx, err := db.Client.Tx(asOwner)
	require.NoError(t, err)
	require.NoError(t, a.DeleteShares(asOwner, tx, authz.Conversation, conv))
	require.NoError(t, tx.Conversation.DeleteOneID(conv).Exec(asOwner))
	require.NoError(t, tx.Commit())
	require.Equal(t, authz.None, level(t, a, asOwner, conv).Level, "A still sees the deleted conversation")
	_, ok = waitFor(time.Second, func() bool { return level(t, b, inTeam, conv).Level == authz.None })
	require.True(t, ok, "B still sees the deleted conversation")

	// A tenant-wide invalidation (e.g. a team deleted) drops every entry of
	// the tenant on every instance.
	conv2 := f.Conversation(tn, owner)
	require.Equal(t, authz.ReasonOwner, level(t, b, asOwner, conv2).Reason)
	before = nb.Load()
	ra.InvalidateResource(context.Background(), tn, "", uuid.Nil)
	_, ok = waitFor(time.Second, func() bool {
		level(t, b, asOwner, conv2)
		return nb.Load() > before
	})
	require.True(t, ok, "B kept the tenant's entries")
}

// TestResourceCacheRace: a load that raced with an invalidation is answered
// but not kept, so the next check reads the database again; and the
// invalidation listeners hear every change after the cache dropped it.
func TestResourceCacheRace(t *testing.T) {
	t.Parallel()
	db := testkit.SQLite(t)
	f := fixtures{t, db.Client}
	r := authz.NewResolver(db.Client, cache.NewLocalBus(), quiet)
	t.Cleanup(r.Close)
	var changes []authz.Change
	r.OnChange(func(c authz.Change) { changes = append(changes, c) })

	entered, release := make(chan struct{}), make(chan struct{})
	var gated atomic.Bool
	gated.Store(true)
	var n atomic.Int64
	a := accessOn(db, r, &n, func() {
		if gated.CompareAndSwap(true, false) {
			close(entered)
			<-release
		}
	})
	tn, owner := f.Tenant(), f.User()
	f.Member(tn, owner)
	conv := f.Conversation(tn, owner)
	ctx := member(tn, owner)

	done := make(chan authz.Decision)
	go func() { done <- level(t, a, ctx, conv) }()
	<-entered
	r.InvalidateResource(context.Background(), tn, authz.Conversation, conv)
	close(release)
	require.Equal(t, authz.ReasonOwner, (<-done).Reason)
	require.Equal(t, int64(1), n.Load())

	level(t, a, ctx, conv)
	require.Equal(t, int64(2), n.Load(), "the load that raced with the invalidation was cached")
	level(t, a, ctx, conv)
	require.Equal(t, int64(2), n.Load(), "the next load was not cached")

	require.Equal(t, []authz.Change{{Kind: authz.ChangeResource, Tenant: tn, ResourceType: authz.Conversation, ResourceID: conv}}, changes)
	r.Invalidate(context.Background(), tn, owner)
	require.Equal(t, authz.Change{Kind: authz.ChangePermissions, Tenant: tn, User: owner}, changes[len(changes)-1])
}

// TestResourceCacheApps: the same through two whole apps (app.Build) on one
// PostgreSQL and one Redis: a share revoked on A stops access on B.
func TestResourceCacheApps(t *testing.T) {
	t.Parallel()
	db := testkit.Postgres(t)
	f := fixtures{t, db.Client}
	as := apps(t, db, testkit.RedisURL(t), 2, nil)
	a, b := as[0], as[1]
	tn, owner, reader := f.Tenant(), f.User(), f.User()
	f.Member(tn, owner)
	f.Member(tn, reader)
	conv := f.Conversation(tn, owner)
	asOwner, asReader := member(tn, owner), member(tn, reader)

	require.Equal(t, authz.None, level(t, b.Access, asReader, conv).Level)
	sh, err := a.Shares.Share(asOwner, authz.Conversation, conv, authz.ShareInput{
		SubjectType: share.SubjectTypeUser, SubjectID: reader, Level: share.LevelViewer})
	require.NoError(t, err)
	_, ok := waitFor(time.Second, func() bool { return level(t, b.Access, asReader, conv).Level == authz.Viewer })
	require.True(t, ok, "B never saw the share")

	require.NoError(t, a.Shares.Revoke(asOwner, authz.Conversation, conv, sh.ID))
	require.Equal(t, authz.None, level(t, a.Access, asReader, conv).Level, "A still allowed")
	_, ok = waitFor(time.Second, func() bool { return level(t, b.Access, asReader, conv).Level == authz.None })
	require.True(t, ok, "B still allowed a second after the revocation")
}
