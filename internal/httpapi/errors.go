package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	ht "github.com/ogen-go/ogen/http"
	"github.com/ogen-go/ogen/ogenerrors"
	"github.com/ogen-go/ogen/validate"

	"atrium/gen/api"
	"atrium/internal/fault"
	"atrium/internal/llm"
	"atrium/internal/requestid"
	"atrium/internal/telemetry"
)

// statusOf is the one map from error codes to HTTP statuses.
var statusOf = map[fault.Code]int{
	fault.Invalid:         http.StatusBadRequest,
	fault.Unauthenticated: http.StatusUnauthorized,
	fault.Forbidden:       http.StatusForbidden,
	fault.NotFound:        http.StatusNotFound,
	fault.BadMethod:       http.StatusMethodNotAllowed,
	fault.Conflict:        http.StatusConflict,
	fault.TooLarge:        http.StatusRequestEntityTooLarge,
	fault.RateLimited:     http.StatusTooManyRequests,
	fault.Unavailable:     http.StatusServiceUnavailable,
	fault.Internal:        http.StatusInternalServerError,
}

// upstreamStatus maps failures of an upstream provider (language models) to
// 502 (it answered badly) and 504 (it did not answer in time).
func upstreamStatus(err error) int {
	switch {
	case errors.Is(err, llm.ErrTimeout):
		return http.StatusGatewayTimeout
	case errors.Is(err, llm.ErrUpstream):
		return http.StatusBadGateway
	}
	return 0
}

// Problem maps any error to a problem response. Errors that are not
// classified are logged with the request id and answered with a generic 500;
// their text never reaches the client.
func Problem(ctx context.Context, log *slog.Logger, err error) *api.ErrorStatusCode {
	fe := classify(err)
	status := statusOf[fe.Code]
	if s := upstreamStatus(err); s != 0 {
		status = s
	}
	if status == 0 {
		status = http.StatusInternalServerError
	}
	rid := requestid.FromContext(ctx)
	if status >= 500 {
		log.ErrorContext(ctx, "request failed", "request_id", rid, "code", fe.Code, "err", err)
	}
	retryAfter := fe.RetryAfter
	if retryAfter <= 0 && status == http.StatusServiceUnavailable {
		retryAfter = fault.RetryAfter // every 503 says when to come back
	}
	if retryAfter > 0 {
		if m := metaFrom(ctx); m != nil {
			m.retryAfter = retryAfter
		}
	}
	p := api.Problem{
		Type:   "https://atrium.dev/problems/" + strings.ReplaceAll(string(fe.Code), "_", "-"),
		Title:  http.StatusText(status),
		Status: status,
	}
	if fe.Message != "" {
		p.Detail = api.NewOptString(fe.Message)
	}
	if rid != "" {
		p.RequestID = api.NewOptString(rid)
	}
	if tid := telemetry.TraceID(ctx); tid != "" {
		p.TraceID = api.NewOptString(tid)
	}
	for _, f := range fe.Fields {
		p.Errors = append(p.Errors, api.FieldError{Field: f.Field, Message: f.Message})
	}
	return &api.ErrorStatusCode{StatusCode: status, Response: p}
}

// classify turns ogen's and the standard library's errors into fault errors.
func classify(err error) *fault.Error {
	if fe := fault.As(err); fe != nil {
		if fe.Code == fault.Internal || statusOf[fe.Code] == 0 {
			return &fault.Error{Code: fault.Internal, Message: "internal error"}
		}
		return fe
	}
	var (
		secErr    *ogenerrors.SecurityError
		maxErr    *http.MaxBytesError
		reqErr    *ogenerrors.DecodeRequestError
		paramErr  *ogenerrors.DecodeParamError
		paramsErr *ogenerrors.DecodeParamsError
		bodyErr   *ogenerrors.DecodeBodyError
		valErr    *validate.Error
		ctErr     *validate.InvalidContentTypeError
		textErr   *badTextError
	)
	switch {
	case errors.As(err, &textErr):
		return textErr.fault()
	case errors.As(err, &secErr):
		if errors.Is(err, ogenerrors.ErrSecurityRequirementIsNotSatisfied) {
			return fault.New(fault.Unauthenticated, "a bearer access token is required")
		}
		// The security handler says what was wrong with a token with a
		// coded error (found above). An uncoded one means authentication
		// could not be decided: a dependency down (503) or a bug (500),
		// never "your token is not valid".
		if fe := fault.As(fault.Classify(err)); fe != nil {
			return fe
		}
		return &fault.Error{Code: fault.Internal, Message: "internal error"}
	case errors.As(err, &maxErr):
		return fault.New(fault.TooLarge, "the request body is larger than %d bytes", maxErr.Limit)
	case errors.As(err, &ctErr):
		return fault.New(fault.Invalid, "unsupported content type %q", ctErr.ContentType)
	case errors.As(err, &paramErr):
		return &fault.Error{Code: fault.Invalid, Message: "invalid parameter",
			Fields: []fault.FieldError{{Field: paramErr.Name, Message: paramMessage(paramErr)}}}
	case errors.As(err, &paramsErr):
		return fault.New(fault.Invalid, "invalid parameters")
	case errors.As(err, &valErr):
		return &fault.Error{Code: fault.Invalid, Message: "the request is invalid", Fields: validationFields(valErr)}
	case errors.Is(err, validate.ErrBodyRequired):
		return fault.New(fault.Invalid, "a request body is required")
	case errors.As(err, &bodyErr), errors.As(err, &reqErr):
		return &fault.Error{Code: fault.Invalid, Message: "the request body is not valid: " + safeDecodeMessage(err)}
	case errors.Is(err, ht.ErrNotImplemented):
		return fault.New(fault.NotFound, "not implemented")
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return fault.New(fault.Unavailable, "the request was cancelled or timed out")
	}
	if fe := fault.As(fault.Classify(err)); fe != nil {
		return fe // a dependency down, seen first here
	}
	return &fault.Error{Code: fault.Internal, Message: "internal error"}
}

func paramMessage(e *ogenerrors.DecodeParamError) string {
	var v *validate.Error
	if errors.As(e, &v) && len(v.Fields) > 0 {
		return v.Fields[0].Error.Error()
	}
	if e.In.String() == "path" {
		return "malformed " + e.Name
	}
	return "malformed value"
}

func validationFields(v *validate.Error) []fault.FieldError {
	out := make([]fault.FieldError, 0, len(v.Fields))
	for _, f := range v.Fields {
		out = append(out, fault.FieldError{Field: f.Name, Message: f.Error.Error()})
	}
	return out
}

// safeDecodeMessage keeps the part of a decoder error that names the field
// and the kind of problem; ogen's messages do not echo input values beyond
// unexpected field names, which the client sent itself.
func safeDecodeMessage(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, "decode "); i >= 0 {
		msg = msg[i:]
	}
	if len(msg) > 300 {
		msg = msg[:300]
	}
	return msg
}

// writeProblem writes a problem response outside ogen (middleware, router
// misses, decode errors).
func writeProblem(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	p := Problem(r.Context(), log, err)
	if m := metaFrom(r.Context()); m != nil && m.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(m.retryAfter.Seconds()+0.999)))
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(p.StatusCode)
	_ = jsonEncode(w, problemJSON(p.Response))
}

type problemBody struct {
	Type      string             `json:"type"`
	Title     string             `json:"title"`
	Status    int                `json:"status"`
	Detail    string             `json:"detail,omitempty"`
	RequestID string             `json:"request_id,omitempty"`
	TraceID   string             `json:"trace_id,omitempty"`
	Errors    []fault.FieldError `json:"errors,omitempty"`
}

func problemJSON(p api.Problem) problemBody {
	b := problemBody{Type: p.Type, Title: p.Title, Status: p.Status, Detail: p.Detail.Or(""), RequestID: p.RequestID.Or(""), TraceID: p.TraceID.Or("")}
	for _, e := range p.Errors {
		b.Errors = append(b.Errors, fault.FieldError{Field: e.Field, Message: e.Message})
	}
	return b
}

func jsonEncode(w http.ResponseWriter, v any) error { return json.NewEncoder(w).Encode(v) }
