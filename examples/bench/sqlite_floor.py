#!/usr/bin/env python3
"""SQLite's own cost of the pipeline-v1 per-lead calls, without a driver thread.

Runs the statements the SQLite store sends for `ingest`, `interact` and `transition`
(the same schema, from crm-store-sqlx/migrations/sqlite, the same pragmas, one
transaction per call, plus the read of the lead that the service does before a change)
through Python's in-process sqlite3 module, and prints microseconds per call. The gap
between these figures and the `pipeline --store sqlite` figures is the cost of the
driver: sqlx hands each statement's result to the async side through a worker thread.

    python3 examples/bench/sqlite_floor.py [N]      (default N = 20000)
"""
import glob, json, os, sqlite3, sys, tempfile, time, uuid

N = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
HERE = os.path.dirname(os.path.abspath(__file__))
MIGRATIONS = sorted(glob.glob(os.path.join(HERE, "../../crm-store-sqlx/migrations/sqlite/*.sql")))
T0 = 1769817600_000000  # 2026-01-31T00:00:00Z in microseconds
DAY = 86400_000000
SOURCES = ["web", "referral", "phone", "email", "event", "other"]
# As the store writes them since migration 9 (crm-store-sqlx/src/lead_writes.rs, sqlite/writes.rs).
OPEN = "(status = 'new' OR status = 'contacted' OR status = 'interested')"

db = os.path.join(tempfile.mkdtemp(), "floor.db")
c = sqlite3.connect(db, isolation_level=None)
for p in ("journal_mode = WAL", "synchronous = NORMAL", "foreign_keys = ON", "cache_size = -65536"):
    c.execute("PRAGMA " + p)
for m in MIGRATIONS:
    c.executescript(open(m).read())

ids = [uuid.uuid4().bytes for _ in range(N)]
lead_sql = ("INSERT INTO leads (id, name, email, phone, company, source, status, owner, created_by, "
            "created_at, updated_at, version, client_id, lost_reason, last_interaction_at, "
            "follow_up_notified_at, search_text) VALUES (?,?,?,?,?,?,'new',?,?,?,?,1,NULL,NULL,NULL,NULL,?)")
hist_sql = "INSERT INTO lead_history (lead_id, write_version, ord, version, at, actor, change) VALUES (?,?,0,?,?,?,?)"
event_sql = ("INSERT INTO events (seq, id, at, lead_id, actor, kind) VALUES ("
             "(SELECT MAX(IFNULL(MAX(seq), 0), (SELECT acked FROM event_ack WHERE id = 1)) + 1 "
             "FROM events), ?, ?, ?, ?, ?)")
dup_sql = ("INSERT INTO write_checks (duplicate) SELECT 1 WHERE EXISTS (SELECT 1 FROM leads WHERE email = ? AND "
           + OPEN + " AND id <> ?) OR EXISTS (SELECT 1 FROM leads WHERE phone = ? AND " + OPEN + " AND id <> ?)")
get_sql = "SELECT * FROM leads WHERE id = ?"


def per_call(phase, ops, started):
    print(json.dumps({"phase": phase, "ops": ops, "us_per_call": round((time.perf_counter() - started) / ops * 1e6, 1)}))


t = time.perf_counter()
for i, lid in enumerate(ids):
    owner = i % 37 + 1
    at = T0 - (i % 30) * DAY
    email, phone = f"lead{i}@example.com", f"+1555{i:07}"
    c.execute("BEGIN IMMEDIATE")
    c.execute(lead_sql, (lid, f"Lead {i}", email, phone, f"Company {i % 1000}", SOURCES[i % 6], owner, owner, at, at,
                         f"lead {i} {email} {phone}"))
    c.execute(hist_sql, (lid, 1, 1, at, owner, '{"type":"created"}'))
    c.execute(event_sql, (uuid.uuid4().bytes, at, lid, owner, '{"type":"lead_created"}'))
    c.execute(dup_sql, (email, lid, phone, lid))
    c.execute("COMMIT")
per_call("ingest", N, t)

ops, t = 0, time.perf_counter()
for i, lid in enumerate(ids):
    for j in range(i % 4):
        at = min(T0 - (i % 30) * DAY + (j + 1) * DAY, T0)
        c.execute(get_sql, (lid,)).fetchone()
        c.execute("BEGIN IMMEDIATE")
        c.execute("UPDATE leads SET last_interaction_at = MAX(IFNULL(last_interaction_at, ?), ?) "
                  "WHERE id = ? AND status <> 'converted'", (at, at, lid))
        c.execute("INSERT INTO write_checks (lead_unchanged) SELECT 1 WHERE changes() = 0")
        c.execute("INSERT INTO interactions (id, lead_id, kind, occurred_at, logged_by, logged_at, notes) "
                  "VALUES (?,?,?,?,?,?,'')", (uuid.uuid4().bytes, lid, "call", at, i % 37 + 1, T0))
        c.execute(event_sql, (uuid.uuid4().bytes, T0, lid, i % 37 + 1, '{"type":"interaction_logged"}'))
        c.execute("COMMIT")
        ops += 1
per_call("interact", ops, t)

moves = {3: ["contacted"], 4: ["contacted"], 5: ["contacted", "interested"], 6: ["contacted", "interested"],
         7: ["contacted", "interested", "converted"], 8: ["lost"], 9: ["contacted", "lost"]}
ops, t = 0, time.perf_counter()
for i, lid in enumerate(ids):
    version = 1
    for to in moves.get(i % 10, []):
        c.execute(get_sql, (lid,)).fetchone()
        c.execute("BEGIN IMMEDIATE")
        c.execute("UPDATE leads SET name = ?, email = ?, phone = ?, company = ?, source = ?, status = ?, owner = ?, "
                  "updated_at = ?, version = ?, lost_reason = ?, search_text = ? WHERE id = ? AND version = ?",
                  (f"Lead {i}", f"lead{i}@example.com", f"+1555{i:07}", f"Company {i % 1000}", SOURCES[i % 6], to,
                   i % 37 + 1, T0, version + 1, "no budget" if to == "lost" else None, f"lead {i}", lid, version))
        c.execute("INSERT INTO write_checks (lead_unchanged) SELECT 1 WHERE changes() = 0")
        c.execute(hist_sql, (lid, version + 1, version + 1, T0, i % 37 + 1, '{"type":"status_changed"}'))
        c.execute(event_sql, (uuid.uuid4().bytes, T0, lid, i % 37 + 1, '{"type":"status_changed"}'))
        c.execute("COMMIT")
        version += 1
        ops += 1
per_call("transition", ops, t)
