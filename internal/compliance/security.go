package compliance

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"strings"
	"time"

	"github.com/google/uuid"

	"atrium/ent"
	"atrium/internal/audit"
	"atrium/internal/config"
	"atrium/internal/viewer"
)

// Env is what the security checks inspect: one live deployment's
// configuration, database and HTTP contract. NewEnv fills the defaults; tests
// change single fields to make single checks fail.
type Env struct {
	Config  *config.Config
	Client  *ent.Client
	DB      *sql.DB
	Dialect string // entgo.io/ent/dialect: dialect.Postgres or dialect.SQLite

	// Spec is the OpenAPI document the deployment serves (atrium.OpenAPISpec).
	Spec []byte
	// PublicOperations are the operationIds the server lets through without
	// a token (httpapi.PublicOperations, first letter lowered).
	PublicOperations []string

	// Now is the clock the key-age check measures with.
	Now func() time.Time
	// AsMember returns ctx acting as user, a member of tenant, with no
	// permissions: the isolation and audit probes act through it. The
	// default is a plain user viewer; a test substitutes a bypass to prove
	// the isolation probe notices one.
	AsMember func(ctx context.Context, tenant, user uuid.UUID) context.Context
	// Recorder writes the audit probe's event (default: an audit.Writer).
	Recorder AuditRecorder
}

// AuditRecorder writes an audit event inside a transaction; *audit.Writer is
// one.
type AuditRecorder interface {
	Record(ctx context.Context, tx *ent.Tx, e audit.Event) error
}

// NewEnv returns the Env of a deployment with default clock, viewer and
// audit writer.
func NewEnv(cfg *config.Config, client *ent.Client, db *sql.DB, dia string, spec []byte, public []string) *Env {
	return &Env{
		Config: cfg, Client: client, DB: db, Dialect: dia,
		Spec: spec, PublicOperations: public,
		Now:      time.Now,
		AsMember: memberContext,
		Recorder: audit.NewWriter(client, dia, slog.New(slog.NewTextHandler(io.Discard, nil))),
	}
}

func memberContext(ctx context.Context, tenant, user uuid.UUID) context.Context {
	return viewer.NewContext(ctx, &viewer.Viewer{UserID: user, TenantID: tenant, SessionID: uuid.New()})
}

// Check is one security check. Run returns nil when the deployment passes,
// else the problems found (several joined with errors.Join).
type Check struct {
	ID   string // stable, for --json consumers
	Name string // what passing means, in a few words
	Run  func(ctx context.Context, env *Env) error
}

// Result is the outcome of one check.
type Result struct {
	ID       string   `json:"id"`
	Name     string   `json:"name"`
	OK       bool     `json:"ok"`
	Problems []string `json:"problems,omitempty"`
}

// Report is the outcome of a run of checks.
type Report struct {
	OK      bool     `json:"ok"`
	Results []Result `json:"checks"`
}

// Result returns the result of the check with id, or false.
func (r Report) Result(id string) (Result, bool) {
	for _, res := range r.Results {
		if res.ID == id {
			return res, true
		}
	}
	return Result{}, false
}

// Check IDs.
const (
	CheckNoPasswordColumns = "no-password-columns"
	CheckDeviceLoginOnly   = "device-login-only"
	CheckJWTAlgorithm      = "jwt-algorithm"
	CheckSigningKeyAge     = "signing-key-age"
	CheckTenantIsolation   = "tenant-isolation"
	CheckAuditLogging      = "audit-logging"
	CheckOperationsGuarded = "operations-protected"
	CheckHTTPS             = "https"
	CheckKEK               = "key-encryption-key"
	CheckMigrations        = "migrations"
	CheckRoleDelegation    = "role-delegation"
	CheckRowLevelSecurity  = "row-level-security"
)

// SecurityChecks returns the checks of `atrium audit security`, in the order
// they run.
func SecurityChecks() []Check {
	return []Check{
		{CheckNoPasswordColumns, "no password-like column in the database schema", checkNoPasswordColumns},
		{CheckDeviceLoginOnly, "passkeys are the only way to sign in", checkDeviceLoginOnly},
		{CheckJWTAlgorithm, "tokens are signed asymmetrically, with issuer and audience", checkJWTAlgorithm},
		{CheckSigningKeyAge, "the active signing key is younger than the rotation period", checkSigningKeyAge},
		{CheckTenantIsolation, "the data layer isolates tenants (live probe, rolled back)", checkTenantIsolation},
		{CheckRowLevelSecurity, "PostgreSQL row-level security guards every tenant-owned table", checkRowLevelSecurity},
		{CheckAuditLogging, "changes are audited in a verifiable hash chain", checkAuditLogging},
		{CheckOperationsGuarded, "every API operation is public-listed or needs one known permission", checkOperationsProtected},
		{CheckHTTPS, "the public URL and passkey origins use HTTPS", checkHTTPS},
		{CheckKEK, "the key-encryption key is configured and opens the signing keys", checkKEK},
		{CheckMigrations, "database migrations are up to date", checkMigrations},
		{CheckRoleDelegation, "no role grants beyond its editor", checkRoleDelegation},
	}
}

// RunChecks runs checks one after another against env, whose unset clock,
// viewer and recorder get NewEnv's defaults. A check that panics fails with
// the panic as its problem; the others still run.
func RunChecks(ctx context.Context, env *Env, checks []Check) Report {
	e := *env
	if e.Now == nil {
		e.Now = time.Now
	}
	if e.AsMember == nil {
		e.AsMember = memberContext
	}
	if e.Recorder == nil && e.Client != nil {
		e.Recorder = audit.NewWriter(e.Client, e.Dialect, slog.New(slog.NewTextHandler(io.Discard, nil)))
	}
	env = &e
	rep := Report{OK: true}
	for _, c := range checks {
		res := Result{ID: c.ID, Name: c.Name}
		if err := runOne(ctx, env, c); err != nil {
			res.Problems = problems(err)
		}
		res.OK = len(res.Problems) == 0
		rep.OK = rep.OK && res.OK
		rep.Results = append(rep.Results, res)
	}
	return rep
}

func runOne(ctx context.Context, env *Env, c Check) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("check panicked: %v\n%s", p, debug.Stack())
		}
	}()
	return c.Run(ctx, env)
}

// problems flattens joined errors into one line each.
func problems(err error) []string {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []string
		for _, e := range j.Unwrap() {
			if e != nil {
				out = append(out, problems(e)...)
			}
		}
		return out
	}
	return []string{strings.TrimSpace(err.Error())}
}

// problemList collects the problems one check finds.
type problemList []error

func (p *problemList) add(format string, args ...any) { *p = append(*p, fmt.Errorf(format, args...)) }
func (p problemList) err() error                      { return errors.Join(p...) }

// withProbe runs fn in a transaction that is always rolled back, so a probe
// of a live database leaves nothing behind. fn must use tx.Client().
func (env *Env) withProbe(ctx context.Context, fn func(tx *ent.Tx) error) error {
	tx, err := env.Client.Tx(ctx)
	if err != nil {
		return fmt.Errorf("begin probe transaction: %w", err)
	}
	err = fn(tx)
	if rerr := tx.Rollback(); rerr != nil {
		err = errors.Join(err, fmt.Errorf("roll back probe transaction: %w", rerr))
	}
	return err
}
