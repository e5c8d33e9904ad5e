// Package serviceaccount gives backend services a non-human identity in a
// tenant: a service account holds roles like a member, registers public keys
// (never a secret), and obtains short-lived access tokens by presenting a JWT
// assertion signed with one of its private keys (RFC 7523). Its tokens have
// no session and no refresh token; they cannot enroll devices or redeem
// invitations, and administrative permissions (authz.Administrative) reach
// it only when granted explicitly by someone who holds them.
package serviceaccount

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"atrium/ent"
	"atrium/ent/role"
	entsa "atrium/ent/serviceaccount"
	"atrium/ent/serviceaccountkey"
	"atrium/internal/audit"
	"atrium/internal/authz"
	"atrium/internal/cache"
	"atrium/internal/fault"
	"atrium/internal/page"
	"atrium/internal/token"
	"atrium/internal/viewer"
)

// Audit actions.
const (
	ActionCreated      = "service_account.created"
	ActionUpdated      = "service_account.updated"
	ActionDeleted      = "service_account.deleted"
	ActionRolesChanged = "service_account.roles_changed"
	ActionKeyAdded     = "service_account.key_added"
	ActionKeyRevoked   = "service_account.key_revoked"
	ActionTokenIssued  = "auth.service_account.token_issued"
	ActionTokenRefused = "auth.service_account.token_refused"
)

// Limits.
const (
	MaxRoles      = 20
	MaxActiveKeys = 5
)

// Account is a service account with its keys and effective permissions.
type Account struct {
	*ent.ServiceAccount
	Keys        []*ent.ServiceAccountKey
	Permissions []string
}

// Service manages service accounts and exchanges their assertions for access
// tokens.
type Service struct {
	client   *ent.Client
	audit    *audit.Writer
	tokens   *token.Service
	audience string
	now      func() time.Time
	log      *slog.Logger
	cache    *accounts // nil: every read goes to the database
}

// Config configures New.
type Config struct {
	// TokenEndpoint is the URL assertions must name as their audience: the
	// public URL of POST /api/v1/auth/token.
	TokenEndpoint string
	// Now is the clock (default time.Now).
	Now func() time.Time
	Log *slog.Logger
	// Bus invalidates the accounts this instance caches when any instance
	// changes them (nil: no cache).
	Bus cache.Bus
	// DegradedTTL bounds how long an account is cached while the bus is
	// unhealthy (default 2 s).
	DegradedTTL time.Duration
}

// New returns the service.
func New(client *ent.Client, w *audit.Writer, tokens *token.Service, cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	return &Service{client: client, audit: w, tokens: tokens, audience: cfg.TokenEndpoint, now: cfg.Now, log: cfg.Log,
		cache: newAccounts(cfg.Bus, cfg.Now, cfg.DegradedTTL)}
}

// Close stops the cache's goroutines; the service must not be used after.
func (s *Service) Close() { s.cache.close() }

// TokenEndpoint is the audience assertions must carry.
func (s *Service) TokenEndpoint() string { return s.audience }

// CreateInput creates a service account.
type CreateInput struct {
	Name        string
	Description string
	RoleIDs     []uuid.UUID
	// Administration grants the administrative permissions its roles carry
	// (authz.Administrative); without it they are withheld.
	Administration bool
}

// UpdateInput changes a service account; nil fields stay.
type UpdateInput struct {
	Name        *string
	Description *string
	Disabled    *bool
}

func checkText(name, desc *string) []fault.FieldError {
	var fs []fault.FieldError
	if name != nil {
		*name = strings.TrimSpace(*name)
		if *name == "" || utf8.RuneCountInString(*name) > 100 {
			fs = append(fs, fault.FieldError{Field: "name", Message: "1 to 100 characters"})
		}
	}
	if desc != nil && utf8.RuneCountInString(*desc) > 1000 {
		fs = append(fs, fault.FieldError{Field: "description", Message: "at most 1000 characters"})
	}
	return fs
}

// Effective returns the permissions a service account with grants holds:
// the catalog permissions they carry, without account.manage (it has no
// devices or sessions), and without the administrative ones unless
// administration is set.
func Effective(grants []string, administration bool) []string {
	out := []string{}
	for _, p := range authz.Expand(grants...) {
		if p == authz.AccountManage || (!administration && slices.Contains(authz.Administrative, p)) {
			continue
		}
		out = append(out, p)
	}
	return out
}

// grants returns the grants of the roles ids names that exist for tenantID
// (its own or system roles), and the ids that do not.
func (s *Service) grants(ctx context.Context, tenantID uuid.UUID, ids []uuid.UUID) ([]string, []uuid.UUID, error) {
	if len(ids) == 0 {
		return nil, nil, nil
	}
	roles, err := s.client.Role.Query().
		Where(role.IDIn(ids...), role.Or(role.TenantIDIsNil(), role.TenantID(tenantID))).
		Select(role.FieldID, role.FieldPermissions).All(viewer.SystemForTenant(ctx, tenantID, viewer.ReasonPermissions))
	if err != nil {
		return nil, nil, fault.Classify(err)
	}
	var out []string
	found := map[uuid.UUID]bool{}
	for _, r := range roles {
		out = append(out, r.Permissions...)
		found[r.ID] = true
	}
	var missing []uuid.UUID
	for _, id := range ids {
		if !found[id] {
			missing = append(missing, id)
		}
	}
	return out, missing, nil
}

// effectiveOf returns the effective permissions of sa.
func (s *Service) effectiveOf(ctx context.Context, sa *ent.ServiceAccount) ([]string, error) {
	g, _, err := s.grants(ctx, sa.TenantID, sa.RoleIds)
	if err != nil {
		return nil, err
	}
	return Effective(g, sa.Administration), nil
}

// requireHoldsAll refuses a caller who does not hold everything sa holds:
// whoever adds a key or re-enables an account can act as it.
func (s *Service) requireHoldsAll(ctx context.Context, sa *ent.ServiceAccount, what string) error {
	eff, err := s.effectiveOf(ctx, sa)
	if err != nil {
		return err
	}
	return authz.RequireGrantable(ctx, what, eff)
}

// checkRoles validates role ids and returns the effective permissions they
// give, after the delegation rule: the caller must hold all of them.
func (s *Service) checkRoles(ctx context.Context, ids []uuid.UUID, administration bool) ([]string, error) {
	if len(ids) > MaxRoles {
		return nil, fault.Fields(fault.FieldError{Field: "role_ids", Message: "at most 20 roles"})
	}
	v := viewer.FromContext(ctx)
	if v == nil || v.TenantID == uuid.Nil {
		return nil, fault.New(fault.Forbidden, "no tenant")
	}
	g, missing, err := s.grants(ctx, v.TenantID, ids)
	if err != nil {
		return nil, err
	}
	if len(missing) > 0 {
		return nil, fault.Fields(fault.FieldError{Field: "role_ids", Message: "unknown role " + missing[0].String()})
	}
	eff := Effective(g, administration)
	if err := authz.RequireGrantable(ctx, "giving these roles to a service account", eff); err != nil {
		return nil, err
	}
	return eff, nil
}

func dedupe(ids []uuid.UUID) []uuid.UUID {
	out := make([]uuid.UUID, 0, len(ids))
	for _, id := range ids {
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// Create creates a service account in the viewer's tenant.
func (s *Service) Create(ctx context.Context, in CreateInput) (*Account, error) {
	if err := fault.Fields(checkText(&in.Name, &in.Description)...); err != nil {
		return nil, err
	}
	in.RoleIDs = dedupe(in.RoleIDs)
	eff, err := s.checkRoles(ctx, in.RoleIDs, in.Administration)
	if err != nil {
		return nil, err
	}
	var sa *ent.ServiceAccount
	err = s.audit.Change(ctx, func(tx *ent.Tx) (audit.Event, error) {
		var err error
		sa, err = tx.ServiceAccount.Create().SetName(in.Name).SetDescription(in.Description).
			SetRoleIds(in.RoleIDs).SetAdministration(in.Administration).Save(ctx)
		if err != nil {
			return audit.Event{}, err
		}
		return audit.Event{Action: ActionCreated, ResourceType: "service_account", ResourceID: sa.ID}, nil
	})
	if err != nil {
		return nil, fault.FromEnt(err, "service account")
	}
	return &Account{ServiceAccount: sa, Keys: []*ent.ServiceAccountKey{}, Permissions: eff}, nil
}

// List returns the tenant's service accounts, newest first.
func (s *Service) List(ctx context.Context, cursor string, limit int) (page.Page[*Account], error) {
	p, err := page.List(cursor, limit, func(after uuid.UUID, n int) ([]*ent.ServiceAccount, error) {
		q := s.client.ServiceAccount.Query().WithKeys().Order(ent.Desc(entsa.FieldID)).Limit(n)
		if after != uuid.Nil {
			q.Where(entsa.IDLT(after))
		}
		return q.All(ctx)
	}, func(a *ent.ServiceAccount) uuid.UUID { return a.ID })
	if err != nil {
		return page.Page[*Account]{}, fault.FromEnt(err, "service account")
	}
	out := page.Page[*Account]{NextCursor: p.NextCursor, Items: make([]*Account, 0, len(p.Items))}
	for _, sa := range p.Items {
		a, err := s.describe(ctx, sa)
		if err != nil {
			return page.Page[*Account]{}, err
		}
		out.Items = append(out.Items, a)
	}
	return out, nil
}

func (s *Service) describe(ctx context.Context, sa *ent.ServiceAccount) (*Account, error) {
	eff, err := s.effectiveOf(ctx, sa)
	if err != nil {
		return nil, err
	}
	keys := sa.Edges.Keys
	if keys == nil {
		keys = []*ent.ServiceAccountKey{}
	}
	slices.SortFunc(keys, func(a, b *ent.ServiceAccountKey) int { return slices.Compare(a.ID[:], b.ID[:]) })
	return &Account{ServiceAccount: sa, Keys: keys, Permissions: eff}, nil
}

// Get returns one service account of the viewer's tenant.
func (s *Service) Get(ctx context.Context, id uuid.UUID) (*Account, error) {
	sa, err := s.client.ServiceAccount.Query().Where(entsa.ID(id)).WithKeys().Only(ctx)
	if err != nil {
		return nil, fault.FromEnt(err, "service account")
	}
	return s.describe(ctx, sa)
}

// Update renames, describes, disables or re-enables a service account.
// Re-enabling it needs everything it holds (the caller can act as it).
func (s *Service) Update(ctx context.Context, id uuid.UUID, in UpdateInput) (*Account, error) {
	if err := fault.Fields(checkText(in.Name, in.Description)...); err != nil {
		return nil, err
	}
	if in.Disabled != nil && !*in.Disabled {
		sa, err := s.client.ServiceAccount.Get(ctx, id)
		if err != nil {
			return nil, fault.FromEnt(err, "service account")
		}
		if sa.DisabledAt != nil {
			if err := s.requireHoldsAll(ctx, sa, "enabling this service account"); err != nil {
				return nil, err
			}
		}
	}
	err := s.audit.Change(ctx, func(tx *ent.Tx) (audit.Event, error) {
		sa, err := tx.ServiceAccount.Get(ctx, id)
		if err != nil {
			return audit.Event{}, err
		}
		u := tx.ServiceAccount.UpdateOne(sa)
		var fields []string
		if in.Name != nil {
			u.SetName(*in.Name)
			fields = append(fields, "name")
		}
		if in.Description != nil {
			u.SetDescription(*in.Description)
			fields = append(fields, "description")
		}
		if in.Disabled != nil {
			fields = append(fields, "disabled")
			switch {
			case *in.Disabled && sa.DisabledAt == nil:
				u.SetDisabledAt(s.now())
			case !*in.Disabled && sa.DisabledAt != nil:
				u.ClearDisabledAt()
			}
		}
		if err := u.Exec(ctx); err != nil {
			return audit.Event{}, err
		}
		return audit.Event{Action: ActionUpdated, ResourceType: "service_account", ResourceID: id,
			Details: map[string]string{"fields": strings.Join(fields, ",")}}, nil
	})
	if err != nil {
		return nil, fault.FromEnt(err, "service account")
	}
	s.forget(ctx, id)
	return s.Get(ctx, id)
}

// Delete deletes a service account and its keys; its tokens stop working on
// their next request.
func (s *Service) Delete(ctx context.Context, id uuid.UUID) error {
	err := s.audit.Change(ctx, func(tx *ent.Tx) (audit.Event, error) {
		if _, err := tx.ServiceAccount.Get(ctx, id); err != nil {
			return audit.Event{}, err
		}
		if _, err := tx.ServiceAccountKey.Delete().Where(serviceaccountkey.ServiceAccountID(id)).Exec(ctx); err != nil {
			return audit.Event{}, err
		}
		if err := tx.ServiceAccount.DeleteOneID(id).Exec(ctx); err != nil {
			return audit.Event{}, err
		}
		return audit.Event{Action: ActionDeleted, ResourceType: "service_account", ResourceID: id}, nil
	})
	if err == nil {
		s.forget(ctx, id)
	}
	return fault.FromEnt(err, "service account")
}

// SetRoles replaces the roles of a service account. The caller must hold
// everything it holds now and everything the new roles give it.
func (s *Service) SetRoles(ctx context.Context, id uuid.UUID, roleIDs []uuid.UUID, administration bool) (*Account, error) {
	roleIDs = dedupe(roleIDs)
	sa, err := s.client.ServiceAccount.Get(ctx, id)
	if err != nil {
		return nil, fault.FromEnt(err, "service account")
	}
	if err := s.requireHoldsAll(ctx, sa, "changing the roles of this service account"); err != nil {
		return nil, err
	}
	if _, err := s.checkRoles(ctx, roleIDs, administration); err != nil {
		return nil, err
	}
	err = s.audit.Change(ctx, func(tx *ent.Tx) (audit.Event, error) {
		if err := tx.ServiceAccount.UpdateOneID(id).SetRoleIds(roleIDs).SetAdministration(administration).Exec(ctx); err != nil {
			return audit.Event{}, err
		}
		ids := make([]string, 0, len(roleIDs))
		for _, r := range roleIDs {
			ids = append(ids, r.String())
		}
		d := map[string]string{"role_ids": strings.Join(ids, ","), "administration": "false"}
		if administration {
			d["administration"] = "true"
		}
		return audit.Event{Action: ActionRolesChanged, ResourceType: "service_account", ResourceID: id, Details: d}, nil
	})
	if err != nil {
		return nil, fault.FromEnt(err, "service account")
	}
	s.forget(ctx, id)
	return s.Get(ctx, id)
}

// KeyInput registers a public key.
type KeyInput struct {
	// PublicKey is a PEM "PUBLIC KEY" or a public JWK (ParsePublicKey).
	PublicKey string
	// Kid is the kid its assertions will name; empty: the JWK's kid if it
	// has one, else the key's RFC 7638 thumbprint.
	Kid       string
	ExpiresAt *time.Time
}

// AddKey registers a public key for a service account. Whoever holds the
// matching private key acts as the account, so the caller must hold
// everything it holds.
func (s *Service) AddKey(ctx context.Context, id uuid.UUID, in KeyInput) (*ent.ServiceAccountKey, error) {
	pk, err := ParsePublicKey(in.PublicKey)
	if err != nil {
		return nil, fault.Fields(fault.FieldError{Field: "public_key", Message: err.Error()})
	}
	if in.Kid != "" {
		if err := checkKid(in.Kid); err != nil {
			return nil, fault.Fields(fault.FieldError{Field: "kid", Message: err.Error()})
		}
		if pk.Kid != pk.Thumbprint && pk.Kid != in.Kid {
			return nil, fault.Fields(fault.FieldError{Field: "kid", Message: "differs from the JWK's own kid"})
		}
		pk.Kid = in.Kid
	}
	if in.ExpiresAt != nil && !in.ExpiresAt.After(s.now()) {
		return nil, fault.Fields(fault.FieldError{Field: "expires_at", Message: "must be in the future"})
	}
	sa, err := s.client.ServiceAccount.Get(ctx, id)
	if err != nil {
		return nil, fault.FromEnt(err, "service account")
	}
	if err := s.requireHoldsAll(ctx, sa, "adding a key to this service account"); err != nil {
		return nil, err
	}
	var k *ent.ServiceAccountKey
	err = s.audit.Change(ctx, func(tx *ent.Tx) (audit.Event, error) {
		active, err := tx.ServiceAccountKey.Query().Where(serviceaccountkey.ServiceAccountID(id), serviceaccountkey.RevokedAtIsNil(),
			serviceaccountkey.Or(serviceaccountkey.ExpiresAtIsNil(), serviceaccountkey.ExpiresAtGT(s.now()))).Count(ctx)
		if err != nil {
			return audit.Event{}, err
		}
		if active >= MaxActiveKeys {
			return audit.Event{}, fault.New(fault.Conflict, "a service account has at most %d active keys: revoke one first", MaxActiveKeys)
		}
		c := tx.ServiceAccountKey.Create().SetServiceAccountID(id).SetKid(pk.Kid).
			SetAlg(serviceaccountkey.Alg(pk.Alg)).SetPublicKey(pk.PEM)
		if in.ExpiresAt != nil {
			c.SetExpiresAt(*in.ExpiresAt)
		}
		if k, err = c.Save(ctx); err != nil {
			return audit.Event{}, err
		}
		return audit.Event{Action: ActionKeyAdded, ResourceType: "service_account", ResourceID: id,
			Details: map[string]string{"kid": pk.Kid, "alg": pk.Alg, "thumbprint": pk.Thumbprint}}, nil
	})
	if err != nil {
		return nil, fault.FromEnt(err, "service account key")
	}
	s.forget(ctx, id)
	return k, nil
}

// KeyThumbprint returns the RFC 7638 thumbprint of a registered key (empty
// if its stored PEM cannot be read, which registration prevents).
func KeyThumbprint(k *ent.ServiceAccountKey) string {
	pk, err := ParsePublicKey(k.PublicKey)
	if err != nil {
		return ""
	}
	return pk.Thumbprint
}

// RevokeKey revokes a key: assertions it signs are refused from now on
// (tokens already issued live out their few minutes unless the account is
// disabled).
func (s *Service) RevokeKey(ctx context.Context, id, keyID uuid.UUID) error {
	err := s.audit.Change(ctx, func(tx *ent.Tx) (audit.Event, error) {
		k, err := tx.ServiceAccountKey.Query().Where(serviceaccountkey.ID(keyID), serviceaccountkey.ServiceAccountID(id)).Only(ctx)
		if err != nil {
			return audit.Event{}, err
		}
		if k.RevokedAt == nil {
			if err := tx.ServiceAccountKey.UpdateOne(k).SetRevokedAt(s.now()).Exec(ctx); err != nil {
				return audit.Event{}, err
			}
		}
		return audit.Event{Action: ActionKeyRevoked, ResourceType: "service_account", ResourceID: id,
			Details: map[string]string{"kid": k.Kid}}, nil
	})
	if err == nil {
		s.forget(ctx, id)
	}
	return fault.FromEnt(err, "service account key")
}

var errGone = fault.New(fault.Unauthenticated, "the service account is disabled or no longer exists")

// Permissions returns the effective permissions of service account id of
// tenantID for a request carrying its access token. The account comes from
// the cache every instance drops when it changes (so disabling or deleting
// it, or changing its roles, applies on the next request after the bus
// told this instance); its roles' grants are read on every request.
func (s *Service) Permissions(ctx context.Context, tenantID, id uuid.UUID) (*authz.Set, error) {
	snap, err := s.snapshotOf(ctx, id, viewer.ReasonPermissions)
	switch {
	case errors.Is(err, errNoAccount):
		return nil, errGone
	case err != nil:
		return nil, fault.Classify(err)
	case snap.sa.TenantID != tenantID, snap.sa.DisabledAt != nil:
		return nil, errGone
	}
	sa := snap.sa
	eff, err := s.effectiveOf(ctx, sa)
	if err != nil {
		return nil, err
	}
	return authz.NewSet(eff...), nil
}
