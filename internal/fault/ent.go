package fault

import (
	"context"
	"errors"

	"entgo.io/ent/privacy"
	"github.com/jackc/pgx/v5/pgconn"

	"atrium/ent"
)

// FromEnt classifies an error from the data layer. what names the resource in
// the client-safe message ("conversation"). A privacy denial is reported as
// not found: another tenant's rows do not exist for the caller.
func FromEnt(err error, what string) error {
	switch {
	case err == nil:
		return nil
	case As(err) != nil:
		return err
	case IsUnavailable(err):
		return Classify(err)
	case ent.IsNotFound(err), errors.Is(err, privacy.Deny):
		return Wrap(err, NotFound, what+" not found")
	case IsConstraint(err):
		return Wrap(err, Conflict, what+" conflicts with existing data")
	case ent.IsValidationError(err):
		return Wrap(err, Invalid, "invalid "+what)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return Wrap(err, Unavailable, "the request was cancelled or timed out")
	default:
		return Wrap(err, Internal, "internal error")
	}
}

// IsConstraint reports whether err is a violated constraint (a unique key,
// a foreign key, a check): ent's ConstraintError, or PostgreSQL's class 23
// from a statement ent did not run itself, such as one deferred to the
// commit (rls.Deferred).
func IsConstraint(err error) bool {
	var pgErr *pgconn.PgError
	return ent.IsConstraintError(err) || (errors.As(err, &pgErr) && len(pgErr.Code) == 5 && pgErr.Code[:2] == "23")
}
