package passkey_test

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
	"testing"

	"github.com/descope/virtualwebauthn"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"atrium/ent/auditevent"
	"atrium/internal/audit"
	"atrium/internal/passkey"
	"atrium/internal/testkit"
	"atrium/internal/viewer"
)

type noLimit struct{}

func (noLimit) Check(context.Context, string, string) error { return nil }

// lockedBuffer is a log sink safe for the audit writer's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestRefusalLogged: an enrollment refused because the browser's page was
// not at the configured origin (the "changed only the port" trap), or
// because the authenticator signed for another RP ID, is logged at warn
// level naming the check, with what was expected and what was received;
// no personal data (the display name) appears.
func TestRefusalLogged(t *testing.T) {
	t.Parallel()
	db := testkit.SQLite(t)
	var logs lockedBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	cfg, err := passkey.ConfigFromPublicURL("http://localhost:8080", nil)
	require.NoError(t, err)
	s, err := passkey.New(cfg, passkey.NewMemoryStore(), db.Client, nil, audit.NewWriter(db.Client, db.Dialect, log), noLimit{}, log)
	require.NoError(t, err)
	ctx := context.Background()
	_, inv, err := s.BootstrapTenant(viewer.System(ctx, viewer.ReasonTest), "Acme", "acme", nil)
	require.NoError(t, err)

	enroll := func(t *testing.T, rp virtualwebauthn.RelyingParty) error {
		t.Helper()
		o, err := s.RegisterOptions(ctx, passkey.RegisterOptionsInput{Invitation: inv.Token, DisplayName: "Ada Lovelace"})
		require.NoError(t, err)
		ao, err := virtualwebauthn.ParseAttestationOptions(string(o.PublicKey))
		require.NoError(t, err)
		d := newDevice()
		d.auth.Options.UserHandle = []byte(ao.UserID)
		resp := virtualwebauthn.CreateAttestationResponse(rp, d.auth, d.cred, *ao)
		_, err = s.Register(ctx, passkey.RegisterInput{CeremonyID: o.CeremonyID, Credential: []byte(resp)})
		return err
	}
	t.Run("ErrOriginMismatch", func(t *testing.T) {
		err := enroll(t, virtualwebauthn.RelyingParty{Name: "Atrium", ID: "localhost", Origin: "http://localhost:9090"})
		require.ErrorContains(t, err, "could not be verified")
		out := logs.String()
		require.Contains(t, out, "level=WARN")
		require.Contains(t, out, `msg="webauthn ceremony refused: origin mismatch"`)
		require.Contains(t, out, "check=origin_mismatch")
		require.Contains(t, out, "expected_origins=[http://localhost:8080]")
		require.Contains(t, out, "received_origin=http://localhost:9090")
		require.NotContains(t, out, "Ada")
	})
	t.Run("ErrRPIDMismatch", func(t *testing.T) {
		err := enroll(t, virtualwebauthn.RelyingParty{Name: "Atrium", ID: "atrium.example.com", Origin: "http://localhost:8080"})
		require.ErrorContains(t, err, "could not be verified")
		out := logs.String()
		require.Contains(t, out, `msg="webauthn ceremony refused: RP ID mismatch"`)
		require.Contains(t, out, "expected_rp_id=localhost")
	})
	t.Run("ErrUnknownCeremony", func(t *testing.T) {
		_, err := s.Register(ctx, passkey.RegisterInput{CeremonyID: "nope", Credential: []byte("{}")})
		require.Error(t, err)
		require.Contains(t, logs.String(), "check=ceremony_unknown")
	})
}

// TestOperatorAdminInvitation: `atrium tenant invite` replaces a lost
// first-admin link: the new link enrolls an admin, the old one (and only the
// operator's admin links, not a member's invitation) is refused from then on,
// and both the revocation and the new invitation are audited in the tenant.
func TestOperatorAdminInvitation(t *testing.T) {
	t.Parallel()
	db := testkit.SQLite(t)
	log := slog.New(slog.DiscardHandler)
	cfg, err := passkey.ConfigFromPublicURL("http://localhost:8080", nil)
	require.NoError(t, err)
	s, err := passkey.New(cfg, passkey.NewMemoryStore(), db.Client, nil, audit.NewWriter(db.Client, db.Dialect, log), noLimit{}, log)
	require.NoError(t, err)
	ctx := context.Background()
	tn, first, err := s.BootstrapTenant(viewer.System(ctx, viewer.ReasonTest), "Acme", "acme", nil)
	require.NoError(t, err)
	tctx := viewer.SystemForTenant(ctx, tn.ID, viewer.ReasonTest)
	member, err := s.Invite(tctx, passkey.InviteInput{})
	require.NoError(t, err)
	_, otherFirst, err := s.BootstrapTenant(viewer.System(ctx, viewer.ReasonTest), "Other", "other", nil)
	require.NoError(t, err)

	usable := func(token string) bool {
		_, err := s.RegisterOptions(ctx, passkey.RegisterOptionsInput{Invitation: token})
		return err == nil
	}
	require.True(t, usable(first.Token))

	next, revoked, err := s.OperatorAdminInvitation(ctx, tn.ID, nil)
	require.NoError(t, err)
	require.Equal(t, []uuid.UUID{first.Invitation.ID}, revoked)
	require.False(t, usable(first.Token), "the lost link is revoked")
	require.True(t, usable(next.Token))
	require.True(t, usable(member.Token), "a member's invitation is not the operator's to revoke")
	require.True(t, usable(otherFirst.Token), "another tenant's link is untouched")
	require.Equal(t, tn.ID, next.Invitation.TenantID)
	require.NotNil(t, next.Invitation.RoleID)

	// Again: the previous replacement goes too.
	again, revoked, err := s.OperatorAdminInvitation(ctx, tn.ID, nil)
	require.NoError(t, err)
	require.Equal(t, []uuid.UUID{next.Invitation.ID}, revoked)
	require.True(t, usable(again.Token))

	evs, err := db.Client.AuditEvent.Query().Where(auditevent.TenantID(tn.ID), auditevent.ResourceID(first.Invitation.ID)).
		All(viewer.System(ctx, viewer.ReasonTest))
	require.NoError(t, err)
	var actions []string
	for _, e := range evs {
		actions = append(actions, e.Action)
	}
	require.Contains(t, actions, passkey.ActionInvitationRevoked)

	_, _, err = s.OperatorAdminInvitation(ctx, uuid.New(), nil)
	require.ErrorContains(t, err, "tenant not found")
}
