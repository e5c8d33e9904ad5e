package passkey_test

import (
	"testing"
	"time"

	"github.com/descope/virtualwebauthn"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"atrium/gen/api"
	"atrium/internal/apptest"
	"atrium/internal/audit"
	"atrium/internal/authz"
	"atrium/internal/testkit"
)

// failures lists the refusals (failed or denied audit events) of action
// about resource that c's tenant sees, newest first.
func failures(t *testing.T, b *bundle, c *api.Client, action string, resource uuid.UUID) []api.AuditEvent {
	t.Helper()
	p, err := c.ListAuditEvents(b.ctx, api.ListAuditEventsParams{Action: api.NewOptString(action),
		ResourceID: api.NewOptUUID(resource), Limit: api.NewOptInt(100)})
	require.NoError(t, err)
	var out []api.AuditEvent
	for _, e := range p.Items {
		if e.Outcome != api.AuditEventOutcomeSuccess {
			out = append(out, e)
		}
	}
	return out
}

// TestRefusalsAudited: every refused sign-in with a known device, and every
// refused invitation, shows in the audit trail of the tenants concerned —
// every tenant of the device's owner, the invitation's tenant — and in no
// other; unknown credentials and tokens stay out of every tenant's chain;
// the chains still verify.
func TestRefusalsAudited(t *testing.T) {
	t.Parallel()
	for _, db := range testkit.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			var opts []apptest.Option
			if db.Name == "postgres" {
				opts = append(opts, apptest.WithRedis(testkit.RedisURL(t)))
			}
			b := setup(t, db.Open(t), opts...)
			ctx := b.ctx
			adminA := b.env.Member(b.tenant, authz.RoleAdminID).Client
			tenantC := b.env.Tenant()
			adminC := b.env.Member(tenantC.ID, authz.RoleAdminID).Client
			adminB := b.env.Member(b.env.Tenant().ID, authz.RoleAdminID).Client // a tenant the user is not in

			d := newDevice()
			reg, err := b.enroll(b.anon, d, b.invite(authz.RoleMemberID), b.rp)
			require.NoError(t, err)
			userID, deviceID := reg.Token.Value.UserID, reg.Device.ID
			addMember(t, b, tenantC.ID, userID, authz.RoleMemberID) // the user belongs to A and C

			// refused runs a sign-in that must fail and checks who sees it.
			refused := func(t *testing.T, reason string, login func() error) {
				t.Helper()
				beforeA := len(failures(t, b, adminA, "auth.login", deviceID))
				beforeC := len(failures(t, b, adminC, "auth.login", deviceID))
				requireStatus(t, login(), 401)
				for _, c := range []*api.Client{adminA, adminC} {
					evs := failures(t, b, c, "auth.login", deviceID)
					before := beforeA
					if c == adminC {
						before = beforeC
					}
					require.Len(t, evs, before+1, "one new event in each of the owner's tenants")
					e := evs[0]
					require.Equal(t, api.AuditEventOutcomeFailure, e.Outcome)
					require.Equal(t, reason, e.Details.Value["reason"])
					require.Equal(t, "device", e.ResourceType.Value)
					ref, ok := audit.Pseudonym(ctx, b.env.App.DB.Client, userID)
					require.True(t, ok)
					require.Equal(t, ref, e.Actor.Value, "the actor is the owner's pseudonym")
					require.NotEmpty(t, e.RequestID.Value)
					require.Equal(t, map[string]string{"reason": reason}, map[string]string(e.Details.Value), "IDs and codes only")
				}
				require.Empty(t, failures(t, b, adminB, "auth.login", deviceID), "another tenant sees nothing")
			}
			loginWith := func(dev *device, rp virtualwebauthn.RelyingParty) func() error {
				return func() error {
					id, cred := b.assertion(dev, rp)
					_, err := b.anon.Login(ctx, &api.LoginRequest{CeremonyID: id, Credential: cred})
					return err
				}
			}
			t.Run("ErrUserNotVerified", func(t *testing.T) {
				nv := *d
				nv.auth.Options.UserNotVerified = true
				refused(t, "verification_failed", loginWith(&nv, b.rp))
			})
			t.Run("ErrWrongOrigin", func(t *testing.T) {
				rp := b.rp
				rp.Origin = "https://evil.example"
				refused(t, "verification_failed", loginWith(d, rp))
			})
			t.Run("ErrWrongRPID", func(t *testing.T) {
				rp := b.rp
				rp.ID = "evil.example"
				refused(t, "verification_failed", loginWith(d, rp))
			})
			t.Run("ErrForeignUserHandle", func(t *testing.T) {
				forged := *d
				other := uuid.Must(uuid.NewV7())
				forged.auth.Options.UserHandle = other[:]
				refused(t, "user_handle_mismatch", loginWith(&forged, b.rp))
			})
			t.Run("ErrSignCountRegression", func(t *testing.T) {
				_, err := b.login(d)
				require.NoError(t, err)
				m, err := adminA.GetMember(ctx, api.GetMemberParams{UserId: userID})
				require.NoError(t, err)
				require.Empty(t, m.CloneWarningDeviceIds)
				clone := *d
				clone.cred.Counter = 0 // the stored counter is higher
				refused(t, "sign_count_regression", loginWith(&clone, b.rp))
				// The device is flagged for the admins of every tenant of the
				// owner, and for the owner.
				for _, c := range []*api.Client{adminA, adminC} {
					m, err := c.GetMember(ctx, api.GetMemberParams{UserId: userID})
					require.NoError(t, err)
					require.Equal(t, []uuid.UUID{deviceID}, m.CloneWarningDeviceIds)
				}
				ms, err := adminA.ListMembers(ctx, api.ListMembersParams{})
				require.NoError(t, err)
				var listed bool
				for _, m := range ms.Items {
					if m.UserID == userID {
						listed = true
						require.Equal(t, []uuid.UUID{deviceID}, m.CloneWarningDeviceIds)
					}
				}
				require.True(t, listed)
				_, err = adminB.GetMember(ctx, api.GetMemberParams{UserId: userID})
				requireStatus(t, err, 404)
				tok, err := b.login(d) // the genuine device, counter ahead
				require.NoError(t, err)
				devs, err := b.env.Client(tok.AccessToken).ListMyDevices(ctx)
				require.NoError(t, err)
				require.True(t, devs.Items[0].CloneWarning.Value)
			})
			t.Run("OK/UnknownCredentialInNoTenant", func(t *testing.T) {
				before := map[*api.Client]int{}
				all := []*api.Client{adminA, adminB, adminC}
				count := func(c *api.Client) int {
					p, err := c.ListAuditEvents(ctx, api.ListAuditEventsParams{Action: api.NewOptString("auth.login"),
						Outcome: api.NewOptAuditOutcome(api.AuditOutcomeFailure), Limit: api.NewOptInt(100)})
					require.NoError(t, err)
					return len(p.Items)
				}
				for _, c := range all {
					before[c] = count(c)
				}
				stranger := newDevice()
				stranger.auth.Options.UserHandle = userID[:] // even naming a real user
				_, err := b.login(stranger)
				requireStatus(t, err, 401)
				for _, c := range all {
					require.Equal(t, before[c], count(c))
				}
				// It is counted instead.
				mfs, err := b.env.App.Metrics.Registry().Gather()
				require.NoError(t, err)
				var counted float64
				for _, mf := range mfs {
					if mf.GetName() != "atrium_auth_refusals_total" {
						continue
					}
					for _, m := range mf.GetMetric() {
						for _, l := range m.GetLabel() {
							if l.GetName() == "reason" && l.GetValue() == "unknown_credential" {
								counted += m.GetCounter().GetValue()
							}
						}
					}
				}
				require.GreaterOrEqual(t, counted, 1.0)
			})

			// Invitations of tenant A, made by its admin through the API.
			invite := func(t *testing.T) *api.InvitationCreated {
				t.Helper()
				inv, err := adminA.CreateInvitation(ctx, &api.InvitationCreate{})
				require.NoError(t, err)
				return inv
			}
			rejected := func(t *testing.T, inv *api.InvitationCreated, reason, stage string) {
				t.Helper()
				evs := failures(t, b, adminA, "invitation.rejected", inv.Invitation.ID)
				require.Len(t, evs, 1)
				e := evs[0]
				require.Equal(t, api.AuditEventOutcomeDenied, e.Outcome)
				require.Equal(t, map[string]string{"reason": reason, "stage": stage}, map[string]string(e.Details.Value))
				require.False(t, e.Actor.Set, "whoever holds a token is nobody in particular")
				require.Empty(t, failures(t, b, adminB, "invitation.rejected", inv.Invitation.ID))
				require.Empty(t, failures(t, b, adminC, "invitation.rejected", inv.Invitation.ID))
			}
			t.Run("ErrInvitationReused", func(t *testing.T) {
				inv := invite(t)
				_, err := b.enroll(b.anon, newDevice(), inv.Token, b.rp)
				require.NoError(t, err)
				_, err = b.enroll(b.anon, newDevice(), inv.Token, b.rp)
				requireStatus(t, err, 401)
				rejected(t, inv, "used", "options")
			})
			t.Run("ErrInvitationRevoked", func(t *testing.T) {
				inv := invite(t)
				require.NoError(t, adminA.RevokeInvitation(ctx, api.RevokeInvitationParams{InvitationId: inv.Invitation.ID}))
				_, err := b.enroll(b.anon, newDevice(), inv.Token, b.rp)
				requireStatus(t, err, 401)
				rejected(t, inv, "revoked", "options")
			})
			t.Run("ErrInvitationExpired", func(t *testing.T) {
				inv := invite(t)
				b.env.App.Passkeys.SetClock(func() time.Time { return time.Now().Add(8 * 24 * time.Hour) })
				defer b.env.App.Passkeys.SetClock(time.Now)
				_, err := b.enroll(b.anon, newDevice(), inv.Token, b.rp)
				requireStatus(t, err, 401)
				rejected(t, inv, "expired", "options")
			})
			t.Run("ErrInvitationLostRace", func(t *testing.T) {
				inv := invite(t)
				o1, err := b.anon.RegisterDeviceOptions(ctx, &api.RegisterOptionsRequest{Invitation: api.NewOptString(inv.Token)})
				require.NoError(t, err)
				o2, err := b.anon.RegisterDeviceOptions(ctx, &api.RegisterOptionsRequest{Invitation: api.NewOptString(inv.Token)})
				require.NoError(t, err)
				require.NoError(t, finishRegistration(t, b, o1, newDevice()))
				requireStatus(t, finishRegistration(t, b, o2, newDevice()), 401)
				rejected(t, inv, "used", "finish")
			})
			t.Run("OK/UnknownInvitationInNoTenant", func(t *testing.T) {
				count := func(c *api.Client) int {
					p, err := c.ListAuditEvents(ctx, api.ListAuditEventsParams{Action: api.NewOptString("invitation.rejected"), Limit: api.NewOptInt(100)})
					require.NoError(t, err)
					return len(p.Items)
				}
				a, bb := count(adminA), count(adminB)
				_, err := b.enroll(b.anon, newDevice(), "inv_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", b.rp)
				requireStatus(t, err, 401)
				require.Equal(t, a, count(adminA))
				require.Equal(t, bb, count(adminB))
			})
			t.Run("OK/ChainsVerify", func(t *testing.T) {
				reps, err := audit.Verify(b.env.System(), b.env.App.DB.Client, "")
				require.NoError(t, err)
				require.NotEmpty(t, reps)
				for _, r := range reps {
					require.Empty(t, r.Problems, "chain %s", r.Chain)
				}
			})
		})
	}
}

// finishRegistration finishes an enrollment ceremony with d.
func finishRegistration(t *testing.T, b *bundle, o *api.CeremonyOptions, d *device) error {
	t.Helper()
	ao, err := virtualwebauthn.ParseAttestationOptions(toJSON(t, o.PublicKey))
	require.NoError(t, err)
	d.auth.Options.UserHandle = []byte(ao.UserID)
	_, err = b.anon.RegisterDevice(b.ctx, &api.RegisterRequest{CeremonyID: o.CeremonyID,
		Credential: toObject(t, virtualwebauthn.CreateAttestationResponse(b.rp, d.auth, d.cred, *ao))})
	return err
}
