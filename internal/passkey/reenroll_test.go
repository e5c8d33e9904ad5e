package passkey_test

import (
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"atrium/ent/auditevent"
	"atrium/gen/api"
	"atrium/internal/authz"
	"atrium/internal/testkit"
)

// TestReenrollment: re-enrollment is recovery for a member who lost every
// device, never a way for a member manager into someone else's account.
func TestReenrollment(t *testing.T) {
	t.Parallel()
	for _, db := range testkit.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, db.Open(t))
			env, ctx := b.env, b.ctx
			reenroll := func(c *api.Client, user uuid.UUID) (*api.InvitationCreated, error) {
				return c.CreateReenrollment(ctx, api.OptReenrollmentCreate{}, api.CreateReenrollmentParams{UserId: user})
			}
			// An admin with a working passkey, and a member who may only
			// manage members.
			reg, err := b.enroll(b.anon, newDevice(), b.invite(authz.RoleAdminID), b.rp)
			require.NoError(t, err)
			admin := reg.Token.Value
			manager := env.Member(b.tenant, env.Role(b.tenant, authz.MemberManage, authz.MemberRead))

			t.Run("ErrTakeover", func(t *testing.T) {
				// The outside tester's attack: 201 and a token for the
				// admin's account before the fix.
				_, err := reenroll(manager.Client, admin.UserID)
				requireStatus(t, err, 409)
			})
			t.Run("ErrHoldsMore", func(t *testing.T) {
				lockedOut := env.Member(b.tenant, authz.RoleAdminID) // no device at all
				_, err := reenroll(manager.Client, lockedOut.UserID)
				requireStatus(t, err, 403)
			})
			t.Run("OK/Self", func(t *testing.T) {
				_, err := reenroll(env.Client(admin.AccessToken), admin.UserID)
				require.NoError(t, err)
			})

			// A member without devices, signed in to two tenants; a manager
			// who holds everything they hold in the first tenant.
			target := env.Member(b.tenant, authz.RoleMemberID)
			other := env.Tenant()
			targetOther := env.Join(target, other.ID, authz.RoleViewerID)
			mgr := env.Member(b.tenant, authz.RoleMemberID, env.Role(b.tenant, authz.MemberManage, authz.MemberRead))

			t.Run("ErrOtherTenant", func(t *testing.T) {
				_, err := reenroll(mgr.Client, target.UserID)
				requireStatus(t, err, 403)
			})
			t.Run("OK", func(t *testing.T) {
				env.Join(mgr, other.ID, authz.RoleViewerID, env.Role(other.ID, authz.MemberManage))
				inv, err := reenroll(mgr.Client, target.UserID)
				require.NoError(t, err)
				res, err := b.enroll(b.anon, newDevice(), inv.Token, b.rp)
				require.NoError(t, err)
				require.True(t, res.Token.Set)
				require.Equal(t, target.UserID, res.Token.Value.UserID)

				// Every earlier session ended, in both tenants.
				_, err = target.Client.GetMe(ctx)
				requireStatus(t, err, 401)
				_, err = targetOther.Client.GetMe(ctx)
				requireStatus(t, err, 401)

				// The member sees who re-enrolled them, and when.
				devs, err := env.Client(res.Token.Value.AccessToken).ListMyDevices(ctx)
				require.NoError(t, err)
				require.Len(t, devs.Items, 1)
				require.Equal(t, mgr.UserID, devs.Items[0].ReenrolledBy.Or(uuid.Nil))
				require.True(t, devs.Items[0].ReenrolledAt.Set)

				n, err := env.App.DB.Client.AuditEvent.Query().
					Where(auditevent.Action("auth.device.reenrolled"), auditevent.ResourceID(res.Device.ID)).Count(env.System())
				require.NoError(t, err)
				require.Equal(t, 1, n)
			})
			t.Run("ErrDeviceEnrolledSince", func(t *testing.T) {
				locked := env.Member(b.tenant, authz.RoleMemberID)
				inv, err := reenroll(mgr.Client, locked.UserID)
				require.NoError(t, err)
				// The member finds a way back in and adds a device: the
				// outstanding invitation is then worthless.
				_, err = b.enroll(locked.Client, newDevice(), "", b.rp)
				require.NoError(t, err)
				_, err = b.enroll(b.anon, newDevice(), inv.Token, b.rp)
				requireStatus(t, err, 401)
			})
		})
	}
}
