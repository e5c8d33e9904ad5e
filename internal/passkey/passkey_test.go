package passkey_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/descope/virtualwebauthn"
	"github.com/go-faster/jx"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"atrium/ent/auditevent"
	"atrium/ent/membership"
	"atrium/gen/api"
	"atrium/internal/app"
	"atrium/internal/apptest"
	"atrium/internal/audit"
	"atrium/internal/authz"
	"atrium/internal/config"
	"atrium/internal/ratelimit"
	"atrium/internal/testkit"
	"atrium/internal/viewer"
)

func TestMain(m *testing.M) { testkit.MainLeakFree(m) }

// device is a software authenticator holding one passkey.
type device struct {
	auth virtualwebauthn.Authenticator
	cred virtualwebauthn.Credential
}

func newDevice() *device {
	return &device{auth: virtualwebauthn.NewAuthenticator(), cred: newEC2Credential()}
}

// newEC2Credential returns a software credential whose public key encodes
// correctly. virtualwebauthn writes the COSE key's coordinates with
// big.Int.Bytes, which drops leading zero bytes: about 1 key in 128 has a
// coordinate shorter than 32 bytes, which go-webauthn rightly refuses — a
// flaky "could not be verified" in tests. Such keys are drawn again.
func newEC2Credential() virtualwebauthn.Credential {
	for {
		c := virtualwebauthn.NewCredential(virtualwebauthn.KeyTypeEC2)
		k, err := x509.ParsePKCS8PrivateKey(c.Key.Data)
		if err != nil {
			panic(err)
		}
		if pk := k.(*ecdsa.PrivateKey); len(pk.X.Bytes()) == 32 && len(pk.Y.Bytes()) == 32 {
			return c
		}
	}
}

type bundle struct {
	t      testing.TB
	env    *apptest.Env
	rp     virtualwebauthn.RelyingParty
	anon   *api.Client
	ctx    context.Context
	tenant uuid.UUID
}

func setup(t *testing.T, db *app.Database, opts ...apptest.Option) *bundle {
	return setupB(t, db, opts...)
}

func setupB(t testing.TB, db *app.Database, opts ...apptest.Option) *bundle {
	t.Helper()
	env := apptest.New(t, db, opts...)
	tn := env.Tenant()
	return &bundle{t: t, env: env, anon: env.Client(""), ctx: context.Background(), tenant: tn.ID,
		rp: virtualwebauthn.RelyingParty{Name: "Atrium", ID: "localhost", Origin: "http://localhost:8080"}}
}

func toJSON(t testing.TB, m map[string]jx.Raw) string {
	t.Helper()
	var e jx.Encoder
	e.ObjStart()
	for k, v := range m {
		e.FieldStart(k)
		e.Raw(v)
	}
	e.ObjEnd()
	return e.String()
}

func toObject(t testing.TB, s string) map[string]jx.Raw {
	t.Helper()
	var m map[string]json.RawMessage
	require.NoError(t, json.Unmarshal([]byte(s), &m))
	out := map[string]jx.Raw{}
	for k, v := range m {
		out[k] = jx.Raw(v)
	}
	return out
}

// invite creates an enrollment invitation in the bundle's tenant.
func (b *bundle) invite(role uuid.UUID) string {
	b.t.Helper()
	ctx := viewer.SystemForTenant(b.ctx, b.tenant, viewer.ReasonTest)
	inv, err := b.env.App.Passkeys.Invite(ctx, passkeyInvite(role))
	require.NoError(b.t, err)
	return inv.Token
}

// enroll runs registration with rp and returns the register response.
func (b *bundle) enroll(c *api.Client, d *device, invitation string, rp virtualwebauthn.RelyingParty) (*api.RegisterResponse, error) {
	b.t.Helper()
	req := &api.RegisterOptionsRequest{DisplayName: api.NewOptString("Ada")}
	if invitation != "" {
		req.Invitation = api.NewOptString(invitation)
	}
	o, err := c.RegisterDeviceOptions(b.ctx, req)
	if err != nil {
		return nil, err
	}
	ao, err := virtualwebauthn.ParseAttestationOptions(toJSON(b.t, o.PublicKey))
	require.NoError(b.t, err)
	d.auth.Options.UserHandle = []byte(ao.UserID)
	resp := virtualwebauthn.CreateAttestationResponse(rp, d.auth, d.cred, *ao)
	res, err := c.RegisterDevice(b.ctx, &api.RegisterRequest{CeremonyID: o.CeremonyID, Credential: toObject(b.t, resp),
		DeviceName: api.NewOptString("test key")})
	if err == nil {
		d.auth.AddCredential(d.cred)
	}
	return res, err
}

// assertion begins a sign-in and returns the ceremony id and d's response.
func (b *bundle) assertion(d *device, rp virtualwebauthn.RelyingParty) (string, map[string]jx.Raw) {
	b.t.Helper()
	o, err := b.anon.LoginOptions(b.ctx)
	require.NoError(b.t, err)
	ao, err := virtualwebauthn.ParseAssertionOptions(toJSON(b.t, o.PublicKey))
	require.NoError(b.t, err)
	d.cred.Counter++
	return o.CeremonyID, toObject(b.t, virtualwebauthn.CreateAssertionResponse(rp, d.auth, d.cred, *ao))
}

func (b *bundle) login(d *device) (*api.TokenResponse, error) {
	b.t.Helper()
	id, cred := b.assertion(d, b.rp)
	return b.anon.Login(b.ctx, &api.LoginRequest{CeremonyID: id, Credential: cred})
}

func requireStatus(t *testing.T, err error, status int) {
	t.Helper()
	require.Error(t, err)
	var se *api.ErrorStatusCode
	require.True(t, errors.As(err, &se), "want a problem response, got %v", err)
	require.Equal(t, status, se.StatusCode, "problem: %+v", se.Response)
}

func refresh(b *bundle, raw string) (*api.TokenResponse, error) {
	return b.anon.ExchangeToken(b.ctx, &api.TokenExchangeRequest{GrantType: api.TokenExchangeRequestGrantTypeRefreshToken,
		RefreshToken: api.NewOptString(raw)})
}

func exchange(b *bundle, access string, tenant uuid.UUID) (*api.TokenResponse, error) {
	return b.anon.ExchangeToken(b.ctx, &api.TokenExchangeRequest{
		GrantType:        api.TokenExchangeRequestGrantTypeUrnIetfParamsOAuthGrantTypeTokenExchange,
		SubjectToken:     api.NewOptString(access),
		SubjectTokenType: api.NewOptString("urn:ietf:params:oauth:token-type:access_token"),
		TenantID:         api.NewOptUUID(tenant),
	})
}

// TestJourney walks a user's whole life: enroll via invitation -> login ->
// refresh -> switch tenant -> add a second device -> remove the first ->
// logout.
func TestJourney(t *testing.T) {
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
			d1 := newDevice()

			// Enroll from an invitation: a new user, signed in at once.
			reg, err := b.enroll(b.anon, d1, b.invite(authz.RoleMemberID), b.rp)
			require.NoError(t, err)
			require.True(t, reg.Token.Set)
			require.Equal(t, "test key", reg.Device.Name)
			require.True(t, reg.Device.UserVerified)
			enrolled := reg.Token.Value
			require.Equal(t, b.tenant, enrolled.TenantID)
			me, err := b.env.Client(enrolled.AccessToken).GetMe(ctx)
			require.NoError(t, err)
			require.Equal(t, "Ada", me.DisplayName)
			require.Contains(t, me.Permissions, authz.ConversationCreate)

			// Usernameless login.
			tok, err := b.login(d1)
			require.NoError(t, err)
			require.Equal(t, enrolled.UserID, tok.UserID)
			require.Equal(t, b.tenant, tok.TenantID)
			require.NotEqual(t, enrolled.SessionID, tok.SessionID, "a new session per sign-in")
			c := b.env.Client(tok.AccessToken)
			_, err = c.CreateConversation(ctx, &api.ConversationCreate{Title: api.NewOptString("mine")})
			require.NoError(t, err)

			// Refresh rotates the refresh token.
			r1, err := refresh(b, tok.RefreshToken)
			require.NoError(t, err)
			require.NotEqual(t, tok.RefreshToken, r1.RefreshToken)
			require.Equal(t, tok.SessionID, r1.SessionID)
			_, err = b.env.Client(r1.AccessToken).GetMe(ctx)
			require.NoError(t, err)

			// Switch tenant: the user joins a second tenant, exchanges.
			t2 := b.env.Tenant()
			addMember(t, b, t2.ID, tok.UserID, authz.RoleViewerID)
			sw, err := exchange(b, r1.AccessToken, t2.ID)
			require.NoError(t, err)
			require.Equal(t, t2.ID, sw.TenantID)
			require.Equal(t, tok.SessionID, sw.SessionID)
			c2 := b.env.Client(sw.AccessToken)
			tenants, err := c2.ListMyTenants(ctx)
			require.NoError(t, err)
			require.Len(t, tenants.Items, 2)
			_, err = c2.CreateConversation(ctx, &api.ConversationCreate{})
			requireStatus(t, err, 403) // viewer in tenant 2
			_, err = b.env.Client(r1.AccessToken).GetMe(ctx)
			requireStatus(t, err, 401) // the pre-switch token is dead
			// (Its refresh token is spent too: presenting it would count as
			// reuse and end the session — see TestAttacks.)

			// Add a second device while signed in.
			d2 := newDevice()
			added, err := b.enroll(c2, d2, "", b.rp)
			require.NoError(t, err)
			require.False(t, added.Token.Set, "adding a device does not open a session")
			devs, err := c2.ListMyDevices(ctx)
			require.NoError(t, err)
			require.Len(t, devs.Items, 2)

			// Sign in with the second device (last tenant: t2), then remove the first.
			tok2, err := b.login(d2)
			require.NoError(t, err)
			require.Equal(t, t2.ID, tok2.TenantID, "defaults to the last used tenant")
			c3 := b.env.Client(tok2.AccessToken)
			require.NoError(t, c3.RemoveMyDevice(ctx, api.RemoveMyDeviceParams{DeviceId: reg.Device.ID}))
			_, err = c2.GetMe(ctx)
			requireStatus(t, err, 401) // the session opened with device 1 ended
			_, err = b.login(d1)
			requireStatus(t, err, 401) // device 1 is gone

			// The last device cannot go without closing the account.
			err = c3.RemoveMyDevice(ctx, api.RemoveMyDeviceParams{DeviceId: added.Device.ID})
			requireStatus(t, err, 409)

			// Sessions: list, then logout.
			ss, err := c3.ListMySessions(ctx)
			require.NoError(t, err)
			require.NotEmpty(t, ss.Items)
			var current int
			for _, s := range ss.Items {
				if s.Current {
					current++
					require.Equal(t, tok2.SessionID, s.ID)
				}
			}
			require.Equal(t, 1, current)
			require.NoError(t, c3.Logout(ctx))
			_, err = c3.GetMe(ctx)
			requireStatus(t, err, 401)
			_, err = refresh(b, tok2.RefreshToken)
			requireStatus(t, err, 401)

			// Every step left its audit event, with IDs only.
			ref, ok := audit.Pseudonym(ctx, b.env.App.DB.Client, tok.UserID)
			require.True(t, ok)
			require.NotEqual(t, tok.UserID, ref, "the actor is a pseudonym")
			evs, err := b.env.App.DB.Client.AuditEvent.Query().Where(auditevent.Actor(ref)).All(b.env.System())
			require.NoError(t, err)
			seen := map[string]bool{}
			for _, e := range evs {
				seen[e.Action] = true
				for _, v := range e.Details {
					require.NotContains(t, v, "Ada", "no personal data in audit rows")
				}
			}
			for _, a := range []string{"invitation.used", "auth.device.added", "auth.login", "auth.token.refreshed",
				"auth.token.exchanged", "auth.device.removed", "auth.logout"} {
				require.True(t, seen[a], "audit action %s missing; have %v", a, seen)
			}
		})
	}
}

func addMember(t *testing.T, b *bundle, tenant, user, role uuid.UUID) {
	t.Helper()
	ctx := viewer.SystemForTenant(b.ctx, tenant, viewer.ReasonTest)
	c := b.env.App.DB.Client
	require.NoError(t, c.Membership.Create().SetTenantID(tenant).SetUserID(user).SetCreatedBy(user).SetUpdatedBy(user).Exec(ctx))
	require.NoError(t, c.MemberRole.Create().SetTenantID(tenant).SetUserID(user).SetRoleID(role).SetCreatedBy(user).SetUpdatedBy(user).Exec(ctx))
}

func removeMember(t *testing.T, b *bundle, tenant, user uuid.UUID) {
	t.Helper()
	ctx := viewer.SystemForTenant(b.ctx, tenant, viewer.ReasonTest)
	_, err := b.env.App.DB.Client.Membership.Delete().Where(membership.TenantID(tenant), membership.UserID(user)).Exec(ctx)
	require.NoError(t, err)
	b.env.App.Authz.Invalidate(ctx, tenant, user)
}

// TestAttacks: each attack must fail.
func TestAttacks(t *testing.T) {
	t.Parallel()
	b := setup(t, testkit.SQLite(t))
	ctx := b.ctx
	d := newDevice()
	reg, err := b.enroll(b.anon, d, b.invite(authz.RoleMemberID), b.rp)
	require.NoError(t, err)
	userID := reg.Token.Value.UserID

	t.Run("ErrReplayedCeremony", func(t *testing.T) {
		id, cred := b.assertion(d, b.rp)
		_, err := b.anon.Login(ctx, &api.LoginRequest{CeremonyID: id, Credential: cred})
		require.NoError(t, err)
		_, err = b.anon.Login(ctx, &api.LoginRequest{CeremonyID: id, Credential: cred})
		requireStatus(t, err, 401)
	})
	t.Run("ErrExpiredCeremony", func(t *testing.T) {
		id, cred := b.assertion(d, b.rp)
		b.env.App.Passkeys.SetClock(func() time.Time { return time.Now().Add(6 * time.Minute) })
		defer b.env.App.Passkeys.SetClock(time.Now)
		_, err := b.anon.Login(ctx, &api.LoginRequest{CeremonyID: id, Credential: cred})
		requireStatus(t, err, 401)
	})
	t.Run("ErrWrongOrigin", func(t *testing.T) {
		rp := b.rp
		rp.Origin = "https://evil.example"
		id, cred := b.assertion(d, rp)
		_, err := b.anon.Login(ctx, &api.LoginRequest{CeremonyID: id, Credential: cred})
		requireStatus(t, err, 401)
	})
	t.Run("ErrWrongRPID", func(t *testing.T) {
		rp := b.rp
		rp.ID = "evil.example"
		id, cred := b.assertion(d, rp)
		_, err := b.anon.Login(ctx, &api.LoginRequest{CeremonyID: id, Credential: cred})
		requireStatus(t, err, 401)
	})
	t.Run("ErrUserVerificationMissing", func(t *testing.T) {
		nv := *d
		nv.auth.Options.UserNotVerified = true
		_, err := b.login(&nv)
		requireStatus(t, err, 401)
	})
	t.Run("ErrUserVerificationMissingAtEnrollment", func(t *testing.T) {
		nd := newDevice()
		nd.auth.Options.UserNotVerified = true
		_, err := b.enroll(b.anon, nd, b.invite(authz.RoleMemberID), b.rp)
		requireStatus(t, err, 401)
	})
	t.Run("ErrUnknownCredential", func(t *testing.T) {
		stranger := newDevice()
		stranger.auth.Options.UserHandle = userID[:]
		_, err := b.login(stranger)
		requireStatus(t, err, 401)
	})
	t.Run("ErrForeignUserHandle", func(t *testing.T) {
		// A valid credential presented with another user's handle.
		forged := *d
		other := uuid.Must(uuid.NewV7())
		forged.auth.Options.UserHandle = other[:]
		_, err := b.login(&forged)
		requireStatus(t, err, 401)
	})
	t.Run("ErrSignCountRegression", func(t *testing.T) {
		_, err := b.login(d)
		require.NoError(t, err)
		clone := *d
		clone.cred.Counter = 1 // the stored counter is higher
		clone.cred.Counter--   // assertion() increments before signing
		_, err = b.login(&clone)
		requireStatus(t, err, 401)
	})
	t.Run("ErrInvitationReused", func(t *testing.T) {
		inv := b.invite(authz.RoleMemberID)
		_, err := b.enroll(b.anon, newDevice(), inv, b.rp)
		require.NoError(t, err)
		_, err = b.enroll(b.anon, newDevice(), inv, b.rp)
		requireStatus(t, err, 401)
	})
	t.Run("ErrInvitationUsedDuringCeremony", func(t *testing.T) {
		// Two ceremonies begun with one invitation: only one may finish.
		inv := b.invite(authz.RoleMemberID)
		first, second := newDevice(), newDevice()
		o1, err := b.anon.RegisterDeviceOptions(ctx, &api.RegisterOptionsRequest{Invitation: api.NewOptString(inv)})
		require.NoError(t, err)
		o2, err := b.anon.RegisterDeviceOptions(ctx, &api.RegisterOptionsRequest{Invitation: api.NewOptString(inv)})
		require.NoError(t, err)
		finish := func(o *api.CeremonyOptions, d *device) error {
			ao, err := virtualwebauthn.ParseAttestationOptions(toJSON(t, o.PublicKey))
			require.NoError(t, err)
			d.auth.Options.UserHandle = []byte(ao.UserID)
			_, err = b.anon.RegisterDevice(ctx, &api.RegisterRequest{CeremonyID: o.CeremonyID,
				Credential: toObject(t, virtualwebauthn.CreateAttestationResponse(b.rp, d.auth, d.cred, *ao))})
			return err
		}
		require.NoError(t, finish(o1, first))
		requireStatus(t, finish(o2, second), 401)
	})
	t.Run("ErrInvitationRevoked", func(t *testing.T) {
		tctx := viewer.SystemForTenant(ctx, b.tenant, viewer.ReasonTest)
		inv, err := b.env.App.Passkeys.Invite(tctx, passkeyInvite(authz.RoleMemberID))
		require.NoError(t, err)
		require.NoError(t, b.env.App.Passkeys.RevokeInvitation(tctx, inv.Invitation.ID))
		_, err = b.enroll(b.anon, newDevice(), inv.Token, b.rp)
		requireStatus(t, err, 401)
	})
	t.Run("ErrInvitationExpired", func(t *testing.T) {
		inv := b.invite(authz.RoleMemberID)
		b.env.App.Passkeys.SetClock(func() time.Time { return time.Now().Add(8 * 24 * time.Hour) })
		defer b.env.App.Passkeys.SetClock(time.Now)
		_, err := b.enroll(b.anon, newDevice(), inv, b.rp)
		requireStatus(t, err, 401)
	})
	t.Run("ErrInvitationForged", func(t *testing.T) {
		_, err := b.enroll(b.anon, newDevice(), "inv_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", b.rp)
		requireStatus(t, err, 401)
	})
	t.Run("ErrNoInvitationNoToken", func(t *testing.T) {
		_, err := b.anon.RegisterDeviceOptions(ctx, &api.RegisterOptionsRequest{})
		requireStatus(t, err, 401)
	})
	t.Run("ErrAddDeviceCeremonyFinishedByAnother", func(t *testing.T) {
		tok, err := b.login(d)
		require.NoError(t, err)
		c := b.env.Client(tok.AccessToken)
		o, err := c.RegisterDeviceOptions(ctx, &api.RegisterOptionsRequest{})
		require.NoError(t, err)
		nd := newDevice()
		ao, err := virtualwebauthn.ParseAttestationOptions(toJSON(t, o.PublicKey))
		require.NoError(t, err)
		_, err = b.anon.RegisterDevice(ctx, &api.RegisterRequest{CeremonyID: o.CeremonyID,
			Credential: toObject(t, virtualwebauthn.CreateAttestationResponse(b.rp, nd.auth, nd.cred, *ao))})
		requireStatus(t, err, 401)
	})
	t.Run("ErrRefreshReuseRevokesFamily", func(t *testing.T) {
		tok, err := b.login(d)
		require.NoError(t, err)
		next, err := refresh(b, tok.RefreshToken)
		require.NoError(t, err)
		_, err = refresh(b, tok.RefreshToken) // the stolen, already-rotated token
		requireStatus(t, err, 401)
		_, err = refresh(b, next.RefreshToken) // the whole family is revoked
		requireStatus(t, err, 401)
		_, err = b.env.Client(next.AccessToken).GetMe(ctx)
		requireStatus(t, err, 401)
	})
	t.Run("ErrRefreshTokenFromBeforeSwitch", func(t *testing.T) {
		tok, err := b.login(d)
		require.NoError(t, err)
		t3 := b.env.Tenant()
		addMember(t, b, t3.ID, userID, authz.RoleMemberID)
		sw, err := exchange(b, tok.AccessToken, t3.ID)
		require.NoError(t, err)
		_, err = refresh(b, tok.RefreshToken) // spent by the exchange
		requireStatus(t, err, 401)
		_, err = b.env.Client(sw.AccessToken).GetMe(ctx)
		requireStatus(t, err, 401) // treated as reuse: the session ended
	})
	t.Run("ErrRefreshGarbage", func(t *testing.T) {
		_, err := refresh(b, "not-a-token")
		requireStatus(t, err, 401)
	})
	t.Run("ErrSessionRevokedFromElsewhere", func(t *testing.T) {
		a, err := b.login(d)
		require.NoError(t, err)
		other, err := b.login(d)
		require.NoError(t, err)
		ca := b.env.Client(a.AccessToken)
		_, err = b.env.Client(other.AccessToken).GetMe(ctx)
		require.NoError(t, err)
		require.NoError(t, ca.RevokeMySession(ctx, api.RevokeMySessionParams{SessionId: other.SessionID}))
		_, err = b.env.Client(other.AccessToken).GetMe(ctx)
		requireStatus(t, err, 401)
	})
	t.Run("ErrRevokeSomeoneElsesSession", func(t *testing.T) {
		a, err := b.login(d)
		require.NoError(t, err)
		stranger := b.env.Member(b.tenant, authz.RoleAdminID)
		err = stranger.Client.RevokeMySession(ctx, api.RevokeMySessionParams{SessionId: a.SessionID})
		requireStatus(t, err, 404)
		_, err = b.env.Client(a.AccessToken).GetMe(ctx)
		require.NoError(t, err)
	})
	t.Run("ErrMemberRemoved", func(t *testing.T) {
		tok, err := b.login(d)
		require.NoError(t, err)
		t2 := b.env.Tenant()
		addMember(t, b, t2.ID, userID, authz.RoleMemberID)
		sw, err := exchange(b, tok.AccessToken, t2.ID)
		require.NoError(t, err)
		removeMember(t, b, t2.ID, userID)
		_, err = b.env.Client(sw.AccessToken).GetMe(ctx)
		requireStatus(t, err, 401)
		_, err = refresh(b, sw.RefreshToken)
		requireStatus(t, err, 401)
	})
	t.Run("ErrSwitchToForeignTenant", func(t *testing.T) {
		tok, err := b.login(d)
		require.NoError(t, err)
		foreign := b.env.Tenant()
		_, err = exchange(b, tok.AccessToken, foreign.ID)
		requireStatus(t, err, 403)
		_, err = b.env.Client(tok.AccessToken).GetMe(ctx)
		require.NoError(t, err, "a refused switch leaves the session alone")
	})
	t.Run("ErrLoginToForeignTenant", func(t *testing.T) {
		foreign := b.env.Tenant()
		id, cred := b.assertion(d, b.rp)
		_, err := b.anon.Login(ctx, &api.LoginRequest{CeremonyID: id, Credential: cred, TenantID: api.NewOptUUID(foreign.ID)})
		requireStatus(t, err, 401)
	})
}

// TestRateLimits: the public auth endpoints trip with 429 and Retry-After,
// per client address and per credential.
func TestRateLimits(t *testing.T) {
	t.Parallel()
	limits := ratelimit.Config{
		PerIP:         ratelimit.PerMinute(600, 3),
		PerCredential: ratelimit.PerMinute(1, 2),
		PerInvitation: ratelimit.PerHour(1, 2),
	}
	t.Run("ErrPerIP", func(t *testing.T) {
		t.Parallel()
		b := setup(t, testkit.SQLite(t), apptest.WithRateLimits(ratelimit.Config{PerIP: ratelimit.PerMinute(1, 3)}))
		for range 3 {
			_, err := b.anon.LoginOptions(b.ctx)
			require.NoError(t, err)
		}
		res, err := b.env.Server.Client().Post(b.env.Server.URL+"/api/v1/auth/device/login/options", "application/json", nil)
		require.NoError(t, err)
		defer res.Body.Close()
		require.Equal(t, 429, res.StatusCode)
		require.NotEmpty(t, res.Header.Get("Retry-After"))
		require.Equal(t, "application/problem+json", res.Header.Get("Content-Type"))
	})
	t.Run("ErrPerCredential", func(t *testing.T) {
		t.Parallel()
		b := setup(t, testkit.SQLite(t), apptest.WithRateLimits(limits))
		d := newDevice()
		_, err := b.enroll(b.anon, d, b.invite(authz.RoleMemberID), b.rp)
		require.NoError(t, err)
		var last error
		for range 3 {
			_, last = b.login(d)
		}
		requireStatus(t, last, 429)
	})
	t.Run("ErrPerInvitation", func(t *testing.T) {
		t.Parallel()
		b := setup(t, testkit.SQLite(t), apptest.WithRateLimits(limits))
		inv := b.invite(authz.RoleMemberID)
		var last error
		for range 3 {
			_, last = b.anon.RegisterDeviceOptions(b.ctx, &api.RegisterOptionsRequest{Invitation: api.NewOptString(inv)})
		}
		requireStatus(t, last, 429)
	})
}

// TestCredentialFlagsRoundTrip: the flags an authenticator reports are stored
// and survive a sign-in.
func TestCredentialFlagsRoundTrip(t *testing.T) {
	t.Parallel()
	b := setup(t, testkit.SQLite(t))
	d := newDevice()
	d.auth.Options.BackupEligible = true
	d.auth.Options.BackupState = true
	reg, err := b.enroll(b.anon, d, b.invite(authz.RoleMemberID), b.rp)
	require.NoError(t, err)
	require.True(t, reg.Device.BackupEligible)
	require.True(t, reg.Device.BackupState)
	require.True(t, reg.Device.UserVerified)
	tok, err := b.login(d)
	require.NoError(t, err)
	devs, err := b.env.Client(tok.AccessToken).ListMyDevices(b.ctx)
	require.NoError(t, err)
	require.Len(t, devs.Items, 1)
	got := devs.Items[0]
	require.True(t, got.BackupEligible)
	require.True(t, got.BackupState)
	require.True(t, got.LastUsedAt.Set)
	require.Equal(t, reg.Device.Aaguid, got.Aaguid)
}

// TestSessionLifetimes: an idle session ends after the idle timeout.
func TestSessionLifetimes(t *testing.T) {
	t.Parallel()
	b := setup(t, testkit.SQLite(t), func(c *config.Config) {
		c.SessionIdle, c.SessionMaxAge = 3*time.Second, time.Hour
	})
	d := newDevice()
	reg, err := b.enroll(b.anon, d, b.invite(authz.RoleMemberID), b.rp)
	require.NoError(t, err)
	c := b.env.Client(reg.Token.Value.AccessToken)
	_, err = c.GetMe(b.ctx)
	require.NoError(t, err)
	b.env.Advance(3100 * time.Millisecond)
	_, err = c.GetMe(b.ctx)
	requireStatus(t, err, 401)
	_, err = refresh(b, reg.Token.Value.RefreshToken)
	requireStatus(t, err, 401)
}
