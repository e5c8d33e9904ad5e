package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/descope/virtualwebauthn"
	"github.com/go-faster/jx"
	"github.com/ogen-go/ogen/ogenerrors"

	"atrium/gen/api"
)

// errNotLoopback refuses a target that is not this machine: the load tool
// must never be pointed at someone else's server.
var errNotLoopback = errors.New("the target must be a loopback address (localhost, 127.0.0.0/8 or ::1)")

// checkLoopback accepts only http(s) URLs whose host is localhost or a
// loopback IP literal.
func checkLoopback(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("-url %q: want http://127.0.0.1:PORT", raw)
	}
	h := u.Hostname()
	if h == "localhost" {
		return u, nil
	}
	if ip := net.ParseIP(h); ip != nil && ip.IsLoopback() {
		return u, nil
	}
	return nil, fmt.Errorf("-url %q: %w", raw, errNotLoopback)
}

// loopbackDial refuses every connection whose remote address is not a
// loopback address, whatever the name resolved to.
func loopbackDial(ctx context.Context, network, addr string) (net.Conn, error) {
	d := net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	if ta, ok := c.RemoteAddr().(*net.TCPAddr); !ok || !ta.IP.IsLoopback() {
		c.Close()
		return nil, fmt.Errorf("dial %s: %w", addr, errNotLoopback)
	}
	return c, nil
}

// Target is the server under load.
type Target struct {
	Base string // e.g. http://127.0.0.1:8080, no trailing slash
	RP   virtualwebauthn.RelyingParty
	HTTP *http.Client
	anon *api.Client
}

// NewTarget checks base and builds the shared HTTP client. origin is the
// server's ATRIUM_PUBLIC_URL (the WebAuthn origin; its host is the RP ID).
func NewTarget(base, origin string, conns int, hc *http.Client) (*Target, error) {
	u, err := checkLoopback(base)
	if err != nil {
		return nil, err
	}
	o, err := url.Parse(origin)
	if err != nil || o.Hostname() == "" {
		return nil, fmt.Errorf("-origin %q: want the server's ATRIUM_PUBLIC_URL", origin)
	}
	if hc == nil {
		// Buffers that hold a whole request or response of the load
		// (100 checks, a page of 50 conversations: ~10–20 KB), so one is
		// one write and one read system call, not five of net/http's 4 KB
		// default: the tool shares the machine with the server it measures.
		tr := &http.Transport{DialContext: loopbackDial, MaxIdleConns: conns, MaxIdleConnsPerHost: conns,
			IdleConnTimeout: 90 * time.Second, WriteBufferSize: 32 << 10, ReadBufferSize: 32 << 10}
		hc = &http.Client{Transport: tr, Timeout: 30 * time.Second}
	}
	t := &Target{Base: u.Scheme + "://" + u.Host, HTTP: hc,
		RP: virtualwebauthn.RelyingParty{Name: "Atrium", ID: o.Hostname(), Origin: o.Scheme + "://" + o.Host}}
	t.anon, err = t.Client(nil)
	return t, err
}

// Bearer is a replaceable access token.
type Bearer struct{ v atomic.Pointer[string] }

// Set replaces the token.
func (b *Bearer) Set(tok string) { b.v.Store(&tok) }

// BearerAuth implements api.SecuritySource.
func (b *Bearer) BearerAuth(context.Context, api.OperationName) (api.BearerAuth, error) {
	if b == nil || b.v.Load() == nil {
		return api.BearerAuth{}, ogenerrors.ErrSkipClientSecurity
	}
	return api.BearerAuth{Token: *b.v.Load()}, nil
}

// Client returns an API client sending b's token (nil: none).
func (t *Target) Client(b *Bearer) (*api.Client, error) {
	return api.NewClient(t.Base+"/api/v1", b, api.WithClient(t.HTTP))
}

// Device is a software authenticator holding one passkey. A device is used
// by one goroutine at a time: its signature counter must only grow.
type Device struct {
	mu   sync.Mutex // one ceremony at a time
	auth virtualwebauthn.Authenticator
	cred virtualwebauthn.Credential
}

// NewDevice returns a device with a fresh EC2 passkey.
func NewDevice() *Device {
	return &Device{auth: virtualwebauthn.NewAuthenticator(), cred: newEC2Credential()}
}

// newEC2Credential returns a software credential whose public key encodes
// correctly. virtualwebauthn writes the COSE key's coordinates with
// big.Int.Bytes, which drops leading zero bytes: about 1 key in 128 has a
// coordinate shorter than 32 bytes, which go-webauthn rightly refuses. Such
// keys are drawn again (as in internal/passkey's tests).
func newEC2Credential() virtualwebauthn.Credential {
	for {
		c := virtualwebauthn.NewCredential(virtualwebauthn.KeyTypeEC2)
		k, err := x509.ParsePKCS8PrivateKey(c.Key.Data)
		if err != nil {
			panic(err)
		}
		if pk := k.(*ecdsa.PrivateKey); len(pk.X.Bytes()) == 32 && len(pk.Y.Bytes()) == 32 {
			return c
		}
	}
}

func toJSON(m map[string]jx.Raw) string {
	var e jx.Encoder
	e.ObjStart()
	for k, v := range m {
		e.FieldStart(k)
		e.Raw(v)
	}
	e.ObjEnd()
	return e.String()
}

func toObject(s string) (map[string]jx.Raw, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, err
	}
	out := make(map[string]jx.Raw, len(m))
	for k, v := range m {
		out[k] = jx.Raw(v)
	}
	return out, nil
}

// Enroll registers d from an invitation: a new user, signed in.
func (t *Target) Enroll(ctx context.Context, d *Device, invitation, name string) (*api.TokenResponse, error) {
	o, err := t.anon.RegisterDeviceOptions(ctx, &api.RegisterOptionsRequest{Invitation: api.NewOptString(invitation),
		DisplayName: api.NewOptString(name)})
	if err != nil {
		return nil, fmt.Errorf("register options: %w", err)
	}
	ao, err := virtualwebauthn.ParseAttestationOptions(toJSON(o.PublicKey))
	if err != nil {
		return nil, fmt.Errorf("register options: %w", err)
	}
	d.auth.Options.UserHandle = []byte(ao.UserID)
	cred, err := toObject(virtualwebauthn.CreateAttestationResponse(t.RP, d.auth, d.cred, *ao))
	if err != nil {
		return nil, err
	}
	res, err := t.anon.RegisterDevice(ctx, &api.RegisterRequest{CeremonyID: o.CeremonyID, Credential: cred,
		DeviceName: api.NewOptString("load key")})
	if err != nil {
		return nil, fmt.Errorf("register: %w", err)
	}
	d.auth.AddCredential(d.cred)
	if !res.Token.Set {
		return nil, errors.New("register: no token in the response")
	}
	return &res.Token.Value, nil
}

// Login runs a whole passkey sign-in with d: options, then the assertion.
func (t *Target) Login(ctx context.Context, d *Device) (*api.TokenResponse, error) {
	o, err := t.anon.LoginOptions(ctx)
	if err != nil {
		return nil, err
	}
	ao, err := virtualwebauthn.ParseAssertionOptions(toJSON(o.PublicKey))
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	d.cred.Counter++
	resp := virtualwebauthn.CreateAssertionResponse(t.RP, d.auth, d.cred, *ao)
	d.mu.Unlock()
	cred, err := toObject(resp)
	if err != nil {
		return nil, err
	}
	return t.anon.Login(ctx, &api.LoginRequest{CeremonyID: o.CeremonyID, Credential: cred})
}

// Refresh rotates a refresh token.
func (t *Target) Refresh(ctx context.Context, refresh string) (*api.TokenResponse, error) {
	return t.anon.ExchangeToken(ctx, &api.TokenExchangeRequest{GrantType: api.TokenExchangeRequestGrantTypeRefreshToken,
		RefreshToken: api.NewOptString(refresh)})
}

// parallel runs f(0..n-1) on k goroutines and returns the first error.
func parallel(n, k int, f func(i int) error) error {
	var (
		next atomic.Int64
		mu   sync.Mutex
		errs error
		wg   sync.WaitGroup
	)
	for range min(k, max(n, 1)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := f(i); err != nil {
					mu.Lock()
					errs = errors.Join(errs, err)
					mu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	return errs
}
