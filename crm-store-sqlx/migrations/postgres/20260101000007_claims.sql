-- Claims, so that what a crash interrupts is redone, and concurrent workers split the work
-- (crm_core::follow_up, crm_core::conversion). Workers claim with FOR UPDATE SKIP LOCKED, so
-- two of them never wait on, or take, the same rows.

-- A pending client is claimed by the call sending it until claimed_until; NULL when free. A
-- holder that crashed loses its claim when the time passes.
ALTER TABLE pending_clients ADD COLUMN claimed_until timestamptz;

-- The follow-up outbox: a sweep marks a due lead notified and writes its notice here in the
-- same transaction; the notice leaves when the notifier accepted it. A notice whose sender
-- crashed keeps its claim until claimed_until, then the next sweep sends it again under the
-- same id (at-least-once delivery, deduplicated by the notice id).
CREATE TABLE follow_up_notices (
    id              uuid        NOT NULL PRIMARY KEY,   -- NoticeId, v7
    lead_id         uuid        NOT NULL REFERENCES leads (id),
    notice          text        NOT NULL,               -- JSON of crm_core::FollowUpNotice
    claimed_until   timestamptz NOT NULL,               -- free once it has passed
    attempts        bigint      NOT NULL DEFAULT 0,
    last_error      text,
    last_attempt_at timestamptz
);
-- No index on claimed_until: the outbox holds only notices not yet delivered (a handful, or
-- a backlog while the notifier is down), read in id order.

-- Search keys now read Persian-keyboard letters as Arabic ones and fold the hamza seats
-- (crm_core::text::search_key): refold the stored keys the same way.
UPDATE leads SET search_text =
    replace(replace(replace(replace(replace(search_text,
        'ی', 'ي'), 'ک', 'ك'), 'ۀ', 'ه'), 'ؤ', 'و'), 'ئ', 'ي')
WHERE search_text ~ '[یکۀؤئ]';
