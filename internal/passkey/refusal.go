package passkey

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"atrium/ent"
	"atrium/ent/invitation"
	"atrium/ent/membership"
	"atrium/internal/audit"
	"atrium/internal/viewer"
)

// Refused sign-ins and invitations are audited in the chain of the tenant
// they concern, so that its admins see them in GET /audit-events:
//
//   - a sign-in with a known device: every tenant its owner is a member of
//     (any membership status), each in its own chain, with the owner's
//     pseudonym as actor and the device as resource; an owner with no
//     membership left goes to the global chain;
//   - an invitation: the invitation's tenant, with no actor (whoever holds
//     the token has not proven who they are);
//   - an unknown credential or invitation token belongs to no tenant: it is
//     logged and counted (atrium_auth_refusals_total), never audited, so
//     that nobody can fill a chain by making up identifiers.
//
// Rows carry IDs and reason codes only, like every audit event.

func newRefusalCounter() *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "atrium", Subsystem: "auth", Name: "refusals_total",
		Help: "Refused sign-ins (ceremony=login) and invitations (ceremony=invitation) by reason code.",
	}, []string{"ceremony", "reason"})
}

// Refusals is the counter of refused ceremonies, for the instance's metrics
// registry.
func (s *Service) Refusals() prometheus.Collector { return s.refusals }

// anonymous returns ctx without a viewer: audit events written with it take
// no actor or session from whoever happens to be signed in.
func anonymous(ctx context.Context) context.Context { return viewer.NewContext(ctx, nil) }

// auditLoginRefusal records a refused sign-in. row is the device presented,
// nil when the credential is unknown.
func (s *Service) auditLoginRefusal(ctx context.Context, row *ent.Credential, reason string) {
	s.refusals.WithLabelValues("login", reason).Inc()
	if row == nil {
		return
	}
	ev := audit.Event{Action: ActionLogin, Outcome: audit.Failure, Actor: row.UserID,
		ResourceType: "device", ResourceID: row.ID, Details: map[string]string{"reason": reason}}
	actx := anonymous(ctx)
	ms, err := s.client.Membership.Query().Where(membership.UserID(row.UserID)).
		All(viewer.System(ctx, viewer.ReasonAudit))
	if err != nil {
		s.log.ErrorContext(ctx, "audit refused sign-in: memberships", "err", err)
	}
	if len(ms) == 0 {
		s.audit.Log(actx, ev) // the global chain
		return
	}
	for _, m := range ms {
		ev.TenantID = m.TenantID
		s.audit.Log(actx, ev)
	}
}

// auditInvitationRefusal records a refused invitation at stage "options"
// (presented) or "finish" (spent by someone else, revoked or expired while
// the ceremony ran). inv is nil for an unknown token.
func (s *Service) auditInvitationRefusal(ctx context.Context, inv *ent.Invitation, stage string) {
	reason := "unknown"
	if inv != nil {
		reason = InvitationStatus(inv, s.now())
		if reason == "pending" {
			reason = "member_inactive" // a re-enrollment for someone no longer active
		}
	}
	s.refusals.WithLabelValues("invitation", reason).Inc()
	if inv == nil {
		s.log.InfoContext(ctx, "invitation refused", "reason", reason, "stage", stage)
		return
	}
	s.audit.Log(anonymous(ctx), audit.Event{Action: ActionInvitationRejected, Outcome: audit.Denied, TenantID: inv.TenantID,
		ResourceType: "invitation", ResourceID: inv.ID, Details: map[string]string{"reason": reason, "stage": stage}})
}

// invitationRefusedAtFinish audits an invitation the enrollment transaction
// could no longer spend.
func (s *Service) invitationRefusedAtFinish(ctx context.Context, id uuid.UUID) {
	inv, err := s.client.Invitation.Query().Where(invitation.ID(id)).Only(viewer.System(ctx, viewer.ReasonAudit))
	if err != nil {
		s.log.ErrorContext(ctx, "audit refused invitation", "err", err)
		return
	}
	s.auditInvitationRefusal(ctx, inv, "finish")
}

// Every refused WebAuthn ceremony is logged at warn level with why, so that
// an operator can tell a misconfiguration from an attack without a debugger:
// the API says only "could not be verified" (it must not help an attacker),
// and a bare 401 in the access log says nothing. The line carries the
// ceremony, the audit reason code, the check that failed and, for the checks
// configuration decides, what was expected and what was received:
//
//   - origin_mismatch: the page's origin (clientDataJSON.origin) is not
//     ATRIUM_PUBLIC_URL's nor one of ATRIUM_WEBAUTHN_ORIGINS — typically
//     the browser opened another host or port than the public URL;
//   - rp_id_mismatch: the authenticator signed for another RP ID than the
//     public URL's host;
//   - challenge_mismatch, ceremony_type_mismatch, cross_origin,
//     top_origin_mismatch, user_not_present, user_not_verified,
//     bad_signature, invalid_attestation, ceremony_expired,
//     ceremony_unknown, malformed_response, unknown_credential, …
//
// No personal data: codes, origins, the RP ID and IDs only (never a display
// name, an email or the credential itself).

// maxLoggedOrigin bounds the client-supplied origin written to the log.
const maxLoggedOrigin = 200

// logRefusal logs a refused ceremony ("register" or "login") whose audit
// reason is reason; err is the verification error, credential the browser's
// response JSON (for the origin it reports). attrs are extra key-value pairs
// (IDs only).
func (s *Service) logRefusal(ctx context.Context, cer, reason string, err error, credential []byte, attrs ...any) {
	check, detail := refusalCheck(err)
	if check == "" {
		check = reason
	}
	args := append([]any{"ceremony", cer, "reason", reason, "check", check}, attrs...)
	msg := "webauthn ceremony refused"
	switch check {
	case "origin_mismatch", "top_origin_mismatch":
		msg += ": origin mismatch"
		origin, top := clientOrigins(credential)
		if check == "top_origin_mismatch" {
			origin = top
		}
		args = append(args, "expected_origins", s.cfg.Origins, "received_origin", origin)
	case "rp_id_mismatch":
		msg += ": RP ID mismatch"
		origin, _ := clientOrigins(credential)
		args = append(args, "expected_rp_id", s.cfg.RPID, "received_origin", origin)
	}
	if detail != "" {
		args = append(args, "detail", detail)
	}
	s.log.WarnContext(ctx, msg, args...)
}

// logCeremonyRefused logs a ceremony refused before verification (unknown,
// expired, used or another session's).
func (s *Service) logCeremonyRefused(ctx context.Context, kind ceremonyKind, check string) {
	s.log.WarnContext(ctx, "webauthn ceremony refused", "ceremony", string(kind), "reason", check, "check", check)
}

// refusalCheck names the go-webauthn check err failed, and the library's
// short description of it (never its DevInfo, which can hold challenges).
func refusalCheck(err error) (check, detail string) {
	var pe *protocol.Error
	if !errors.As(err, &pe) {
		if err != nil {
			return "", err.Error()
		}
		return "", ""
	}
	detail = pe.Details
	switch {
	case pe.Details == "Error validating origin":
		return "origin_mismatch", detail
	case pe.Details == "Error validating top origin" || pe.Details == "Error validating topOrigin":
		return "top_origin_mismatch", detail
	case pe.Details == "Error validating cross origin flag":
		return "cross_origin", detail
	case pe.Details == "Error validating challenge":
		return "challenge_mismatch", detail
	case pe.Details == "Error validating ceremony type":
		return "ceremony_type_mismatch", detail
	case strings.HasPrefix(pe.DevInfo, "RP Hash mismatch"):
		return "rp_id_mismatch", detail
	case strings.HasPrefix(pe.DevInfo, "User presence required"):
		return "user_not_present", detail
	case strings.HasPrefix(pe.DevInfo, "User verification required"):
		return "user_not_verified", detail
	case pe.Details == "Session has Expired":
		return "ceremony_expired", detail
	case pe.Type == protocol.ErrAssertionSignature.Type:
		return "bad_signature", detail
	case pe.Type == protocol.ErrInvalidAttestation.Type || pe.Type == protocol.ErrAttestationFormat.Type:
		return "invalid_attestation", detail
	case pe.Type == protocol.ErrBadRequest.Type || pe.Type == protocol.ErrParsingData.Type:
		return "malformed_response", detail
	}
	return pe.Type, detail
}

// clientOrigins reads the origin and topOrigin the browser reported in a
// credential response's clientDataJSON, cut to maxLoggedOrigin; "" when the
// response does not say.
func clientOrigins(credential []byte) (origin, top string) {
	var resp struct {
		Response struct {
			ClientDataJSON protocol.URLEncodedBase64 `json:"clientDataJSON"`
		} `json:"response"`
	}
	if json.Unmarshal(credential, &resp) != nil {
		return "", ""
	}
	var cd struct {
		Origin    string `json:"origin"`
		TopOrigin string `json:"topOrigin"`
	}
	if json.Unmarshal(resp.Response.ClientDataJSON, &cd) != nil {
		return "", ""
	}
	cut := func(s string) string {
		if len(s) > maxLoggedOrigin {
			return s[:maxLoggedOrigin] + "…"
		}
		return s
	}
	return cut(cd.Origin), cut(cd.TopOrigin)
}
