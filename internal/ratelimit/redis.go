package ratelimit

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// KeyPrefix starts every Redis key of this package.
const KeyPrefix = "atrium:rl:"

// gcraScript is gcra in Lua, run atomically in one round trip. It reads the
// clock of the Redis server so that every instance judges by the same time,
// and works in whole milliseconds: Lua numbers are doubles, exact and printed
// in full (%.14g) for integers below 1e14, which epoch milliseconds are.
//
// KEYS[1] = key; ARGV[1] = interval ms; ARGV[2] = burst.
// Returns {allowed (0|1), remaining, retry after ms}.
var gcraScript = redis.NewScript(`
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = tonumber(ARGV[1])
local tolerance = interval * tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1])) or 0
if tat < now then tat = now end
local diff = tat + interval - now
if diff > tolerance then
  return {0, 0, diff - tolerance}
end
redis.call('SET', KEYS[1], now + diff, 'PX', diff)
return {1, math.floor((tolerance - diff) / interval), 0}
`)

type redisLimiter struct {
	rdb     redis.UniversalClient
	timeout time.Duration
}

// NewRedis returns a limiter whose state lives in Redis under KeyPrefix and
// is shared by every instance. A key's entry expires when its state is back
// to that of a new key. Each Redis round trip is bounded (250 ms), so an
// unreachable Redis costs a request at most that before the fallback answers.
func NewRedis(rdb redis.UniversalClient, opts ...Option) Limiter {
	o := newOptions(opts)
	return &redisLimiter{rdb: rdb, timeout: o.timeout}
}

// Close implements Limiter; the Redis client belongs to the caller.
func (r *redisLimiter) Close() {}

// Allow implements Limiter.
func (r *redisLimiter) Allow(ctx context.Context, key string, l Limit) (Result, error) {
	if l.Unlimited() {
		return unlimited, nil
	}
	if err := checkLimit(l); err != nil {
		return Result{}, err
	}
	if r.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, r.timeout)
		defer cancel()
	}
	reply, err := gcraScript.Run(ctx, r.rdb, []string{KeyPrefix + HashKey(key)}, l.interval(), l.burst()).Int64Slice()
	if err != nil {
		return Result{}, fmt.Errorf("ratelimit: redis: %w", err)
	}
	if len(reply) != 3 {
		return Result{}, fmt.Errorf("ratelimit: redis: unexpected reply %v", reply)
	}
	return Result{
		Allowed:    reply[0] == 1,
		Remaining:  int(reply[1]),
		RetryAfter: time.Duration(reply[2]) * time.Millisecond,
	}, nil
}
