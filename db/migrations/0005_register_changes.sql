-- Every change people make to the register through the application (a CSV import, an
-- authority command, a removal, an undo): who, when, from which file, which rows, and every
-- field's old and new value, so that it can be read back and undone exactly.
-- Append-only like `events`: an undo is a change of its own that points at the one it undoes.

CREATE TABLE register_changes (
    id          bigserial   PRIMARY KEY,
    action      text        NOT NULL CHECK (action IN ('import', 'command', 'remove', 'undo')),
    entity      text        NOT NULL CHECK (entity IN ('cooperation', 'authority')),
    source      text        CHECK (char_length(source) <= 1000),  -- the file of an import
    recorded_by text        NOT NULL CHECK (char_length(recorded_by) BETWEEN 1 AND 200),
    recorded_at timestamptz NOT NULL DEFAULT now(),
    -- UNIQUE: a change is undone at most once, even by two undos racing.
    undoes      bigint      UNIQUE REFERENCES register_changes (id),
    CHECK ((action = 'undo') = (undoes IS NOT NULL))
);

-- The rows a change touched (unchanged rows of a file are not recorded).
CREATE TABLE register_change_rows (
    change_id bigint  NOT NULL REFERENCES register_changes (id),
    entity_id text    NOT NULL,
    status    text    NOT NULL CHECK (status IN ('new', 'changed', 'removed')),
    line      integer CHECK (line >= 1),  -- where the row is in the imported file
    PRIMARY KEY (change_id, entity_id)
);
CREATE INDEX register_change_rows_entity_idx ON register_change_rows (entity_id);

-- One row per field that changed. NULL means empty (or no row); values are JSON so a date,
-- a count, a flag and a list of members keep their type.
CREATE TABLE register_change_fields (
    change_id bigint NOT NULL,
    entity_id text   NOT NULL,
    field     text   NOT NULL,
    old_value jsonb,
    new_value jsonb,
    PRIMARY KEY (change_id, entity_id, field),
    FOREIGN KEY (change_id, entity_id) REFERENCES register_change_rows (change_id, entity_id)
);

CREATE FUNCTION register_changes_are_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the register change log (%) is append-only; % is not allowed',
        TG_TABLE_NAME, TG_OP;
END;
$$;
CREATE TRIGGER register_changes_append_only BEFORE UPDATE OR DELETE ON register_changes
    FOR EACH ROW EXECUTE FUNCTION register_changes_are_append_only();
CREATE TRIGGER register_change_rows_append_only BEFORE UPDATE OR DELETE ON register_change_rows
    FOR EACH ROW EXECUTE FUNCTION register_changes_are_append_only();
CREATE TRIGGER register_change_fields_append_only BEFORE UPDATE OR DELETE
    ON register_change_fields
    FOR EACH ROW EXECUTE FUNCTION register_changes_are_append_only();
