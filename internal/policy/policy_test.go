package policy_test

import (
	"context"
	"errors"
	"testing"

	"entgo.io/ent/privacy"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"atrium/ent"
	"atrium/ent/conversation"
	_ "atrium/ent/runtime"
	"atrium/internal/authz"
	"atrium/internal/testkit"
	"atrium/internal/viewer"
)

func TestMain(m *testing.M) { testkit.Main(m) }

type bundle struct {
	client     *ent.Client
	ta, tb     uuid.UUID
	ua, ub     uuid.UUID
	ctxA, ctxB context.Context
	convA      *ent.Conversation
}

func setup(t *testing.T, client *ent.Client) *bundle {
	t.Helper()
	sys := viewer.System(context.Background(), viewer.ReasonTest)
	b := &bundle{client: client}
	for _, id := range []*uuid.UUID{&b.ta, &b.tb} {
		tn, err := client.Tenant.Create().SetName("t").SetSlug(uuid.NewString()).Save(sys)
		require.NoError(t, err)
		*id = tn.ID
	}
	b.ua, b.ub = uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
	b.ctxA = viewer.NewContext(context.Background(), &viewer.Viewer{UserID: b.ua, TenantID: b.ta})
	b.ctxB = viewer.NewContext(context.Background(), &viewer.Viewer{UserID: b.ub, TenantID: b.tb})
	var err error
	b.convA, err = client.Conversation.Create().SetTitle("a").Save(b.ctxA)
	require.NoError(t, err)
	return b
}

// TestTenantOwned exercises the data-layer wall directly, without HTTP.
func TestTenantOwned(t *testing.T) {
	t.Parallel()
	for _, db := range testkit.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, db.Open(t).Client)
			c := b.client
			t.Run("OK/CreateStampsTenantAndAuthor", func(t *testing.T) {
				require.Equal(t, b.ta, b.convA.TenantID)
				require.Equal(t, b.ua, b.convA.CreatedBy)
				require.Equal(t, b.ua, b.convA.UpdatedBy)
			})
			t.Run("ErrNoViewer/Query", func(t *testing.T) {
				_, err := c.Conversation.Query().All(context.Background())
				require.ErrorIs(t, err, privacy.Deny)
			})
			t.Run("ErrNoViewer/Create", func(t *testing.T) {
				_, err := c.Conversation.Create().SetTenantID(b.ta).SetCreatedBy(b.ua).SetUpdatedBy(b.ua).Save(context.Background())
				require.ErrorIs(t, err, privacy.Deny)
			})
			t.Run("ErrCrossTenant/Get", func(t *testing.T) {
				_, err := c.Conversation.Get(b.ctxB, b.convA.ID)
				require.True(t, ent.IsNotFound(err), "got %v", err)
			})
			t.Run("ErrCrossTenant/Count", func(t *testing.T) {
				n, err := c.Conversation.Query().Where(conversation.ID(b.convA.ID)).Count(b.ctxB)
				require.NoError(t, err)
				require.Zero(t, n)
			})
			t.Run("ErrCrossTenant/UpdateOne", func(t *testing.T) {
				_, err := c.Conversation.UpdateOneID(b.convA.ID).SetTitle("x").Save(b.ctxB)
				require.True(t, ent.IsNotFound(err), "got %v", err)
			})
			t.Run("ErrCrossTenant/BulkUpdate", func(t *testing.T) {
				n, err := c.Conversation.Update().SetTitle("x").Save(b.ctxB)
				require.NoError(t, err)
				require.Zero(t, n)
			})
			t.Run("ErrCrossTenant/Delete", func(t *testing.T) {
				n, err := c.Conversation.Delete().Where(conversation.ID(b.convA.ID)).Exec(b.ctxB)
				require.NoError(t, err)
				require.Zero(t, n)
				err = c.Conversation.DeleteOneID(b.convA.ID).Exec(b.ctxB)
				require.True(t, ent.IsNotFound(err), "got %v", err)
			})
			t.Run("ErrCrossTenant/CreateNamingOtherTenant", func(t *testing.T) {
				_, err := c.Conversation.Create().SetTenantID(b.ta).Save(b.ctxB)
				require.ErrorIs(t, err, privacy.Deny)
			})
			t.Run("ErrCrossTenant/ReferenceOtherTenantsRow", func(t *testing.T) {
				// Even without a service-level lookup, B cannot attach a
				// message to A's conversation, nor assign a role it cannot see.
				_, err := c.Message.Create().SetConversationID(b.convA.ID).SetRole("user").SetContent("x").Save(b.ctxB)
				require.ErrorIs(t, err, privacy.Deny)
				sys := viewer.SystemForTenant(context.Background(), b.ta, viewer.ReasonTest)
				custom, err := c.Role.Create().SetTenantID(b.ta).SetName("a-only").SetPermissions([]string{"*"}).Save(sys)
				require.NoError(t, err)
				_, err = c.MemberRole.Create().SetUserID(b.ub).SetRoleID(custom.ID).Save(b.ctxB)
				require.ErrorIs(t, err, privacy.Deny)
			})
			t.Run("ErrCrossTenant/CheckedRefVouchesForNothingElse", func(t *testing.T) {
				// A reference vouched for (viewer.WithCheckedRef, which
				// only authz.Access.RequireRef calls after its check)
				// skips the lookup for that id, field and tenant only.
				field := "conversation_id"
				vouched := viewer.WithCheckedRef(b.ctxA, field, b.convA.ID)
				require.True(t, viewer.CheckedRef(vouched, field, b.convA.ID))
				m, err := c.Message.Create().SetConversationID(b.convA.ID).SetRole("user").SetContent("x").Save(vouched)
				require.NoError(t, err)
				require.Equal(t, b.ta, m.TenantID)
				// The same context carried by B's viewer vouches for A's
				// tenant, not B's: the lookup runs, and B cannot see it.
				carried := viewer.NewContext(vouched, &viewer.Viewer{UserID: b.ub, TenantID: b.tb})
				require.False(t, viewer.CheckedRef(carried, field, b.convA.ID))
				_, err = c.Message.Create().SetConversationID(b.convA.ID).SetRole("user").SetContent("x").Save(carried)
				require.ErrorIs(t, err, privacy.Deny)
				// B vouched for another id, or for another field.
				for _, ctx := range []context.Context{
					viewer.WithCheckedRef(b.ctxB, field, uuid.New()),
					viewer.WithCheckedRef(b.ctxB, "graph_id", b.convA.ID),
				} {
					_, err = c.Message.Create().SetConversationID(b.convA.ID).SetRole("user").SetContent("x").Save(ctx)
					require.ErrorIs(t, err, privacy.Deny)
				}
				// Nothing is vouched under the system viewer or a self viewer.
				for _, ctx := range []context.Context{
					viewer.System(context.Background(), viewer.ReasonTest),
					viewer.ForUser(context.Background(), b.ua),
				} {
					require.False(t, viewer.CheckedRef(viewer.WithCheckedRef(ctx, field, b.convA.ID), field, b.convA.ID))
				}
			})
			t.Run("OK/Unchanged", func(t *testing.T) {
				got, err := c.Conversation.Get(b.ctxA, b.convA.ID)
				require.NoError(t, err)
				require.Equal(t, "a", got.Title)
			})
			t.Run("OK/SystemSeesAll", func(t *testing.T) {
				n, err := c.Conversation.Query().Count(viewer.System(context.Background(), viewer.ReasonTest))
				require.NoError(t, err)
				require.GreaterOrEqual(t, n, 1)
			})
			t.Run("OK/SharedRolesVisibleToAll", func(t *testing.T) {
				roles, err := c.Role.Query().All(b.ctxB)
				require.NoError(t, err)
				require.GreaterOrEqual(t, len(roles), len(authz.SystemRoles))
			})
			t.Run("ErrSharedRolesReadOnly", func(t *testing.T) {
				_, err := c.Role.UpdateOneID(authz.RoleAdminID).SetDescription("mine now").Save(b.ctxB)
				require.Error(t, err)
				r, err := c.Role.Get(b.ctxB, authz.RoleAdminID)
				require.NoError(t, err)
				require.NotEqual(t, "mine now", r.Description)
			})
			t.Run("ErrSigningKeysSystemOnly", func(t *testing.T) {
				_, err := c.SigningKey.Query().All(b.ctxA)
				require.True(t, errors.Is(err, privacy.Deny), "got %v", err)
			})
			t.Run("ErrOtherUsersSessions", func(t *testing.T) {
				_, err := c.Session.Create().SetUserID(b.ub).SetTenantID(b.ta).Save(b.ctxA)
				require.ErrorIs(t, err, privacy.Deny)
			})
		})
	}
}
