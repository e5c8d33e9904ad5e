package httpapi_test

import (
	"context"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"atrium/ent/membership"
	_ "atrium/ent/runtime"
	"atrium/gen/api"
	"atrium/internal/apptest"
	"atrium/internal/authz"
	"atrium/internal/testkit"
	"atrium/internal/token"
	"atrium/internal/viewer"
)

func TestMain(m *testing.M) { testkit.MainLeakFree(m) }

type bundle struct {
	env     *apptest.Env
	a, b    *apptest.Member // admins of tenants A and B
	tenantA uuid.UUID
	tenantB uuid.UUID
	convA   *api.Conversation
	ctx     context.Context
}

// setup runs each test on every available database.
func forEachDB(t *testing.T, fn func(t *testing.T, bu *bundle)) {
	for _, db := range testkit.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			var opts []apptest.Option
			if db.Name == "postgres" { // the production pairing: PostgreSQL with Redis
				opts = append(opts, apptest.WithRedis(testkit.RedisURL(t)))
			}
			env := apptest.New(t, db.Open(t), opts...)
			ta, tb := env.Tenant(), env.Tenant()
			bu := &bundle{env: env, tenantA: ta.ID, tenantB: tb.ID, ctx: context.Background()}
			bu.a = env.Member(ta.ID, authz.RoleAdminID)
			bu.b = env.Member(tb.ID, authz.RoleAdminID)
			c, err := bu.a.Client.CreateConversation(bu.ctx, &api.ConversationCreate{Title: api.NewOptString("A's secret plans")})
			require.NoError(t, err)
			bu.convA = c
			_, err = bu.a.Client.AppendMessage(bu.ctx, &api.MessageCreate{Role: api.MessageRoleUser, Content: "hello"},
				api.AppendMessageParams{ConversationId: c.ID})
			require.NoError(t, err)
			fn(t, bu)
		})
	}
}

func requireStatus(t *testing.T, err error, status int) {
	t.Helper()
	require.Error(t, err)
	var se *api.ErrorStatusCode
	require.True(t, errors.As(err, &se), "want a problem response, got %v", err)
	require.Equal(t, status, se.StatusCode, "problem: %+v", se.Response)
	require.Equal(t, status, se.Response.Status)
	require.NotEmpty(t, se.Response.RequestID.Or(""), "problem carries the request id")
}

func TestConversations(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, bu *bundle) {
		ctx, c := bu.ctx, bu.a.Client
		t.Run("OK", func(t *testing.T) {
			got, err := c.GetConversation(ctx, api.GetConversationParams{ConversationId: bu.convA.ID})
			require.NoError(t, err)
			require.Equal(t, "A's secret plans", got.Title)
			require.Equal(t, bu.tenantA, got.TenantID)
			require.Equal(t, bu.a.UserID, got.CreatedBy)

			up, err := c.UpdateConversation(ctx, &api.ConversationUpdate{Status: api.NewOptConversationStatus(api.ConversationStatusArchived)},
				api.UpdateConversationParams{ConversationId: bu.convA.ID})
			require.NoError(t, err)
			require.Equal(t, api.ConversationStatusArchived, up.Status)
			require.Equal(t, "A's secret plans", up.Title)

			msgs, err := c.ListMessages(ctx, api.ListMessagesParams{ConversationId: bu.convA.ID})
			require.NoError(t, err)
			require.Len(t, msgs.Items, 1)
			require.Equal(t, "hello", msgs.Items[0].Content)
		})
		t.Run("Pagination", func(t *testing.T) {
			var made []uuid.UUID
			for range 5 {
				cv, err := c.CreateConversation(ctx, &api.ConversationCreate{})
				require.NoError(t, err)
				made = append(made, cv.ID)
			}
			var seen []uuid.UUID
			cursor := api.OptString{}
			for {
				p, err := c.ListConversations(ctx, api.ListConversationsParams{Cursor: cursor, Limit: api.NewOptInt(2)})
				require.NoError(t, err)
				require.LessOrEqual(t, len(p.Items), 2)
				for _, it := range p.Items {
					seen = append(seen, it.ID)
				}
				if !p.NextCursor.Set {
					break
				}
				cursor = p.NextCursor
			}
			require.Len(t, seen, 6)
			for i := range 5 { // newest first
				require.Equal(t, made[4-i], seen[i])
			}
			require.Equal(t, bu.convA.ID, seen[5])
		})
		t.Run("Delete", func(t *testing.T) {
			cv, err := c.CreateConversation(ctx, &api.ConversationCreate{})
			require.NoError(t, err)
			_, err = c.AppendMessage(ctx, &api.MessageCreate{Role: api.MessageRoleUser, Content: "x"}, api.AppendMessageParams{ConversationId: cv.ID})
			require.NoError(t, err)
			require.NoError(t, c.DeleteConversation(ctx, api.DeleteConversationParams{ConversationId: cv.ID}))
			_, err = c.GetConversation(ctx, api.GetConversationParams{ConversationId: cv.ID})
			requireStatus(t, err, 404)
		})
	})
}

// TestTenantIsolation: tenant B gets 404 for every tenant-owned operation on
// tenant A's IDs, and A's data is untouched afterwards.
func TestTenantIsolation(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, bu *bundle) {
		ctx, b, id := bu.ctx, bu.b.Client, bu.convA.ID
		a := bu.a.Client
		doc, err := a.CreateDocument(ctx, &api.DocumentCreate{Title: "A's doc", Content: "secret"})
		require.NoError(t, err)
		ag, err := a.CreateAgent(ctx, &api.AgentCreate{Name: "A's agent", Model: "echo-1"})
		require.NoError(t, err)
		kg, err := a.CreateKnowledgeGraph(ctx, &api.KnowledgeGraphCreate{Name: "A's graph"})
		require.NoError(t, err)
		node, err := a.AddKnowledgeNode(ctx, &api.KGNodeCreate{Type: "t", Label: "n"}, api.AddKnowledgeNodeParams{GraphId: kg.ID})
		require.NoError(t, err)
		shareB := &api.ShareCreate{SubjectType: api.ShareSubjectTypeUser, SubjectID: bu.b.UserID, Level: api.ShareLevelOwner}
		cases := []struct {
			name string
			call func() error
		}{
			{"GetDocument", func() error { _, err := b.GetDocument(ctx, api.GetDocumentParams{DocumentId: doc.ID}); return err }},
			{"UpdateDocument", func() error {
				_, err := b.UpdateDocument(ctx, &api.DocumentUpdate{Title: api.NewOptString("x")}, api.UpdateDocumentParams{DocumentId: doc.ID})
				return err
			}},
			{"DeleteDocument", func() error { return b.DeleteDocument(ctx, api.DeleteDocumentParams{DocumentId: doc.ID}) }},
			{"ListDocumentShares", func() error {
				_, err := b.ListDocumentShares(ctx, api.ListDocumentSharesParams{DocumentId: doc.ID})
				return err
			}},
			{"ShareDocument", func() error {
				_, err := b.ShareDocument(ctx, shareB, api.ShareDocumentParams{DocumentId: doc.ID})
				return err
			}},
			{"GetAgent", func() error { _, err := b.GetAgent(ctx, api.GetAgentParams{AgentId: ag.ID}); return err }},
			{"UpdateAgent", func() error {
				_, err := b.UpdateAgent(ctx, &api.AgentUpdate{Name: api.NewOptString("x")}, api.UpdateAgentParams{AgentId: ag.ID})
				return err
			}},
			{"DeleteAgent", func() error { return b.DeleteAgent(ctx, api.DeleteAgentParams{AgentId: ag.ID}) }},
			{"ShareAgent", func() error { _, err := b.ShareAgent(ctx, shareB, api.ShareAgentParams{AgentId: ag.ID}); return err }},
			{"GetKnowledgeGraph", func() error {
				_, err := b.GetKnowledgeGraph(ctx, api.GetKnowledgeGraphParams{GraphId: kg.ID})
				return err
			}},
			{"UpdateKnowledgeGraph", func() error {
				_, err := b.UpdateKnowledgeGraph(ctx, &api.KnowledgeGraphUpdate{Name: api.NewOptString("x")}, api.UpdateKnowledgeGraphParams{GraphId: kg.ID})
				return err
			}},
			{"DeleteKnowledgeGraph", func() error { return b.DeleteKnowledgeGraph(ctx, api.DeleteKnowledgeGraphParams{GraphId: kg.ID}) }},
			{"AddKnowledgeNode", func() error {
				_, err := b.AddKnowledgeNode(ctx, &api.KGNodeCreate{Type: "t", Label: "x"}, api.AddKnowledgeNodeParams{GraphId: kg.ID})
				return err
			}},
			{"RemoveKnowledgeNode", func() error {
				return b.RemoveKnowledgeNode(ctx, api.RemoveKnowledgeNodeParams{GraphId: kg.ID, NodeId: node.ID})
			}},
			{"AddKnowledgeEdge", func() error {
				_, err := b.AddKnowledgeEdge(ctx, &api.KGEdgeCreate{SourceID: node.ID, TargetID: node.ID, Type: "x"}, api.AddKnowledgeEdgeParams{GraphId: kg.ID})
				return err
			}},
			{"GetKnowledgeNeighbourhood", func() error {
				_, err := b.GetKnowledgeNeighbourhood(ctx, api.GetKnowledgeNeighbourhoodParams{GraphId: kg.ID, NodeId: node.ID})
				return err
			}},
			{"ShareKnowledgeGraph", func() error {
				_, err := b.ShareKnowledgeGraph(ctx, shareB, api.ShareKnowledgeGraphParams{GraphId: kg.ID})
				return err
			}},
			{"ListConversationShares", func() error {
				_, err := b.ListConversationShares(ctx, api.ListConversationSharesParams{ConversationId: id})
				return err
			}},
			{"ShareConversation", func() error {
				_, err := b.ShareConversation(ctx, shareB, api.ShareConversationParams{ConversationId: id})
				return err
			}},
			{"GetConversation", func() error {
				_, err := b.GetConversation(ctx, api.GetConversationParams{ConversationId: id})
				return err
			}},
			{"UpdateConversation", func() error {
				_, err := b.UpdateConversation(ctx, &api.ConversationUpdate{Title: api.NewOptString("pwned")}, api.UpdateConversationParams{ConversationId: id})
				return err
			}},
			{"DeleteConversation", func() error {
				return b.DeleteConversation(ctx, api.DeleteConversationParams{ConversationId: id})
			}},
			{"ListMessages", func() error {
				_, err := b.ListMessages(ctx, api.ListMessagesParams{ConversationId: id})
				return err
			}},
			{"AppendMessage", func() error {
				_, err := b.AppendMessage(ctx, &api.MessageCreate{Role: api.MessageRoleUser, Content: "injected"}, api.AppendMessageParams{ConversationId: id})
				return err
			}},
			{"CreateConversationInOtherTenant", func() error {
				_, err := b.CreateConversation(ctx, &api.ConversationCreate{TenantID: api.NewOptUUID(bu.tenantA), Title: api.NewOptString("planted")})
				return err
			}},
		}
		for _, tc := range cases {
			t.Run("ErrCrossTenant/"+tc.name, func(t *testing.T) {
				requireStatus(t, tc.call(), 404)
			})
		}
		t.Run("ListsNeverShowOtherTenantResources", func(t *testing.T) {
			ds, err := b.ListDocuments(ctx, api.ListDocumentsParams{})
			require.NoError(t, err)
			require.Empty(t, ds.Items)
			as, err := b.ListAgents(ctx, api.ListAgentsParams{})
			require.NoError(t, err)
			require.Empty(t, as.Items)
			gs, err := b.ListKnowledgeGraphs(ctx, api.ListKnowledgeGraphsParams{})
			require.NoError(t, err)
			require.Empty(t, gs.Items)
		})
		t.Run("ListNeverShowsOtherTenant", func(t *testing.T) {
			p, err := b.ListConversations(ctx, api.ListConversationsParams{Limit: api.NewOptInt(100)})
			require.NoError(t, err)
			for _, c := range p.Items {
				require.NotEqual(t, id, c.ID)
				require.Equal(t, bu.tenantB, c.TenantID)
			}
		})
		t.Run("OwnTenantCreateWithExplicitTenant", func(t *testing.T) {
			c, err := b.CreateConversation(ctx, &api.ConversationCreate{TenantID: api.NewOptUUID(bu.tenantB)})
			require.NoError(t, err)
			require.Equal(t, bu.tenantB, c.TenantID)
		})
		t.Run("OtherTenantDataIntact", func(t *testing.T) {
			got, err := bu.a.Client.GetConversation(ctx, api.GetConversationParams{ConversationId: id})
			require.NoError(t, err)
			require.Equal(t, "A's secret plans", got.Title)
			msgs, err := bu.a.Client.ListMessages(ctx, api.ListMessagesParams{ConversationId: id})
			require.NoError(t, err)
			require.Len(t, msgs.Items, 1)
			p, err := bu.a.Client.ListConversations(ctx, api.ListConversationsParams{Limit: api.NewOptInt(100)})
			require.NoError(t, err)
			require.Len(t, p.Items, 1, "nothing was planted in tenant A")
		})
	})
}

// TestAuthentication: every forged, stale or misdirected token is refused with 401.
func TestAuthentication(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, bu *bundle) {
		env, ctx := bu.env, bu.ctx
		cfg := env.App.Config
		valid := bu.a.Token
		claims := func(mod func(jwt.MapClaims)) jwt.MapClaims {
			now := time.Now()
			c := jwt.MapClaims{
				"iss": cfg.Issuer, "aud": cfg.Audience, "sub": bu.a.UserID.String(),
				"tid": bu.tenantA.String(), "sid": bu.a.SessionID.String(), "jti": uuid.NewString(),
				"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
			}
			if mod != nil {
				mod(c)
			}
			return c
		}
		kid := headerKid(t, valid)
		otherService := func(mod func(*token.Options)) string {
			o := token.Options{Issuer: cfg.Issuer, Audience: cfg.Audience, TTL: cfg.AccessTokenTTL}
			mod(&o)
			svc, err := token.New(env.App.Keys, o)
			require.NoError(t, err)
			defer svc.Close()
			tok, err := svc.Issue(ctx, token.Claims{Subject: bu.a.UserID, TenantID: bu.tenantA, SessionID: bu.a.SessionID})
			require.NoError(t, err)
			return tok
		}
		pubPEM, pubDER := publicKey(t, env, kid)

		cases := map[string]func() string{
			"Garbage": func() string { return "not-a-jwt" },
			"Expired": func() string {
				return otherService(func(o *token.Options) { o.Now = func() time.Time { return time.Now().Add(-2 * time.Hour) } })
			},
			"NotYetValid": func() string {
				return otherService(func(o *token.Options) { o.Now = func() time.Time { return time.Now().Add(2 * time.Hour) } })
			},
			"WrongIssuer":   func() string { return otherService(func(o *token.Options) { o.Issuer = "https://evil.example" }) },
			"WrongAudience": func() string { return otherService(func(o *token.Options) { o.Audience = "someone-else" }) },
			"UnknownKid": func() string {
				parts := strings.Split(valid, ".")
				parts[0] = b64(`{"alg":"RS256","kid":"unknown-kid","typ":"JWT"}`)
				return strings.Join(parts, ".")
			},
			"AlgNone": func() string {
				tok := jwt.NewWithClaims(jwt.SigningMethodNone, claims(nil))
				tok.Header["kid"] = kid
				s, err := tok.SignedString(jwt.UnsafeAllowNoneSignatureType)
				require.NoError(t, err)
				return s
			},
			"HS256WithPublicKeyPEM": func() string { return hs256(t, claims(nil), kid, pubPEM) },
			"HS256WithPublicKeyDER": func() string { return hs256(t, claims(nil), kid, pubDER) },
			"TamperedPayload": func() string {
				parts := strings.Split(valid, ".")
				raw, err := base64.RawURLEncoding.DecodeString(parts[1])
				require.NoError(t, err)
				var m map[string]any
				require.NoError(t, json.Unmarshal(raw, &m))
				m["tid"] = bu.tenantB.String()
				b, _ := json.Marshal(m)
				parts[1] = base64.RawURLEncoding.EncodeToString(b)
				return strings.Join(parts, ".")
			},
			"OtherUsersSession": func() string {
				return env.Issue(token.Claims{Subject: bu.a.UserID, TenantID: bu.tenantA, SessionID: bu.b.SessionID})
			},
			"TenantNotAMember": func() string {
				return env.Issue(token.Claims{Subject: bu.a.UserID, TenantID: bu.tenantB, SessionID: bu.a.SessionID})
			},
		}
		for name, mk := range cases {
			t.Run("ErrUnauthenticated/"+name, func(t *testing.T) {
				_, err := env.Client(mk()).ListConversations(ctx, api.ListConversationsParams{})
				requireStatus(t, err, 401)
			})
		}
		t.Run("ErrUnauthenticated/NoToken", func(t *testing.T) {
			res, err := env.Server.Client().Get(env.Server.URL + "/api/v1/conversations")
			require.NoError(t, err)
			defer res.Body.Close()
			require.Equal(t, 401, res.StatusCode)
			require.Equal(t, "application/problem+json", res.Header.Get("Content-Type"))
		})
		t.Run("ErrUnauthenticated/RevokedSession", func(t *testing.T) {
			m := env.Member(bu.tenantA, authz.RoleAdminID)
			_, err := m.Client.ListConversations(ctx, api.ListConversationsParams{})
			require.NoError(t, err, "works before revocation (and is cached)")
			require.NoError(t, env.App.Sessions.Revoke(env.System(), nil, m.SessionID, "logout"))
			_, err = m.Client.ListConversations(ctx, api.ListConversationsParams{})
			requireStatus(t, err, 401)
		})
		t.Run("ErrUnauthenticated/RemovedMember", func(t *testing.T) {
			m := env.Member(bu.tenantA, authz.RoleAdminID)
			_, err := m.Client.ListConversations(ctx, api.ListConversationsParams{})
			require.NoError(t, err)
			removeMember(t, env, bu.tenantA, m.UserID)
			_, err = m.Client.ListConversations(ctx, api.ListConversationsParams{})
			requireStatus(t, err, 401)
		})
		t.Run("OK/ValidToken", func(t *testing.T) {
			_, err := env.Client(valid).ListConversations(ctx, api.ListConversationsParams{})
			require.NoError(t, err)
		})
	})
}

func TestPermissions(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, bu *bundle) {
		ctx := bu.ctx
		v := bu.env.Member(bu.tenantA, authz.RoleViewerID)
		t.Run("ErrForbidden/ViewerCreates", func(t *testing.T) {
			_, err := v.Client.CreateConversation(ctx, &api.ConversationCreate{})
			requireStatus(t, err, 403)
		})
		t.Run("ErrForbidden/ViewerDeletes", func(t *testing.T) {
			err := v.Client.DeleteConversation(ctx, api.DeleteConversationParams{ConversationId: bu.convA.ID})
			requireStatus(t, err, 403)
		})
		t.Run("ErrForbidden/NoRoles", func(t *testing.T) {
			n := bu.env.Member(bu.tenantA)
			_, err := n.Client.ListConversations(ctx, api.ListConversationsParams{})
			requireStatus(t, err, 403)
		})
		t.Run("OK/ViewerReadsWhatIsSharedWithThem", func(t *testing.T) {
			_, err := v.Client.GetConversation(ctx, api.GetConversationParams{ConversationId: bu.convA.ID})
			requireStatus(t, err, 404) // not shared yet: it does not exist for them
			_, err = bu.a.Client.ShareConversation(ctx, &api.ShareCreate{SubjectType: api.ShareSubjectTypeUser,
				SubjectID: v.UserID, Level: api.ShareLevelViewer}, api.ShareConversationParams{ConversationId: bu.convA.ID})
			require.NoError(t, err)
			_, err = v.Client.GetConversation(ctx, api.GetConversationParams{ConversationId: bu.convA.ID})
			require.NoError(t, err)
		})
		t.Run("OK/MemberCreates", func(t *testing.T) {
			m := bu.env.Member(bu.tenantA, authz.RoleMemberID)
			_, err := m.Client.CreateConversation(ctx, &api.ConversationCreate{})
			require.NoError(t, err)
		})
	})
}

// TestBadInput: malformed requests get a 4xx problem+json with the request id, never a 500.
func TestBadInput(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, bu *bundle) {
		base := bu.env.Server.URL + "/api/v1"
		conv := base + "/conversations/" + bu.convA.ID.String()
		cases := []struct {
			name, method, url, body string
			status                  int
		}{
			{"MalformedJSON", "POST", base + "/conversations", `{"title": "x"`, 400},
			{"NotJSON", "POST", base + "/conversations", `hello`, 400},
			{"WrongType", "POST", base + "/conversations", `{"title": 42}`, 400},
			{"UnknownField", "POST", base + "/conversations", `{"titel": "x"}`, 400},
			{"UnknownEnum", "PATCH", conv, `{"status": "deleted"}`, 400},
			{"EmptyUpdate", "PATCH", conv, `{}`, 400},
			{"InvalidUUIDInPath", "GET", base + "/conversations/not-a-uuid", "", 400},
			{"OverLongTitle", "POST", base + "/conversations", `{"title": "` + strings.Repeat("x", 201) + `"}`, 400},
			{"OverLongContent", "POST", conv + "/messages", `{"role":"user","content":"` + strings.Repeat("x", 32001) + `"}`, 400},
			{"EmptyContent", "POST", conv + "/messages", `{"role":"user","content":""}`, 400},
			{"MissingBody", "POST", base + "/conversations", ``, 400},
			{"BadLimit", "GET", base + "/conversations?limit=1000", "", 400},
			{"BadCursor", "GET", base + "/conversations?cursor=!!!", "", 400},
			{"ForgedCursor", "GET", base + "/conversations?cursor=aGVsbG8", "", 400},
			{"BodyOverLimit", "POST", base + "/conversations", `{"title": "` + strings.Repeat("x", 2<<20) + `"}`, 413},
			{"UnknownRoute", "GET", base + "/nope", "", 404},
			{"WrongMethod", "PUT", base + "/conversations", "{}", 405},
			{"NULInTitle", "POST", base + "/conversations", `{"title": "a\u0000b"}`, 400},
			{"NULInContent", "POST", conv + "/messages", `{"role":"user","content":"a\u0000b"}`, 400},
			{"NULInRename", "PATCH", conv, `{"title": "\u0000"}`, 400},
			{"InvalidUTF8", "POST", base + "/conversations", "{\"title\": \"a\xffb\"}", 400},
			{"NegativeLimit", "GET", base + "/conversations?limit=-1", "", 400},
			{"HugeLimit", "GET", base + "/conversations?limit=99999999999999999999", "", 400},
			{"FloatLimit", "GET", base + "/conversations?limit=1e3", "", 400},
			{"HugeNumberInBody", "POST", conv + "/messages", `{"role":"user","content":"x","tokens":1e400}`, 400},
			{"DeepJSON", "POST", base + "/conversations", strings.Repeat("[", 100000) + strings.Repeat("]", 100000), 400},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				req, err := http.NewRequest(tc.method, tc.url, strings.NewReader(tc.body))
				require.NoError(t, err)
				req.Header.Set("Authorization", "Bearer "+bu.a.Token)
				if tc.body != "" {
					req.Header.Set("Content-Type", "application/json")
				}
				res, err := bu.env.Server.Client().Do(req)
				require.NoError(t, err)
				defer res.Body.Close()
				body, _ := io.ReadAll(res.Body)
				require.Equal(t, tc.status, res.StatusCode, "body: %s", body)
				require.Equal(t, "application/problem+json", res.Header.Get("Content-Type"))
				require.Equal(t, int64(len(body)), res.ContentLength, "a JSON answer goes out with its length, not chunked")
				var p struct {
					Status    int    `json:"status"`
					Title     string `json:"title"`
					RequestID string `json:"request_id"`
				}
				require.NoError(t, json.Unmarshal(body, &p), "body: %s", body)
				require.Equal(t, tc.status, p.Status)
				require.Equal(t, res.Header.Get("X-Request-Id"), p.RequestID)
			})
		}
	})
}

func TestHealthAndJWKS(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, bu *bundle) {
		c := bu.env.Client("")
		h, err := c.GetHealth(bu.ctx)
		require.NoError(t, err)
		require.Equal(t, api.HealthStatusOk, h.Status)
		r, err := c.GetReady(bu.ctx)
		require.NoError(t, err)
		require.Equal(t, "ok", r.Checks.Value["database"])

		res, err := bu.env.Server.Client().Get(bu.env.Server.URL + "/.well-known/jwks.json")
		require.NoError(t, err)
		defer res.Body.Close()
		require.Equal(t, 200, res.StatusCode)
		var set struct {
			Keys []map[string]any `json:"keys"`
		}
		require.NoError(t, json.NewDecoder(res.Body).Decode(&set))
		require.NotEmpty(t, set.Keys)
		for _, k := range set.Keys {
			require.NotContains(t, k, "d", "no private material in JWKS")
		}
	})
}

func headerKid(t *testing.T, tok string) string {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[0])
	require.NoError(t, err)
	var h struct {
		Kid string `json:"kid"`
	}
	require.NoError(t, json.Unmarshal(raw, &h))
	require.NotEmpty(t, h.Kid)
	return h.Kid
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// publicKey fetches the RSA public key of kid from JWKS, as PEM and DER.
func publicKey(t *testing.T, env *apptest.Env, kid string) (pemBytes, der []byte) {
	t.Helper()
	res, err := env.Server.Client().Get(env.Server.URL + "/.well-known/jwks.json")
	require.NoError(t, err)
	defer res.Body.Close()
	var set struct {
		Keys []struct{ Kid, N, E string } `json:"keys"`
	}
	require.NoError(t, json.NewDecoder(res.Body).Decode(&set))
	for _, k := range set.Keys {
		if k.Kid != kid {
			continue
		}
		n, _ := base64.RawURLEncoding.DecodeString(k.N)
		e, _ := base64.RawURLEncoding.DecodeString(k.E)
		pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
		der, err := x509.MarshalPKIXPublicKey(pub)
		require.NoError(t, err)
		return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), der
	}
	t.Fatalf("kid %s not in JWKS", kid)
	return nil, nil
}

func hs256(t *testing.T, c jwt.MapClaims, kid string, secret []byte) string {
	t.Helper()
	head := b64(`{"alg":"HS256","kid":"` + kid + `","typ":"JWT"}`)
	body, err := json.Marshal(c)
	require.NoError(t, err)
	signing := head + "." + base64.RawURLEncoding.EncodeToString(body)
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(signing))
	return signing + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func removeMember(t *testing.T, env *apptest.Env, tenantID, userID uuid.UUID) {
	t.Helper()
	ctx := viewer.SystemForTenant(env.Ctx, tenantID, viewer.ReasonTest)
	_, err := env.App.DB.Client.Membership.Delete().Where(membership.TenantID(tenantID), membership.UserID(userID)).Exec(ctx)
	require.NoError(t, err)
	env.App.Authz.Invalidate(ctx, tenantID, userID)
}
