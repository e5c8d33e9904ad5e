// Package account is the signed-in user's side of authentication: opening
// sessions with their tokens, refreshing and exchanging tokens, signing out,
// and self-service over one's own devices, sessions and tenants.
package account

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"atrium/ent"
	"atrium/ent/credential"
	"atrium/ent/membership"
	"atrium/ent/refreshtoken"
	entsession "atrium/ent/session"
	"atrium/ent/tenant"
	"atrium/ent/user"
	"atrium/internal/audit"
	"atrium/internal/authz"
	"atrium/internal/fault"
	"atrium/internal/rls"
	"atrium/internal/session"
	"atrium/internal/token"
	"atrium/internal/viewer"
)

// Audit actions.
const (
	ActionLogin          = "auth.login"
	ActionRefresh        = "auth.token.refreshed"
	ActionReuseDetected  = "auth.token.reuse_detected"
	ActionExchange       = "auth.token.exchanged"
	ActionLogout         = "auth.logout"
	ActionSessionRevoked = "auth.session.revoked"
	ActionDeviceRenamed  = "auth.device.renamed"
	ActionDeviceRemoved  = "auth.device.removed"
	ActionAccountClosed  = "auth.account.closed"
)

// Service implements the account operations.
type Service struct {
	client     *ent.Client
	tokens     *token.Service
	sessions   *session.Store
	authz      *authz.Resolver
	audit      *audit.Writer
	log        *slog.Logger
	refreshTTL time.Duration
	now        func() time.Time
}

// New returns a Service. Refresh tokens live as long as the session's
// absolute lifetime at most.
func New(client *ent.Client, tokens *token.Service, sessions *session.Store, az *authz.Resolver, w *audit.Writer, log *slog.Logger, life session.Lifetimes) *Service {
	return &Service{client: client, tokens: tokens, sessions: sessions, authz: az, audit: w, log: log,
		refreshTTL: life.Absolute, now: time.Now}
}

// InvalidatePermissionsOnCommit drops the cached permissions of user in
// tenant on every instance once tx commits: a membership created outside
// internal/member (an accepted invitation) must not meet a cached "not a
// member" answer.
func (s *Service) InvalidatePermissionsOnCommit(ctx context.Context, tx *ent.Tx, tenantID, userID uuid.UUID) {
	s.authz.InvalidateOnCommit(ctx, tx, tenantID, userID)
}

// SetClock replaces the service's clock; tests use it to age sessions and
// refresh tokens.
func (s *Service) SetClock(now func() time.Time) { s.now = now }

// Tokens is what a sign-in, refresh or exchange hands the client.
type Tokens struct {
	Access    string
	ExpiresIn time.Duration
	Refresh   string
	UserID    uuid.UUID
	TenantID  uuid.UUID
	SessionID uuid.UUID

	amr []string // of the session, for the access token Sign issues
}

// OpenInput opens a session.
type OpenInput struct {
	UserID       uuid.UUID
	TenantID     uuid.UUID
	CredentialID *uuid.UUID
	AMR          []string
	// LastTenantID is the user's last tenant as the caller read it, if it
	// did: when it is TenantID already, it is not written again (a sign-in
	// to the usual tenant saves a statement).
	LastTenantID *uuid.UUID
}

// EndSessions ends every session of user, in every tenant, inside tx (the
// caches forget them once tx commits), and returns how many ended.
func (s *Service) EndSessions(ctx context.Context, tx *ent.Tx, userID uuid.UUID, reason string) (int, error) {
	ids, err := s.sessions.RevokeWhere(ctx, tx, reason, entsession.UserID(userID))
	return len(ids), err
}

// Open opens a session inside tx and mints its first refresh token. The
// caller commits tx and then calls Sign for the access token: RS256 signing
// takes most of a millisecond of CPU, and signing after the commit keeps the
// pooled connection (and the tenant's audit-chain lock) free meanwhile.
func (s *Service) Open(ctx context.Context, tx *ent.Tx, in OpenInput) (*Tokens, error) {
	sess, err := s.sessions.Create(ctx, tx, session.CreateInput{
		UserID: in.UserID, TenantID: in.TenantID, CredentialID: in.CredentialID, AMR: in.AMR,
	})
	if err != nil {
		return nil, fmt.Errorf("open session: %w", err)
	}
	raw, err := s.mintRefresh(ctx, tx, sess.ID, sess.ExpiresAt)
	if err != nil {
		return nil, err
	}
	if in.LastTenantID == nil || *in.LastTenantID != in.TenantID {
		if err := tx.User.UpdateOneID(in.UserID).SetLastTenantID(in.TenantID).Exec(viewer.ForUser(ctx, in.UserID)); err != nil {
			return nil, fmt.Errorf("last tenant: %w", err)
		}
	}
	return &Tokens{Refresh: raw, UserID: in.UserID, TenantID: in.TenantID, SessionID: sess.ID, amr: in.AMR}, nil
}

// Sign issues the access token of tokens opened by Open, once their
// transaction has committed.
func (s *Service) Sign(ctx context.Context, t *Tokens) error {
	signed, err := s.issue(ctx, t.UserID, t.TenantID, t.SessionID, t.amr, t.Refresh)
	if err != nil {
		return err
	}
	t.Access, t.ExpiresIn = signed.Access, signed.ExpiresIn
	return nil
}

func (s *Service) issue(ctx context.Context, userID, tenantID, sessionID uuid.UUID, amr []string, refresh string) (*Tokens, error) {
	c := token.Claims{Subject: userID, TenantID: tenantID, SessionID: sessionID, AMR: amr}
	access, err := s.tokens.Issue(ctx, c)
	if err != nil {
		return nil, fault.Wrap(err, fault.Unavailable, "cannot issue tokens right now")
	}
	return &Tokens{Access: access, ExpiresIn: s.tokens.TTL(), Refresh: refresh,
		UserID: userID, TenantID: tenantID, SessionID: sessionID}, nil
}

// mintRefresh stores the hash of a new refresh token for session sid.
//
// It writes under the system viewer (viewer.ReasonToken): every caller has
// sid from a session row it created, read or updated in tx, so the user
// viewer's policy (policy.SessionOwned), which would read the session once
// more to find its user, has nothing left to check. The insert needs no
// answer, so on PostgreSQL it goes with tx's next round trip
// (rls.Deferred), usually COMMIT.
func (s *Service) mintRefresh(ctx context.Context, tx *ent.Tx, sid uuid.UUID, sessionExpires time.Time) (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	raw := base64.RawURLEncoding.EncodeToString(b[:])
	exp := s.now().Add(s.refreshTTL)
	if exp.After(sessionExpires) {
		exp = sessionExpires
	}
	h := hashRefresh(raw)
	if err := tx.RefreshToken.Create().SetSessionID(sid).SetTokenHash(h[:]).SetExpiresAt(exp).
		Exec(rls.Deferred(viewer.System(ctx, viewer.ReasonToken))); err != nil {
		return "", fmt.Errorf("mint refresh token: %w", err)
	}
	return raw, nil
}

func hashRefresh(raw string) [32]byte { return sha256.Sum256([]byte("atrium refresh\x00" + raw)) }

var errInvalidGrant = fault.New(fault.Unauthenticated, "the refresh token is not valid")

// Refresh rotates a refresh token: the presented token is spent and a new one
// returned with a new access token. Presenting a token that was already spent
// means it was stolen or replayed: the whole session (the token family) is
// revoked and the event audited.
func (s *Service) Refresh(ctx context.Context, raw string) (*Tokens, error) {
	if raw == "" || len(raw) > 200 {
		return nil, errInvalidGrant
	}
	sys := viewer.System(ctx, viewer.ReasonToken)
	h := hashRefresh(raw)
	rt, err := s.client.RefreshToken.Query().Where(refreshtoken.TokenHash(h[:])).WithSession().Only(sys)
	if ent.IsNotFound(err) {
		return nil, errInvalidGrant
	}
	if err != nil {
		return nil, fault.FromEnt(err, "refresh token")
	}
	sess := rt.Edges.Session
	now := s.now()
	actx := viewer.NewContext(ctx, &viewer.Viewer{UserID: sess.UserID, TenantID: sess.TenantID, SessionID: sess.ID})
	if rt.RotatedAt != nil {
		s.reuseDetected(actx, sess)
		return nil, errInvalidGrant
	}
	if !now.Before(rt.ExpiresAt) || sess.RevokedAt != nil || !now.Before(sess.ExpiresAt) || !now.Before(sess.IdleExpiresAt) {
		return nil, errInvalidGrant
	}
	if _, err := s.authz.Permissions(ctx, sess.TenantID, sess.UserID); fault.CodeOf(err) == fault.Unauthenticated {
		return nil, errInvalidGrant // no longer an active member
	} else if err != nil {
		return nil, fault.FromEnt(err, "membership") // could not tell: not the token's fault
	}
	var newRaw string
	err = s.audit.Change(actx, func(tx *ent.Tx) (audit.Event, error) {
		// The token's row was found by its hash under the system viewer:
		// spend exactly that row, under the same viewer.
		n, err := tx.RefreshToken.Update().
			Where(refreshtoken.ID(rt.ID), refreshtoken.RotatedAtIsNil()).
			SetRotatedAt(now).Save(sys)
		if err != nil {
			return audit.Event{}, err
		}
		if n == 0 {
			return audit.Event{}, errRaced
		}
		if newRaw, err = s.mintRefresh(ctx, tx, sess.ID, sess.ExpiresAt); err != nil {
			return audit.Event{}, err
		}
		return audit.Event{Action: ActionRefresh, ResourceType: "session", ResourceID: sess.ID}, nil
	})
	if errors.Is(err, errRaced) {
		s.reuseDetected(actx, sess)
		return nil, errInvalidGrant
	}
	if err != nil {
		return nil, fault.FromEnt(err, "refresh token")
	}
	return s.issue(ctx, sess.UserID, sess.TenantID, sess.ID, sess.Amr, newRaw)
}

var errRaced = errors.New("refresh token spent concurrently")

func (s *Service) reuseDetected(ctx context.Context, sess *ent.Session) {
	if err := s.sessions.Revoke(ctx, nil, sess.ID, "refresh_token_reuse"); err != nil {
		s.log.ErrorContext(ctx, "revoke session after refresh-token reuse", "session_id", sess.ID, "err", err)
	}
	s.audit.Log(ctx, audit.Event{Action: ActionReuseDetected, Outcome: audit.Denied, ResourceType: "session", ResourceID: sess.ID})
}

// Exchange moves the session of an access token to another tenant the user is
// an active member of (RFC 8693 token exchange) and returns new tokens; the
// old access token stops working because its tenant no longer matches the
// session's.
func (s *Service) Exchange(ctx context.Context, subjectToken string, tenantID uuid.UUID) (*Tokens, error) {
	c, err := s.tokens.Verify(ctx, subjectToken)
	if err != nil {
		return nil, fault.Wrap(err, fault.Unauthenticated, "the subject token is not valid")
	}
	if c.ClientID != uuid.Nil { // a service account's token: no session, no other tenant
		return nil, fault.New(fault.Unauthenticated, "the subject token is not valid")
	}
	if err := s.sessions.Check(ctx, c.SessionID, c.Subject, c.TenantID); err != nil {
		return nil, err
	}
	actx := viewer.NewContext(ctx, &viewer.Viewer{UserID: c.Subject, TenantID: c.TenantID, SessionID: c.SessionID})
	if _, err := s.authz.Permissions(ctx, tenantID, c.Subject); err != nil {
		s.audit.Log(actx, audit.Event{Action: ActionExchange, Outcome: audit.Denied, ResourceType: "tenant", ResourceID: tenantID})
		return nil, fault.New(fault.Forbidden, "you are not an active member of that tenant")
	}
	// The person is known: their own session and refresh tokens, no bypass.
	self := viewer.ForUser(ctx, c.Subject)
	var raw string
	var sess *ent.Session
	err = s.audit.Change(actx, func(tx *ent.Tx) (audit.Event, error) {
		var err error
		if sess, err = tx.Session.UpdateOneID(c.SessionID).Where(entsession.RevokedAtIsNil()).SetTenantID(tenantID).Save(self); err != nil {
			return audit.Event{}, err
		}
		// Outstanding refresh tokens were minted for the old tenant: spend them.
		if _, err := tx.RefreshToken.Update().Where(refreshtoken.SessionID(c.SessionID), refreshtoken.RotatedAtIsNil()).
			SetRotatedAt(s.now()).Save(self); err != nil {
			return audit.Event{}, err
		}
		if raw, err = s.mintRefresh(ctx, tx, c.SessionID, sess.ExpiresAt); err != nil {
			return audit.Event{}, err
		}
		if err := tx.User.UpdateOneID(c.Subject).SetLastTenantID(tenantID).Exec(self); err != nil {
			return audit.Event{}, err
		}
		return audit.Event{Action: ActionExchange, ResourceType: "tenant", ResourceID: tenantID,
			Details: map[string]string{"from_tenant": c.TenantID.String()}}, nil
	})
	if err != nil {
		return nil, fault.FromEnt(err, "session")
	}
	s.sessions.Forget(ctx, c.SessionID)
	return s.issue(ctx, c.Subject, tenantID, c.SessionID, c.AMR, raw)
}

// Logout ends the viewer's session.
func (s *Service) Logout(ctx context.Context) error {
	v := viewer.FromContext(ctx)
	return s.audit.Change(ctx, func(tx *ent.Tx) (audit.Event, error) {
		if err := s.sessions.Revoke(ctx, tx, v.SessionID, "logout"); err != nil {
			return audit.Event{}, err
		}
		return audit.Event{Action: ActionLogout, ResourceType: "session", ResourceID: v.SessionID}, nil
	})
}

// Me describes the viewer.
type Me struct {
	User        *ent.User
	TenantID    uuid.UUID
	SessionID   uuid.UUID
	Permissions []string
}

// Me returns the viewer's profile and effective permissions.
func (s *Service) Me(ctx context.Context) (*Me, error) {
	v := viewer.FromContext(ctx)
	u, err := s.client.User.Get(ctx, v.UserID)
	if err != nil {
		return nil, fault.FromEnt(err, "user")
	}
	var perms []string
	if set, ok := v.Perms.(*authz.Set); ok {
		perms = set.List()
	}
	return &Me{User: u, TenantID: v.TenantID, SessionID: v.SessionID, Permissions: perms}, nil
}

// MyTenant is a tenant the viewer belongs to.
type MyTenant struct {
	Tenant *ent.Tenant
	Active bool
}

// Tenants lists the tenants the viewer is an active member of.
func (s *Service) Tenants(ctx context.Context) ([]MyTenant, error) {
	v := viewer.FromContext(ctx)
	ts, err := s.client.Tenant.Query().
		Where(tenant.HasMembershipsWith(membership.UserID(v.UserID), membership.StatusEQ(membership.StatusActive)),
			tenant.StatusEQ(tenant.StatusActive)).
		Order(ent.Asc(tenant.FieldName)).
		All(viewer.System(ctx, viewer.ReasonMemberships))
	if err != nil {
		return nil, fault.FromEnt(err, "tenant")
	}
	out := make([]MyTenant, 0, len(ts))
	for _, t := range ts {
		out = append(out, MyTenant{Tenant: t, Active: t.ID == v.TenantID})
	}
	return out, nil
}

// Sessions lists the viewer's active sessions, newest first.
func (s *Service) Sessions(ctx context.Context) ([]*ent.Session, error) {
	now := s.now()
	ss, err := s.client.Session.Query().
		Where(entsession.RevokedAtIsNil(), entsession.ExpiresAtGT(now), entsession.IdleExpiresAtGT(now)).
		Order(ent.Desc(entsession.FieldID)).
		All(ctx) // user-owned policy: only the viewer's own sessions
	return ss, fault.FromEnt(err, "session")
}

// RevokeSession ends one of the viewer's sessions.
func (s *Service) RevokeSession(ctx context.Context, id uuid.UUID) error {
	if _, err := s.client.Session.Get(ctx, id); err != nil {
		return fault.FromEnt(err, "session")
	}
	err := s.audit.Change(ctx, func(tx *ent.Tx) (audit.Event, error) {
		if err := s.sessions.Revoke(ctx, tx, id, "revoked_by_user"); err != nil {
			return audit.Event{}, err
		}
		return audit.Event{Action: ActionSessionRevoked, ResourceType: "session", ResourceID: id}, nil
	})
	return fault.FromEnt(err, "session")
}

// Devices lists the viewer's devices, oldest first.
func (s *Service) Devices(ctx context.Context) ([]*ent.Credential, error) {
	cs, err := s.client.Credential.Query().Order(ent.Asc(credential.FieldID)).All(ctx)
	return cs, fault.FromEnt(err, "device")
}

// RenameDevice renames one of the viewer's devices.
func (s *Service) RenameDevice(ctx context.Context, id uuid.UUID, name string) (*ent.Credential, error) {
	if err := checkDeviceName(name, true); err != nil {
		return nil, err
	}
	var c *ent.Credential
	err := s.audit.Change(ctx, func(tx *ent.Tx) (audit.Event, error) {
		var err error
		if c, err = tx.Credential.UpdateOneID(id).SetName(name).Save(ctx); err != nil {
			return audit.Event{}, err
		}
		return audit.Event{Action: ActionDeviceRenamed, ResourceType: "device", ResourceID: id}, nil
	})
	return c, fault.FromEnt(err, "device")
}

// ErrLastDevice refuses to remove the last device without closing the account.
var ErrLastDevice = fault.New(fault.Conflict, "this is your last device: removing it closes your account; repeat with close_account=true to do that")

// RemoveDevice removes one of the viewer's devices and ends every session
// opened with it. The last device goes only with closeAccount, which also
// ends every session and disables the user.
func (s *Service) RemoveDevice(ctx context.Context, id uuid.UUID, closeAccount bool) error {
	v := viewer.FromContext(ctx)
	if _, err := s.client.Credential.Get(ctx, id); err != nil {
		return fault.FromEnt(err, "device")
	}
	n, err := s.client.Credential.Query().Count(ctx)
	if err != nil {
		return fault.FromEnt(err, "device")
	}
	last := n <= 1
	if last && !closeAccount {
		return ErrLastDevice
	}
	err = s.audit.Change(ctx, func(tx *ent.Tx) (audit.Event, error) {
		if err := tx.Credential.DeleteOneID(id).Exec(ctx); err != nil {
			return audit.Event{}, err
		}
		if _, err := s.sessions.RevokeWhere(ctx, tx, "device_removed", entsession.UserID(v.UserID), entsession.CredentialID(id)); err != nil {
			return audit.Event{}, err
		}
		if last {
			if _, err := s.sessions.RevokeWhere(ctx, tx, "account_closed", entsession.UserID(v.UserID)); err != nil {
				return audit.Event{}, err
			}
			if err := tx.User.UpdateOneID(v.UserID).SetStatus(user.StatusDisabled).Exec(viewer.ForUser(ctx, v.UserID)); err != nil {
				return audit.Event{}, err
			}
			if err := s.audit.Record(ctx, tx, audit.Event{Action: ActionAccountClosed, ResourceType: "user", ResourceID: v.UserID}); err != nil {
				return audit.Event{}, err
			}
		}
		return audit.Event{Action: ActionDeviceRemoved, ResourceType: "device", ResourceID: id}, nil
	})
	return fault.FromEnt(err, "device")
}

func checkDeviceName(name string, required bool) error {
	if (required && name == "") || len([]rune(name)) > 100 {
		return fault.Fields(fault.FieldError{Field: "name", Message: "1 to 100 characters"})
	}
	return nil
}
