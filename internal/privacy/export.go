package privacy

import (
	"context"
	"time"

	"github.com/google/uuid"

	"atrium/ent"
	"atrium/ent/auditevent"
	"atrium/ent/credential"
	"atrium/ent/memberrole"
	"atrium/ent/membership"
	"atrium/ent/role"
	entsession "atrium/ent/session"
	"atrium/ent/share"
	"atrium/ent/teammember"
	"atrium/ent/tenant"
	"atrium/internal/audit"
	"atrium/internal/viewer"
)

// ExportFormatVersion is the version of the export bundle's layout; it
// changes when a field changes meaning or goes away (new fields do not).
const ExportFormatVersion = 1

// LLM usage notes: why the list is empty, or what it holds.
const (
	LLMUsageNote         = "not recorded by this version"
	LLMUsageRecordedNote = "one record per LLM call you made: tenant, model, provider and tokens"
)

// Bundle is everything Atrium holds about one person, across tenants.
type Bundle struct {
	FormatVersion int                         `json:"format_version"`
	ExportedAt    time.Time                   `json:"exported_at"`
	User          ExportUser                  `json:"user"`
	Memberships   []ExportMembership          `json:"memberships"`
	Devices       []ExportDevice              `json:"devices"`
	Sessions      []ExportSession             `json:"sessions"`
	Resources     map[string][]map[string]any `json:"resources"`
	Shares        []ExportShare               `json:"shares"`
	LLMUsage      ExportLLMUsage              `json:"llm_usage"`
	AuditEvents   []ExportAuditEvent          `json:"audit_events"`
}

// Categories are the top-level keys every export carries.
var Categories = []string{"format_version", "exported_at", "user", "memberships", "devices",
	"sessions", "resources", "shares", "llm_usage", "audit_events"}

// ExportUser is the profile.
type ExportUser struct {
	ID          uuid.UUID `json:"id"`
	DisplayName string    `json:"display_name"`
	Email       *string   `json:"email"`
	Status      string    `json:"status"`
	CreatedAt   time.Time `json:"created_at"`
}

// ExportRole is a role held in a tenant.
type ExportRole struct {
	ID   uuid.UUID `json:"id"`
	Name string    `json:"name"`
}

// ExportMembership is membership of one tenant.
type ExportMembership struct {
	TenantID   uuid.UUID    `json:"tenant_id"`
	TenantName string       `json:"tenant_name"`
	Status     string       `json:"status"`
	JoinedAt   time.Time    `json:"joined_at"`
	Roles      []ExportRole `json:"roles"`
	TeamIDs    []uuid.UUID  `json:"team_ids"`
}

// ExportDevice is a registered device's public metadata (no key material).
type ExportDevice struct {
	ID             uuid.UUID  `json:"id"`
	Name           string     `json:"name"`
	CreatedAt      time.Time  `json:"created_at"`
	LastUsedAt     *time.Time `json:"last_used_at"`
	Attachment     string     `json:"attachment"`
	Transports     []string   `json:"transports"`
	BackupEligible bool       `json:"backup_eligible"`
	BackupState    bool       `json:"backup_state"`
	AAGUID         string     `json:"aaguid"`
}

// ExportSession is one sign-in.
type ExportSession struct {
	ID            uuid.UUID  `json:"id"`
	TenantID      uuid.UUID  `json:"tenant_id"`
	DeviceID      *uuid.UUID `json:"device_id"`
	AMR           []string   `json:"amr"`
	CreatedAt     time.Time  `json:"created_at"`
	LastSeenAt    time.Time  `json:"last_seen_at"`
	ExpiresAt     time.Time  `json:"expires_at"`
	RevokedAt     *time.Time `json:"revoked_at"`
	RevokedReason string     `json:"revoked_reason,omitempty"`
}

// ExportShare is a share the person made or received.
type ExportShare struct {
	ID           uuid.UUID `json:"id"`
	TenantID     uuid.UUID `json:"tenant_id"`
	Direction    string    `json:"direction"` // "made" or "received"
	ResourceType string    `json:"resource_type"`
	ResourceID   uuid.UUID `json:"resource_id"`
	SubjectType  string    `json:"subject_type"`
	SubjectID    uuid.UUID `json:"subject_id"`
	Level        string    `json:"level"`
	CreatedAt    time.Time `json:"created_at"`
}

// ExportLLMUsage is the person's LLM usage.
type ExportLLMUsage struct {
	Records []map[string]any `json:"records"`
	Note    string           `json:"note"`
}

// ExportAuditEvent is an audit event the person caused.
type ExportAuditEvent struct {
	ID           uuid.UUID  `json:"id"`
	TenantID     *uuid.UUID `json:"tenant_id"`
	Action       string     `json:"action"`
	Outcome      string     `json:"outcome"`
	ResourceType string     `json:"resource_type,omitempty"`
	ResourceID   *uuid.UUID `json:"resource_id,omitempty"`
	OccurredAt   time.Time  `json:"occurred_at"`
}

// export builds the bundle of userID from c (a client or a transaction's
// client); ctx must be a system context, and every query names the user.
//
// It reads as the person (viewer.ForUser), not the system: only the audit
// events go through the audit code's own bypass (audit.Pseudonym and
// auditEvents). On PostgreSQL c must be a transaction's client (raw reads).
func export(ctx context.Context, c *ent.Client, dia string, userID uuid.UUID, now time.Time) (*Bundle, error) {
	ctx = viewer.ForUser(ctx, userID)
	u, err := c.User.Get(ctx, userID)
	if err != nil {
		return nil, err
	}
	b := &Bundle{
		FormatVersion: ExportFormatVersion,
		ExportedAt:    now.UTC(),
		User: ExportUser{ID: u.ID, DisplayName: u.DisplayName, Email: u.Email,
			Status: string(u.Status), CreatedAt: u.CreatedAt.UTC()},
		Memberships: []ExportMembership{},
		Devices:     []ExportDevice{},
		Sessions:    []ExportSession{},
		Shares:      []ExportShare{},
		LLMUsage:    ExportLLMUsage{Records: []map[string]any{}, Note: LLMUsageNote},
		AuditEvents: []ExportAuditEvent{},
	}
	if err := exportMemberships(ctx, c, userID, b); err != nil {
		return nil, err
	}
	creds, err := c.Credential.Query().Where(credential.UserID(userID)).Order(ent.Asc(credential.FieldID)).All(ctx)
	if err != nil {
		return nil, err
	}
	for _, d := range creds {
		dev := ExportDevice{ID: d.ID, Name: d.Name, CreatedAt: d.CreatedAt.UTC(), LastUsedAt: d.LastUsedAt,
			Attachment: d.Attachment, Transports: d.Transports, BackupEligible: d.BackupEligible, BackupState: d.BackupState}
		if len(d.Aaguid) == 16 {
			dev.AAGUID = uuid.UUID(d.Aaguid).String()
		}
		if dev.Transports == nil {
			dev.Transports = []string{}
		}
		b.Devices = append(b.Devices, dev)
	}
	sess, err := c.Session.Query().Where(entsession.UserID(userID)).Order(ent.Asc(entsession.FieldID)).All(ctx)
	if err != nil {
		return nil, err
	}
	for _, s := range sess {
		b.Sessions = append(b.Sessions, ExportSession{ID: s.ID, TenantID: s.TenantID, DeviceID: s.CredentialID,
			AMR: s.Amr, CreatedAt: s.CreatedAt.UTC(), LastSeenAt: s.LastSeenAt.UTC(), ExpiresAt: s.ExpiresAt.UTC(),
			RevokedAt: s.RevokedAt, RevokedReason: s.RevokedReason})
	}
	if b.Resources, err = exportResources(ctx, c, dia, userID); err != nil {
		return nil, err
	}
	if tableOf(llmUsageTable) != nil {
		rows, err := selectRows(ctx, c, dia, llmUsageTable, QuoteIdent("created_by")+" = ?", userID)
		if err != nil {
			return nil, err
		}
		b.LLMUsage = ExportLLMUsage{Records: rows, Note: LLMUsageRecordedNote}
	}
	shares, err := c.Share.Query().Where(share.Or(
		share.CreatedBy(userID),
		share.And(share.SubjectTypeEQ(share.SubjectTypeUser), share.SubjectID(userID)),
	)).Order(ent.Asc(share.FieldID)).All(ctx)
	if err != nil {
		return nil, err
	}
	for _, s := range shares {
		dir := "made"
		if s.SubjectType == share.SubjectTypeUser && s.SubjectID == userID {
			dir = "received"
		}
		b.Shares = append(b.Shares, ExportShare{ID: s.ID, TenantID: s.TenantID, Direction: dir,
			ResourceType: string(s.ResourceType), ResourceID: s.ResourceID, SubjectType: string(s.SubjectType),
			SubjectID: s.SubjectID, Level: string(s.Level), CreatedAt: s.CreatedAt.UTC()})
	}
	if ref, ok := audit.Pseudonym(ctx, c, userID); ok {
		// The audit trail names people by pseudonym; only the audit code reads
		// it across tenants, and only this person's events.
		evs, err := c.AuditEvent.Query().Where(auditevent.Actor(ref)).Order(ent.Asc(auditevent.FieldID)).
			All(viewer.System(ctx, viewer.ReasonAudit))
		if err != nil {
			return nil, err
		}
		for _, e := range evs {
			b.AuditEvents = append(b.AuditEvents, ExportAuditEvent{ID: e.ID, TenantID: e.TenantID, Action: e.Action,
				Outcome: string(e.Outcome), ResourceType: e.ResourceType, ResourceID: e.ResourceID, OccurredAt: e.OccurredAt.UTC()})
		}
	}
	return b, nil
}

func exportMemberships(ctx context.Context, c *ent.Client, userID uuid.UUID, b *Bundle) error {
	ms, err := c.Membership.Query().Where(membership.UserID(userID)).Order(ent.Asc(membership.FieldID)).All(ctx)
	if err != nil {
		return err
	}
	if len(ms) == 0 {
		return nil
	}
	tids := make([]uuid.UUID, len(ms))
	for i, m := range ms {
		tids[i] = m.TenantID
	}
	tenants, err := c.Tenant.Query().Where(tenant.IDIn(tids...)).All(ctx)
	if err != nil {
		return err
	}
	names := map[uuid.UUID]string{}
	for _, t := range tenants {
		names[t.ID] = t.Name
	}
	mrs, err := c.MemberRole.Query().Where(memberrole.UserID(userID)).All(ctx)
	if err != nil {
		return err
	}
	rids := make([]uuid.UUID, len(mrs))
	for i, mr := range mrs {
		rids[i] = mr.RoleID
	}
	roles, err := c.Role.Query().Where(role.IDIn(rids...)).All(ctx)
	if err != nil {
		return err
	}
	roleNames := map[uuid.UUID]string{}
	for _, r := range roles {
		roleNames[r.ID] = r.Name
	}
	tms, err := c.TeamMember.Query().Where(teammember.UserID(userID)).All(ctx)
	if err != nil {
		return err
	}
	for _, m := range ms {
		em := ExportMembership{TenantID: m.TenantID, TenantName: names[m.TenantID], Status: string(m.Status),
			JoinedAt: m.CreatedAt.UTC(), Roles: []ExportRole{}, TeamIDs: []uuid.UUID{}}
		for _, mr := range mrs {
			if mr.TenantID == m.TenantID {
				em.Roles = append(em.Roles, ExportRole{ID: mr.RoleID, Name: roleNames[mr.RoleID]})
			}
		}
		for _, tm := range tms {
			if tm.TenantID == m.TenantID {
				em.TeamIDs = append(em.TeamIDs, tm.TeamID)
			}
		}
		b.Memberships = append(b.Memberships, em)
	}
	return nil
}

// BuildBundle assembles userID's export through c without auditing it: the
// probe of `atrium audit gdpr` checks the bundle's completeness.
func BuildBundle(ctx context.Context, c *ent.Client, dia string, userID uuid.UUID, now time.Time) (*Bundle, error) {
	return export(ctx, c, dia, userID, now)
}
