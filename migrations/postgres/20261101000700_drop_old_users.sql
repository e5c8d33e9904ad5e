-- Step 8: old_users is replaced by users (each legacy user kept its id, and
-- external_id holds it as text; is_admin became the admin role). Its down
-- script rebuilds it from there.
-- atlas:nolint DS102
DROP TABLE "old_users";
