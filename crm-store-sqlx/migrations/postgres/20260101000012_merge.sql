-- Duplicates and merge (issue 11): a lead merged into another keeps its row, read-only,
-- with `merged_into` naming the lead it went into (crm_core::merge).
ALTER TABLE leads ADD COLUMN merged_into uuid REFERENCES leads (id);

-- The detail view of a lead gathers the history of the leads merged into it; a merge
-- points earlier merges into the lead merged away at the lead kept.
CREATE INDEX leads_merged_into ON leads (merged_into) WHERE merged_into IS NOT NULL;

-- The fuzzy duplicate check groups open leads by folded name within a folded company. Both
-- keys are lines of `search_text` (crm_core::Lead::search_text): its first line is the
-- name's search key, its last the company's when there is a company. The grouping query
-- (crm-store-sqlx/src/duplicates.rs) writes the same expressions and predicate.
CREATE INDEX leads_open_name_company ON leads (
    split_part(search_text, chr(10), 1), split_part(search_text, chr(10), -1))
    WHERE company IS NOT NULL AND status IN ('new', 'contacted', 'interested');
