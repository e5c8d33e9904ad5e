package httpapi

import (
	"atrium/gen/api"
	"atrium/internal/account"
	"atrium/internal/agent"
	"atrium/internal/assistant"
	"atrium/internal/authz"
	"atrium/internal/conversation"
	"atrium/internal/document"
	"atrium/internal/knowledge"
	"atrium/internal/member"
	"atrium/internal/passkey"
	"atrium/internal/serviceaccount"
	"atrium/internal/team"
	"atrium/internal/tenancy"
)

// AuditActions names the audit action(s) each state-changing operation
// writes in the same transaction as its change. TestEveryChangeAudited fails
// when a non-GET operation of openapi.yaml is missing here; NotAudited lists
// the non-GET operations that change nothing and why.
var AuditActions = map[api.OperationName][]string{
	api.RegisterDeviceOperation:            {passkey.ActionDeviceAdded, passkey.ActionInvitationUsed, passkey.ActionReenrolled, passkey.ActionRegisterFailed, passkey.ActionInvitationRejected},
	api.LoginOperation:                     {passkey.ActionLogin},
	api.ExchangeTokenOperation:             {account.ActionRefresh, account.ActionReuseDetected, account.ActionExchange},
	api.LogoutOperation:                    {account.ActionLogout},
	api.RenameMyDeviceOperation:            {account.ActionDeviceRenamed},
	api.RemoveMyDeviceOperation:            {account.ActionDeviceRemoved, account.ActionAccountClosed},
	api.RevokeMySessionOperation:           {account.ActionSessionRevoked},
	api.CreateInvitationOperation:          {passkey.ActionInvitationCreated},
	api.CreateReenrollmentOperation:        {passkey.ActionInvitationCreated},
	api.RevokeInvitationOperation:          {passkey.ActionInvitationRevoked},
	api.AcceptInvitationOperation:          {passkey.ActionMemberJoined, passkey.ActionInvitationUsed, passkey.ActionInvitationRejected},
	api.CreateRoleOperation:                {authz.ActionRoleCreated},
	api.UpdateRoleOperation:                {authz.ActionRoleUpdated},
	api.DeleteRoleOperation:                {authz.ActionRoleDeleted},
	api.SetMemberRolesOperation:            {member.ActionRolesChanged},
	api.UpdateMemberOperation:              {member.ActionSuspended, member.ActionReactivated},
	api.RemoveMemberOperation:              {member.ActionRemoved},
	api.CreateTeamOperation:                {team.ActionCreated},
	api.UpdateTeamOperation:                {team.ActionUpdated},
	api.UpdateTenantSettingsOperation:      {tenancy.ActionUpdated},
	api.DeleteTeamOperation:                {team.ActionDeleted},
	api.AddTeamMemberOperation:             {team.ActionMemberAdded},
	api.RemoveTeamMemberOperation:          {team.ActionMemberRemoved},
	api.ShareConversationOperation:         {authz.ActionShared},
	api.RevokeConversationShareOperation:   {authz.ActionShareRevoked},
	api.CreateConversationOperation:        {conversation.ActionCreated},
	api.UpdateConversationOperation:        {conversation.ActionUpdated},
	api.DeleteConversationOperation:        {conversation.ActionDeleted},
	api.AppendMessageOperation:             {conversation.ActionMessageAppend},
	api.CreateAgentOperation:               {agent.ActionCreated},
	api.UpdateAgentOperation:               {agent.ActionUpdated},
	api.DeleteAgentOperation:               {agent.ActionDeleted},
	api.ShareAgentOperation:                {authz.ActionShared},
	api.RevokeAgentShareOperation:          {authz.ActionShareRevoked},
	api.CreateCompletionOperation:          {assistant.ActionCompletion},
	api.CreateKnowledgeGraphOperation:      {knowledge.ActionCreated},
	api.UpdateKnowledgeGraphOperation:      {knowledge.ActionUpdated},
	api.DeleteKnowledgeGraphOperation:      {knowledge.ActionDeleted},
	api.AddKnowledgeNodeOperation:          {knowledge.ActionNodeAdded},
	api.RemoveKnowledgeNodeOperation:       {knowledge.ActionNodeRemoved},
	api.AddKnowledgeEdgeOperation:          {knowledge.ActionEdgeAdded},
	api.RemoveKnowledgeEdgeOperation:       {knowledge.ActionEdgeRemoved},
	api.ShareKnowledgeGraphOperation:       {authz.ActionShared},
	api.RevokeKnowledgeGraphShareOperation: {authz.ActionShareRevoked},
	api.CreateDocumentOperation:            {document.ActionCreated},
	api.UpdateDocumentOperation:            {document.ActionUpdated},
	api.DeleteDocumentOperation:            {document.ActionDeleted},
	api.ShareDocumentOperation:             {authz.ActionShared},
	api.RevokeDocumentShareOperation:       {authz.ActionShareRevoked},
	api.EraseMeOperation:                   {ActionErased},
	api.EraseMemberOperation:               {ActionErased},
	// service accounts
	api.ServiceAccountTokenOperation:     {serviceaccount.ActionTokenIssued, serviceaccount.ActionTokenRefused},
	api.CreateServiceAccountOperation:    {serviceaccount.ActionCreated},
	api.UpdateServiceAccountOperation:    {serviceaccount.ActionUpdated},
	api.DeleteServiceAccountOperation:    {serviceaccount.ActionDeleted},
	api.SetServiceAccountRolesOperation:  {serviceaccount.ActionRolesChanged},
	api.AddServiceAccountKeyOperation:    {serviceaccount.ActionKeyAdded},
	api.RevokeServiceAccountKeyOperation: {serviceaccount.ActionKeyRevoked},
}

// ActionErased is written by GDPR erasure (internal/privacy).
const ActionErased = "gdpr.erased"

// NotAudited are non-GET operations that change no data, with the reason.
var NotAudited = map[api.OperationName]string{
	api.RegisterDeviceOptionsOperation: "creates only a 5-minute ceremony, audited when finished (a refused invitation writes invitation.rejected to its tenant's chain)",
	api.LoginOptionsOperation:          "creates only a 5-minute ceremony, audited when finished",
	api.CheckPermissionsOperation:      "reads: a batch check changes nothing",
}
