// Package passkey runs the WebAuthn ceremonies that enroll devices and sign
// users in, keeps the devices' credentials, and issues the invitations that
// let a first device be enrolled. Users have no password: a registered
// device is the only way in.
package passkey

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"atrium/ent"
	"atrium/ent/credential"
	"atrium/ent/invitation"
	"atrium/ent/membership"
	"atrium/internal/account"
	"atrium/internal/audit"
	"atrium/internal/fault"
	"atrium/internal/viewer"
)

// Audit actions.
const (
	ActionDeviceAdded        = "auth.device.added"
	ActionLogin              = account.ActionLogin
	ActionRegisterFailed     = "auth.device.register_failed"
	ActionInvitationCreated  = "invitation.created"
	ActionInvitationUsed     = "invitation.used"
	ActionInvitationRevoked  = "invitation.revoked"
	ActionInvitationRejected = "invitation.rejected"
	// ActionReenrolled is recorded beside ActionDeviceAdded when the device
	// came from a re-enrollment invitation.
	ActionReenrolled = "auth.device.reenrolled"
)

// CeremonyTTL is how long a ceremony may take from options to finish.
const CeremonyTTL = 5 * time.Minute

// Config binds ceremonies to the relying party.
type Config struct {
	RPID    string   // e.g. "atrium.example.com"; "localhost" for development
	RPName  string   // shown by authenticators
	Origins []string // allowed origins, e.g. "https://atrium.example.com"
	// PublicURL is the web console's origin, for enrollment links.
	PublicURL string
}

// ConfigFromPublicURL derives the relying party from the origin users see.
func ConfigFromPublicURL(publicURL string, extraOrigins []string) (Config, error) {
	u, err := url.Parse(publicURL)
	if err != nil || u.Hostname() == "" {
		return Config{}, fmt.Errorf("passkey: public URL %q has no host", publicURL)
	}
	origin := u.Scheme + "://" + u.Host
	return Config{RPID: u.Hostname(), RPName: "Atrium", Origins: append([]string{origin}, extraOrigins...), PublicURL: origin}, nil
}

// Limiter throttles attempts per key (an invitation, a credential).
type Limiter interface {
	Check(ctx context.Context, scope, key string) error
}

// Service implements enrollment, sign-in and invitations.
type Service struct {
	wa       *webauthn.WebAuthn
	cfg      Config
	store    CeremonyStore
	client   *ent.Client
	accounts *account.Service
	audit    *audit.Writer
	limiter  Limiter
	log      *slog.Logger
	now      func() time.Time
	refusals *prometheus.CounterVec
}

// New returns a Service.
func New(cfg Config, store CeremonyStore, client *ent.Client, accounts *account.Service, w *audit.Writer, limiter Limiter, log *slog.Logger) (*Service, error) {
	wa, err := webauthn.New(&webauthn.Config{
		RPID:          cfg.RPID,
		RPDisplayName: cfg.RPName,
		RPOrigins:     cfg.Origins,
	})
	if err != nil {
		return nil, fmt.Errorf("passkey: %w", err)
	}
	return &Service{wa: wa, cfg: cfg, store: store, client: client, accounts: accounts, audit: w,
		limiter: limiter, log: log, now: time.Now, refusals: newRefusalCounter()}, nil
}

type ceremonyKind string

const (
	kindRegister ceremonyKind = "register"
	kindLogin    ceremonyKind = "login"
)

// ceremony is the server-side state between options and finish.
type ceremony struct {
	Kind         ceremonyKind         `json:"k"`
	Session      webauthn.SessionData `json:"s"`
	UserID       uuid.UUID            `json:"u,omitzero"`
	InvitationID uuid.UUID            `json:"i,omitzero"`
	TenantID     uuid.UUID            `json:"t,omitzero"`
	NewUser      bool                 `json:"n,omitempty"`
	DisplayName  string               `json:"d,omitempty"`
	// SessionID is the signed-in session that began an add-device ceremony;
	// only that session may finish it.
	SessionID uuid.UUID `json:"b,omitzero"`
}

// Options are what the browser needs to run a ceremony.
type Options struct {
	CeremonyID string
	PublicKey  json.RawMessage // the PublicKeyCredential*OptionsJSON
}

func (s *Service) put(ctx context.Context, c ceremony, publicKey any) (*Options, error) {
	pk, err := json.Marshal(publicKey)
	if err != nil {
		return nil, err
	}
	data, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	id, err := s.store.Put(ctx, data, CeremonyTTL)
	if err != nil {
		return nil, fault.Wrap(err, fault.Unavailable, "cannot start a ceremony right now")
	}
	return &Options{CeremonyID: id, PublicKey: pk}, nil
}

var errCeremony = fault.New(fault.Unauthenticated, "the ceremony is unknown, expired or already used: start again")

func (s *Service) take(ctx context.Context, id string, kind ceremonyKind) (*ceremony, error) {
	data, err := s.store.Take(ctx, id)
	if errors.Is(err, ErrNoCeremony) {
		s.logCeremonyRefused(ctx, kind, "ceremony_unknown")
		return nil, errCeremony
	}
	if err != nil {
		return nil, fault.Wrap(err, fault.Unavailable, "ceremonies are unavailable")
	}
	var c ceremony
	if err := json.Unmarshal(data, &c); err != nil || c.Kind != kind {
		s.logCeremonyRefused(ctx, kind, "ceremony_kind_mismatch")
		return nil, errCeremony
	}
	if !c.Session.Expires.IsZero() && !s.now().Before(c.Session.Expires) {
		s.logCeremonyRefused(ctx, kind, "ceremony_expired")
		return nil, errCeremony
	}
	return &c, nil
}

// waUser adapts a user and their credentials to go-webauthn.
type waUser struct {
	id    uuid.UUID
	name  string
	creds []webauthn.Credential
}

func (u *waUser) WebAuthnID() []byte                         { return u.id[:] }
func (u *waUser) WebAuthnName() string                       { return u.name }
func (u *waUser) WebAuthnDisplayName() string                { return u.name }
func (u *waUser) WebAuthnCredentials() []webauthn.Credential { return u.creds }

func toWebAuthn(c *ent.Credential) webauthn.Credential {
	ts := make([]protocol.AuthenticatorTransport, 0, len(c.Transports))
	for _, t := range c.Transports {
		ts = append(ts, protocol.AuthenticatorTransport(t))
	}
	return webauthn.Credential{
		ID: c.CredentialID, PublicKey: c.PublicKey,
		AttestationType: c.AttestationType, AttestationFormat: c.AttestationFormat,
		Transport: ts,
		Flags: webauthn.CredentialFlags{
			UserPresent: c.UserPresent, UserVerified: c.UserVerified,
			BackupEligible: c.BackupEligible, BackupState: c.BackupState,
		},
		Authenticator: webauthn.Authenticator{
			// CloneWarning starts false so that it reports this ceremony only;
			// the stored flag records past regressions for administrators.
			AAGUID: c.Aaguid, SignCount: uint32(c.SignCount),
			Attachment: protocol.AuthenticatorAttachment(c.Attachment),
		},
	}
}

func (s *Service) userCredentials(ctx context.Context, userID uuid.UUID) ([]*ent.Credential, error) {
	return s.client.Credential.Query().Where(credential.UserID(userID)).All(viewer.System(ctx, viewer.ReasonSignIn))
}

// SetClock replaces the service's clock; tests use it to age ceremonies and
// invitations.
func (s *Service) SetClock(now func() time.Time) { s.now = now }

// RegisterOptionsInput begins enrolling a device.
type RegisterOptionsInput struct {
	Invitation  string // invitation token; empty when signed in
	DisplayName string // for a new user
}

var errInvitation = fault.New(fault.Unauthenticated, "the invitation is invalid, used, revoked or expired")

var errSignedInEnroll = fault.New(fault.Conflict, "you are signed in: join the invitation's tenant with "+
	"POST /api/v1/me/invitations/accept to keep your identity and passkeys, or sign out to enroll a new person")

// signedInWithInvitation refuses an invitation presented by a signed-in
// person, unless it re-enrolls that very person. Enrolling would create a
// second identity beside theirs, in the invitation's tenant only: the
// person would see a 201 and yet not find the tenant in their own list.
// Joining with the identity they have is an explicit step (Accept).
func signedInWithInvitation(v *viewer.Viewer, inv *ent.Invitation) error {
	if v == nil || v.IsSystem() {
		return nil
	}
	if inv.Purpose == invitation.PurposeReenroll {
		if inv.UserID != nil && *inv.UserID == v.UserID {
			return nil
		}
		return fault.New(fault.Conflict, "this re-enrollment invitation is for another person: sign out first")
	}
	return errSignedInEnroll
}

// RegisterOptions begins enrolling a device with an invitation, or for the
// signed-in viewer.
func (s *Service) RegisterOptions(ctx context.Context, in RegisterOptionsInput) (*Options, error) {
	if len([]rune(in.DisplayName)) > 200 {
		return nil, fault.Fields(fault.FieldError{Field: "display_name", Message: "at most 200 characters"})
	}
	c := ceremony{Kind: kindRegister, DisplayName: in.DisplayName}
	switch v := viewer.FromContext(ctx); {
	case v.IsServiceAccount(): // with or without an invitation: no devices, no redemption
		return nil, fault.New(fault.Forbidden, "service accounts cannot enroll devices or redeem invitations")
	case in.Invitation != "":
		if err := s.limiter.Check(ctx, "invitation", in.Invitation); err != nil {
			return nil, err
		}
		inv, err := s.pendingInvitation(ctx, in.Invitation, "options")
		if err != nil {
			return nil, err
		}
		if err := signedInWithInvitation(v, inv); err != nil {
			return nil, err
		}
		c.InvitationID, c.TenantID = inv.ID, inv.TenantID
		if inv.Purpose == invitation.PurposeReenroll {
			c.UserID = *inv.UserID
		} else {
			c.UserID, c.NewUser = uuid.Must(uuid.NewV7()), true
		}
	case v != nil:
		if err := s.limiter.Check(ctx, "user", v.UserID.String()); err != nil {
			return nil, err
		}
		c.UserID, c.SessionID, c.TenantID = v.UserID, v.SessionID, v.TenantID
	default:
		return nil, fault.New(fault.Unauthenticated, "an invitation or a bearer token is required")
	}
	u := &waUser{id: c.UserID, name: in.DisplayName}
	var exclude []protocol.CredentialDescriptor
	if !c.NewUser {
		row, err := s.client.User.Get(viewer.System(ctx, viewer.ReasonSignIn), c.UserID)
		if err != nil {
			return nil, fault.FromEnt(err, "user")
		}
		u.name = row.DisplayName
		creds, err := s.userCredentials(ctx, c.UserID)
		if err != nil {
			return nil, fault.FromEnt(err, "device")
		}
		for _, cr := range creds {
			wc := toWebAuthn(cr)
			exclude = append(exclude, wc.Descriptor())
		}
	}
	if u.name == "" {
		u.name = "Atrium user"
	}
	required := true
	creation, session, err := s.wa.BeginRegistration(u,
		webauthn.WithAuthenticatorSelection(protocol.AuthenticatorSelection{
			ResidentKey:        protocol.ResidentKeyRequirementRequired,
			RequireResidentKey: &required,
			UserVerification:   protocol.VerificationRequired,
		}),
		webauthn.WithConveyancePreference(protocol.PreferNoAttestation),
		webauthn.WithExclusions(exclude),
	)
	if err != nil {
		return nil, fault.Wrap(err, fault.Internal, "cannot begin registration")
	}
	session.Expires = s.now().Add(CeremonyTTL)
	c.Session = *session
	return s.put(ctx, c, creation.Response)
}

// RegisterInput finishes enrolling a device.
type RegisterInput struct {
	CeremonyID string
	Credential []byte // RegistrationResponseJSON
	DeviceName string
}

// RegisterResult is the enrolled device, and tokens when the enrollment also
// signed the user in (invitations).
type RegisterResult struct {
	Device *ent.Credential
	Tokens *account.Tokens
}

// Register verifies the authenticator's attestation and stores the device.
func (s *Service) Register(ctx context.Context, in RegisterInput) (*RegisterResult, error) {
	if len([]rune(in.DeviceName)) > 100 {
		return nil, fault.Fields(fault.FieldError{Field: "device_name", Message: "at most 100 characters"})
	}
	c, err := s.take(ctx, in.CeremonyID, kindRegister)
	if err != nil {
		return nil, err
	}
	v := viewer.FromContext(ctx)
	if c.SessionID != uuid.Nil && (v == nil || v.SessionID != c.SessionID) {
		s.logCeremonyRefused(ctx, kindRegister, "ceremony_other_session")
		return nil, errCeremony
	}
	if c.NewUser && v != nil && !v.IsSystem() {
		// Options taken without a token, finished with one: the same refusal
		// as at options (see signedInWithInvitation).
		return nil, errSignedInEnroll
	}
	actx := viewer.NewContext(ctx, &viewer.Viewer{UserID: c.UserID, TenantID: c.TenantID, SessionID: c.SessionID})
	fail := func(reason string, err error) error {
		s.audit.Log(actx, audit.Event{Action: ActionRegisterFailed, Outcome: audit.Failure, Details: map[string]string{"reason": reason}})
		s.logRefusal(ctx, "register", reason, err, in.Credential, "user_id", c.UserID)
		return fault.Wrap(err, fault.Unauthenticated, "the device's response could not be verified")
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(in.Credential)
	if err != nil {
		return nil, fail("malformed_response", err)
	}
	u := &waUser{id: c.UserID}
	if !c.NewUser {
		creds, err := s.userCredentials(ctx, c.UserID)
		if err != nil {
			return nil, fault.FromEnt(err, "device")
		}
		for _, cr := range creds {
			u.creds = append(u.creds, toWebAuthn(cr))
		}
	}
	wc, err := s.wa.CreateCredential(u, c.Session, parsed)
	if err != nil {
		return nil, fail("verification_failed", err)
	}
	if !wc.Flags.UserVerified {
		return nil, fail("user_not_verified", errors.New("UV flag not set"))
	}
	res := &RegisterResult{}
	err = s.audit.Change(actx, func(tx *ent.Tx) (audit.Event, error) {
		sys := viewer.SystemForTenant(actx, c.TenantID, viewer.ReasonSignIn)
		var inv *ent.Invitation
		if c.InvitationID != uuid.Nil {
			var err error
			if inv, err = s.spendInvitation(sys, tx, c); err != nil {
				return audit.Event{}, err
			}
		}
		var reenrolled *reenrollment
		if inv != nil && inv.Purpose == invitation.PurposeReenroll {
			reenrolled = &reenrollment{by: inv.CreatedBy, at: s.now()}
		}
		dev, err := createCredential(sys, tx, c.UserID, wc, in.DeviceName, reenrolled)
		if err != nil {
			return audit.Event{}, err
		}
		res.Device = dev
		if reenrolled != nil {
			// Recovery replaces whoever was signed in: every session of the
			// member ends, in every tenant, before the new one opens.
			n, err := s.accounts.EndSessions(sys, tx, c.UserID, "reenrolled")
			if err != nil {
				return audit.Event{}, err
			}
			if err := s.audit.Record(actx, tx, audit.Event{Action: ActionReenrolled, ResourceType: "device", ResourceID: dev.ID,
				Details: map[string]string{"invitation_id": inv.ID.String(), "sessions_ended": fmt.Sprint(n)}}); err != nil {
				return audit.Event{}, err
			}
		}
		if c.InvitationID != uuid.Nil {
			if res.Tokens, err = s.accounts.Open(actx, tx, account.OpenInput{
				UserID: c.UserID, TenantID: c.TenantID, CredentialID: &dev.ID, AMR: []string{"hwk", "user"},
			}); err != nil {
				return audit.Event{}, err
			}
			if err := s.audit.Record(actx, tx, audit.Event{Action: ActionInvitationUsed, ResourceType: "invitation", ResourceID: c.InvitationID}); err != nil {
				return audit.Event{}, err
			}
		}
		return audit.Event{Action: ActionDeviceAdded, ResourceType: "device", ResourceID: dev.ID}, nil
	})
	if err != nil {
		if c.InvitationID != uuid.Nil && errors.Is(err, errInvitation) {
			s.invitationRefusedAtFinish(ctx, c.InvitationID)
		}
		if ent.IsConstraintError(err) {
			return nil, fault.Wrap(err, fault.Conflict, "this device is already registered")
		}
		return nil, fault.FromEnt(err, "invitation")
	}
	if res.Tokens != nil {
		if err := s.accounts.Sign(ctx, res.Tokens); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// reenrollment is who issued the re-enrollment invitation a device is
// enrolled with, and when it was used.
type reenrollment struct {
	by uuid.UUID
	at time.Time
}

func createCredential(ctx context.Context, tx *ent.Tx, userID uuid.UUID, wc *webauthn.Credential, name string, re *reenrollment) (*ent.Credential, error) {
	ts := make([]string, 0, len(wc.Transport))
	for _, t := range wc.Transport {
		ts = append(ts, string(t))
	}
	if name == "" {
		name = "Passkey"
	}
	b := tx.Credential.Create()
	if re != nil {
		b.SetReenrolledBy(re.by).SetReenrolledAt(re.at)
	}
	return b.
		SetUserID(userID).
		SetCredentialID(wc.ID).
		SetPublicKey(wc.PublicKey).
		SetAttestationType(wc.AttestationType).
		SetAttestationFormat(wc.AttestationFormat).
		SetAaguid(wc.Authenticator.AAGUID).
		SetSignCount(int64(wc.Authenticator.SignCount)).
		SetUserPresent(wc.Flags.UserPresent).
		SetUserVerified(wc.Flags.UserVerified).
		SetBackupEligible(wc.Flags.BackupEligible).
		SetBackupState(wc.Flags.BackupState).
		SetTransports(ts).
		SetAttachment(string(wc.Authenticator.Attachment)).
		SetName(name).
		Save(ctx)
}

// LoginOptions begins a usernameless sign-in; user verification is required.
func (s *Service) LoginOptions(ctx context.Context) (*Options, error) {
	assertion, session, err := s.wa.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return nil, fault.Wrap(err, fault.Internal, "cannot begin sign-in")
	}
	session.Expires = s.now().Add(CeremonyTTL)
	return s.put(ctx, ceremony{Kind: kindLogin, Session: *session}, assertion.Response)
}

// LoginInput finishes a sign-in.
type LoginInput struct {
	CeremonyID string
	Credential []byte // AuthenticationResponseJSON
	TenantID   *uuid.UUID
}

var errLogin = fault.New(fault.Unauthenticated, "sign-in failed")

// Login verifies an assertion and opens a session.
func (s *Service) Login(ctx context.Context, in LoginInput) (*account.Tokens, error) {
	c, err := s.take(ctx, in.CeremonyID, kindLogin)
	if err != nil {
		return nil, err
	}
	var row *ent.Credential
	fail := func(reason string, err error) error {
		s.auditLoginRefusal(ctx, row, reason)
		s.logRefusal(ctx, "login", reason, err, in.Credential)
		return fault.Wrap(err, fault.Unauthenticated, errLogin.Message)
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(in.Credential)
	if err != nil {
		return nil, fail("malformed_response", err)
	}
	sys := viewer.System(ctx, viewer.ReasonSignIn)
	if err := s.limiter.Check(ctx, "credential", string(parsed.RawID)); err != nil {
		return nil, err
	}
	var owner *ent.User
	var lookupErr error // the lookup failed for another reason than an unknown device
	handler := func(rawID, userHandle []byte) (webauthn.User, error) {
		r, err := s.client.Credential.Query().Where(credential.CredentialID(rawID)).WithUser().Only(sys)
		if err != nil {
			if !ent.IsNotFound(err) {
				lookupErr = err
			}
			return nil, errUnknownCredential
		}
		row, owner = r, r.Edges.User
		if !bytes.Equal(userHandle, owner.ID[:]) {
			return nil, errUnknownCredential
		}
		return &waUser{id: owner.ID, name: owner.DisplayName, creds: []webauthn.Credential{toWebAuthn(r)}}, nil
	}
	_, wc, err := s.wa.ValidatePasskeyLogin(handler, c.Session, parsed)
	if err != nil {
		switch {
		case lookupErr != nil:
			// Not the device's fault (the database is down or busy): 503,
			// not a refusal; the client starts a new ceremony.
			return nil, fault.FromEnt(lookupErr, "device")
		case row == nil || owner == nil:
			row = nil
			return nil, fail("unknown_credential", err)
		case !bytes.Equal(parsed.Response.UserHandle, owner.ID[:]):
			// A known device presented with another user's handle: its
			// owner's tenants see the attempt.
			return nil, fail("user_handle_mismatch", err)
		}
		return nil, fail("verification_failed", err)
	}
	if owner.Status != "active" {
		return nil, fail("user_"+string(owner.Status), nil)
	}
	if wc.Authenticator.CloneWarning {
		// The signature counter went backwards: a cloned authenticator may be
		// in use. Refuse, and flag the device so an admin can see it.
		_ = s.client.Credential.UpdateOneID(row.ID).SetCloneWarning(true).Exec(sys)
		return nil, fail("sign_count_regression", nil)
	}
	tenantID, err := s.pickTenant(ctx, owner, in.TenantID)
	if fault.As(err) != nil {
		return nil, err // the memberships could not be read
	}
	if err != nil {
		return nil, fail("no_tenant", err)
	}
	actx := viewer.NewContext(ctx, &viewer.Viewer{UserID: owner.ID, TenantID: tenantID})
	var tokens *account.Tokens
	err = s.audit.Change(actx, func(tx *ent.Tx) (audit.Event, error) {
		// The counter only moves forward: a concurrent sign-in with the same
		// authenticator data cannot roll it back.
		n, err := tx.Credential.Update().
			Where(credential.ID(row.ID), credential.SignCountLTE(int64(wc.Authenticator.SignCount))).
			SetSignCount(int64(wc.Authenticator.SignCount)).
			SetUserPresent(wc.Flags.UserPresent).
			SetUserVerified(wc.Flags.UserVerified).
			SetBackupState(wc.Flags.BackupState).
			SetLastUsedAt(s.now()).
			Save(sys)
		if err != nil {
			return audit.Event{}, err
		}
		if n == 0 {
			return audit.Event{}, errSignCountRace
		}
		tokens, err = s.accounts.Open(actx, tx, account.OpenInput{
			UserID: owner.ID, TenantID: tenantID, CredentialID: &row.ID, AMR: []string{"hwk", "user"},
			LastTenantID: owner.LastTenantID,
		})
		if err != nil {
			return audit.Event{}, err
		}
		actx = viewer.NewContext(ctx, &viewer.Viewer{UserID: owner.ID, TenantID: tenantID, SessionID: tokens.SessionID})
		return audit.Event{Action: ActionLogin, ResourceType: "device", ResourceID: row.ID,
			Details: map[string]string{"session_id": tokens.SessionID.String()}}, nil
	})
	if errors.Is(err, errSignCountRace) {
		return nil, fail("concurrent_sign_in", err)
	}
	if err != nil {
		return nil, fault.FromEnt(err, "session")
	}
	// Signed after the commit: no pooled connection waits on RSA.
	if err := s.accounts.Sign(ctx, tokens); err != nil {
		return nil, err
	}
	return tokens, nil
}

var (
	errUnknownCredential = errors.New("unknown credential")
	// errSignCountRace is a sign-in that lost to a concurrent one with a
	// higher counter.
	errSignCountRace = errors.New("sign count regressed concurrently")
)

// pickTenant chooses the tenant a sign-in opens: the requested one, else the
// last used, else the oldest membership. It must be an active membership.
func (s *Service) pickTenant(ctx context.Context, u *ent.User, requested *uuid.UUID) (uuid.UUID, error) {
	ms, err := s.client.Membership.Query().
		Where(membership.UserID(u.ID), membership.StatusEQ(membership.StatusActive)).
		Order(ent.Asc(membership.FieldID)).
		All(viewer.System(ctx, viewer.ReasonSignIn))
	if err != nil {
		return uuid.Nil, fault.FromEnt(err, "membership")
	}
	has := func(t uuid.UUID) bool {
		for _, m := range ms {
			if m.TenantID == t {
				return true
			}
		}
		return false
	}
	switch {
	case requested != nil:
		if has(*requested) {
			return *requested, nil
		}
		return uuid.Nil, errors.New("not a member of the requested tenant")
	case u.LastTenantID != nil && has(*u.LastTenantID):
		return *u.LastTenantID, nil
	case len(ms) > 0:
		return ms[0].TenantID, nil
	}
	return uuid.Nil, errors.New("no active membership")
}
