//! `crm import FILE --dry-run` on real files: CSV in UTF-8 with a BOM, semicolon-delimited,
//! Windows-1256 bytes written by Python, and an XLSX written by openpyxl.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;

use serde_json::Value;

fn db() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crm.db").to_string_lossy().into_owned();
    (dir, db)
}

/// Runs `crm --json import FILE --dry-run ARGS`; returns the exit code, stdout as JSON (if
/// any) and stderr.
fn dry_run(db: &str, file: &Path, args: &[&str]) -> (i32, Value, String) {
    let out = assert_cmd::Command::cargo_bin("crm")
        .unwrap()
        .env_remove("CRM_DB")
        .env_remove("CRM_AS")
        .env_remove("CRM_REGION")
        .args(["--db", db, "--json", "import"])
        .arg(file)
        .arg("--dry-run")
        .args(args)
        .output()
        .unwrap();
    let json = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (
        out.status.code().unwrap(),
        json,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn ok(db: &str, file: &Path, args: &[&str]) -> Value {
    let (code, json, err) = dry_run(db, file, args);
    assert_eq!(code, 0, "{err}");
    json
}

/// The rows of a dry run as (row, name or error).
fn rows(v: &Value) -> Vec<(u64, String)> {
    v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let what = if r["valid"] == true {
                r["lead"]["name"].as_str().unwrap().to_owned()
            } else {
                format!("error: {}", r["error"].as_str().unwrap())
            };
            (r["row"].as_u64().unwrap(), what)
        })
        .collect()
}

#[test]
fn utf8_bom_csv_with_arabic_headers() {
    let (dir, db) = db();
    let f = dir.path().join("leads.csv");
    std::fs::write(
        &f,
        "\u{FEFF}الاسم,الجوال,البريد,الشركة,المصدر,المسؤول,ملاحظات,لون\r\n\
         سارة,٠٥٠١٢٣٤٥٦٧,,شركة النور,الموقع,7,\"تتصل\nغدا\",أزرق\r\n\
         ,0501234567,,,,,,\r\n\
         Ali,12,,,,,,\r\n\
         ,,,,,,,\r\n\
         Omar,,omar@example.com,,fair,,,\r\n",
    )
    .unwrap();
    let v = ok(&db, &f, &[]);
    assert_eq!(v["valid"], 2);
    assert_eq!(v["errors"], 2);
    assert_eq!(v["ignored_columns"], serde_json::json!(["لون"]));
    let r = rows(&v);
    assert_eq!(r[0], (2, "سارة".to_owned()));
    assert_eq!(r[1].0, 4, "a row's number is its line (the note spans two)");
    assert!(r[1].1.starts_with("error: name: "), "{:?}", r[1]);
    assert_eq!(r[2].0, 5);
    assert!(r[2].1.starts_with("error: phone: "), "{:?}", r[2]);
    assert_eq!(r[3], (7, "Omar".to_owned()), "the blank row is left out");
    let sara = &v["rows"][0]["lead"];
    assert_eq!(sara["phone"]["key"], "+966501234567");
    assert_eq!(sara["source"], "web");
    assert_eq!(sara["owner"], 7);
    assert_eq!(v["rows"][3]["lead"]["source"], "fair");
}

#[test]
fn semicolon_csv_and_ambiguous_delimiters() {
    let (dir, db) = db();
    let f = dir.path().join("semi.csv");
    std::fs::write(
        &f,
        "name;phone;company\n\"Al-Noor; Ltd\";0501234567;\"A, B\"\n",
    )
    .unwrap();
    let v = ok(&db, &f, &[]);
    assert_eq!(rows(&v), [(2, "Al-Noor; Ltd".to_owned())]);
    assert_eq!(v["rows"][0]["lead"]["company"], "A, B");

    let f = dir.path().join("both.csv");
    std::fs::write(&f, "name,x;phone\nA,1;0501234567\n").unwrap();
    let (code, _, err) = dry_run(&db, &f, &[]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("ambiguous"), "{err}");
    let v = ok(
        &db,
        &f,
        &[
            "--delimiter",
            ";",
            "--map",
            write_map(dir.path()).to_str().unwrap(),
        ],
    );
    assert_eq!(rows(&v), [(2, "A,1".to_owned())]);
}

fn write_map(dir: &Path) -> std::path::PathBuf {
    let p = dir.join("map.toml");
    std::fs::write(
        &p,
        "[columns]\n\"name,x\" = \"name\"\n\"phone\" = \"phone\"\n",
    )
    .unwrap();
    p
}

fn python(script: &str, arg: &Path) {
    let out = Command::new("python3")
        .args(["-c", script])
        .arg(arg)
        .output()
        .unwrap_or_else(|e| panic!("python3 is needed (pip install openpyxl): {e}"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
#[cfg_attr(crm_no_export_tools, ignore = "openpyxl or poppler-utils missing")]
fn windows_1256_is_read_only_when_said() {
    let (dir, db) = db();
    let f = dir.path().join("excel.csv");
    python(
        "import sys; open(sys.argv[1], 'wb').write('الاسم;الجوال;الشركة\\r\\nفاطمة الزهراء;0551234567;مؤسسة الأمل\\r\\n'.encode('cp1256'))",
        &f,
    );
    let (code, _, err) = dry_run(&db, &f, &[]);
    assert_eq!(code, 3);
    assert!(
        err.contains("not UTF-8") && err.contains("Windows-1256"),
        "{err}"
    );
    let v = ok(&db, &f, &["--encoding", "windows-1256"]);
    assert_eq!(rows(&v), [(2, "فاطمة الزهراء".to_owned())]);
    assert_eq!(v["rows"][0]["lead"]["company"], "مؤسسة الأمل");

    // A UTF-8 file said to be Windows-1256 is refused, not read as mojibake.
    let u = dir.path().join("utf8.csv");
    std::fs::write(&u, "الاسم,phone\nسارة,0501234567\n").unwrap();
    let (code, _, err) = dry_run(&db, &u, &["--encoding", "windows-1256"]);
    assert_eq!(code, 3);
    assert!(err.contains("valid UTF-8"), "{err}");
}

#[test]
#[cfg_attr(crm_no_export_tools, ignore = "openpyxl or poppler-utils missing")]
fn xlsx_written_by_openpyxl() {
    let (dir, db) = db();
    let f = dir.path().join("leads.xlsx");
    python(
        r#"
import sys, openpyxl
wb = openpyxl.Workbook()
ws = wb.active
ws.append(["Name", "Mobile", "E-mail", "Company", "Owner ID"])
ws.append(["خالد العمري", 966551234567, None, "شركة الرياض", 3])
ws.append(["Mona", None, "mona@example", None, None])
ws.append(["ليلى", "٠٥٠٩٨٧٦٥٤٣", "layla@example.com", None, "٣"])
wb.save(sys.argv[1])
"#,
        &f,
    );
    let v = ok(&db, &f, &[]);
    let r = rows(&v);
    assert_eq!(r[0], (2, "خالد العمري".to_owned()));
    assert_eq!(
        v["rows"][0]["lead"]["phone"]["key"], "+966551234567",
        "a phone typed as a number"
    );
    assert_eq!(v["rows"][0]["lead"]["owner"], 3);
    assert_eq!(r[1].0, 3);
    assert!(r[1].1.starts_with("error: email: "), "{:?}", r[1]);
    assert_eq!(r[2], (4, "ليلى".to_owned()));
    assert_eq!(v["rows"][2]["lead"]["owner"], 3);
}

#[test]
fn a_file_without_a_name_column_is_refused() {
    let (dir, db) = db();
    let f = dir.path().join("x.csv");
    std::fs::write(&f, "phone,email\n0501234567,a@example.com\n").unwrap();
    let (code, _, err) = dry_run(&db, &f, &[]);
    assert_eq!(code, 3);
    assert!(err.contains("no name column"), "{err}");
}

// ---- The write path: `crm --as ID import FILE [--dry-run] [--on-duplicate ...]`. ----

/// A database with a manager (3) and a sales employee (1).
fn staffed() -> (tempfile::TempDir, String) {
    let (dir, db) = db();
    for (id, name, role, actor) in [
        ("3", "Boss", "manager", None),
        ("1", "سارة", "sales", Some("3")),
    ] {
        let mut c = assert_cmd::Command::cargo_bin("crm").unwrap();
        c.env_remove("CRM_DB")
            .env_remove("CRM_AS")
            .env_remove("CRM_REGION");
        c.args(["--db", &db]);
        if let Some(a) = actor {
            c.args(["--as", a]);
        }
        c.args([
            "employee", "add", "--id", id, "--name", name, "--role", role,
        ])
        .assert()
        .success();
    }
    (dir, db)
}

/// Runs `crm --json --as ACTOR import FILE ARGS`: exit code, stdout as JSON, stderr.
fn import_as(db: &str, actor: &str, file: &Path, args: &[&str]) -> (i32, Value, String) {
    let out = assert_cmd::Command::cargo_bin("crm")
        .unwrap()
        .env_remove("CRM_DB")
        .env_remove("CRM_AS")
        .env_remove("CRM_REGION")
        .args(["--db", db, "--json", "--as", actor, "import"])
        .arg(file)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        serde_json::from_slice(&out.stdout).unwrap_or(Value::Null),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn results(v: &Value) -> Vec<(u64, String)> {
    v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["row"].as_u64().unwrap(),
                r["result"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn leads(db: &str) -> Vec<Value> {
    let out = assert_cmd::Command::cargo_bin("crm")
        .unwrap()
        .env_remove("CRM_DB")
        .env_remove("CRM_AS")
        .args([
            "--db", db, "--json", "--as", "3", "lead", "list", "--limit", "100",
        ])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["items"].as_array().cloned().unwrap_or_default()
}

const FILE: &str = "الاسم,الجوال,البريد,الشركة\r\n\
     سارة الأحمد,0501234567,sara@example.com,شركة النور\r\n\
     Ali,12,,\r\n\
     Omar,,omar@example.com,\r\n\
     Omar again,,OMAR@example.com,Acme\r\n";

#[test]
fn import_writes_rows_lists_errors_and_exits_8_on_refused_rows() {
    let (dir, db) = staffed();
    let f = dir.path().join("leads.csv");
    std::fs::write(&f, FILE).unwrap();
    let errors = dir.path().join("errors.csv");
    let (code, v, err) = import_as(&db, "1", &f, &["--errors", errors.to_str().unwrap()]);
    assert_eq!(code, 8, "{err}");
    assert!(err.contains("1 row(s) were refused"), "{err}");
    assert_eq!(
        results(&v),
        [
            (2, "created".to_owned()),
            (3, "failed".to_owned()),
            (4, "created".to_owned()),
            (5, "skipped".to_owned())
        ]
    );
    assert_eq!(v["created"], 2);
    assert_eq!(v["rows"][3]["reason"], "duplicate");
    assert_eq!(v["rows"][3]["lead"], v["rows"][2]["lead"]);
    assert_eq!(leads(&db).len(), 2);
    let text = std::fs::read_to_string(&errors).unwrap();
    let mut lines = text.trim_start_matches('\u{FEFF}').lines();
    assert_eq!(lines.next(), Some("row,reason,الاسم,الجوال,البريد,الشركة"));
    let line = lines.next().unwrap();
    assert!(
        line.starts_with("3,\"phone: invalid phone number"),
        "{line}"
    );
    assert!(line.ends_with(",Ali,12,,"), "{line}");
    assert_eq!(lines.next(), None);

    // Run again (after an interruption, say): nothing is created twice, even with create.
    let (code, v, err) = import_as(&db, "1", &f, &["--on-duplicate", "create"]);
    assert_eq!(code, 8, "{err}");
    assert_eq!(v["created"], 1, "only row 5, which was skipped before: {v}");
    assert_eq!(v["rows"][0]["reason"], "already_imported");
    assert_eq!(leads(&db).len(), 3);
}

#[test]
fn dry_run_reports_every_row_and_writes_nothing() {
    let (dir, db) = staffed();
    let f = dir.path().join("leads.csv");
    std::fs::write(&f, FILE).unwrap();
    let (code, v, err) = import_as(&db, "1", &f, &["--dry-run", "--on-duplicate", "update"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(v["dry_run"], true);
    assert_eq!(
        results(&v),
        [
            (2, "created".to_owned()),
            (3, "failed".to_owned()),
            (4, "created".to_owned()),
            (5, "updated".to_owned())
        ]
    );
    assert!(leads(&db).is_empty());
}

#[test]
fn on_duplicate_update_changes_the_matched_lead() {
    let (dir, db) = staffed();
    let f = dir.path().join("leads.csv");
    std::fs::write(&f, "name,email\r\nOmar,omar@example.com\r\n").unwrap();
    let (code, _, err) = import_as(&db, "1", &f, &[]);
    assert_eq!(code, 0, "{err}");
    let g = dir.path().join("more.csv");
    std::fs::write(
        &g,
        "name,email,company\r\nOmar H.,omar@example.com,Acme\r\n",
    )
    .unwrap();
    let (code, v, err) = import_as(&db, "1", &g, &["--on-duplicate", "update"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(results(&v), [(2, "updated".to_owned())]);
    let all = leads(&db);
    assert_eq!(all.len(), 1);
    assert_eq!(all[0]["name"], "Omar H.");
    assert_eq!(all[0]["company"], "Acme");
    assert_eq!(all[0]["version"], 2);
}

#[test]
fn bad_options_and_actors_get_their_exit_codes() {
    let (dir, db) = staffed();
    let f = dir.path().join("leads.csv");
    std::fs::write(&f, FILE).unwrap();
    let (code, _, _) = import_as(&db, "1", &f, &["--on-duplicate", "merge"]);
    assert_eq!(code, 2, "an unknown policy is a usage error");
    let (code, v, err) = import_as(&db, "99", &f, &[]);
    assert_eq!(code, 4, "an unknown employee: {v} {err}");
    assert!(leads(&db).is_empty());
    let (code, _, err) = import_as(&db, "1", &f, &["--batch-size", "0"]);
    assert_eq!(code, 3, "{err}");
}

/// The peak resident memory (VmHWM, KiB) of `crm --json --as 1 import FILE` on `db`, read
/// from /proc while it runs (the high-water mark only grows, so the last reading before
/// it exits is its peak to within the last few milliseconds).
#[cfg(target_os = "linux")]
fn import_peak_kib(db: &str, file: &Path) -> u64 {
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("crm"))
        .env_remove("CRM_DB")
        .env_remove("CRM_AS")
        .env_remove("CRM_REGION")
        .args(["--db", db, "--json", "--as", "1", "import"])
        .arg(file)
        .args(["--batch-size", "500"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let status = format!("/proc/{}/status", child.id());
    let mut peak = 0;
    loop {
        if let Ok(text) = std::fs::read_to_string(&status)
            && let Some(kib) = text
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        {
            peak = peak.max(kib);
        }
        if let Some(s) = child.try_wait().unwrap() {
            assert!(s.success(), "the import failed: {s}");
            return peak;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// A file's rows are read, decided and written a batch at a time: importing 60,000 rows
/// (5 MB) peaks within 25 MB of importing 100 (the rows of both match one stored lead, so
/// the database, and SQLite's page cache, stay the size they are). Reading the whole file
/// first and keeping every row and its report took 85 MB more for the 60,000 rows (debug
/// build), growing with the file.
#[test]
#[cfg(target_os = "linux")]
fn import_memory_does_not_grow_with_the_file() {
    let (dir, db) = staffed();
    let file = |name: &str, rows: usize| {
        let mut text = String::from("name,phone,email,company,notes\n");
        for i in 0..rows {
            text.push_str(&format!(
                "Lead number {i},,same@example.com,Company {},a note that makes the row longer {i}\n",
                i % 97
            ));
        }
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let small = file("small.csv", 100);
    let large = file("large.csv", 60_000);
    let base = import_peak_kib(&db, &small);
    let peak = import_peak_kib(&db, &large);
    assert!(
        peak < base + 25 * 1024,
        "100 rows peaked at {base} KiB, 60,000 rows at {peak} KiB"
    );
    assert_eq!(leads(&db).len(), 1, "every other row matched the first");
}

/// An import killed while it streams (rows written while the file is still being read) and
/// run again creates no lead twice: every row is created once, by one run or the other.
#[test]
fn an_import_killed_midway_and_run_again_creates_no_lead_twice() {
    use std::io::Read as _;
    const ROWS: usize = 12_000;
    let (dir, db) = staffed();
    let mut text = String::from("name,email\n");
    for i in 0..ROWS {
        text.push_str(&format!("Lead {i},lead{i}@example.com\n"));
    }
    let file = dir.path().join("leads.csv");
    std::fs::write(&file, text).unwrap();
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("crm"))
        .env_remove("CRM_DB")
        .env_remove("CRM_AS")
        .env_remove("CRM_REGION")
        .args(["--db", &db, "--json", "--as", "1", "import"])
        .arg(&file)
        .args(["--batch-size", "500"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Killed once its output shows 2,000 rows done: batches are written as they are read.
    let mut out = child.stdout.take().unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 8192];
    while !String::from_utf8_lossy(&seen).contains("\"row\":2001}") {
        let n = out.read(&mut buf).unwrap();
        assert!(n > 0, "the import ended before 2,000 rows were reported");
        seen.extend_from_slice(&buf[..n]);
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let (code, v, err) = import_as(&db, "1", &file, &["--on-duplicate", "create"]);
    assert_eq!(code, 0, "{err}");
    let again = v["rows"].as_array().unwrap();
    assert_eq!(again.len(), ROWS);
    let done_before = again
        .iter()
        .filter(|r| r["reason"] == "already_imported")
        .count();
    assert!(done_before >= 2000, "{done_before}");
    assert_eq!(v["created"], ROWS - done_before);
    let report = assert_cmd::Command::cargo_bin("crm")
        .unwrap()
        .env_remove("CRM_DB")
        .env_remove("CRM_AS")
        .args(["--db", &db, "--json", "--as", "3", "report"])
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&report.stdout).unwrap();
    assert_eq!(report["total"], ROWS);
}
