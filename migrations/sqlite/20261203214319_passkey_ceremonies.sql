-- Create "ceremonies" table
CREATE TABLE `ceremonies` (`id` text NOT NULL, `data` blob NOT NULL, `expires_at` datetime NOT NULL, PRIMARY KEY (`id`));
-- Create index "ceremony_expires_at" to table: "ceremonies"
CREATE INDEX `ceremony_expires_at` ON `ceremonies` (`expires_at`);
