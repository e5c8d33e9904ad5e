package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync/atomic"

	"atrium/gen/api"
)

// Scenarios that run as request loops (ws runs apart, see ws.go).
var httpScenarios = []string{"read", "list", "write", "check1", "check100", "login", "refresh", "sessions"}

// Scenario is a prepared request loop.
type Scenario struct {
	Op    Op
	Units int    // work items per request (checks per batch), 1 otherwise
	Unit  string // what a unit is, for the report
	OK    atomic.Int64
}

// worker state: each worker has its own user and random source, so runs
// are repeatable and workers share nothing on the hot path.
type workerState struct {
	user *User
	r    *rand.Rand
	read []int // readable conversations of user (indices into its tenant's)
	own  []int // conversations user owns
	next int
}

func workers(w *World, n int) []*workerState {
	users := w.workerUsers()
	out := make([]*workerState, n)
	for i := range out {
		u := users[i%len(users)]
		convs := w.Tenants[u.Tenant].Convs
		ws := &workerState{user: u, r: rand.New(rand.NewPCG(uint64(i), 0x61747269756d)), read: w.Layout.Readable(convs, u.Tenant, u.Index)}
		for j := range convs {
			if convs[j].Owner == u.Index {
				ws.own = append(ws.own, j)
			}
		}
		out[i] = ws
	}
	return out
}

// NewScenario prepares scenario name for n workers. Setup work (sessions
// for refresh) happens here, outside the measured run.
func NewScenario(ctx context.Context, name string, t *Target, w *World, n, par int) (*Scenario, error) {
	ws := workers(w, n)
	switch name {
	case "read":
		return &Scenario{Units: 1, Unit: "requests", Op: func(ctx context.Context, i int) error {
			s := ws[i]
			c := w.Tenants[s.user.Tenant].Convs[s.read[s.next%len(s.read)]]
			s.next++
			got, err := s.user.Client.GetConversation(ctx, api.GetConversationParams{ConversationId: c.ID})
			if err == nil && got.ID != c.ID {
				return fmt.Errorf("%w: conversation %s for %s", errWrongAnswer, got.ID, c.ID)
			}
			return err
		}}, nil
	case "list":
		return &Scenario{Units: 1, Unit: "requests", Op: func(ctx context.Context, i int) error {
			s := ws[i]
			page, err := s.user.Client.ListConversations(ctx, api.ListConversationsParams{})
			if err == nil && len(page.Items) == 0 {
				return fmt.Errorf("%w: empty first page for a user with %d readable conversations", errWrongAnswer, len(s.read))
			}
			return err
		}}, nil
	case "write":
		return &Scenario{Units: 1, Unit: "requests", Op: func(ctx context.Context, i int) error {
			s := ws[i]
			c := w.Tenants[s.user.Tenant].Convs[s.own[s.next%len(s.own)]]
			s.next++
			_, err := s.user.Client.AppendMessage(ctx, &api.MessageCreate{Role: api.MessageRoleUser, Content: "load test message"},
				api.AppendMessageParams{ConversationId: c.ID})
			return err
		}}, nil
	case "check1", "check100":
		size := 1
		if name == "check100" {
			size = 100
		}
		convs := w.Convs()
		return &Scenario{Units: size, Unit: "checks", Op: func(ctx context.Context, i int) error {
			s := ws[i]
			return checkBatch(ctx, s.user, w.Layout.Batch(s.r, convs, s.user.Tenant, s.user.Index, size))
		}}, nil
	case "login", "sessions":
		pool := make(chan *Device, len(w.Users()))
		for _, u := range w.Users() {
			pool <- u.Device
		}
		sc := &Scenario{Units: 1, Unit: "logins"}
		sc.Op = func(ctx context.Context, _ int) error {
			var d *Device
			select {
			case d = <-pool:
			case <-ctx.Done():
				return ctx.Err()
			}
			defer func() { pool <- d }()
			_, err := t.Login(ctx, d)
			if err == nil {
				sc.OK.Add(1)
			}
			return err
		}
		return sc, nil
	case "refresh":
		users := w.Users()
		chains := make(chan string, n)
		err := parallel(n, par, func(i int) error {
			tok, err := t.Login(ctx, users[i%len(users)].Device)
			if err != nil {
				return fmt.Errorf("sign in for a refresh chain: %w", err)
			}
			chains <- tok.RefreshToken
			return nil
		})
		if err != nil {
			return nil, err
		}
		return &Scenario{Units: 1, Unit: "rotations", Op: func(ctx context.Context, i int) error {
			var rt string
			select {
			case rt = <-chains:
			case <-ctx.Done():
				return ctx.Err()
			}
			tok, err := t.Refresh(ctx, rt)
			if err != nil {
				// The chain may be spent: start another outside the count.
				if tok2, err2 := t.Login(context.WithoutCancel(ctx), users[i%len(users)].Device); err2 == nil {
					chains <- tok2.RefreshToken
				}
				return err
			}
			chains <- tok.RefreshToken
			return nil
		}}, nil
	}
	return nil, fmt.Errorf("unknown scenario %q", name)
}

// checkBatch sends one POST /authz/check and compares every answer with
// the model's.
func checkBatch(ctx context.Context, u *User, items []CheckItem) error {
	req := &api.CheckRequest{Checks: make([]api.CheckRequestChecksItem, len(items))}
	for i, it := range items {
		c := api.CheckRequestChecksItem{Permission: it.Perm}
		if it.ConvID != [16]byte{} {
			c.ResourceType = api.NewOptResourceType(api.ResourceTypeConversation)
			c.ResourceID = api.NewOptUUID(it.ConvID)
		}
		req.Checks[i] = c
	}
	res, err := u.Client.CheckPermissions(ctx, req)
	if err != nil {
		return err
	}
	if len(res.Results) != len(items) {
		return fmt.Errorf("%w: %d results for %d checks", errWrongAnswer, len(res.Results), len(items))
	}
	for i, got := range res.Results {
		if want := items[i].Want; got.Allowed != want.Allowed || got.Reason != want.Reason {
			return fmt.Errorf("%w: user %d.%d %s on %s: got %v/%s, want %v/%s", errWrongAnswer, u.Tenant, u.Index,
				items[i].Perm, items[i].ConvID, got.Allowed, got.Reason, want.Allowed, want.Reason)
		}
	}
	return nil
}
