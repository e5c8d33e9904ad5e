package authz

import (
	"context"
	"fmt"
	"slices"

	"entgo.io/ent/dialect/sql"
	"github.com/google/uuid"

	"atrium/ent"
	"atrium/ent/share"
	"atrium/internal/fault"
	"atrium/internal/sqltemplate"
	"atrium/internal/viewer"
)

// ResourceType names a shareable resource.
type ResourceType = share.ResourceType

// Shareable resource types.
const (
	Conversation   = share.ResourceTypeConversation
	Document       = share.ResourceTypeDocument
	Agent          = share.ResourceTypeAgent
	KnowledgeGraph = share.ResourceTypeKnowledgeGraph
)

// Level is what a viewer may do to one resource.
type Level int

// Levels, ordered.
const (
	None   Level = iota
	Viewer       // read
	Editor       // read and change
	Owner        // also delete and share
)

// LevelOf parses a share level.
func LevelOf(l share.Level) Level {
	switch l {
	case share.LevelViewer:
		return Viewer
	case share.LevelEditor:
		return Editor
	case share.LevelOwner:
		return Owner
	}
	return None
}

// Reasons explain an access decision.
const (
	ReasonOwner        = "owner"
	ReasonSharedUser   = "shared_user"
	ReasonSharedTeam   = "shared_team"
	ReasonManage       = "manage"
	ReasonRole         = "role"
	ReasonMissingPerm  = "missing_permission"
	ReasonNotVisible   = "not_visible"
	ReasonLowLevel     = "insufficient_level"
	ReasonUnknownPerm  = "unknown_permission"
	ReasonUnknownInput = "unsupported_resource"
)

// Decision is a viewer's access to one resource.
type Decision struct {
	Level  Level
	Reason string
}

// OwnerLookup returns the creator of each of ids that the viewer's tenant
// holds (missing ids do not exist for the viewer).
type OwnerLookup func(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]uuid.UUID, error)

// Access applies the resource rule: the operation's permission gates the
// call; the resource must then be owned by the viewer (its creator), shared
// with them directly or through a team, or the viewer must hold the
// resource type's tenant-wide manage permission. The viewer's teams come
// with their cached permission set. With WithCache, each resource's owner
// and shares are cached too (Resolver.InvalidateResource drops them on
// every instance when a share, or the resource, changes); without it they
// are read from the database on every call.
type Access struct {
	client *ent.Client
	kinds  map[ResourceType]registered
	cache  *Resolver // nil: no cache
	shapes *sqltemplate.Cache[shape]
}

// registered is what Access knows of a resource type.
type registered struct {
	manage Permission
	owners OwnerLookup
}

// AccessOption configures an Access.
type AccessOption func(*Access)

// WithCache keeps resources' owners and shares in r's resource cache
// (bounded, invalidated on the bus like permissions). Shares and resource
// deletions made through Access invalidate it; other writers of the shares
// table or of a resource's creator call r.InvalidateResourceOnCommit.
func WithCache(r *Resolver) AccessOption { return func(a *Access) { a.cache = r } }

// NewAccess returns an Access; resource services register their types
// (internal/resource does it for them).
func NewAccess(client *ent.Client, opts ...AccessOption) *Access {
	a := &Access{client: client, kinds: map[ResourceType]registered{}, shapes: sqltemplate.New[shape](maxShapes)}
	for _, o := range opts {
		o(a)
	}
	return a
}

// Register adds a resource type: manage is its tenant-wide permission (sees
// and changes every row of the type), l looks up its rows' creators.
func (a *Access) Register(rt ResourceType, manage Permission, l OwnerLookup) {
	a.kinds[rt] = registered{manage: manage, owners: l}
}

func teamsOf(v *viewer.Viewer) []uuid.UUID {
	if s, ok := v.Perms.(*Set); ok {
		return s.Teams()
	}
	return nil
}

// Decide returns the viewer's access to each of ids.
func (a *Access) Decide(ctx context.Context, rt ResourceType, ids []uuid.UUID) (map[uuid.UUID]Decision, error) {
	v := viewer.FromContext(ctx)
	if v == nil {
		return nil, fault.New(fault.Unauthenticated, "no viewer")
	}
	kind, ok := a.kinds[rt]
	if !ok {
		return nil, fault.New(fault.Invalid, "resource type %s cannot be checked", rt)
	}
	load := func(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]*facts, error) {
		return a.load(ctx, rt, kind, ids)
	}
	var fs map[uuid.UUID]*facts
	var err error
	if a.cache != nil {
		fs, err = a.cache.resources(ctx, v.TenantID, rt, ids, load)
	} else {
		fs, err = load(ctx, ids)
	}
	if err != nil {
		return nil, err
	}
	out := make(map[uuid.UUID]Decision, len(ids))
	manage := kind.manage != "" && v.Allows(kind.manage)
	teams := teamsOf(v)
	for id, f := range fs {
		switch {
		case f == nil || !f.exists:
		case f.creator == v.UserID:
			out[id] = Decision{Owner, ReasonOwner}
		case manage:
			out[id] = Decision{Owner, ReasonManage}
		default:
			var d Decision
			for _, g := range f.shares {
				var reason string
				switch {
				case !g.team && g.subject == v.UserID:
					reason = ReasonSharedUser
				case g.team && slices.Contains(teams, g.subject):
					reason = ReasonSharedTeam
				default:
					continue
				}
				if g.level > d.Level {
					d = Decision{g.level, reason}
				}
			}
			if d.Level > None {
				out[id] = d
			}
		}
	}
	return out, nil
}

// load reads the facts of ids from the database, in the tenant of ctx's
// viewer: one owner query and one share query. Ids the tenant does not hold
// are left out.
func (a *Access) load(ctx context.Context, rt ResourceType, kind registered, ids []uuid.UUID) (map[uuid.UUID]*facts, error) {
	owners, err := kind.owners(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make(map[uuid.UUID]*facts, len(owners))
	if len(owners) == 0 {
		return out, nil
	}
	held := make([]uuid.UUID, 0, len(owners))
	for id, creator := range owners {
		out[id] = &facts{exists: true, creator: creator}
		held = append(held, id)
	}
	shares, err := a.client.Share.Query().
		Where(share.ResourceTypeEQ(rt), share.ResourceIDIn(held...)).
		Select(share.FieldResourceID, share.FieldSubjectType, share.FieldSubjectID, share.FieldLevel).
		All(ctx)
	if err != nil {
		return nil, fault.FromEnt(err, "share")
	}
	for _, s := range shares {
		if f := out[s.ResourceID]; f != nil {
			f.shares = append(f.shares, grant{subject: s.SubjectID, team: s.SubjectType == share.SubjectTypeTeam, level: LevelOf(s.Level)})
		}
	}
	return out, nil
}

// subjectIs matches shares made to user or to one of teams.
func subjectIs(user uuid.UUID, teams []uuid.UUID) func(*sql.Selector) {
	return func(s *sql.Selector) {
		ps := []*sql.Predicate{sql.And(sql.EQ(s.C(share.FieldSubjectType), share.SubjectTypeUser), sql.EQ(s.C(share.FieldSubjectID), user))}
		if len(teams) > 0 {
			args := make([]any, len(teams))
			for i, t := range teams {
				args[i] = t
			}
			ps = append(ps, sql.And(sql.EQ(s.C(share.FieldSubjectType), share.SubjectTypeTeam), sql.In(s.C(share.FieldSubjectID), args...)))
		}
		s.Where(sql.Or(ps...))
	}
}

// Require returns nil when the viewer has at least need on the resource
// created by creator; NotFound when they cannot see it at all (it does not
// exist for them); Forbidden when they can see it but not do this.
func (a *Access) Require(ctx context.Context, rt ResourceType, id uuid.UUID, need Level) error {
	ds, err := a.Decide(ctx, rt, []uuid.UUID{id})
	if err != nil {
		return err
	}
	d := ds[id]
	switch {
	case d.Level == None:
		return fault.New(fault.NotFound, "%s not found", rt)
	case d.Level < need:
		return fault.New(fault.Forbidden, "your access to this %s does not allow that", rt)
	}
	return nil
}

// RequireRef is Require for a resource the caller is about to reference
// from a new row's field (a message's conversation_id): on success it also
// returns ctx vouching for that reference (viewer.WithCheckedRef), so the
// new row's policy (policy.RefInTenant) does not look the resource up
// again in the caller's tenant. It is the only place that vouches: what it
// vouches for, it has just found in the viewer's tenant. The insert's
// foreign key still catches a resource deleted since; the caller answers
// that constraint error as "not found".
func (a *Access) RequireRef(ctx context.Context, rt ResourceType, id uuid.UUID, need Level, field string) (context.Context, error) {
	if err := a.Require(ctx, rt, id, need); err != nil {
		return ctx, err
	}
	return viewer.WithCheckedRef(ctx, field, id), nil
}

// Visible is a predicate for list queries of a resource type's table: rows
// the viewer created or that are shared with them or their teams, or every
// row with the manage permission. The table must have id and created_by.
func (a *Access) Visible(ctx context.Context, rt ResourceType) func(*sql.Selector) {
	v := viewer.FromContext(ctx)
	if mp := a.kinds[rt].manage; mp != "" && v.Allows(mp) {
		return func(*sql.Selector) {}
	}
	teams := teamsOf(v)
	return func(s *sql.Selector) {
		key := shape{dialect: s.Dialect(), table: s.TableName(), col: s.C("id"), rt: rt, teams: len(teams)}
		vals := append([]uuid.UUID{v.TenantID, v.UserID}, teams...)
		s.Where(a.shapes.Predicate(key, key.dialect, vals, func(vals []uuid.UUID) *sql.Predicate {
			tenant, user, teams := vals[0], vals[1], vals[2:]
			t := sql.Table(share.Table)
			sub := sql.Select(t.C(share.FieldResourceID)).From(t)
			sub.Where(sql.And(
				sql.EQ(t.C(share.FieldTenantID), tenant),
				sql.EQ(t.C(share.FieldResourceType), rt),
			))
			subjectIs(user, teams)(sub)
			// id IN (own UNION ALL shared), not created_by = me OR id IN
			// (shared): an OR with a subquery cannot use an index for the
			// owner's rows, so PostgreSQL read and discarded the whole
			// tenant; each branch of the union uses its own index
			// (docs/performance.md).
			r := sql.Table(key.table)
			own := sql.Select(r.C("id")).From(r).Where(sql.And(
				sql.EQ(r.C("tenant_id"), tenant),
				sql.EQ(r.C("created_by"), user),
			))
			return sql.In(key.col, own.UnionAll(sub))
		}))
	}
}

// shape is what the text of a Visible or VisibleTop predicate depends on
// besides the viewer's ids (internal/sqltemplate): the query's dialect and
// table, the resource type, the number of the viewer's teams, and for
// VisibleTop whether a page follows another and the page's size.
type shape struct {
	dialect, table, col string
	rt                  ResourceType
	teams               int
	top, after          bool
	n                   int
}

// maxShapes bounds the shapes kept: the dialect and table are fixed per
// resource type, and a viewer has at most maxTopBranches-2 teams for
// VisibleTop, so it is the page sizes (1 to page.MaxLimit+1) that make many.
const maxShapes = 4096

// maxTopBranches bounds the branches of VisibleTop's union: a viewer in
// more teams than this gets Visible's shape instead.
const maxTopBranches = 32

// VisibleTop is Visible for a first or next page with no other filter: the
// ids of the n newest rows (below after, when it is not uuid.Nil) the viewer
// may see. Visible makes the database gather every visible id and sort them
// all to keep n; here each source of visibility — the viewer's own rows,
// shares to the viewer, shares to each of their teams — yields only its n
// newest ids from an index in id order, and the newest n of their union are
// the newest n visible: each branch holds distinct ids, so a branch's top n
// includes every one of its ids that can reach the union's top n. The page
// query then reads at most n rows by primary key (docs/performance.md).
// Use it only when nothing else filters the page: a filter applied after
// the union could leave fewer than n rows although more match.
func (a *Access) VisibleTop(ctx context.Context, rt ResourceType, after uuid.UUID, n int) func(*sql.Selector) {
	v := viewer.FromContext(ctx)
	teams := teamsOf(v)
	if mp := a.kinds[rt].manage; (mp != "" && v.Allows(mp)) || len(teams)+2 > maxTopBranches {
		return a.Visible(ctx, rt)
	}
	return func(s *sql.Selector) {
		key := shape{dialect: s.Dialect(), table: s.TableName(), col: s.C("id"), rt: rt, teams: len(teams),
			top: true, after: after != uuid.Nil, n: n}
		vals := make([]uuid.UUID, 0, 3+len(teams))
		vals = append(vals, v.TenantID, v.UserID)
		if key.after {
			vals = append(vals, after)
		}
		vals = append(vals, teams...)
		s.Where(a.shapes.Predicate(key, key.dialect, vals, func(vals []uuid.UUID) *sql.Predicate {
			tenant, user, after, teams := vals[0], vals[1], uuid.Nil, vals[2:]
			if key.after {
				after, teams = vals[2], vals[3:]
			}
			return visibleTop(key, tenant, user, after, teams)
		}))
	}
}

// visibleTop is VisibleTop's predicate.
func visibleTop(key shape, tenant, user, after uuid.UUID, teams []uuid.UUID) *sql.Predicate {
	dialect, rt, n := key.dialect, key.rt, key.n
	// branch is SELECT <col> FROM (SELECT <col> FROM <table> WHERE <where>
	// [AND <col> < after] ORDER BY <col> DESC LIMIT n) AS b<i>: neither
	// dialect takes ORDER BY or LIMIT on a bare member of a UNION, both take
	// them in a derived table.
	branch := func(i int, table, col string, where func(t *sql.SelectTable) *sql.Predicate) *sql.Selector {
		t := sql.Dialect(dialect).Table(table)
		p := where(t)
		if key.after {
			p = sql.And(p, sql.LT(t.C(col), after))
		}
		in := sql.Dialect(dialect).Select(t.C(col)).From(t).Where(p).
			OrderBy(sql.Desc(t.C(col))).Limit(n).As(fmt.Sprintf("b%d", i))
		return sql.Dialect(dialect).Select(in.C(col)).From(in)
	}
	sh := func(i int, typ share.SubjectType, subject uuid.UUID) *sql.Selector {
		return branch(i, share.Table, share.FieldResourceID, func(t *sql.SelectTable) *sql.Predicate {
			return sql.And(
				sql.EQ(t.C(share.FieldTenantID), tenant),
				sql.EQ(t.C(share.FieldSubjectType), typ),
				sql.EQ(t.C(share.FieldSubjectID), subject),
				sql.EQ(t.C(share.FieldResourceType), rt))
		})
	}
	union := branch(0, key.table, "id", func(t *sql.SelectTable) *sql.Predicate {
		return sql.And(sql.EQ(t.C("tenant_id"), tenant), sql.EQ(t.C("created_by"), user))
	})
	union.Union(sh(1, share.SubjectTypeUser, user))
	for i, team := range teams {
		union.Union(sh(i+2, share.SubjectTypeTeam, team))
	}
	union.As("visible")
	top := sql.Dialect(dialect).Select(union.C("id")).From(union).
		OrderBy(sql.Desc(union.C("id"))).Limit(n)
	return sql.In(key.col, top)
}

// String names a level.
func (l Level) String() string {
	switch l {
	case Viewer:
		return "viewer"
	case Editor:
		return "editor"
	case Owner:
		return "owner"
	}
	return fmt.Sprintf("none(%d)", int(l))
}

// DeleteShares removes every share of a resource, inside tx (with the
// resource itself), and drops the resource's cached facts on every instance
// once tx commits.
func (a *Access) DeleteShares(ctx context.Context, tx *ent.Tx, rt ResourceType, id uuid.UUID) error {
	if _, err := tx.Share.Delete().Where(share.ResourceTypeEQ(rt), share.ResourceID(id)).Exec(ctx); err != nil {
		return err
	}
	a.invalidateOnCommit(ctx, tx, rt, id)
	return nil
}

// invalidateOnCommit drops the cached facts of (rt, id) of the viewer's
// tenant once tx commits.
func (a *Access) invalidateOnCommit(ctx context.Context, tx *ent.Tx, rt ResourceType, id uuid.UUID) {
	if a.cache == nil {
		return
	}
	tenant := uuid.Nil // unknown: drop every tenant's
	if v := viewer.FromContext(ctx); v != nil {
		tenant = v.TenantID
	}
	a.cache.InvalidateResourceOnCommit(ctx, tx, tenant, rt, id)
}

// Readable keeps the ids the viewer may read, in order: resources an agent
// refers to that the person asking may see.
func (a *Access) Readable(ctx context.Context, rt ResourceType, ids []uuid.UUID) ([]uuid.UUID, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	ds, err := a.Decide(ctx, rt, ids)
	if err != nil {
		return nil, err
	}
	var out []uuid.UUID
	for _, id := range ids {
		if ds[id].Level >= Viewer {
			out = append(out, id)
		}
	}
	return out, nil
}

// RequireReadable fails with a field error naming the first of ids the
// viewer cannot read, as if it did not exist (references to resources in a
// request body: an agent's documents, a graph's documents).
func (a *Access) RequireReadable(ctx context.Context, rt ResourceType, ids []uuid.UUID, field string) error {
	if len(ids) == 0 {
		return nil
	}
	ds, err := a.Decide(ctx, rt, ids)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if ds[id].Level < Viewer {
			return fault.Fields(fault.FieldError{Field: field, Message: fmt.Sprintf("%s %s not found", rt, id)})
		}
	}
	return nil
}
