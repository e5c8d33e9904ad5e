package httpapi

import (
	"context"
	"time"

	"github.com/go-faster/jx"
	"github.com/google/uuid"

	"atrium/ent"
	"atrium/gen/api"
	"atrium/internal/account"
	"atrium/internal/fault"
	"atrium/internal/page"
	"atrium/internal/passkey"
)

// Passkeys is what the handler needs of the passkey service.
type Passkeys interface {
	RegisterOptions(ctx context.Context, in passkey.RegisterOptionsInput) (*passkey.Options, error)
	Register(ctx context.Context, in passkey.RegisterInput) (*passkey.RegisterResult, error)
	LoginOptions(ctx context.Context) (*passkey.Options, error)
	Login(ctx context.Context, in passkey.LoginInput) (*account.Tokens, error)
	Invite(ctx context.Context, in passkey.InviteInput) (*passkey.Invited, error)
	Reenroll(ctx context.Context, userID uuid.UUID, expiresIn time.Duration) (*passkey.Invited, error)
	Invitations(ctx context.Context, cursor string, limit int) (page.Page[*ent.Invitation], error)
	RevokeInvitation(ctx context.Context, id uuid.UUID) error
	Accept(ctx context.Context, raw string) (*passkey.Accepted, error)
}

// Accounts is what the handler needs of the account service.
type Accounts interface {
	Refresh(ctx context.Context, raw string) (*account.Tokens, error)
	Exchange(ctx context.Context, subjectToken string, tenantID uuid.UUID) (*account.Tokens, error)
	Logout(ctx context.Context) error
	Me(ctx context.Context) (*account.Me, error)
	Tenants(ctx context.Context) ([]account.MyTenant, error)
	Sessions(ctx context.Context) ([]*ent.Session, error)
	RevokeSession(ctx context.Context, id uuid.UUID) error
	Devices(ctx context.Context) ([]*ent.Credential, error)
	RenameDevice(ctx context.Context, id uuid.UUID, name string) (*ent.Credential, error)
	RemoveDevice(ctx context.Context, id uuid.UUID, closeAccount bool) error
}

// RegisterDeviceOptions implements registerDeviceOptions.
// POST /auth/device/register/options
func (h *Handler) RegisterDeviceOptions(ctx context.Context, req *api.RegisterOptionsRequest) (*api.CeremonyOptions, error) {
	o, err := h.passkeys.RegisterOptions(ctx, passkey.RegisterOptionsInput{
		Invitation: req.Invitation.Or(""), DisplayName: req.DisplayName.Or(""),
	})
	if err != nil {
		return nil, err
	}
	return toCeremonyOptions(o)
}

// RegisterDevice implements registerDevice.
// POST /auth/device/register
func (h *Handler) RegisterDevice(ctx context.Context, req *api.RegisterRequest) (*api.RegisterResponse, error) {
	res, err := h.passkeys.Register(ctx, passkey.RegisterInput{
		CeremonyID: req.CeremonyID, Credential: rawObject(req.Credential), DeviceName: req.DeviceName.Or(""),
	})
	if err != nil {
		return nil, err
	}
	out := &api.RegisterResponse{Device: toDevice(res.Device)}
	if res.Tokens != nil {
		out.Token = api.NewOptTokenResponse(*toTokens(res.Tokens))
	}
	return out, nil
}

// LoginOptions implements loginOptions.
// POST /auth/device/login/options
func (h *Handler) LoginOptions(ctx context.Context) (*api.CeremonyOptions, error) {
	o, err := h.passkeys.LoginOptions(ctx)
	if err != nil {
		return nil, err
	}
	return toCeremonyOptions(o)
}

// Login implements login.
// POST /auth/device/login
func (h *Handler) Login(ctx context.Context, req *api.LoginRequest) (*api.TokenResponse, error) {
	in := passkey.LoginInput{CeremonyID: req.CeremonyID, Credential: rawObject(req.Credential)}
	if t, ok := req.TenantID.Get(); ok {
		in.TenantID = &t
	}
	t, err := h.passkeys.Login(ctx, in)
	if err != nil {
		return nil, err
	}
	return toTokens(t), nil
}

// Token types of RFC 8693.
const (
	tokenTypeAccess = "urn:ietf:params:oauth:token-type:access_token"
)

// ExchangeToken implements exchangeToken.
// POST /auth/token/exchange
func (h *Handler) ExchangeToken(ctx context.Context, req *api.TokenExchangeRequest) (*api.TokenResponse, error) {
	switch req.GrantType {
	case api.TokenExchangeRequestGrantTypeRefreshToken:
		raw, ok := req.RefreshToken.Get()
		if !ok {
			return nil, fault.Fields(fault.FieldError{Field: "refresh_token", Message: "required for grant_type=refresh_token"})
		}
		t, err := h.accounts.Refresh(ctx, raw)
		if err != nil {
			return nil, err
		}
		return toTokens(t), nil
	default: // token exchange; ogen has checked the enum
		var fs []fault.FieldError
		subject, ok := req.SubjectToken.Get()
		if !ok {
			fs = append(fs, fault.FieldError{Field: "subject_token", Message: "required for token exchange"})
		}
		if tt := req.SubjectTokenType.Or(""); tt != tokenTypeAccess {
			fs = append(fs, fault.FieldError{Field: "subject_token_type", Message: "must be " + tokenTypeAccess})
		}
		tenantID, ok := req.TenantID.Get()
		if !ok {
			fs = append(fs, fault.FieldError{Field: "tenant_id", Message: "required: the tenant to switch to"})
		}
		if err := fault.Fields(fs...); err != nil {
			return nil, err
		}
		t, err := h.accounts.Exchange(ctx, subject, tenantID)
		if err != nil {
			return nil, err
		}
		out := toTokens(t)
		out.IssuedTokenType = api.NewOptString(tokenTypeAccess)
		return out, nil
	}
}

// Logout implements logout.
// POST /auth/logout
func (h *Handler) Logout(ctx context.Context) error { return h.accounts.Logout(ctx) }

// GetMe implements getMe.
// GET /me
func (h *Handler) GetMe(ctx context.Context) (*api.Me, error) {
	me, err := h.accounts.Me(ctx)
	if err != nil {
		return nil, err
	}
	out := &api.Me{UserID: me.User.ID, DisplayName: me.User.DisplayName, TenantID: me.TenantID,
		SessionID: me.SessionID, Permissions: me.Permissions}
	if me.User.Email != nil {
		out.Email = api.NewOptString(*me.User.Email)
	}
	if out.Permissions == nil {
		out.Permissions = []string{}
	}
	return out, nil
}

// ListMyTenants implements listMyTenants.
// GET /me/tenants
func (h *Handler) ListMyTenants(ctx context.Context) (*api.ListMyTenantsOK, error) {
	ts, err := h.accounts.Tenants(ctx)
	if err != nil {
		return nil, err
	}
	out := &api.ListMyTenantsOK{Items: make([]api.MyTenant, 0, len(ts))}
	for _, t := range ts {
		out.Items = append(out.Items, api.MyTenant{TenantID: t.Tenant.ID, Name: t.Tenant.Name, Slug: t.Tenant.Slug, Active: t.Active})
	}
	return out, nil
}

// AcceptInvitation implements acceptInvitation.
// POST /me/invitations/accept
func (h *Handler) AcceptInvitation(ctx context.Context, req *api.InvitationAccept) (*api.InvitationAccepted, error) {
	a, err := h.passkeys.Accept(ctx, req.Invitation)
	if err != nil {
		return nil, err
	}
	return &api.InvitationAccepted{RoleID: a.RoleID,
		Tenant: api.MyTenant{TenantID: a.Tenant.ID, Name: a.Tenant.Name, Slug: a.Tenant.Slug, Active: false}}, nil
}

// ListMyDevices implements listMyDevices.
// GET /me/devices
func (h *Handler) ListMyDevices(ctx context.Context) (*api.ListMyDevicesOK, error) {
	ds, err := h.accounts.Devices(ctx)
	if err != nil {
		return nil, err
	}
	out := &api.ListMyDevicesOK{Items: make([]api.Device, 0, len(ds))}
	for _, d := range ds {
		out.Items = append(out.Items, toDevice(d))
	}
	return out, nil
}

// RenameMyDevice implements renameMyDevice.
// PATCH /me/devices/{deviceId}
func (h *Handler) RenameMyDevice(ctx context.Context, req *api.DeviceUpdate, p api.RenameMyDeviceParams) (*api.Device, error) {
	d, err := h.accounts.RenameDevice(ctx, p.DeviceId, req.Name)
	if err != nil {
		return nil, err
	}
	out := toDevice(d)
	return &out, nil
}

// RemoveMyDevice implements removeMyDevice.
// DELETE /me/devices/{deviceId}
func (h *Handler) RemoveMyDevice(ctx context.Context, p api.RemoveMyDeviceParams) error {
	return h.accounts.RemoveDevice(ctx, p.DeviceId, p.CloseAccount.Or(false))
}

// ListMySessions implements listMySessions.
// GET /me/sessions
func (h *Handler) ListMySessions(ctx context.Context) (*api.ListMySessionsOK, error) {
	ss, err := h.accounts.Sessions(ctx)
	if err != nil {
		return nil, err
	}
	current := currentSession(ctx)
	out := &api.ListMySessionsOK{Items: make([]api.Session, 0, len(ss))}
	for _, s := range ss {
		it := api.Session{ID: s.ID, TenantID: s.TenantID, CreatedAt: s.CreatedAt, LastSeenAt: s.LastSeenAt,
			ExpiresAt: s.ExpiresAt, IdleExpiresAt: s.IdleExpiresAt, Current: s.ID == current}
		if s.CredentialID != nil {
			it.DeviceID = api.NewOptUUID(*s.CredentialID)
		}
		out.Items = append(out.Items, it)
	}
	return out, nil
}

// RevokeMySession implements revokeMySession.
// DELETE /me/sessions/{sessionId}
func (h *Handler) RevokeMySession(ctx context.Context, p api.RevokeMySessionParams) error {
	return h.accounts.RevokeSession(ctx, p.SessionId)
}

// CreateInvitation implements createInvitation.
// POST /invitations
func (h *Handler) CreateInvitation(ctx context.Context, req *api.InvitationCreate) (*api.InvitationCreated, error) {
	in := passkey.InviteInput{ExpiresIn: time.Duration(req.ExpiresInMinutes.Or(0)) * time.Minute}
	if r, ok := req.RoleID.Get(); ok {
		in.RoleID = &r
	}
	if e, ok := req.Email.Get(); ok {
		in.Email = &e
	}
	inv, err := h.passkeys.Invite(ctx, in)
	if err != nil {
		return nil, err
	}
	return toInvited(inv), nil
}

// CreateReenrollment implements createReenrollment.
// POST /members/{userId}/reenrollment
func (h *Handler) CreateReenrollment(ctx context.Context, req api.OptReenrollmentCreate, p api.CreateReenrollmentParams) (*api.InvitationCreated, error) {
	var ttl time.Duration
	if r, ok := req.Get(); ok {
		ttl = time.Duration(r.ExpiresInMinutes.Or(0)) * time.Minute
	}
	inv, err := h.passkeys.Reenroll(ctx, p.UserId, ttl)
	if err != nil {
		return nil, err
	}
	return toInvited(inv), nil
}

// ListInvitations implements listInvitations.
// GET /invitations
func (h *Handler) ListInvitations(ctx context.Context, p api.ListInvitationsParams) (*api.InvitationPage, error) {
	pg, err := h.passkeys.Invitations(ctx, p.Cursor.Or(""), p.Limit.Or(0))
	if err != nil {
		return nil, err
	}
	out := &api.InvitationPage{Items: make([]api.Invitation, 0, len(pg.Items))}
	for _, i := range pg.Items {
		out.Items = append(out.Items, toInvitation(i))
	}
	if pg.NextCursor != "" {
		out.NextCursor = api.NewOptString(pg.NextCursor)
	}
	return out, nil
}

// RevokeInvitation implements revokeInvitation.
// DELETE /invitations/{invitationId}
func (h *Handler) RevokeInvitation(ctx context.Context, p api.RevokeInvitationParams) error {
	return h.passkeys.RevokeInvitation(ctx, p.InvitationId)
}

func toCeremonyOptions(o *passkey.Options) (*api.CeremonyOptions, error) {
	var pk api.CeremonyOptionsPublicKey
	if err := pk.Decode(jx.DecodeBytes(o.PublicKey)); err != nil {
		return nil, fault.Wrap(err, fault.Internal, "internal error")
	}
	return &api.CeremonyOptions{CeremonyID: o.CeremonyID, PublicKey: pk}, nil
}

// rawObject re-encodes a free-form JSON object the API received.
// (json.Marshal would base64 the jx.Raw byte slices.)
func rawObject(m map[string]jx.Raw) []byte {
	var e jx.Encoder
	e.ObjStart()
	for k, v := range m {
		e.FieldStart(k)
		e.Raw(v)
	}
	e.ObjEnd()
	return e.Bytes()
}

func toTokens(t *account.Tokens) *api.TokenResponse {
	return &api.TokenResponse{
		AccessToken: t.Access, TokenType: api.TokenResponseTokenTypeBearer, ExpiresIn: int(t.ExpiresIn.Seconds()),
		RefreshToken: t.Refresh, UserID: t.UserID, TenantID: t.TenantID, SessionID: t.SessionID,
	}
}

func toDevice(d *ent.Credential) api.Device {
	out := api.Device{ID: d.ID, Name: d.Name, CreatedAt: d.CreatedAt, Attachment: d.Attachment,
		Transports: d.Transports, BackupEligible: d.BackupEligible, BackupState: d.BackupState, UserVerified: d.UserVerified,
		CloneWarning: api.NewOptBool(d.CloneWarning)}
	if out.Transports == nil {
		out.Transports = []string{}
	}
	if d.LastUsedAt != nil {
		out.LastUsedAt = api.NewOptDateTime(*d.LastUsedAt)
	}
	if id, err := uuid.FromBytes(d.Aaguid); err == nil && id != uuid.Nil {
		out.Aaguid = api.NewOptUUID(id)
	}
	if d.ReenrolledBy != nil {
		out.ReenrolledBy = api.NewOptUUID(*d.ReenrolledBy)
	}
	if d.ReenrolledAt != nil {
		out.ReenrolledAt = api.NewOptDateTime(*d.ReenrolledAt)
	}
	return out
}

func toInvitation(i *ent.Invitation) api.Invitation {
	out := api.Invitation{ID: i.ID, TenantID: i.TenantID, Purpose: api.InvitationPurpose(i.Purpose),
		Status: api.InvitationStatus(passkey.InvitationStatus(i, time.Now())), ExpiresAt: i.ExpiresAt,
		CreatedBy: i.CreatedBy, CreatedAt: i.CreatedAt}
	if i.RoleID != nil {
		out.RoleID = api.NewOptUUID(*i.RoleID)
	}
	if i.UserID != nil {
		out.UserID = api.NewOptUUID(*i.UserID)
	}
	if i.Email != nil {
		out.Email = api.NewOptString(*i.Email)
	}
	if i.UsedAt != nil {
		out.UsedAt = api.NewOptDateTime(*i.UsedAt)
	}
	if i.UsedBy != nil {
		out.UsedBy = api.NewOptUUID(*i.UsedBy)
	}
	if i.RevokedAt != nil {
		out.RevokedAt = api.NewOptDateTime(*i.RevokedAt)
	}
	return out
}

func toInvited(inv *passkey.Invited) *api.InvitationCreated {
	return &api.InvitationCreated{Invitation: toInvitation(inv.Invitation), Token: inv.Token, EnrollmentURL: inv.URL}
}
