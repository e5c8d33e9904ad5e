package policy_test

import (
	"context"
	"testing"

	"entgo.io/ent/privacy"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"atrium/internal/testkit"
	"atrium/internal/viewer"
)

// TestSelfViewer: viewer.ForUser reads the person's own rows (their user row,
// their memberships in any tenant) and nothing else, and changes no tenant row.
func TestSelfViewer(t *testing.T) {
	t.Parallel()
	for _, db := range testkit.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			c := db.Open(t).Client
			b := setup(t, c)
			sys := viewer.System(context.Background(), viewer.ReasonTest)
			me, err := c.User.Create().SetDisplayName("me").Save(sys)
			require.NoError(t, err)
			other, err := c.User.Create().SetDisplayName("other").Save(sys)
			require.NoError(t, err)
			for _, tn := range []struct{ tenant, user uuid.UUID }{{b.ta, me.ID}, {b.tb, me.ID}, {b.tb, other.ID}} {
				_, err := c.Membership.Create().SetTenantID(tn.tenant).SetUserID(tn.user).
					SetCreatedBy(other.ID).SetUpdatedBy(other.ID).Save(sys)
				require.NoError(t, err)
			}
			self := viewer.ForUser(context.Background(), me.ID)

			t.Run("OK/OwnUserRow", func(t *testing.T) {
				got, err := c.User.Query().All(self)
				require.NoError(t, err)
				require.Len(t, got, 1)
				require.Equal(t, me.ID, got[0].ID)
				require.NoError(t, c.User.UpdateOneID(me.ID).SetDisplayName("me2").Exec(self))
			})
			t.Run("ErrOtherUserRow", func(t *testing.T) {
				_, err := c.User.Get(self, other.ID)
				require.Error(t, err)
				err = c.User.UpdateOneID(other.ID).SetDisplayName("x").Exec(self)
				require.Error(t, err)
				u, err := c.User.Get(sys, other.ID)
				require.NoError(t, err)
				require.Equal(t, "other", u.DisplayName)
			})
			t.Run("OK/OwnMembershipsAcrossTenants", func(t *testing.T) {
				ms, err := c.Membership.Query().All(self)
				require.NoError(t, err)
				require.Len(t, ms, 2)
				for _, m := range ms {
					require.Equal(t, me.ID, m.UserID)
				}
			})
			t.Run("ErrTenantRows", func(t *testing.T) {
				// Nothing of a tenant it did not author, and no writes.
				n, err := c.Conversation.Query().Count(self)
				require.NoError(t, err)
				require.Zero(t, n)
				_, err = c.Conversation.Create().SetTenantID(b.ta).SetCreatedBy(me.ID).SetUpdatedBy(me.ID).Save(self)
				require.ErrorIs(t, err, privacy.Deny)
				_, err = c.Membership.Delete().Exec(self)
				require.ErrorIs(t, err, privacy.Deny)
			})
		})
	}
}
