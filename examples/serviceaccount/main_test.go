package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"atrium/gen/api"
	"atrium/internal/apptest"
	"atrium/internal/authz"
	"atrium/internal/testkit"
)

// TestExample runs the service of docs/api.md against a whole Atrium: an
// admin registers the service account and its public key; the service signs
// assertions with the private key file, calls the API, and gets a new token
// (with a new assertion) when the first one is about to expire.
func TestExample(t *testing.T) {
	t.Parallel()
	env := apptest.New(t, testkit.SQLite(t))
	tenant := env.Tenant()
	admin := env.Member(tenant.ID, authz.RoleAdminID)
	ctx := t.Context()

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	p8, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	keyFile := filepath.Join(t.TempDir(), "sa.key")
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8}), 0o600))
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	require.NoError(t, err)

	sa, err := admin.Client.CreateServiceAccount(ctx, &api.ServiceAccountCreate{Name: "reporter", RoleIds: []uuid.UUID{authz.RoleMemberID}})
	require.NoError(t, err)
	reg, err := admin.Client.AddServiceAccountKey(ctx, &api.ServiceAccountKeyCreate{
		PublicKey: string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))},
		api.AddServiceAccountKeyParams{ServiceAccountId: sa.ID})
	require.NoError(t, err)

	signer, err := ReadPrivateKey(keyFile)
	require.NoError(t, err)
	src := &TokenSource{BaseURL: env.Server.URL, ServiceAccountID: sa.ID.String(), KeyID: reg.Kid, Key: signer,
		Audience: env.App.ServiceAccounts.TokenEndpoint(), HTTP: env.Server.Client(), Now: env.Now}
	client, err := api.NewClient(env.Server.URL+"/api/v1", src, api.WithClient(env.Server.Client()))
	require.NoError(t, err)
	conv, err := client.CreateConversation(ctx, &api.ConversationCreate{Title: api.NewOptString("Nightly report")})
	require.NoError(t, err)
	require.Equal(t, sa.ID, conv.CreatedBy)
	first := src.token

	env.Advance(env.App.Tokens.TTL() - 30*time.Second) // inside the renewal minute
	_, err = client.ListConversations(ctx, api.ListConversationsParams{})
	require.NoError(t, err)
	require.NotEqual(t, first, src.token, "a new assertion, a new token")

	ev, err := admin.Client.ListAuditEvents(ctx, api.ListAuditEventsParams{Action: api.NewOptString("auth.service_account.token_issued")})
	require.NoError(t, err)
	require.Len(t, ev.Items, 2)

	// A refusal reads as the OAuth error it is.
	bad := &TokenSource{BaseURL: env.Server.URL, ServiceAccountID: sa.ID.String(), KeyID: "not-registered", Key: signer,
		Audience: env.App.ServiceAccounts.TokenEndpoint(), HTTP: env.Server.Client(), Now: env.Now}
	_, err = bad.Token(ctx)
	require.ErrorContains(t, err, "400 Bad Request: invalid_grant: the assertion is not valid")
}
