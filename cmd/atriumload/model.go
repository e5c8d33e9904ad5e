package main

import (
	"math/rand/v2"

	"github.com/google/uuid"
)

// The seeded data follows a fixed layout so that the answer to every
// permission check is known in advance (Expect) and a wrong answer from the
// server counts as an error.
//
// Per tenant, with U users, T teams and K conversations per user:
//   - user 0 is an admin (role admin: every permission); the others are
//     members (role member);
//   - member i (i >= 1) belongs to team (i-1) % T; the admin to none;
//   - conversation j is owned (created) by user j % U;
//   - conversation j with j % 2 == 0 is shared at level viewer with user
//     (owner+1) % U (when that is not the owner);
//   - conversation j with j % 3 == 0 is shared at level editor with team
//     j % T (when T > 0).
//
// User shares are always viewer and team shares always editor, so the
// server's reason for a user reached by both is never ambiguous: the higher
// level (the team's) wins.

// Layout is the shape of each tenant.
type Layout struct {
	Users        int // per tenant, >= 1; user 0 is the admin
	Teams        int // per tenant, >= 0
	ConvsPerUser int // conversations owned by each user
}

// Conv is one conversation of the model.
type Conv struct {
	ID        uuid.UUID
	Tenant    int
	Owner     int // user index
	UserShare int // user index shared with at level viewer, -1 for none
	TeamShare int // team index shared with at level editor, -1 for none
}

// Convs returns the conversations of one tenant, IDs unset.
func (l Layout) Convs(tenant int) []Conv {
	n := l.Users * l.ConvsPerUser
	out := make([]Conv, n)
	for j := range n {
		c := Conv{Tenant: tenant, Owner: j % l.Users, UserShare: -1, TeamShare: -1}
		if j%2 == 0 && l.Users > 1 {
			c.UserShare = (c.Owner + 1) % l.Users
		}
		if j%3 == 0 && l.Teams > 0 {
			c.TeamShare = j % l.Teams
		}
		out[j] = c
	}
	return out
}

// TeamOf returns the team of user u, or -1.
func (l Layout) TeamOf(u int) int {
	if u == 0 || l.Teams == 0 {
		return -1
	}
	return (u - 1) % l.Teams
}

// Levels of access to a resource, as the server orders them.
const (
	levelNone = iota
	levelViewer
	levelEditor
	levelOwner
)

// memberPerms are the permissions of the system role member among those the
// load tool checks. The admin holds all of them.
var memberPerms = map[string]bool{
	"conversation.create": true, "conversation.read": true, "conversation.update": true,
	"conversation.delete": true, "conversation.share": true, "message.create": true, "message.read": true,
}

// resourcePerms are checked on a conversation; plainPerms without a resource.
var (
	resourcePerms = []string{"conversation.read", "conversation.update", "conversation.delete",
		"conversation.share", "conversation.manage", "message.create", "message.read"}
	plainPerms = []string{"conversation.create", "team.manage", "audit.read"}
)

// needLevel is the level a permission's action needs on a resource.
func needLevel(perm string) int {
	switch perm {
	case "conversation.read", "message.read":
		return levelViewer
	case "conversation.delete", "conversation.share", "conversation.manage":
		return levelOwner
	default:
		return levelEditor
	}
}

// Answer is the expected result of one check.
type Answer struct {
	Allowed bool
	Reason  string
}

// Expect answers a check by user u of tenant tenant for perm, on conversation
// c (nil: no resource). hidden marks a resource that does not exist for the
// user (another tenant's, or no such ID).
func (l Layout) Expect(u int, perm string, c *Conv, hidden bool, tenant int) Answer {
	if u != 0 && !memberPerms[perm] {
		return Answer{false, "missing_permission"}
	}
	if c == nil && !hidden {
		return Answer{true, "role"}
	}
	if hidden || c.Tenant != tenant {
		return Answer{false, "not_visible"}
	}
	level, reason := levelNone, ""
	switch {
	case c.Owner == u:
		level, reason = levelOwner, "owner"
	case u == 0: // the admin holds conversation.manage
		level, reason = levelOwner, "manage"
	case c.TeamShare >= 0 && c.TeamShare == l.TeamOf(u):
		level, reason = levelEditor, "shared_team"
	case c.UserShare == u:
		level, reason = levelViewer, "shared_user"
	}
	switch {
	case level == levelNone:
		return Answer{false, "not_visible"}
	case level < needLevel(perm):
		return Answer{false, "insufficient_level"}
	}
	return Answer{true, reason}
}

// CheckItem is one check of a batch and its expected answer.
type CheckItem struct {
	Perm   string
	ConvID uuid.UUID // uuid.Nil for no resource
	Want   Answer
}

// Batch draws n checks for user u of tenant t from the model: mostly
// conversations of every tenant, some without a resource, some on IDs that
// exist nowhere.
func (l Layout) Batch(r *rand.Rand, convs [][]Conv, t, u, n int) []CheckItem {
	out := make([]CheckItem, n)
	for i := range out {
		switch k := r.IntN(20); {
		case k == 0: // no such conversation
			p := resourcePerms[r.IntN(len(resourcePerms))]
			out[i] = CheckItem{p, uuid.New(), l.Expect(u, p, nil, true, t)}
		case k <= 2:
			p := plainPerms[r.IntN(len(plainPerms))]
			out[i] = CheckItem{p, uuid.Nil, l.Expect(u, p, nil, false, t)}
		default:
			ct := convs[r.IntN(len(convs))]
			c := &ct[r.IntN(len(ct))]
			p := resourcePerms[r.IntN(len(resourcePerms))]
			out[i] = CheckItem{p, c.ID, l.Expect(u, p, c, false, t)}
		}
	}
	return out
}

// Readable returns the indices of tenant t's conversations user u may read.
func (l Layout) Readable(convs []Conv, t, u int) []int {
	var out []int
	for j := range convs {
		if l.Expect(u, "conversation.read", &convs[j], false, t).Allowed {
			out = append(out, j)
		}
	}
	return out
}
