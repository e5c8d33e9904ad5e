package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/ogen-go/ogen/ogenerrors"

	"atrium/gen/api"
	"atrium/internal/fault"
	"atrium/internal/requestid"
	"atrium/internal/telemetry"
)

// OAuth error codes of the token endpoint (RFC 6749 section 5.2).
const (
	oauthInvalidRequest       = api.ServiceAccountTokenErrorErrorInvalidRequest
	oauthInvalidClient        = api.ServiceAccountTokenErrorErrorInvalidClient
	oauthInvalidGrant         = api.ServiceAccountTokenErrorErrorInvalidGrant
	oauthUnauthorizedClient   = api.ServiceAccountTokenErrorErrorUnauthorizedClient
	oauthUnsupportedGrantType = api.ServiceAccountTokenErrorErrorUnsupportedGrantType
	oauthInvalidScope         = api.ServiceAccountTokenErrorErrorInvalidScope
)

// oauthChallenge is the WWW-Authenticate of an invalid_client answer. No
// registered HTTP authentication scheme names client assertions (they travel
// in the form, RFC 7523 section 2.2), so the challenge names the method.
const oauthChallenge = `private_key_jwt realm="atrium", error="invalid_client"`

// oauthBody is the one body of a token endpoint refusal: an OAuth error
// (error, error_description) that is also this API's problem (type, title,
// status, detail, request_id, trace_id, errors), so that OAuth libraries and
// the API's own clients both read it. Its content type is application/json,
// as RFC 6749 requires.
func oauthBody(ctx context.Context, code api.ServiceAccountTokenErrorError, description, field string) api.ServiceAccountTokenError {
	status := http.StatusBadRequest
	if code == oauthInvalidClient {
		status = http.StatusUnauthorized
	}
	b := api.ServiceAccountTokenError{Error: code, ErrorDescription: api.NewOptString(description),
		Type:  "https://atrium.dev/problems/oauth-" + strings.ReplaceAll(string(code), "_", "-"),
		Title: http.StatusText(status), Status: status, Detail: api.NewOptString(description)}
	if rid := requestid.FromContext(ctx); rid != "" {
		b.RequestID = api.NewOptString(rid)
	}
	if tid := telemetry.TraceID(ctx); tid != "" {
		b.TraceID = api.NewOptString(tid)
	}
	if field != "" {
		b.Errors = []api.FieldError{{Field: field, Message: description}}
	}
	return b
}

// oauthError is the typed refusal of serviceAccountToken: 400, or 401 with a
// challenge for invalid_client; never cached.
func oauthError(ctx context.Context, code api.ServiceAccountTokenErrorError, description, field string) api.ServiceAccountTokenRes {
	b := oauthBody(ctx, code, description, field)
	if b.Status == http.StatusUnauthorized {
		return &api.ServiceAccountTokenUnauthorizedHeaders{CacheControl: api.ServiceAccountTokenUnauthorizedCacheControlNoStore,
			Pragma: api.ServiceAccountTokenUnauthorizedPragmaNoCache, WWWAuthenticate: oauthChallenge, Response: b}
	}
	return &api.ServiceAccountTokenErrorHeaders{CacheControl: api.ServiceAccountTokenBadRequestCacheControlNoStore,
		Pragma: api.ServiceAccountTokenBadRequestPragmaNoCache, Response: b}
}

// writeDecodeError answers a request ogen could not decode. A malformed
// token request is an OAuth invalid_request (a body over the limit stays a
// 413 problem, as everywhere); every other operation gets its problem.
func writeDecodeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	var reqErr *ogenerrors.DecodeRequestError
	var maxErr *http.MaxBytesError
	if !errors.As(err, &reqErr) || reqErr.OperationName() != string(api.ServiceAccountTokenOperation) || errors.As(err, &maxErr) {
		writeProblem(w, r, log, err)
		return
	}
	fe := classify(err)
	field := ""
	if len(fe.Fields) > 0 {
		field = fe.Fields[0].Field
	}
	msg := fe.Message
	if fe.Code != fault.Invalid {
		msg = "the request is not a valid token request"
	}
	b := oauthBody(r.Context(), oauthInvalidRequest, msg, field)
	if len(fe.Fields) > 1 {
		b.Errors = nil
		for _, f := range fe.Fields {
			b.Errors = append(b.Errors, api.FieldError{Field: f.Field, Message: f.Message})
		}
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8") // as ogen writes it
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	w.WriteHeader(b.Status)
	_ = json.NewEncoder(w).Encode(&b)
}

// validScope reports whether s is an RFC 6749 section 3.3 scope: scope
// tokens of %x21 / %x23-5B / %x5D-7E separated by single spaces.
func validScope(s string) bool {
	if s == "" {
		return true // none asked for
	}
	for tok := range strings.SplitSeq(s, " ") {
		if tok == "" {
			return false
		}
		for i := 0; i < len(tok); i++ {
			c := tok[i]
			if c < 0x21 || c == 0x22 || c == 0x5c || c > 0x7e {
				return false
			}
		}
	}
	return true
}
