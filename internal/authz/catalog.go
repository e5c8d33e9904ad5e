// Package authz owns the permission catalog, the system roles and effective
// permission resolution.
package authz

import (
	"slices"
	"strings"

	"github.com/google/uuid"
)

// Permission is a "resource.action" name from the catalog.
type Permission = string

// The catalog. Every protected operation in openapi.yaml names exactly one of
// these as its security scope; a test enforces it.
const (
	ConversationCreate Permission = "conversation.create"
	ConversationRead   Permission = "conversation.read"
	ConversationUpdate Permission = "conversation.update"
	ConversationDelete Permission = "conversation.delete"
	ConversationShare  Permission = "conversation.share"
	ConversationManage Permission = "conversation.manage"
	AgentCreate        Permission = "agent.create"
	AgentRead          Permission = "agent.read"
	AgentUpdate        Permission = "agent.update"
	AgentDelete        Permission = "agent.delete"
	AgentShare         Permission = "agent.share"
	AgentManage        Permission = "agent.manage"
	DocumentCreate     Permission = "document.create"
	DocumentRead       Permission = "document.read"
	DocumentUpdate     Permission = "document.update"
	DocumentDelete     Permission = "document.delete"
	DocumentShare      Permission = "document.share"
	DocumentManage     Permission = "document.manage"
	KnowledgeCreate    Permission = "knowledge.create"
	KnowledgeRead      Permission = "knowledge.read"
	KnowledgeUpdate    Permission = "knowledge.update"
	KnowledgeDelete    Permission = "knowledge.delete"
	KnowledgeShare     Permission = "knowledge.share"
	KnowledgeManage    Permission = "knowledge.manage"
	LLMUse             Permission = "llm.use"
	MessageCreate      Permission = "message.create"
	MessageRead        Permission = "message.read"
	MemberRead         Permission = "member.read"
	MemberManage       Permission = "member.manage"
	TeamRead           Permission = "team.read"
	TeamManage         Permission = "team.manage"
	RoleRead           Permission = "role.read"
	RoleManage         Permission = "role.manage"
	AuditRead          Permission = "audit.read"
	TenantManage       Permission = "tenant.manage"
	AccountManage      Permission = "account.manage"
	// ServiceAccountManage: service accounts, their roles and keys.
	ServiceAccountManage Permission = "service_account.manage"
)

// Administrative permissions change who holds what, or the tenant itself. A
// service account holds them only when they were granted to it explicitly
// (by someone who holds them); a role that carries them, "*" included, does
// not give them to it otherwise.
var Administrative = []Permission{MemberManage, RoleManage, ServiceAccountManage, TenantManage}

// Implicit permissions are held by every active member whatever their roles:
// managing one's own devices, sessions and sign-out must not depend on a
// tenant's role design.
var Implicit = []Permission{AccountManage}

// Definition describes one catalog entry.
type Definition struct {
	Name        Permission
	Description string
}

// Catalog lists every permission Atrium knows, in a stable order.
var Catalog = []Definition{
	{ConversationCreate, "Create conversations"},
	{ConversationRead, "Read conversations"},
	{ConversationUpdate, "Update conversations"},
	{ConversationDelete, "Delete conversations"},
	{ConversationShare, "Share conversations you own with users and teams"},
	{ConversationManage, "See and change every conversation of the tenant, shared or not"},
	{AgentCreate, "Create agents"},
	{AgentRead, "Read agents"},
	{AgentUpdate, "Update agents"},
	{AgentDelete, "Delete agents"},
	{AgentShare, "Share agents you own with users and teams"},
	{AgentManage, "See and change every agent of the tenant, shared or not"},
	{DocumentCreate, "Create documents"},
	{DocumentRead, "Read documents"},
	{DocumentUpdate, "Update documents"},
	{DocumentDelete, "Delete documents"},
	{DocumentShare, "Share documents you own with users and teams"},
	{DocumentManage, "See and change every document of the tenant, shared or not"},
	{KnowledgeCreate, "Create knowledge graphs"},
	{KnowledgeRead, "Read knowledge graphs"},
	{KnowledgeUpdate, "Change knowledge graphs, their nodes and edges"},
	{KnowledgeDelete, "Delete knowledge graphs"},
	{KnowledgeShare, "Share knowledge graphs you own with users and teams"},
	{KnowledgeManage, "See and change every knowledge graph of the tenant, shared or not"},
	{LLMUse, "Call language models (counts against the tenant's quota)"},
	{MessageCreate, "Append messages to conversations"},
	{MessageRead, "Read messages of conversations"},
	{MemberRead, "List members of the tenant"},
	{MemberManage, "Invite, suspend and remove members"},
	{TeamRead, "List teams and their members"},
	{TeamManage, "Create, change and delete teams and their membership"},
	{RoleRead, "List roles and the permission catalog"},
	{RoleManage, "Create, change and assign roles"},
	{AuditRead, "Read the audit trail"},
	{TenantManage, "Manage tenant settings"},
	{AccountManage, "Manage your own devices and sessions (held by every member)"},
	{ServiceAccountManage, "Create, change and delete service accounts, their roles and keys"},
}

// Known reports whether p is a catalog permission (not a wildcard).
func Known(p string) bool {
	return slices.ContainsFunc(Catalog, func(d Definition) bool { return d.Name == p })
}

// ValidGrant reports whether g may be stored in a role: a catalog permission,
// "resource.*" for a resource in the catalog, or "*".
func ValidGrant(g string) bool {
	if g == "*" || Known(g) {
		return true
	}
	res, ok := strings.CutSuffix(g, ".*")
	return ok && slices.ContainsFunc(Catalog, func(d Definition) bool {
		return strings.HasPrefix(d.Name, res+".")
	})
}

// System role IDs are fixed so that migrations, seeds and code agree.
var (
	RoleAdminID  = uuid.MustParse("00000000-0000-7000-8000-000000000001")
	RoleMemberID = uuid.MustParse("00000000-0000-7000-8000-000000000002")
	RoleViewerID = uuid.MustParse("00000000-0000-7000-8000-000000000003")
)

// SystemRole is a role shared by every tenant, seeded by a data migration.
type SystemRole struct {
	ID          uuid.UUID
	Name        string
	Description string
	Grants      []string
}

// SystemRoles are admin, member and viewer.
var SystemRoles = []SystemRole{
	{RoleAdminID, "admin", "Everything in the tenant", []string{"*"}},
	{RoleMemberID, "member", "Work with conversations, documents and agents", []string{
		ConversationCreate, ConversationRead, ConversationUpdate, ConversationDelete, ConversationShare,
		DocumentCreate, DocumentRead, DocumentUpdate, DocumentDelete, DocumentShare,
		AgentCreate, AgentRead, AgentUpdate, AgentDelete, AgentShare, LLMUse,
		KnowledgeCreate, KnowledgeRead, KnowledgeUpdate, KnowledgeDelete, KnowledgeShare,
		MessageCreate, MessageRead, MemberRead, RoleRead, TeamRead,
	}},
	{RoleViewerID, "viewer", "Read-only access", []string{ConversationRead, DocumentRead, AgentRead, KnowledgeRead, MessageRead, MemberRead, RoleRead, TeamRead}},
}
