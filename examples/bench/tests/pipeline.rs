//! The pipeline benchmark at a small N reproduces the checksums the workload's arithmetic
//! gives, on every store.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use assert_cmd::Command;
use serde_json::{Value, json};

/// The checksum line computed straight from `shared/bench/pipeline-v1.md`.
fn expected(n: usize) -> Value {
    let (mut interactions, mut changes, mut opps, mut value, mut clients, mut stale) =
        (0, 0, 0, 0u64, 0, 0);
    let mut report = [0u64; 5];
    let mut report7 = [0u64; 5];
    for i in 0..n {
        interactions += i % 4;
        let r = i % 10;
        if (5..=7).contains(&r) {
            opps += 1;
            value += ((i % 100 + 1) * 1000) as u64;
        }
        let (steps, status) = match r {
            0..=2 => (0, 0),
            3 | 4 => (1, 1),
            5 | 6 => (2, 2),
            7 => (3, 3),
            8 => (1, 4),
            _ => (2, 4),
        };
        changes += steps;
        clients += usize::from(r == 7);
        stale += usize::from(r <= 2 && i % 4 == 0 && i % 30 >= 5);
        report[status] += 1;
        if i % 37 + 1 == 7 {
            report7[status] += 1;
        }
    }
    let m = |r: [u64; 5]| json!({"new": r[0], "contacted": r[1], "interested": r[2], "converted": r[3], "lost": r[4]});
    json!({
        "leads": n, "interactions": interactions, "status_changes": changes,
        "opportunities": opps, "opportunity_value_minor": value, "clients": clients,
        "stale": stale, "stale_second_sweep": 0, "report": m(report), "report_employee_7": m(report7),
    })
}

fn run(store: &str, n: usize) -> Vec<Value> {
    let mut cmd = Command::cargo_bin("pipeline").unwrap();
    cmd.args(["--store", store, "--n", &n.to_string()]);
    if store == "postgres" {
        // The benchmark makes its own fresh schema on this server.
        cmd.env("CRM_POSTGRES_URL", crm_tests::postgres::url());
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn check(store: &str) {
    let n = 600;
    let lines = run(store, n);
    let phases: Vec<_> = lines
        .iter()
        .map(|l| l["phase"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        phases,
        [
            "ingest",
            "interact",
            "opportunity",
            "transition",
            "sweep",
            "report",
            "detail",
            "checksum"
        ]
    );
    for l in &lines {
        assert_eq!(
            (l["workload"].as_str(), l["store"].as_str(), l["n"].as_u64()),
            (Some("pipeline-v1"), Some(store), Some(n as u64))
        );
    }
    let exp = expected(n);
    let sum = &lines[7];
    for key in exp.as_object().unwrap().keys() {
        assert_eq!(sum[key], exp[key], "{store}: checksum {key}");
    }
    assert_eq!(lines[0]["ops"], n);
    assert_eq!(lines[1]["ops"], exp["interactions"]);
    assert_eq!(lines[3]["ops"], exp["status_changes"]);
    assert_eq!(lines[4]["ops"], exp["stale"]);
    assert_eq!(lines[5]["ops"], 40);
    assert_eq!(lines[6]["ops"], 1000);
}

#[test]
fn checksums_match_on_memory() {
    check("memory");
}

#[test]
fn checksums_match_on_sqlite() {
    check("sqlite");
}

#[test]
#[cfg_attr(crm_no_postgres, ignore = "CRM_POSTGRES_URL is not set")]
fn checksums_match_on_postgres() {
    check("postgres");
}
