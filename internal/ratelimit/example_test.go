package ratelimit_test

import (
	"context"
	"fmt"
	"net/netip"

	"atrium/internal/fault"
	"atrium/internal/ratelimit"
)

// The composition root builds one limiter and one policy; a middleware
// stores the client address (ClientIPMiddleware) and handlers check it.
func Example() {
	limiter := ratelimit.New(nil, nil) // the app's redis.UniversalClient, when configured
	defer limiter.Close()
	policy, err := ratelimit.NewPolicy(ratelimit.DefaultConfig(), limiter, nil)
	if err != nil {
		panic(err)
	}
	ctx := ratelimit.WithClientIP(context.Background(), netip.MustParseAddr("192.0.2.1"))
	for i := 1; i <= 12; i++ {
		if err := policy.CheckClientIP(ctx, "loginOptions"); err != nil {
			fmt.Println(i, fault.CodeOf(err), fault.As(err).RetryAfter > 0)
		}
	}
	// Output:
	// 11 rate_limited true
	// 12 rate_limited true
}
