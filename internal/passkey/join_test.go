package passkey_test

import (
	"strings"
	"testing"

	"github.com/descope/virtualwebauthn"
	"github.com/go-faster/jx"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"atrium/ent/invitation"
	"atrium/ent/membership"
	"atrium/ent/user"
	"atrium/gen/api"
	"atrium/internal/apptest"
	"atrium/internal/audit"
	"atrium/internal/authz"
	"atrium/internal/passkey"
	"atrium/internal/testkit"
	"atrium/internal/viewer"
)

// inviteTo creates an enrollment invitation to tenant through the API, as
// admin, and returns its token.
func inviteTo(t *testing.T, b *bundle, admin *api.Client, role uuid.UUID, email string) string {
	t.Helper()
	req := &api.InvitationCreate{RoleID: api.NewOptUUID(role)}
	if email != "" {
		req.Email = api.NewOptString(email)
	}
	inv, err := admin.CreateInvitation(b.ctx, req)
	require.NoError(t, err)
	return inv.Token
}

func accept(b *bundle, c *api.Client, token string) (*api.InvitationAccepted, error) {
	return c.AcceptInvitation(b.ctx, &api.InvitationAccept{Invitation: token})
}

// invitationOf reads the invitation of tenant whose id is id.
func invitationOf(t *testing.T, b *bundle, tenant, id uuid.UUID) (usedBy *uuid.UUID, email *string) {
	t.Helper()
	inv, err := b.env.App.DB.Client.Invitation.Query().Where(invitation.ID(id)).
		Only(viewer.SystemForTenant(b.ctx, tenant, viewer.ReasonTest))
	require.NoError(t, err)
	return inv.UsedBy, inv.Email
}

func tenantIDs(t *testing.T, b *bundle, c *api.Client) []uuid.UUID {
	t.Helper()
	ts, err := c.ListMyTenants(b.ctx)
	require.NoError(t, err)
	var out []uuid.UUID
	for _, x := range ts.Items {
		out = append(out, x.TenantID)
	}
	return out
}

// TestJoinAnotherTenant walks the journey of issue 15: a person enrolled in
// tenant B with a passkey opens an invitation to tenant A while signed in,
// accepts it, and is then one identity with one passkey in both tenants,
// switching between them. Through the generated client, on every database.
func TestJoinAnotherTenant(t *testing.T) {
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
			tenantB := b.tenant
			adminB := b.env.Member(tenantB, authz.RoleAdminID)
			tenantA := b.env.Tenant().ID
			adminA := b.env.Member(tenantA, authz.RoleAdminID)

			// Ada enrolls a passkey in B from B's invitation (with her email).
			d := newDevice()
			reg, err := b.enroll(b.anon, d, inviteTo(t, b, adminB.Client, authz.RoleMemberID, "ada@example.com"), b.rp)
			require.NoError(t, err)
			ada := reg.Token.Value
			adaB := b.env.Client(ada.AccessToken)
			require.Equal(t, []uuid.UUID{tenantB}, tenantIDs(t, b, adaB))

			// A's admin invites her, as a viewer, by email typed differently.
			invA, err := adminA.Client.CreateInvitation(ctx, &api.InvitationCreate{
				RoleID: api.NewOptUUID(authz.RoleViewerID), Email: api.NewOptString("Ada@Example.COM")})
			require.NoError(t, err)

			// Not a member of A yet: no token for A (this also caches "not a member").
			_, err = exchange(b, ada.AccessToken, tenantA)
			requireStatus(t, err, 403)

			// The old path refuses a signed-in person instead of creating a
			// second identity: no 201 without a membership.
			_, err = adaB.RegisterDeviceOptions(ctx, &api.RegisterOptionsRequest{Invitation: api.NewOptString(invA.Token)})
			requireStatus(t, err, 409)
			usedBy, _ := invitationOf(t, b, tenantA, invA.Invitation.ID)
			require.Nil(t, usedBy, "the refused attempt did not spend the invitation")

			// Accept: 201, the tenant and the invitation's role.
			got, err := accept(b, adaB, invA.Token)
			require.NoError(t, err)
			require.Equal(t, tenantA, got.Tenant.TenantID)
			require.False(t, got.Tenant.Active, "the session stays in B")
			require.Equal(t, authz.RoleViewerID, got.RoleID)
			require.ElementsMatch(t, []uuid.UUID{tenantA, tenantB}, tenantIDs(t, b, adaB))
			usedBy, email := invitationOf(t, b, tenantA, invA.Invitation.ID)
			require.NotNil(t, usedBy)
			require.Equal(t, ada.UserID, *usedBy)
			require.Nil(t, email, "the invitation's email is dropped once used")

			// Replay: refused, by her and by anyone else.
			_, err = accept(b, adaB, invA.Token)
			requireStatus(t, err, 404)
			_, err = accept(b, adminB.Client, invA.Token)
			requireStatus(t, err, 404)

			// Switch to A with the existing tenant switch: same session, the role's permissions.
			sw, err := exchange(b, ada.AccessToken, tenantA)
			require.NoError(t, err)
			require.Equal(t, tenantA, sw.TenantID)
			require.Equal(t, ada.UserID, sw.UserID)
			require.Equal(t, ada.SessionID, sw.SessionID)
			adaA := b.env.Client(sw.AccessToken)
			me, err := adaA.GetMe(ctx)
			require.NoError(t, err)
			require.Equal(t, tenantA, me.TenantID)
			require.Contains(t, me.Permissions, authz.ConversationRead)
			require.NotContains(t, me.Permissions, authz.ConversationCreate, "viewer in A")
			_, err = adaA.CreateConversation(ctx, &api.ConversationCreate{})
			requireStatus(t, err, 403)
			members, err := adminA.Client.ListMembers(ctx, api.ListMembersParams{})
			require.NoError(t, err)
			var found bool
			for _, m := range members.Items {
				if m.UserID == ada.UserID {
					found = true
					require.Equal(t, []uuid.UUID{authz.RoleViewerID}, m.RoleIds)
				}
			}
			require.True(t, found, "A's admin sees Ada among the members")

			// One identity, one passkey: she signs in to A with it, and back to B.
			devs, err := adaA.ListMyDevices(ctx)
			require.NoError(t, err)
			require.Len(t, devs.Items, 1)
			require.Equal(t, reg.Device.ID, devs.Items[0].ID)
			id, cred := b.assertion(d, b.rp)
			inA, err := b.anon.Login(ctx, &api.LoginRequest{CeremonyID: id, Credential: cred, TenantID: api.NewOptUUID(tenantA)})
			require.NoError(t, err)
			require.Equal(t, ada.UserID, inA.UserID)
			require.Equal(t, tenantA, inA.TenantID)
			back, err := exchange(b, inA.AccessToken, tenantB)
			require.NoError(t, err)
			me, err = b.env.Client(back.AccessToken).GetMe(ctx)
			require.NoError(t, err)
			require.Equal(t, tenantB, me.TenantID)
			require.Contains(t, me.Permissions, authz.ConversationCreate, "member in B")

			// Audited in A's chain: member.joined and invitation.used, with her
			// pseudonym as actor; B's chain has no member.joined; chains verify.
			joined, err := adminA.Client.ListAuditEvents(ctx, api.ListAuditEventsParams{Action: api.NewOptString(passkey.ActionMemberJoined)})
			require.NoError(t, err)
			require.Len(t, joined.Items, 1)
			ev := joined.Items[0]
			require.Equal(t, tenantA.String(), ev.Chain)
			require.Equal(t, ada.UserID, ev.ResourceID.Value)
			ref, ok := audit.Pseudonym(ctx, b.env.App.DB.Client, ada.UserID)
			require.True(t, ok)
			require.Equal(t, ref, ev.Actor.Value)
			require.Equal(t, invA.Invitation.ID.String(), ev.Details.Value["invitation_id"])
			require.Equal(t, ada.SessionID, ev.SessionID.Value)
			used, err := adminA.Client.ListAuditEvents(ctx, api.ListAuditEventsParams{Action: api.NewOptString(passkey.ActionInvitationUsed),
				ResourceID: api.NewOptUUID(invA.Invitation.ID)})
			require.NoError(t, err)
			require.Len(t, used.Items, 1)
			inB, err := adminB.Client.ListAuditEvents(ctx, api.ListAuditEventsParams{Action: api.NewOptString(passkey.ActionMemberJoined)})
			require.NoError(t, err)
			require.Empty(t, inB.Items)
			reps, err := audit.Verify(b.env.System(), b.env.App.DB.Client, "")
			require.NoError(t, err)
			for _, r := range reps {
				require.Empty(t, r.Problems, "chain %s", r.Chain)
			}
		})
	}
}

// TestAcceptInvitationRefusals: each way of accepting an invitation that
// must fail, fails, leaves no membership and (where the invitation is
// known) is audited in its tenant's chain.
func TestAcceptInvitationRefusals(t *testing.T) {
	t.Parallel()
	for _, db := range testkit.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, db.Open(t))
			ctx := b.ctx
			tenantA := b.env.Tenant().ID
			adminA := b.env.Member(tenantA, authz.RoleAdminID)
			client := b.env.App.DB.Client
			withEmail := func(m *apptest.Member, email string) {
				require.NoError(t, client.User.UpdateOneID(m.UserID).SetEmail(email).Exec(b.env.System()))
			}
			memberOfA := func(userID uuid.UUID) bool {
				ok, err := client.Membership.Query().Where(membership.TenantID(tenantA), membership.UserID(userID)).
					Exist(viewer.SystemForTenant(ctx, tenantA, viewer.ReasonTest))
				require.NoError(t, err)
				return ok
			}
			rejected := func(reason string) int {
				p, err := adminA.Client.ListAuditEvents(ctx, api.ListAuditEventsParams{
					Action: api.NewOptString(passkey.ActionInvitationRejected), Limit: api.NewOptInt(100)})
				require.NoError(t, err)
				n := 0
				for _, e := range p.Items {
					if e.Details.Value["reason"] == reason && e.Details.Value["stage"] == "accept" {
						n++
					}
				}
				return n
			}

			t.Run("ErrEmailMismatch", func(t *testing.T) {
				eve := b.env.Member(b.tenant)
				withEmail(eve, "eve@example.com")
				tok := inviteTo(t, b, adminA.Client, authz.RoleAdminID, "bob@example.com")
				_, err := accept(b, eve.Client, tok)
				requireStatus(t, err, 403)
				require.False(t, memberOfA(eve.UserID))
				require.Equal(t, 1, rejected("email_mismatch"))
				// Still pending: the right person can use it.
				bob := b.env.Member(b.tenant)
				withEmail(bob, "bob@example.com")
				_, err = accept(b, bob.Client, tok)
				require.NoError(t, err)
				require.True(t, memberOfA(bob.UserID))
			})
			t.Run("ErrEmailButUserHasNone", func(t *testing.T) {
				anon := b.env.Member(b.tenant) // no email on file
				_, err := accept(b, anon.Client, inviteTo(t, b, adminA.Client, authz.RoleMemberID, "someone@example.com"))
				requireStatus(t, err, 403)
				require.False(t, memberOfA(anon.UserID))
			})
			t.Run("OK/NoEmailAnyHolder", func(t *testing.T) {
				carol := b.env.Member(b.tenant)
				got, err := accept(b, carol.Client, inviteTo(t, b, adminA.Client, authz.RoleMemberID, ""))
				require.NoError(t, err)
				require.Equal(t, authz.RoleMemberID, got.RoleID)
				require.True(t, memberOfA(carol.UserID))
			})
			t.Run("ErrAlreadyMember", func(t *testing.T) {
				dan := b.env.Member(b.tenant)
				_, err := accept(b, dan.Client, inviteTo(t, b, adminA.Client, authz.RoleMemberID, ""))
				require.NoError(t, err)
				tok := inviteTo(t, b, adminA.Client, authz.RoleAdminID, "")
				_, err = accept(b, dan.Client, tok)
				requireStatus(t, err, 409)
				require.Equal(t, 1, rejected("already_member"))
				roles, err := client.MemberRole.Query().All(viewer.SystemForTenant(ctx, tenantA, viewer.ReasonTest))
				require.NoError(t, err)
				for _, r := range roles {
					if r.UserID == dan.UserID {
						require.Equal(t, authz.RoleMemberID, r.RoleID, "no admin role from the second invitation")
					}
				}
			})
			t.Run("ErrSuspendedMemberStaysSuspended", func(t *testing.T) {
				frank := b.env.Member(b.tenant)
				_, err := accept(b, frank.Client, inviteTo(t, b, adminA.Client, authz.RoleMemberID, ""))
				require.NoError(t, err)
				_, err = adminA.Client.UpdateMember(ctx, &api.MemberUpdate{Status: api.MemberStatusSuspended},
					api.UpdateMemberParams{UserId: frank.UserID})
				require.NoError(t, err)
				_, err = accept(b, frank.Client, inviteTo(t, b, adminA.Client, authz.RoleMemberID, ""))
				requireStatus(t, err, 409)
				m, err := client.Membership.Query().Where(membership.TenantID(tenantA), membership.UserID(frank.UserID)).
					Only(viewer.SystemForTenant(ctx, tenantA, viewer.ReasonTest))
				require.NoError(t, err)
				require.Equal(t, membership.StatusSuspended, m.Status)
			})
			t.Run("ErrDisabledUser", func(t *testing.T) {
				gil := b.env.Member(b.tenant)
				require.NoError(t, client.User.UpdateOneID(gil.UserID).SetStatus(user.StatusDisabled).Exec(b.env.System()))
				_, err := accept(b, gil.Client, inviteTo(t, b, adminA.Client, authz.RoleMemberID, ""))
				requireStatus(t, err, 403)
				require.False(t, memberOfA(gil.UserID))
			})
			t.Run("ErrReenrollmentInvitation", func(t *testing.T) {
				hal := b.env.Member(tenantA)
				re, err := adminA.Client.CreateReenrollment(ctx, api.OptReenrollmentCreate{}, api.CreateReenrollmentParams{UserId: hal.UserID})
				require.NoError(t, err)
				other := b.env.Member(b.tenant)
				_, err = accept(b, other.Client, re.Token)
				requireStatus(t, err, 400)
				require.False(t, memberOfA(other.UserID))
			})
			t.Run("ErrRevokedExpiredUnknown", func(t *testing.T) {
				ivy := b.env.Member(b.tenant)
				inv, err := adminA.Client.CreateInvitation(ctx, &api.InvitationCreate{})
				require.NoError(t, err)
				require.NoError(t, adminA.Client.RevokeInvitation(ctx, api.RevokeInvitationParams{InvitationId: inv.Invitation.ID}))
				_, err = accept(b, ivy.Client, inv.Token)
				requireStatus(t, err, 404)
				_, err = accept(b, ivy.Client, "inv_made-up")
				requireStatus(t, err, 404)
				_, err = accept(b, ivy.Client, "not-an-invitation")
				requireStatus(t, err, 404)
				require.False(t, memberOfA(ivy.UserID))
			})
			t.Run("ErrNoToken", func(t *testing.T) {
				body := `{"invitation":"` + inviteTo(t, b, adminA.Client, authz.RoleMemberID, "") + `"}`
				res, err := b.env.Server.Client().Post(b.env.Server.URL+"/api/v1/me/invitations/accept", "application/json", strings.NewReader(body))
				require.NoError(t, err)
				require.NoError(t, res.Body.Close())
				require.Equal(t, 401, res.StatusCode)
				require.Equal(t, "application/problem+json", res.Header.Get("Content-Type"))
			})
			t.Run("ErrEmptyBody", func(t *testing.T) {
				jo := b.env.Member(b.tenant)
				_, err := accept(b, jo.Client, "")
				require.Error(t, err) // the client refuses minLength 1 before sending
			})
		})
	}
}

// TestSignedInEnrollmentRefused: the old path, enrolling a device with an
// invitation, refuses a signed-in person whether the token comes at the
// options or only at the finish, and creates no second identity.
func TestSignedInEnrollmentRefused(t *testing.T) {
	t.Parallel()
	b := setup(t, testkit.SQLite(t))
	ctx := b.ctx
	tenantA := b.env.Tenant().ID
	adminA := b.env.Member(tenantA, authz.RoleAdminID)
	signedIn := b.env.Member(b.tenant)
	users := func() int {
		n, err := b.env.App.DB.Client.User.Query().Count(b.env.System())
		require.NoError(t, err)
		return n
	}
	before := users()
	tok := inviteTo(t, b, adminA.Client, authz.RoleMemberID, "")

	// Options without a token, finish with one.
	o, err := b.anon.RegisterDeviceOptions(ctx, &api.RegisterOptionsRequest{Invitation: api.NewOptString(tok)})
	require.NoError(t, err)
	err = finishRegistration(t, b, o, newDevice())
	require.NoError(t, err, "anonymous finish still works")
	require.Equal(t, before+1, users())

	tok = inviteTo(t, b, adminA.Client, authz.RoleMemberID, "")
	o, err = b.anon.RegisterDeviceOptions(ctx, &api.RegisterOptionsRequest{Invitation: api.NewOptString(tok)})
	require.NoError(t, err)
	_, err = signedIn.Client.RegisterDevice(ctx, &api.RegisterRequest{CeremonyID: o.CeremonyID, Credential: attestation(t, b, o, newDevice())})
	requireStatus(t, err, 409)
	require.Equal(t, before+1, users(), "no second identity")

	// A re-enrollment invitation for someone else is refused signed in too.
	hal := b.env.Member(tenantA)
	re, err := adminA.Client.CreateReenrollment(ctx, api.OptReenrollmentCreate{}, api.CreateReenrollmentParams{UserId: hal.UserID})
	require.NoError(t, err)
	_, err = signedIn.Client.RegisterDeviceOptions(ctx, &api.RegisterOptionsRequest{Invitation: api.NewOptString(re.Token)})
	requireStatus(t, err, 409)
	// Hal himself may use it signed in.
	_, err = hal.Client.RegisterDeviceOptions(ctx, &api.RegisterOptionsRequest{Invitation: api.NewOptString(re.Token)})
	require.NoError(t, err)
}

// attestation is d's response to the enrollment options o.
func attestation(t *testing.T, b *bundle, o *api.CeremonyOptions, d *device) map[string]jx.Raw {
	t.Helper()
	ao, err := virtualwebauthn.ParseAttestationOptions(toJSON(t, o.PublicKey))
	require.NoError(t, err)
	d.auth.Options.UserHandle = []byte(ao.UserID)
	return toObject(t, virtualwebauthn.CreateAttestationResponse(b.rp, d.auth, d.cred, *ao))
}
