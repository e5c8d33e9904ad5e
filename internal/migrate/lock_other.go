//go:build !unix

package migrate

import (
	"context"
	"database/sql"
	"time"
)

// lockSQLite is a no-op where flock is missing; SQLite's write lock still
// keeps each file's transaction whole.
func lockSQLite(context.Context, *sql.DB, time.Duration) (func(), error) { return func() {}, nil }
