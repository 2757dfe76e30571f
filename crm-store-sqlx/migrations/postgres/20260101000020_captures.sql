-- Leads that arrive by themselves (issue 23): the capture channel (a web form, a mailbox)
-- that took an interaction in, NULL for one an employee logged. A capture's key is kept in
-- import_keys ('capture:<key>'), in the commit that wrote it.
ALTER TABLE interactions ADD COLUMN captured_by TEXT;
