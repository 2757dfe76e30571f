-- Leads that arrive by themselves (issue 23): the capture channel (a web form, a mailbox)
-- that took an interaction in, NULL for one an employee logged. A capture's key is kept in
-- import_keys ('capture:<key>'), in the commit that wrote it.
ALTER TABLE interactions ADD COLUMN captured_by TEXT;

-- The campaign a captured lead came from (a web form's utm_campaign), set when the lead is
-- made; reports filter by it.
ALTER TABLE leads ADD COLUMN campaign TEXT;
CREATE INDEX leads_campaign ON leads (campaign) WHERE campaign IS NOT NULL;
