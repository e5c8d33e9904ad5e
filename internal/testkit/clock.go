package testkit

import (
	"sync/atomic"
	"time"
)

// Clock is a clock that moves only when told to: inject Now where a
// component takes a clock, and Advance it instead of sleeping.
type Clock struct{ ns atomic.Int64 }

// NewClock returns a Clock reading start.
func NewClock(start time.Time) *Clock {
	c := &Clock{}
	c.ns.Store(start.UnixNano())
	return c
}

// Now is the clock's time.
func (c *Clock) Now() time.Time { return time.Unix(0, c.ns.Load()) }

// Advance moves the clock on by d.
func (c *Clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }
