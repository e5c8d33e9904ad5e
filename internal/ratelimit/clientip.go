package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
)

// ClientIP returns the address of the client that sent r.
//
// It is the TCP peer (RemoteAddr) unless the peer is a trusted proxy. Then it
// is the right-most address of X-Forwarded-For that is not a trusted proxy:
// each trusted proxy appends the address it received the request from, so
// everything left of the first untrusted hop was written by the client and
// can be forged. If every hop is trusted, the left-most one is the client;
// if a hop cannot be parsed, the nearest trusted proxy stands for the client.
//
// IPv4-mapped IPv6 addresses are unmapped and zones dropped. The result is
// invalid only when RemoteAddr cannot be parsed.
func ClientIP(r *http.Request, trustedProxies []netip.Prefix) netip.Addr {
	peer := parseHop(r.RemoteAddr)
	if !peer.IsValid() || !trusted(peer, trustedProxies) {
		return peer
	}
	client := peer
	values := r.Header.Values("X-Forwarded-For")
	for i := len(values) - 1; i >= 0; i-- {
		hops := strings.Split(values[i], ",")
		for j := len(hops) - 1; j >= 0; j-- {
			hop := parseHop(strings.TrimSpace(hops[j]))
			if !hop.IsValid() {
				return client
			}
			client = hop
			if !trusted(hop, trustedProxies) {
				return client
			}
		}
	}
	return client
}

// parseHop parses "addr", "addr:port" or "[addr]:port".
func parseHop(s string) netip.Addr {
	addr, err := netip.ParseAddr(s)
	if err != nil {
		ap, err := netip.ParseAddrPort(s)
		if err != nil {
			return netip.Addr{}
		}
		addr = ap.Addr()
	}
	return addr.Unmap().WithZone("")
}

func trusted(addr netip.Addr, proxies []netip.Prefix) bool {
	for _, p := range proxies {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// ParseTrustedProxies parses a comma-separated list of addresses and CIDR
// prefixes ("10.0.0.0/8, 192.0.2.7, fd00::/8"), as ATRIUM_TRUSTED_PROXIES
// holds. An empty string means no trusted proxies. It reports every bad entry.
func ParseTrustedProxies(s string) ([]netip.Prefix, error) {
	var (
		out  []netip.Prefix
		errs []error
	)
	for entry := range strings.SplitSeq(s, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		if strings.Contains(entry, "/") {
			p, err := netip.ParsePrefix(entry)
			if err != nil {
				errs = append(errs, fmt.Errorf("trusted proxy %q: not an address or CIDR prefix", entry))
				continue
			}
			if p.Addr().Is4In6() {
				p = netip.PrefixFrom(p.Addr().Unmap(), max(p.Bits()-96, 0))
			}
			out = append(out, p.Masked())
			continue
		}
		addr, err := netip.ParseAddr(entry)
		if err != nil {
			errs = append(errs, fmt.Errorf("trusted proxy %q: not an address or CIDR prefix", entry))
			continue
		}
		addr = addr.Unmap().WithZone("")
		out = append(out, netip.PrefixFrom(addr, addr.BitLen()))
	}
	return out, errors.Join(errs...)
}

// IPKey is the rate-limit key of a client address: the address for IPv4,
// its /64 network for IPv6 (one subscriber usually holds a whole /64, so
// per-address limits would be free to dodge). An invalid address yields
// "unknown", which all such clients share.
func IPKey(addr netip.Addr) string {
	addr = addr.Unmap()
	switch {
	case !addr.IsValid():
		return "unknown"
	case addr.Is4():
		return addr.String()
	default:
		p, _ := addr.WithZone("").Prefix(64)
		return p.String()
	}
}

type clientIPKey struct{}

// WithClientIP returns ctx carrying the client address, for code that does
// not see the *http.Request (ogen handlers).
func WithClientIP(ctx context.Context, addr netip.Addr) context.Context {
	return context.WithValue(ctx, clientIPKey{}, addr)
}

// ClientIPFrom returns the client address stored by WithClientIP; the zero
// (invalid) Addr when there is none.
func ClientIPFrom(ctx context.Context) netip.Addr {
	addr, _ := ctx.Value(clientIPKey{}).(netip.Addr)
	return addr
}

// ClientIPMiddleware stores ClientIP(r, trustedProxies) in each request's
// context (WithClientIP).
func ClientIPMiddleware(trustedProxies []netip.Prefix) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(w, r.WithContext(WithClientIP(r.Context(), ClientIP(r, trustedProxies))))
		})
	}
}
