package cache

import "time"

// Clock adapts an injected clock (func() time.Time) to otter's Clock, so
// that a test clock expires in-process cache entries too. It never ticks:
// expired entries are dropped when read, written or evicted, not
// proactively.
type Clock func() time.Time

// NowNano implements otter.Clock.
func (c Clock) NowNano() int64 { return c().UnixNano() }

// Tick implements otter.Clock; it never ticks.
func (c Clock) Tick(time.Duration) <-chan time.Time { return nil }
