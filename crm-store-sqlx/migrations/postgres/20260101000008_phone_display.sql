-- Phones keep two parts from here on (crm_core::Phone): `phone`, the key that duplicate
-- detection compares (E.164, plus ;ext=NNN for an extension: +966501234567,
-- +13027654235;ext=116), and `phone_display`, the number as it was typed (٠٥٠١٢٣٤٥٦٧), for
-- people to read.
--
-- Before this, `phone` held the typed digits, ASCII, with a leading + or 00 as typed.
-- - Existing rows show what was stored: phone_display = phone.
-- - A key typed with 00 is the international form: it becomes +, so it matches the same
--   number entered from now on (00966501234567 -> +966501234567).
-- - A key typed in local form (0501234567) cannot be turned into E.164 here: which country
--   it belongs to depends on the region it was typed in, which SQL does not know. Such rows
--   keep their key (ASCII digits without +); crm_core::Phone::from_stored reads it back as a
--   legacy key, it matches only the same legacy key, and it becomes E.164 the next time the
--   lead's phone is edited (the edit reads the typed text in the host's region). Hosts
--   with one region can find them with: SELECT id, phone FROM leads WHERE phone NOT LIKE '+%'.
-- phone_display stays NULL exactly when phone is NULL; a reader shows the key when it is
-- NULL (rows written by an older binary during a rolling upgrade).
ALTER TABLE leads ADD COLUMN phone_display text;
UPDATE leads SET phone_display = phone WHERE phone IS NOT NULL;
UPDATE leads SET phone = '+' || substr(phone, 3) WHERE phone LIKE '00%';
-- Search matches the key too (crm_core::Lead::search_text): a key that just became E.164 is
-- added to the stored search text, so "+966501234567" finds the row as it finds new ones.
UPDATE leads SET search_text = search_text || chr(10) || phone
WHERE phone LIKE '+%' AND phone_display LIKE '00%';

-- The ready clients table keeps the same two parts.
ALTER TABLE clients ADD COLUMN phone_display text;
UPDATE clients SET phone_display = phone WHERE phone IS NOT NULL;
UPDATE clients SET phone = '+' || substr(phone, 3) WHERE phone LIKE '00%';
