package ratelimit_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"

	"atrium/internal/ratelimit"
)

func TestClientIP(t *testing.T) {
	t.Parallel()
	proxies, err := ratelimit.ParseTrustedProxies("10.0.0.0/8, fd00::/8")
	require.NoError(t, err)

	for _, tc := range []struct {
		name    string
		remote  string
		xff     []string
		trusted []netip.Prefix
		want    string
	}{
		{name: "OKNoProxy", remote: "203.0.113.7:5555", want: "203.0.113.7"},
		{name: "OKSpoofedFromUntrustedPeerIgnored", remote: "203.0.113.7:5555", xff: []string{"198.51.100.1"}, trusted: proxies, want: "203.0.113.7"},
		{name: "OKSpoofedWithoutTrustedProxiesIgnored", remote: "10.0.0.2:5555", xff: []string{"198.51.100.1"}, want: "10.0.0.2"},
		{name: "OKTrustedProxy", remote: "10.0.0.2:5555", xff: []string{"198.51.100.9"}, trusted: proxies, want: "198.51.100.9"},
		{name: "OKRightMostUntrusted", remote: "10.0.0.2:5555", xff: []string{"1.2.3.4, 198.51.100.9, 10.0.0.5"}, trusted: proxies, want: "198.51.100.9"},
		{name: "OKSeveralHeaderLines", remote: "10.0.0.2:5555", xff: []string{"1.2.3.4", "198.51.100.9", "10.0.0.5"}, trusted: proxies, want: "198.51.100.9"},
		{name: "OKAllTrusted", remote: "10.0.0.2:5555", xff: []string{"10.1.1.1, 10.0.0.5"}, trusted: proxies, want: "10.1.1.1"},
		{name: "OKTrustedPeerNoHeader", remote: "10.0.0.2:5555", trusted: proxies, want: "10.0.0.2"},
		{name: "OKGarbageHopStops", remote: "10.0.0.2:5555", xff: []string{"198.51.100.9, not-an-ip, 10.0.0.5"}, trusted: proxies, want: "10.0.0.5"},
		{name: "OKHopWithPort", remote: "10.0.0.2:5555", xff: []string{"198.51.100.9:4711"}, trusted: proxies, want: "198.51.100.9"},
		{name: "OKIPv6", remote: "[2001:db8::1]:443", want: "2001:db8::1"},
		{name: "OKIPv6ThroughProxy", remote: "[fd00::2]:443", xff: []string{"[2001:db8::5]:80"}, trusted: proxies, want: "2001:db8::5"},
		{name: "OKIPv4Mapped", remote: "[::ffff:10.0.0.2]:80", xff: []string{"::ffff:198.51.100.9"}, trusted: proxies, want: "198.51.100.9"},
		{name: "OKZoneDropped", remote: "[fe80::1%eth0]:80", want: "fe80::1"},
		{name: "ErrBadRemoteAddr", remote: "pipe", want: "invalid IP"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = tc.remote
			for _, v := range tc.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			require.Equal(t, tc.want, ratelimit.ClientIP(r, tc.trusted).String())
		})
	}
}

func TestParseTrustedProxies(t *testing.T) {
	t.Parallel()

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		got, err := ratelimit.ParseTrustedProxies(" 10.1.2.3/8 ,192.0.2.7,, fd00::/8, 2001:db8::1, ::ffff:172.16.0.0/108 ")
		require.NoError(t, err)
		require.Equal(t, []netip.Prefix{
			netip.MustParsePrefix("10.0.0.0/8"),
			netip.MustParsePrefix("192.0.2.7/32"),
			netip.MustParsePrefix("fd00::/8"),
			netip.MustParsePrefix("2001:db8::1/128"),
			netip.MustParsePrefix("172.16.0.0/12"),
		}, got)
	})

	t.Run("OKEmpty", func(t *testing.T) {
		t.Parallel()
		got, err := ratelimit.ParseTrustedProxies("")
		require.NoError(t, err)
		require.Empty(t, got)
	})

	t.Run("ErrInvalid", func(t *testing.T) {
		t.Parallel()
		_, err := ratelimit.ParseTrustedProxies("10.0.0.0/8, proxy.example, 10.0.0.0/33")
		require.ErrorContains(t, err, `"proxy.example"`)
		require.ErrorContains(t, err, `"10.0.0.0/33"`)
	})
}

func TestIPKey(t *testing.T) {
	t.Parallel()
	for addr, want := range map[string]string{
		"192.0.2.1":            "192.0.2.1",
		"::ffff:192.0.2.1":     "192.0.2.1",
		"2001:db8:1:2:3:4:5:6": "2001:db8:1:2::/64",
		"2001:db8:1:2::ff":     "2001:db8:1:2::/64",
	} {
		require.Equal(t, want, ratelimit.IPKey(netip.MustParseAddr(addr)), addr)
	}
	require.Equal(t, "unknown", ratelimit.IPKey(netip.Addr{}))
}

func TestClientIPContext(t *testing.T) {
	t.Parallel()

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		addr := netip.MustParseAddr("192.0.2.1")
		require.Equal(t, addr, ratelimit.ClientIPFrom(ratelimit.WithClientIP(context.Background(), addr)))
	})

	t.Run("OKAbsent", func(t *testing.T) {
		t.Parallel()
		require.False(t, ratelimit.ClientIPFrom(context.Background()).IsValid())
	})

	t.Run("OKMiddleware", func(t *testing.T) {
		t.Parallel()
		proxies, err := ratelimit.ParseTrustedProxies("10.0.0.0/8")
		require.NoError(t, err)
		var got netip.Addr
		h := ratelimit.ClientIPMiddleware(proxies)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got = ratelimit.ClientIPFrom(r.Context())
		}))
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = "10.0.0.2:1234"
		r.Header.Set("X-Forwarded-For", "198.51.100.9")
		h.ServeHTTP(httptest.NewRecorder(), r)
		require.Equal(t, netip.MustParseAddr("198.51.100.9"), got)
	})
}
