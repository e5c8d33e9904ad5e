-- Down script of 20261127073759_seed_system_roles.sql: delete the system roles it seeded
-- (internal/authz RoleAdminID, RoleMemberID, RoleViewerID). A role still
-- granted to a member (member_roles) fails the foreign key check
-- and nothing is reverted.
DELETE FROM `roles` WHERE `id` IN ('00000000-0000-7000-8000-000000000001', '00000000-0000-7000-8000-000000000002', '00000000-0000-7000-8000-000000000003') AND `tenant_id` IS NULL;
