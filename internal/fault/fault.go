// Package fault is Atrium's one error type: a code that says what kind of
// failure happened and a message that is safe to show a client. The HTTP layer
// maps codes to statuses in one place (internal/httpapi); internal causes are
// wrapped for logs and never reach a client.
package fault

import (
	"errors"
	"fmt"
	"time"
)

// Code classifies an error.
type Code string

// Codes.
const (
	Invalid         Code = "invalid"         // bad input -> 400
	Unauthenticated Code = "unauthenticated" // no or bad credentials -> 401
	Forbidden       Code = "forbidden"       // authenticated, not allowed -> 403
	NotFound        Code = "not_found"       // missing or another tenant's -> 404
	BadMethod       Code = "bad_method"      // route exists, method does not -> 405
	Conflict        Code = "conflict"        // state conflict -> 409
	TooLarge        Code = "too_large"       // body over the limit -> 413
	RateLimited     Code = "rate_limited"    // -> 429 with Retry-After
	Unavailable     Code = "unavailable"     // dependency down -> 503
	Internal        Code = "internal"        // anything else -> 500
)

// FieldError names one problem with one input field.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error is a classified error.
type Error struct {
	Code       Code
	Message    string       // safe for clients
	Fields     []FieldError // for Invalid
	RetryAfter time.Duration
	Err        error // cause; logged, never sent
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// New returns an error with code and a client-safe message.
func New(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap classifies cause with code and a client-safe message.
func Wrap(cause error, code Code, message string) *Error {
	return &Error{Code: code, Message: message, Err: cause}
}

// Fields returns an Invalid error listing every field problem.
func Fields(fields ...FieldError) error {
	if len(fields) == 0 {
		return nil
	}
	return &Error{Code: Invalid, Message: "the request has invalid fields", Fields: fields}
}

// As returns the *Error in err's chain, or nil.
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

// CodeOf returns err's code; Internal for unclassified errors.
func CodeOf(err error) Code {
	if e := As(err); e != nil {
		return e.Code
	}
	return Internal
}
