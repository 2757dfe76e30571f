-- A lead merged into another (`merged_into`, migration 12) leaves the duplicate check of
-- lead writes, as it leaves duplicate groups: migration 16's probe missed it, so a new lead
-- with the contact data of a merged lead was refused as its duplicate (or named the merged
-- lead instead of the open one it went into). The same function with `merged_into IS NULL`
-- in both probes, as in `lead_writes::duplicate_probe!`.
CREATE OR REPLACE FUNCTION crm_open_duplicates(keys bigint[], email text, phone text, lead uuid)
RETURNS TABLE (probe bigint, found uuid)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(k) FROM unnest(keys) AS t (k) ORDER BY k;
    RETURN QUERY
        SELECT CAST(0 AS BIGINT), by_email.id FROM (SELECT l.id FROM leads l
            WHERE l.email = crm_open_duplicates.email
              AND (l.status = 'new' OR l.status = 'contacted' OR l.status = 'interested')
              AND l.merged_into IS NULL
              AND l.id <> crm_open_duplicates.lead
            ORDER BY l.created_at, l.id LIMIT 1) AS by_email
        UNION ALL
        SELECT CAST(1 AS BIGINT), by_phone.id FROM (SELECT l.id FROM leads l
            WHERE l.phone = crm_open_duplicates.phone
              AND (l.status = 'new' OR l.status = 'contacted' OR l.status = 'interested')
              AND l.merged_into IS NULL
              AND l.id <> crm_open_duplicates.lead
            ORDER BY l.created_at, l.id LIMIT 1) AS by_phone;
END
$$;
