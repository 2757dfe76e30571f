-- Duplicates and merge (issue 11): a lead merged into another keeps its row, read-only,
-- with `merged_into` naming the lead it went into (crm_core::merge).
ALTER TABLE leads ADD COLUMN merged_into BLOB CHECK (merged_into IS NULL OR length(merged_into) = 16);

-- The detail view of a lead gathers the history of the leads merged into it; a merge
-- points earlier merges into the lead merged away at the lead kept.
CREATE INDEX leads_merged_into ON leads (merged_into) WHERE merged_into IS NOT NULL;

-- The fuzzy duplicate check groups open leads by folded name within a folded company. Both
-- keys are lines of `search_text` (crm_core::Lead::search_text): its first line is the
-- name's search key, its last the company's when there is a company. The grouping query
-- (crm-store-sqlx/src/duplicates.rs) writes the same expressions and predicate.
CREATE INDEX leads_open_name_company ON leads (
    substr(search_text, 1, instr(search_text || char(10), char(10)) - 1),
    substr(search_text, length(rtrim(search_text, replace(search_text, char(10), ''))) + 1))
    WHERE company IS NOT NULL
      AND (status = 'new' OR status = 'contacted' OR status = 'interested');

-- A merged lead leaves the report: the counts of `..._lead_counts.sql` count only leads
-- not merged. A merge sets `merged_into` once (the lead is read-only from then on).
DROP TRIGGER lead_counts_update;
CREATE TRIGGER lead_counts_update AFTER UPDATE OF owner, source, status ON leads
WHEN (OLD.owner IS NOT NEW.owner OR OLD.source IS NOT NEW.source
      OR OLD.status IS NOT NEW.status)
    AND OLD.merged_into IS NULL AND NEW.merged_into IS NULL
BEGIN
    UPDATE lead_counts SET n = n - 1
        WHERE owner = OLD.owner AND source = OLD.source AND status = OLD.status;
    INSERT INTO lead_counts (owner, source, status, n)
        VALUES (NEW.owner, NEW.source, NEW.status, 1)
        ON CONFLICT (owner, source, status) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER lead_counts_merged AFTER UPDATE OF merged_into ON leads
WHEN OLD.merged_into IS NULL AND NEW.merged_into IS NOT NULL
BEGIN
    UPDATE lead_counts SET n = n - 1
        WHERE owner = OLD.owner AND source = OLD.source AND status = OLD.status;
END;

DROP TRIGGER lead_counts_delete;
CREATE TRIGGER lead_counts_delete AFTER DELETE ON leads
WHEN OLD.merged_into IS NULL
BEGIN
    UPDATE lead_counts SET n = n - 1
        WHERE owner = OLD.owner AND source = OLD.source AND status = OLD.status;
END;
