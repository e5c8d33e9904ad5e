package compliance_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	entschema "entgo.io/ent/dialect/sql/schema"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"atrium"
	"atrium/ent"
	entmigrate "atrium/ent/migrate"
	"atrium/ent/signingkey"
	"atrium/internal/app"
	"atrium/internal/audit"
	"atrium/internal/authz"
	"atrium/internal/compliance"
	"atrium/internal/config"
	"atrium/internal/httpapi"
	"atrium/internal/testkit"
	"atrium/internal/token"
	"atrium/internal/viewer"
)

type secBundle struct {
	db  *app.Database
	env *compliance.Env
	kek []byte
}

// secConfig is a valid configuration of a deployment on db's dialect with
// its own data dir and key-encryption key.
func secConfig(t *testing.T, dia string, kek []byte, vars map[string]string) *config.Config {
	t.Helper()
	env := map[string]string{
		"ATRIUM_DATA_DIR":           t.TempDir(),
		"ATRIUM_PUBLIC_URL":         "http://localhost:8080",
		"ATRIUM_KEY_ENCRYPTION_KEY": base64.StdEncoding.EncodeToString(kek),
	}
	if dia == dialect.Postgres {
		env["ATRIUM_DATABASE_URL"] = "postgres://testkit.invalid/atrium"
	}
	for k, v := range vars {
		env[k] = v
	}
	cfg, err := config.Load(func(k string) string { return env[k] })
	require.NoError(t, err)
	return cfg
}

func secKEK(t *testing.T) []byte {
	t.Helper()
	k := make([]byte, token.KEKSize)
	_, err := rand.Read(k)
	require.NoError(t, err)
	return k
}

// setupSecurity returns a deployment on db that passes every check: a
// fresh migrated database with an active signing key, and the binary's own
// contract.
func setupSecurity(t *testing.T, db *app.Database) *secBundle {
	t.Helper()
	kek := secKEK(t)
	cfg := secConfig(t, db.Dialect, kek, nil)
	ring, err := token.NewKeyRing(token.NewEntStore(db.Client), kek, token.Options{Issuer: cfg.Issuer, Audience: cfg.Audience})
	require.NoError(t, err)
	require.NoError(t, ring.EnsureActive(context.Background()))
	env := compliance.NewEnv(cfg, db.Client, db.DB, db.Dialect, atrium.OpenAPISpec, secPublicIDs())
	return &secBundle{db: db, env: env, kek: kek}
}

func secPublicIDs() []string {
	var ids []string
	for _, op := range httpapi.PublicOperations {
		s := string(op)
		ids = append(ids, strings.ToLower(s[:1])+s[1:])
	}
	return ids
}

// run runs the check id alone and returns its result.
func runCheck(t *testing.T, env *compliance.Env, id string) compliance.Result {
	t.Helper()
	for _, c := range compliance.SecurityChecks() {
		if c.ID == id {
			rep := compliance.RunChecks(context.Background(), env, []compliance.Check{c})
			require.Len(t, rep.Results, 1)
			require.Equal(t, rep.OK, rep.Results[0].OK)
			return rep.Results[0]
		}
	}
	t.Fatalf("no check %q", id)
	return compliance.Result{}
}

func requireCheckPass(t *testing.T, env *compliance.Env, id string) {
	t.Helper()
	res := runCheck(t, env, id)
	require.True(t, res.OK, "%s: %v", id, res.Problems)
}

// requireFail runs check id, which must fail with a problem containing want.
func requireCheckFail(t *testing.T, env *compliance.Env, id, want string) {
	t.Helper()
	res := runCheck(t, env, id)
	require.False(t, res.OK, "%s passed; want a problem mentioning %q", id, want)
	require.Contains(t, strings.Join(res.Problems, "\n"), want)
}

func secSys(ctx context.Context) context.Context { return viewer.System(ctx, viewer.ReasonTest) }

// TestSecurityChecksPass: a freshly migrated deployment with the shipped
// contract passes every check, on every database.
func TestSecurityChecksPass(t *testing.T) {
	t.Parallel()
	for _, db := range testkit.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			b := setupSecurity(t, db.Open(t))
			ctx := context.Background()
			tenantsBefore := b.db.Client.Tenant.Query().CountX(secSys(ctx))
			rep := compliance.RunChecks(ctx, b.env, compliance.SecurityChecks())
			for _, r := range rep.Results {
				require.True(t, r.OK, "%s: %v", r.ID, r.Problems)
			}
			require.True(t, rep.OK)
			require.Len(t, rep.Results, 12) // 11 + role-delegation (the merge of h1 and h3 left 11)
			// The probes rolled back: they left no tenant, conversation or
			// audit event behind.
			require.Equal(t, tenantsBefore, b.db.Client.Tenant.Query().CountX(secSys(ctx)))
			require.Zero(t, b.db.Client.Conversation.Query().CountX(secSys(ctx)))
			require.Zero(t, b.db.Client.AuditEvent.Query().CountX(secSys(ctx)))
		})
	}
}

// TestRunChecksDefaults: an Env built by hand, without clock, viewer or
// audit recorder, gets NewEnv's defaults.
func TestRunChecksDefaults(t *testing.T) {
	t.Parallel()
	b := setupSecurity(t, testkit.SQLite(t))
	env := &compliance.Env{
		Config: b.env.Config, Client: b.db.Client, DB: b.db.DB, Dialect: b.db.Dialect,
		Spec: atrium.OpenAPISpec, PublicOperations: secPublicIDs(),
	}
	rep := compliance.RunChecks(context.Background(), env, compliance.SecurityChecks())
	for _, r := range rep.Results {
		require.True(t, r.OK, "%s: %v", r.ID, r.Problems)
	}
	require.Nil(t, env.Now, "RunChecks does not change the caller's Env")
}

func TestNoPasswordColumns(t *testing.T) {
	t.Parallel()
	for _, db := range testkit.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			b := setupSecurity(t, db.Open(t))
			requireCheckPass(t, b.env, compliance.CheckNoPasswordColumns)
			_, err := b.db.DB.Exec("ALTER TABLE users ADD COLUMN password_digest text")
			require.NoError(t, err)
			_, err = b.db.DB.Exec("ALTER TABLE teams ADD COLUMN join_pin text")
			require.NoError(t, err)
			requireCheckFail(t, b.env, compliance.CheckNoPasswordColumns, "users.password_digest")
			requireCheckFail(t, b.env, compliance.CheckNoPasswordColumns, "teams.join_pin")
		})
	}
	t.Run("ErrUnlistedHash", func(t *testing.T) {
		t.Parallel()
		b := setupSecurity(t, testkit.SQLite(t))
		// The allow list names tables and columns: a token_hash elsewhere
		// needs its own reason.
		_, err := b.db.DB.Exec("ALTER TABLE sessions ADD COLUMN token_hash blob")
		require.NoError(t, err)
		requireCheckFail(t, b.env, compliance.CheckNoPasswordColumns, "sessions.token_hash")
	})
	t.Run("OKInnocentNames", func(t *testing.T) {
		t.Parallel()
		b := setupSecurity(t, testkit.SQLite(t))
		_, err := b.db.DB.Exec("ALTER TABLE teams ADD COLUMN shipping_address text")
		require.NoError(t, err)
		_, err = b.db.DB.Exec("ALTER TABLE teams ADD COLUMN pinned bool")
		require.NoError(t, err)
		requireCheckPass(t, b.env, compliance.CheckNoPasswordColumns)
	})
}

// editSpec returns the binary's contract after edit changed it.
func secEditSpec(t *testing.T, edit func(doc map[string]any)) []byte {
	t.Helper()
	var doc map[string]any
	require.NoError(t, yaml.Unmarshal(atrium.OpenAPISpec, &doc))
	edit(doc)
	out, err := yaml.Marshal(doc)
	require.NoError(t, err)
	return out
}

func specOperation(t *testing.T, doc map[string]any, path, method string) map[string]any {
	t.Helper()
	op, ok := doc["paths"].(map[string]any)[path].(map[string]any)[method].(map[string]any)
	require.True(t, ok, "%s %s is not in openapi.yaml", method, path)
	return op
}

// specEnv is an Env for the contract checks alone (they need no database).
func secSpecEnv(spec []byte) *compliance.Env {
	return &compliance.Env{Spec: spec, PublicOperations: secPublicIDs()}
}

func TestDeviceLoginOnly(t *testing.T) {
	t.Parallel()
	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		requireCheckPass(t, secSpecEnv(atrium.OpenAPISpec), compliance.CheckDeviceLoginOnly)
	})
	t.Run("ErrPublicAuthOperation", func(t *testing.T) {
		t.Parallel()
		spec := secEditSpec(t, func(doc map[string]any) {
			doc["paths"].(map[string]any)["/auth/password/login"] = map[string]any{"post": map[string]any{
				"operationId": "passwordLogin",
				"security":    []any{},
				"responses":   map[string]any{"200": map[string]any{"description": "ok"}},
			}}
		})
		requireCheckFail(t, secSpecEnv(spec), compliance.CheckDeviceLoginOnly, "passwordLogin")
	})
	t.Run("ErrOptionalTokenOnAuthOperation", func(t *testing.T) {
		t.Parallel()
		spec := secEditSpec(t, func(doc map[string]any) {
			specOperation(t, doc, "/auth/logout", "post")["security"] = []any{map[string]any{}, map[string]any{"bearerAuth": []any{"account.manage"}}}
		})
		requireCheckFail(t, secSpecEnv(spec), compliance.CheckDeviceLoginOnly, "(logout)")
	})
	t.Run("ErrPasswordField", func(t *testing.T) {
		t.Parallel()
		spec := secEditSpec(t, func(doc map[string]any) {
			login := doc["components"].(map[string]any)["schemas"].(map[string]any)["LoginRequest"].(map[string]any)
			props, ok := login["properties"].(map[string]any)
			require.True(t, ok, "LoginRequest has properties")
			props["password"] = map[string]any{"type": "string"}
		})
		requireCheckFail(t, secSpecEnv(spec), compliance.CheckDeviceLoginOnly, `accepts "password"`)
	})
	t.Run("ErrSecretParameter", func(t *testing.T) {
		t.Parallel()
		spec := secEditSpec(t, func(doc map[string]any) {
			op := specOperation(t, doc, "/me", "get")
			op["parameters"] = []any{map[string]any{"name": "client_secret", "in": "query", "schema": map[string]any{"type": "string"}}}
		})
		requireCheckFail(t, secSpecEnv(spec), compliance.CheckDeviceLoginOnly, `accepts "client_secret"`)
	})
}

func TestOperationsProtected(t *testing.T) {
	t.Parallel()
	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		requireCheckPass(t, secSpecEnv(atrium.OpenAPISpec), compliance.CheckOperationsGuarded)
	})
	for name, tc := range map[string]struct {
		edit func(t *testing.T, doc map[string]any)
		want string
	}{
		"ErrUnprotected": {func(t *testing.T, doc map[string]any) {
			specOperation(t, doc, "/me", "get")["security"] = []any{}
		}, "(getMe) has security: [] but the server does not list it as public"},
		"ErrUndeclared": {func(t *testing.T, doc map[string]any) {
			delete(specOperation(t, doc, "/me", "get"), "security")
		}, "(getMe) does not declare its security"},
		"ErrUnknownPermission": {func(t *testing.T, doc map[string]any) {
			specOperation(t, doc, "/me", "get")["security"] = []any{map[string]any{"bearerAuth": []any{"everything.everywhere"}}}
		}, `"everything.everywhere", which is not in the authz catalog`},
		"ErrTwoPermissions": {func(t *testing.T, doc map[string]any) {
			specOperation(t, doc, "/me", "get")["security"] = []any{map[string]any{"bearerAuth": []any{"account.manage", "member.read"}}}
		}, "names 2 permissions"},
		"ErrNoPermission": {func(t *testing.T, doc map[string]any) {
			specOperation(t, doc, "/me", "get")["security"] = []any{map[string]any{"bearerAuth": []any{}}}
		}, "names 0 permissions"},
		"ErrPublicListedButProtected": {func(t *testing.T, doc map[string]any) {
			specOperation(t, doc, "/health", "get")["security"] = []any{map[string]any{"bearerAuth": []any{"account.manage"}}}
		}, "(getHealth) is listed as public by the server but requires a token"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			spec := secEditSpec(t, func(doc map[string]any) { tc.edit(t, doc) })
			requireCheckFail(t, secSpecEnv(spec), compliance.CheckOperationsGuarded, tc.want)
		})
	}
	t.Run("ErrPublicListUnknown", func(t *testing.T) {
		t.Parallel()
		env := secSpecEnv(atrium.OpenAPISpec)
		env.PublicOperations = append(env.PublicOperations, "deleteEverything")
		requireCheckFail(t, env, compliance.CheckOperationsGuarded, "deleteEverything")
	})
	t.Run("ErrNoSpec", func(t *testing.T) {
		t.Parallel()
		requireCheckFail(t, secSpecEnv(nil), compliance.CheckOperationsGuarded, "no OpenAPI document")
	})
}

func TestJWTAlgorithm(t *testing.T) {
	t.Parallel()
	t.Run("ErrNoIssuer", func(t *testing.T) {
		t.Parallel()
		b := setupSecurity(t, testkit.SQLite(t))
		b.env.Config.Issuer = ""
		requireCheckFail(t, b.env, compliance.CheckJWTAlgorithm, "issuer is empty")
	})
	t.Run("ErrNoAudience", func(t *testing.T) {
		t.Parallel()
		b := setupSecurity(t, testkit.SQLite(t))
		b.env.Config.Audience = " "
		requireCheckFail(t, b.env, compliance.CheckJWTAlgorithm, "audience is empty")
	})
	for _, db := range testkit.Databases(t) {
		t.Run("ErrSymmetricKey/"+db.Name, func(t *testing.T) {
			t.Parallel()
			b := setupSecurity(t, db.Open(t))
			for _, alg := range []string{"HS256", "none"} {
				require.NoError(t, b.db.Client.SigningKey.Create().SetKid("planted-"+alg).SetAlgorithm(alg).
					SetPublicKey([]byte("x")).SetPrivateKeyEnc([]byte("x")).SetStatus(signingkey.StatusRetired).
					Exec(secSys(context.Background())))
			}
			requireCheckFail(t, b.env, compliance.CheckJWTAlgorithm, `signing key planted-HS256 (retired) uses "HS256"`)
			requireCheckFail(t, b.env, compliance.CheckJWTAlgorithm, `planted-none (retired) uses "none"`)
		})
	}
}

func TestSigningKeyAge(t *testing.T) {
	t.Parallel()
	for _, db := range testkit.Databases(t) {
		t.Run("ErrOld/"+db.Name, func(t *testing.T) {
			t.Parallel()
			b := setupSecurity(t, db.Open(t))
			requireCheckPass(t, b.env, compliance.CheckSigningKeyAge)
			old := time.Now().Add(-b.env.Config.KeyRotation - 24*time.Hour)
			n, err := b.db.Client.SigningKey.Update().Where(signingkey.StatusEQ(signingkey.StatusActive)).
				SetActivatedAt(old).Save(secSys(context.Background()))
			require.NoError(t, err)
			require.Equal(t, 1, n)
			requireCheckFail(t, b.env, compliance.CheckSigningKeyAge, "older than the rotation period 720h0m0s")
		})
	}
	t.Run("ErrClockPastPeriod", func(t *testing.T) {
		t.Parallel()
		b := setupSecurity(t, testkit.SQLite(t))
		b.env.Now = func() time.Time { return time.Now().Add(b.env.Config.KeyRotation + time.Hour) }
		requireCheckFail(t, b.env, compliance.CheckSigningKeyAge, "run atrium keys rotate")
	})
	t.Run("ErrNoActiveKey", func(t *testing.T) {
		t.Parallel()
		b := setupSecurity(t, testkit.SQLite(t))
		_, err := b.db.Client.SigningKey.Delete().Exec(secSys(context.Background()))
		require.NoError(t, err)
		requireCheckFail(t, b.env, compliance.CheckSigningKeyAge, "no active signing key")
	})
}

// TestTenantScopedTypes: the probe sweeps as many entity types as there
// are tables with a tenant_id column, so no tenant-owned table escapes it.
func TestTenantScopedTypes(t *testing.T) {
	t.Parallel()
	types := compliance.TenantScopedTypes()
	require.Contains(t, types, "Conversation")
	require.Contains(t, types, "Role")
	require.Contains(t, types, "AuditEvent")
	require.NotContains(t, types, "User")
	var tables []string
	for _, table := range entmigrate.Tables {
		if slices.ContainsFunc(table.Columns, func(c *entschema.Column) bool { return c.Name == "tenant_id" }) {
			tables = append(tables, table.Name)
		}
	}
	require.Len(t, types, len(tables), "types %v, tables %v", types, tables)
}

func TestTenantIsolation(t *testing.T) {
	t.Parallel()
	for _, db := range testkit.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			b := setupSecurity(t, db.Open(t))
			ctx := context.Background()
			// A real tenant's committed data, which the probe's tenant B
			// must not see either.
			other := b.db.Client.Tenant.Create().SetName("Other").SetSlug("other").SaveX(secSys(ctx))
			asOther := viewer.NewContext(ctx, &viewer.Viewer{UserID: uuid.New(), TenantID: other.ID})
			b.db.Client.Conversation.Create().SetTitle("other's").SaveX(asOther)
			b.db.Client.Team.Create().SetName("other's team").SaveX(asOther)
			t.Run("OK", func(t *testing.T) {
				requireCheckPass(t, b.env, compliance.CheckTenantIsolation)
			})
			// A data layer without the tenant policy is simulated by acting
			// through the system viewer, the one identity the policy lets
			// through: the probe must notice every leak.
			t.Run("ErrPolicyBypassed", func(t *testing.T) {
				env := *b.env
				env.AsMember = func(ctx context.Context, tenant, _ uuid.UUID) context.Context {
					return viewer.SystemForTenant(ctx, tenant, viewer.ReasonTest)
				}
				res := runCheck(t, &env, compliance.CheckTenantIsolation)
				require.False(t, res.OK)
				all := strings.Join(res.Problems, "\n")
				for _, want := range []string{
					"tenant B read tenant A's conversation by id",
					"tenant B sees 2 Conversation row(s) of other tenants",
					"tenant B sees 1 Team row(s) of other tenants",
					"tenant B updated 1 of tenant A's conversations",
					"tenant B updated tenant A's conversation by id",
					"tenant B deleted 1 of tenant A's conversations",
					"tenant B created a conversation in tenant A",
				} {
					require.Contains(t, all, want)
				}
			})
			// A viewer that carries the wrong tenant (a broken token or
			// session lookup) is caught the same way.
			t.Run("ErrWrongTenant", func(t *testing.T) {
				env := *b.env
				var first uuid.UUID
				env.AsMember = func(ctx context.Context, tenant, user uuid.UUID) context.Context {
					if first == uuid.Nil {
						first = tenant
					}
					return viewer.NewContext(ctx, &viewer.Viewer{UserID: user, TenantID: first})
				}
				requireCheckFail(t, &env, compliance.CheckTenantIsolation, "tenant B read tenant A's conversation by id")
			})
			// The probe left nothing behind, failed or not.
			require.Equal(t, 1, b.db.Client.Conversation.Query().CountX(secSys(ctx)))
			require.Equal(t, 1, b.db.Client.Tenant.Query().CountX(secSys(ctx)), "only Other")
		})
	}
}

type secDropAudit struct{}

func (secDropAudit) Record(context.Context, *ent.Tx, audit.Event) error { return nil }

func TestAuditLogging(t *testing.T) {
	t.Parallel()
	for _, db := range testkit.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			b := setupSecurity(t, db.Open(t))
			ctx := context.Background()
			t.Run("ErrNotRecorded", func(t *testing.T) {
				env := *b.env
				env.Recorder = secDropAudit{}
				requireCheckFail(t, &env, compliance.CheckAuditLogging, "left 0 audit events")
			})
			t.Run("ErrTampered", func(t *testing.T) {
				tenant := uuid.New()
				w := audit.NewWriter(b.db.Client, b.db.Dialect, nil)
				for range 3 {
					require.NoError(t, w.Change(secSys(ctx), func(*ent.Tx) (audit.Event, error) {
						return audit.Event{Action: "test.change", TenantID: tenant, ResourceType: "test"}, nil
					}))
				}
				requireCheckPass(t, b.env, compliance.CheckAuditLogging)
				q := "UPDATE audit_events SET action = 'test.innocent' WHERE seq = 2"
				_, err := b.db.DB.Exec(q)
				require.NoError(t, err)
				requireCheckFail(t, b.env, compliance.CheckAuditLogging, "audit trail tampered: chain "+tenant.String()+" seq 2")
			})
		})
	}
}

func TestHTTPS(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		vars map[string]string
		want string // "" = pass
	}{
		"OKLocalhost":     {map[string]string{"ATRIUM_PUBLIC_URL": "http://localhost:8080"}, ""},
		"OKLoopback":      {map[string]string{"ATRIUM_PUBLIC_URL": "http://127.0.0.1:8080"}, ""},
		"OKHTTPS":         {map[string]string{"ATRIUM_PUBLIC_URL": "https://atrium.example.com", "ATRIUM_WEBAUTHN_ORIGINS": "https://app.example.com"}, ""},
		"ErrHTTPInternet": {map[string]string{"ATRIUM_PUBLIC_URL": "http://atrium.example.com"}, "production must use https"},
		"ErrHTTPOrigin": {
			map[string]string{"ATRIUM_PUBLIC_URL": "https://atrium.example.com", "ATRIUM_WEBAUTHN_ORIGINS": "https://app.example.com,http://app.example.com"},
			"ATRIUM_WEBAUTHN_ORIGINS allows http://app.example.com",
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			env := &compliance.Env{Config: secConfig(t, dialect.SQLite, secKEK(t), tc.vars)}
			if tc.want == "" {
				requireCheckPass(t, env, compliance.CheckHTTPS)
				return
			}
			requireCheckFail(t, env, compliance.CheckHTTPS, tc.want)
		})
	}
}

func TestKEK(t *testing.T) {
	t.Parallel()
	t.Run("ErrMissingWithPostgres", func(t *testing.T) {
		t.Parallel()
		cfg := secConfig(t, dialect.Postgres, secKEK(t), nil)
		cfg.KeyEncryptionKey = nil
		requireCheckFail(t, &compliance.Env{Config: cfg}, compliance.CheckKEK, "ATRIUM_KEY_ENCRYPTION_KEY: required with PostgreSQL")
	})
	for _, db := range testkit.Databases(t) {
		t.Run("ErrWrongKey/"+db.Name, func(t *testing.T) {
			t.Parallel()
			b := setupSecurity(t, db.Open(t))
			b.env.Config.KeyEncryptionKey = secKEK(t)
			requireCheckFail(t, b.env, compliance.CheckKEK, "cannot be loaded with this key-encryption key")
		})
	}
	t.Run("ErrDevelopmentKeyOnPostgres", func(t *testing.T) {
		t.Parallel()
		b := setupSecurity(t, testkit.SQLite(t))
		cfg := secConfig(t, dialect.Postgres, b.kek, nil)
		secWriteKEKFile(t, cfg.DataDir, b.kek, 0o600)
		env := *b.env
		env.Config = cfg
		requireCheckFail(t, &env, compliance.CheckKEK, "is the development key")
	})
	t.Run("OKDevelopmentKeyOnSQLite", func(t *testing.T) {
		t.Parallel()
		b := setupSecurity(t, testkit.SQLite(t))
		secWriteKEKFile(t, b.env.Config.DataDir, b.kek, 0o600)
		b.env.Config.KeyEncryptionKey = nil
		requireCheckPass(t, b.env, compliance.CheckKEK)
	})
	t.Run("ErrDevelopmentKeyReadable", func(t *testing.T) {
		t.Parallel()
		b := setupSecurity(t, testkit.SQLite(t))
		secWriteKEKFile(t, b.env.Config.DataDir, b.kek, 0o644)
		b.env.Config.KeyEncryptionKey = nil
		requireCheckFail(t, b.env, compliance.CheckKEK, "readable by other users")
	})
	t.Run("ErrLostKey", func(t *testing.T) {
		t.Parallel()
		b := setupSecurity(t, testkit.SQLite(t))
		b.env.Config.KeyEncryptionKey = nil // and no file in the data dir
		requireCheckFail(t, b.env, compliance.CheckKEK, "no key-encryption key")
	})
}

func secWriteKEKFile(t *testing.T, dir string, kek []byte, mode os.FileMode) {
	t.Helper()
	path := filepath.Join(dir, token.KEKFile)
	require.NoError(t, os.WriteFile(path, []byte(base64.StdEncoding.EncodeToString(kek)+"\n"), mode))
	require.NoError(t, os.Chmod(path, mode)) // umask may have narrowed it
}

func TestMigrations(t *testing.T) {
	t.Parallel()
	for _, db := range testkit.Databases(t) {
		t.Run("ErrPending/"+db.Name, func(t *testing.T) {
			t.Parallel()
			b := setupSecurity(t, db.Open(t))
			requireCheckPass(t, b.env, compliance.CheckMigrations)
			table := "atlas_schema_revisions"
			if b.db.Dialect == dialect.Postgres {
				table = "atlas_schema_revisions.atlas_schema_revisions" // atlas keeps it in its own schema
			}
			_, err := b.db.DB.Exec("DELETE FROM " + table + " WHERE version = (SELECT MAX(version) FROM " + table + ")")
			require.NoError(t, err)
			requireCheckFail(t, b.env, compliance.CheckMigrations, "1 of")
			requireCheckFail(t, b.env, compliance.CheckMigrations, "run atrium migrate apply")
		})
	}
}

func TestRunChecks(t *testing.T) {
	t.Parallel()
	checks := []compliance.Check{
		{ID: "fine", Name: "fine", Run: func(context.Context, *compliance.Env) error { return nil }},
		{ID: "boom", Name: "boom", Run: func(context.Context, *compliance.Env) error { panic("kaput") }},
		{ID: "two", Name: "two", Run: func(context.Context, *compliance.Env) error {
			return errors.Join(errors.New("first"), errors.New("second"))
		}},
	}
	rep := compliance.RunChecks(context.Background(), &compliance.Env{}, checks)
	require.False(t, rep.OK)
	fine, _ := rep.Result("fine")
	require.True(t, fine.OK)
	boom, _ := rep.Result("boom")
	require.False(t, boom.OK)
	require.Contains(t, boom.Problems[0], "check panicked: kaput")
	two, _ := rep.Result("two")
	require.Equal(t, []string{"first", "second"}, two.Problems)

	raw, err := json.Marshal(rep)
	require.NoError(t, err)
	var back struct {
		OK     bool `json:"ok"`
		Checks []struct {
			ID       string   `json:"id"`
			OK       bool     `json:"ok"`
			Problems []string `json:"problems"`
		} `json:"checks"`
	}
	require.NoError(t, json.Unmarshal(raw, &back))
	require.False(t, back.OK)
	require.Len(t, back.Checks, 3)
	require.Equal(t, "two", back.Checks[2].ID)
}

// TestRoleDelegation: a custom role carrying more than its last editor holds
// through their other roles fails the check, on every database.
func TestRoleDelegation(t *testing.T) {
	t.Parallel()
	for _, db := range testkit.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			b := setupSecurity(t, db.Open(t))
			ctx := context.Background()
			c := b.db.Client
			tn := c.Tenant.Create().SetName("Acme").SetSlug("acme").SaveX(secSys(ctx))
			tctx := viewer.SystemForTenant(ctx, tn.ID, viewer.ReasonTest)
			editor := c.User.Create().SetDisplayName("Editor").SaveX(secSys(ctx))
			c.Membership.Create().SetTenantID(tn.ID).SetUserID(editor.ID).SetCreatedBy(editor.ID).SetUpdatedBy(editor.ID).SaveX(tctx)
			managers := c.Role.Create().SetTenantID(tn.ID).SetName("role managers").
				SetPermissions([]string{authz.RoleManage, authz.RoleRead}).SaveX(tctx)
			c.MemberRole.Create().SetTenantID(tn.ID).SetUserID(editor.ID).SetRoleID(managers.ID).SetCreatedBy(editor.ID).SetUpdatedBy(editor.ID).SaveX(tctx)
			requireCheckPass(t, b.env, compliance.CheckRoleDelegation) // roles written by the system

			t.Run("OK", func(t *testing.T) {
				c.Role.Create().SetTenantID(tn.ID).SetName("readers").SetPermissions([]string{"role.*"}).
					SetCreatedBy(editor.ID).SetUpdatedBy(editor.ID).SaveX(tctx)
				requireCheckPass(t, b.env, compliance.CheckRoleDelegation)
			})
			t.Run("ErrBeyondEditor", func(t *testing.T) {
				// The escalation of issue #10, written before the rule: the
				// role manager added audit.read and tenant.* to their own role.
				c.Role.UpdateOne(managers).SetPermissions([]string{authz.RoleManage, authz.RoleRead, authz.AuditRead, "tenant.*"}).
					SetUpdatedBy(editor.ID).ExecX(tctx)
				requireCheckFail(t, b.env, compliance.CheckRoleDelegation, managers.ID.String())
				requireCheckFail(t, b.env, compliance.CheckRoleDelegation, "audit.read, tenant.manage")
				// An administrator saving it again vouches for it.
				admin := c.User.Create().SetDisplayName("Admin").SaveX(secSys(ctx))
				c.Membership.Create().SetTenantID(tn.ID).SetUserID(admin.ID).SetCreatedBy(admin.ID).SetUpdatedBy(admin.ID).SaveX(tctx)
				c.MemberRole.Create().SetTenantID(tn.ID).SetUserID(admin.ID).SetRoleID(authz.RoleAdminID).SetCreatedBy(admin.ID).SetUpdatedBy(admin.ID).SaveX(tctx)
				c.Role.UpdateOne(managers).SetUpdatedBy(admin.ID).ExecX(tctx)
				requireCheckPass(t, b.env, compliance.CheckRoleDelegation)
			})
		})
	}
}
