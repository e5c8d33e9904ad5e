-- Create "audit_anchors" table
CREATE TABLE `audit_anchors` (`id` text NOT NULL, `seq` integer NOT NULL, `hash` blob NOT NULL, `pruned_at` datetime NOT NULL, PRIMARY KEY (`id`));
