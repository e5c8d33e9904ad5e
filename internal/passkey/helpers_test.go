package passkey_test

import (
	"github.com/google/uuid"

	"atrium/internal/passkey"
)

func passkeyInvite(role uuid.UUID) passkey.InviteInput { return passkey.InviteInput{RoleID: &role} }
