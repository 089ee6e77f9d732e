DROP INDEX sync_entities_kind;
ALTER TABLE sync_entities DROP COLUMN "fields";
