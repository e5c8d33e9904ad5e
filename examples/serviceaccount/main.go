// Command serviceaccount is the Go service of docs/api.md: it signs an
// RFC 7523 JWT assertion with its private key, exchanges it for an access
// token at POST /api/v1/auth/token, and calls the API with the generated
// client, signing a new assertion whenever the token is about to expire.
//
//	ATRIUM_URL=https://atrium.example.com \
//	ATRIUM_SERVICE_ACCOUNT_ID=0193… ATRIUM_KEY_ID=<kid> ATRIUM_PRIVATE_KEY_FILE=sa.key \
//	go run ./examples/serviceaccount
package main

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"atrium/gen/api"
)

func main() {
	key, err := ReadPrivateKey(os.Getenv("ATRIUM_PRIVATE_KEY_FILE"))
	if err != nil {
		log.Fatal(err)
	}
	base := strings.TrimRight(os.Getenv("ATRIUM_URL"), "/")
	src := &TokenSource{BaseURL: base, ServiceAccountID: os.Getenv("ATRIUM_SERVICE_ACCOUNT_ID"),
		KeyID: os.Getenv("ATRIUM_KEY_ID"), Key: key}
	client, err := api.NewClient(base+"/api/v1", src)
	if err != nil {
		log.Fatal(err)
	}
	conv, err := client.CreateConversation(context.Background(), &api.ConversationCreate{Title: api.NewOptString("Nightly report")})
	if err != nil {
		log.Fatal(err) // *api.ErrorStatusCode carries the problem+json
	}
	fmt.Println("created conversation", conv.ID)
}

// TokenSource is an api.SecuritySource that holds a service account's
// access token and gets a new one, with a fresh assertion, shortly before it
// expires. There is no refresh token: the private key is the credential.
type TokenSource struct {
	BaseURL          string        // e.g. https://atrium.example.com
	ServiceAccountID string        // iss and sub of the assertions
	KeyID            string        // kid shown when the public key was registered
	Key              crypto.Signer // RSA (RS256), ECDSA P-256 (ES256) or Ed25519 (EdDSA)
	// Audience is the token endpoint as the server names it (default
	// BaseURL + "/api/v1/auth/token"; it is ATRIUM_PUBLIC_URL's).
	Audience string
	HTTP     *http.Client
	Now      func() time.Time

	mu    sync.Mutex
	token string
	until time.Time
}

// BearerAuth implements api.SecuritySource.
func (s *TokenSource) BearerAuth(ctx context.Context, _ api.OperationName) (api.BearerAuth, error) {
	tok, err := s.Token(ctx)
	return api.BearerAuth{Token: tok}, err
}

// Token returns a valid access token, exchanging a new assertion if needed.
func (s *TokenSource) Token(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if s.token != "" && now.Before(s.until) {
		return s.token, nil
	}
	assertion, err := s.Assertion()
	if err != nil {
		return "", err
	}
	form := url.Values{
		"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"},
		"assertion":  {assertion},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(s.BaseURL, "/")+"/api/v1/auth/token",
		strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	hc := s.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	res, err := hc.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		// A refusal is an OAuth error (error, error_description) that is
		// also a problem (detail, request_id); 429 and 503 are problems only.
		var p struct {
			Error            string `json:"error"`
			ErrorDescription string `json:"error_description"`
			Detail           string `json:"detail"`
			RequestID        string `json:"request_id"`
		}
		_ = json.NewDecoder(res.Body).Decode(&p)
		if p.Error != "" {
			return "", fmt.Errorf("token endpoint: %s: %s: %s (request %s)", res.Status, p.Error, p.ErrorDescription, p.RequestID)
		}
		return "", fmt.Errorf("token endpoint: %s: %s (request %s)", res.Status, p.Detail, p.RequestID)
	}
	var out struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		return "", err
	}
	// Renew a minute early, so a request never leaves with a dying token.
	s.token, s.until = out.AccessToken, now.Add(time.Duration(out.ExpiresIn)*time.Second-time.Minute)
	return s.token, nil
}

// Assertion signs a new RFC 7523 assertion: iss = sub = the account, aud =
// the token endpoint, a two-minute lifetime (at most five are accepted) and
// a fresh jti (each is accepted once).
func (s *TokenSource) Assertion() (string, error) {
	var method jwt.SigningMethod
	switch s.Key.(type) {
	case *rsa.PrivateKey:
		method = jwt.SigningMethodRS256
	case *ecdsa.PrivateKey:
		method = jwt.SigningMethodES256
	case ed25519.PrivateKey:
		method = jwt.SigningMethodEdDSA
	default:
		return "", errors.New("unsupported key type")
	}
	aud := s.Audience
	if aud == "" {
		aud = strings.TrimRight(s.BaseURL, "/") + "/api/v1/auth/token"
	}
	now := s.now()
	t := jwt.NewWithClaims(method, jwt.RegisteredClaims{
		Issuer: s.ServiceAccountID, Subject: s.ServiceAccountID, Audience: jwt.ClaimStrings{aud},
		IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(2 * time.Minute)),
		ID: uuid.NewString(),
	})
	t.Header["kid"] = s.KeyID
	return t.SignedString(s.Key)
}

func (s *TokenSource) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// ReadPrivateKey reads a PKCS #8 PEM private key ("PRIVATE KEY").
func ReadPrivateKey(path string) (crypto.Signer, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, errors.New("no PEM block in " + path)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	signer, ok := k.(crypto.Signer)
	if !ok {
		return nil, errors.New("not a signing key")
	}
	return signer, nil
}
