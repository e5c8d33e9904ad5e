package authz

import (
	"context"

	"github.com/google/uuid"

	"atrium/ent"
	"atrium/ent/membership"
	"atrium/ent/share"
	"atrium/ent/team"
	"atrium/internal/audit"
	"atrium/internal/fault"
)

// Audit actions of sharing.
const (
	ActionShared       = "share.granted"
	ActionShareRevoked = "share.revoked"
)

// ShareInput shares a resource with a user or a team.
type ShareInput struct {
	SubjectType share.SubjectType
	SubjectID   uuid.UUID
	Level       share.Level
}

// Shares manages the shares of resources.
type Shares struct {
	client *ent.Client
	access *Access
	audit  *audit.Writer
}

// NewShares returns the share service.
func NewShares(client *ent.Client, access *Access, w *audit.Writer) *Shares {
	return &Shares{client: client, access: access, audit: w}
}

// List returns who a resource is shared with; the viewer must see it.
func (s *Shares) List(ctx context.Context, rt ResourceType, id uuid.UUID) ([]*ent.Share, error) {
	if err := s.access.Require(ctx, rt, id, Viewer); err != nil {
		return nil, err
	}
	out, err := s.client.Share.Query().Where(share.ResourceTypeEQ(rt), share.ResourceID(id)).
		Order(ent.Asc(share.FieldID)).All(ctx)
	return out, fault.FromEnt(err, "share")
}

// Share grants (or changes) a subject's level on a resource; the viewer must
// own it. The subject must be an active member or a team of the tenant.
func (s *Shares) Share(ctx context.Context, rt ResourceType, id uuid.UUID, in ShareInput) (*ent.Share, error) {
	if err := share.SubjectTypeValidator(in.SubjectType); err != nil {
		return nil, fault.Fields(fault.FieldError{Field: "subject_type", Message: "user or team"})
	}
	if err := share.LevelValidator(in.Level); err != nil {
		return nil, fault.Fields(fault.FieldError{Field: "level", Message: "viewer, editor or owner"})
	}
	if err := s.access.Require(ctx, rt, id, Owner); err != nil {
		return nil, err
	}
	var exists bool
	var err error
	if in.SubjectType == share.SubjectTypeUser {
		exists, err = s.client.Membership.Query().Where(membership.UserID(in.SubjectID), membership.StatusEQ(membership.StatusActive)).Exist(ctx)
	} else {
		exists, err = s.client.Team.Query().Where(team.ID(in.SubjectID)).Exist(ctx)
	}
	if err != nil {
		return nil, fault.FromEnt(err, "share")
	}
	if !exists {
		return nil, fault.New(fault.NotFound, "%s not found", in.SubjectType)
	}
	var out *ent.Share
	err = s.audit.Change(ctx, func(tx *ent.Tx) (audit.Event, error) {
		cur, err := tx.Share.Query().Where(share.ResourceTypeEQ(rt), share.ResourceID(id),
			share.SubjectTypeEQ(in.SubjectType), share.SubjectID(in.SubjectID)).Only(ctx)
		switch {
		case ent.IsNotFound(err):
			out, err = tx.Share.Create().SetResourceType(rt).SetResourceID(id).
				SetSubjectType(in.SubjectType).SetSubjectID(in.SubjectID).SetLevel(in.Level).Save(ctx)
		case err == nil:
			out, err = tx.Share.UpdateOne(cur).SetLevel(in.Level).Save(ctx)
		}
		if err != nil {
			return audit.Event{}, err
		}
		s.access.invalidateOnCommit(ctx, tx, rt, id)
		return audit.Event{Action: ActionShared, ResourceType: string(rt), ResourceID: id,
			Details: map[string]string{"share_id": out.ID.String(), "subject_type": string(in.SubjectType),
				"subject_id": in.SubjectID.String(), "level": string(in.Level)}}, nil
	})
	if err != nil {
		return nil, fault.FromEnt(err, "share")
	}
	return out, nil
}

// Revoke removes a share; the viewer must own the resource. The next request
// of the former grantee is refused: the resource's cached shares are dropped
// on every instance when the removal commits.
func (s *Shares) Revoke(ctx context.Context, rt ResourceType, resourceID, shareID uuid.UUID) error {
	if err := s.access.Require(ctx, rt, resourceID, Owner); err != nil {
		return err
	}
	err := s.audit.Change(ctx, func(tx *ent.Tx) (audit.Event, error) {
		n, err := tx.Share.Delete().Where(share.ID(shareID), share.ResourceTypeEQ(rt), share.ResourceID(resourceID)).Exec(ctx)
		if err != nil {
			return audit.Event{}, err
		}
		if n == 0 {
			return audit.Event{}, fault.New(fault.NotFound, "share not found")
		}
		s.access.invalidateOnCommit(ctx, tx, rt, resourceID)
		return audit.Event{Action: ActionShareRevoked, ResourceType: string(rt), ResourceID: resourceID,
			Details: map[string]string{"share_id": shareID.String()}}, nil
	})
	return fault.FromEnt(err, "share")
}
