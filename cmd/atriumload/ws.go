package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"

	"atrium/gen/api"
)

// WSResult is what the ws scenario measured.
type WSResult struct {
	Conns      int              // connections held, subscribed
	Idle       []Usage          // CPU and RSS while they idled, over the window
	FanOut     Samples          // publish -> receipt, one sample per subscriber per round, sorted
	Rounds     int              // messages published
	Missed     int64            // events not received within the round's timeout
	Errors     map[string]int64 // connection errors by class
	FirstError string           // the first dial or subscribe error, for the log
	IdleSpent  time.Duration
}

type wsEvent struct {
	Type string          `json:"type"`
	Data json.RawMessage `json:"data"`
}

// RunWS holds conns WebSocket connections subscribed to one conversation of
// tenant 0, measures the processes while they idle for warmup+window, then
// publishes rounds messages (POST .../messages) and times each event from
// just before the POST until each subscriber has read it.
//
// Connecting is not bounded by maxTime (each dial and subscription has 30 s);
// the idle window and the rounds are.
func RunWS(ctx context.Context, t *Target, w *World, conns, rounds, par int, warmup, window, roundTimeout, maxTime time.Duration, meter *Meter) (*WSResult, error) {
	td := w.Tenants[0]
	admin := td.Users[0]
	conv, err := admin.Client.CreateConversation(ctx, &api.ConversationCreate{Title: api.NewOptString("Load fan-out")})
	if err != nil {
		return nil, fmt.Errorf("fan-out conversation: %w", err)
	}
	for _, team := range td.Teams {
		if _, err := admin.Client.ShareConversation(ctx, &api.ShareCreate{SubjectType: api.ShareSubjectTypeTeam, SubjectID: team,
			Level: api.ShareLevelViewer}, api.ShareConversationParams{ConversationId: conv.ID}); err != nil {
			return nil, fmt.Errorf("share the fan-out conversation: %w", err)
		}
	}
	subscribers := []*User{admin}
	for _, u := range td.Users[1:] {
		if len(td.Teams) > 0 {
			subscribers = append(subscribers, u) // every member is in a team
		}
	}

	// A connection lives as long as its access token (the server closes it
	// with 4401 after): start from fresh tokens.
	for _, u := range subscribers {
		tok, err := t.Refresh(ctx, u.Refresh)
		if err != nil {
			return nil, fmt.Errorf("refresh a subscriber's token: %w", err)
		}
		u.Refresh = tok.RefreshToken
		u.Bearer.Set(tok.AccessToken)
	}

	res := &WSResult{Rounds: rounds, Errors: map[string]int64{}}
	type round struct {
		sent atomic.Pointer[time.Time] // written before the POST, read by the subscribers
		got  atomic.Int64
		done chan struct{}
	}
	rs := make([]*round, rounds)
	for i := range rs {
		rs[i] = &round{done: make(chan struct{})}
	}
	var (
		mu      sync.Mutex
		lat     Samples
		want    atomic.Int64
		readers sync.WaitGroup
	)
	rctx, stop := context.WithCancel(ctx)
	defer stop()
	cs := make([]*websocket.Conn, conns)
	wsURL := "ws" + strings.TrimPrefix(t.Base, "http") + "/api/v1/ws"
	err = parallel(conns, par, func(i int) error {
		u := subscribers[i%len(subscribers)]
		tok, _ := u.Bearer.BearerAuth(ctx, "")
		dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		c, _, err := websocket.Dial(dctx, wsURL, &websocket.DialOptions{HTTPClient: t.HTTP,
			Subprotocols: []string{"atrium.v1", "bearer." + tok.Token}})
		if err != nil {
			mu.Lock()
			res.Errors["dial"]++
			res.FirstError = cmpOr(res.FirstError, err.Error())
			mu.Unlock()
			return nil
		}
		c.SetReadLimit(1 << 20)
		if err := subscribe(dctx, c, conv.ID); err != nil {
			c.CloseNow()
			mu.Lock()
			res.Errors["subscribe"]++
			res.FirstError = cmpOr(res.FirstError, err.Error())
			mu.Unlock()
			return nil
		}
		cs[i] = c
		want.Add(1)
		readers.Go(func() {
			for {
				_, b, err := c.Read(rctx)
				if err != nil {
					if rctx.Err() == nil {
						mu.Lock()
						res.Errors["closed_"+strconv.Itoa(int(websocket.CloseStatus(err)))]++
						mu.Unlock()
					}
					return
				}
				now := time.Now()
				var e wsEvent
				var m struct{ Content string }
				if json.Unmarshal(b, &e) != nil || e.Type != "message.created" || json.Unmarshal(e.Data, &m) != nil {
					continue
				}
				k, err := strconv.Atoi(strings.TrimPrefix(m.Content, "fan-out "))
				if err != nil || k < 0 || k >= rounds {
					continue
				}
				r := rs[k]
				if r.sent.Load() == nil {
					continue
				}
				mu.Lock()
				lat = append(lat, now.Sub(*r.sent.Load()))
				mu.Unlock()
				if r.got.Add(1) == want.Load() {
					close(r.done)
				}
			}
		})
		return nil
	})
	if err != nil {
		return nil, err
	}
	res.Conns = int(want.Load())
	ctx, cancel := context.WithTimeout(ctx, maxTime)
	defer cancel()

	idle := func(d time.Duration) {
		select {
		case <-time.After(d):
		case <-ctx.Done():
		}
	}
	idle(warmup)
	meter.Start()
	t0 := time.Now()
	idle(window)
	res.Idle = meter.Stop()
	res.IdleSpent = time.Since(t0)

	for k, r := range rs {
		sent := time.Now()
		r.sent.Store(&sent)
		if _, err := admin.Client.AppendMessage(ctx, &api.MessageCreate{Role: api.MessageRoleUser, Content: "fan-out " + strconv.Itoa(k)},
			api.AppendMessageParams{ConversationId: conv.ID}); err != nil {
			res.Errors[classify(err)]++
			continue
		}
		select {
		case <-r.done:
		case <-time.After(roundTimeout):
			res.Missed += want.Load() - r.got.Load()
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	stop()
	for _, c := range cs {
		if c != nil {
			c.CloseNow()
		}
	}
	readers.Wait()
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(lat)
	res.FanOut = lat
	return res, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// subscribe sends a subscribe message and waits for its answer.
func subscribe(ctx context.Context, c *websocket.Conn, conv uuid.UUID) error {
	msg, _ := json.Marshal(map[string]string{"type": "subscribe", "conversation_id": conv.String()})
	if err := c.Write(ctx, websocket.MessageText, msg); err != nil {
		return err
	}
	for {
		_, b, err := c.Read(ctx)
		if err != nil {
			return err
		}
		var e wsEvent
		if err := json.Unmarshal(b, &e); err != nil {
			return err
		}
		switch e.Type {
		case "subscribed":
			return nil
		case "error":
			return errors.New("subscribe: " + string(e.Data))
		}
	}
}
