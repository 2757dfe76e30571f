-- Rows imported from lead files (crm_core::ImportKey: the file's key and the row number),
-- each with the lead it wrote, stored in the transaction of that write: a file run again
-- after an interruption skips the rows done, and a row is never imported twice.
CREATE TABLE import_keys (
    key     TEXT NOT NULL PRIMARY KEY,
    lead_id BLOB NOT NULL CHECK (length(lead_id) = 16)
) WITHOUT ROWID;
