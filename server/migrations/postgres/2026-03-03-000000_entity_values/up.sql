-- An entity's current values (its body's `fields`) beside the whole body: coverage and exports
-- read these alone, without parsing every field's provenance (nine tenths of a dwelling's body).
ALTER TABLE sync_entities ADD COLUMN "fields" TEXT;
UPDATE sync_entities SET "fields" = (body::json -> 'fields')::text;
-- Coverage and exports read one kind of entity at a time (the 1,000 interviews of a project of a
-- million dwellings without walking the dwellings).
CREATE INDEX sync_entities_kind ON sync_entities (project_id, kind);
