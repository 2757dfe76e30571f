//! What every command shares: the [`App`] a command runs with, its printing (a table for
//! people or one JSON value with `--json`), employees' names for tables, and the
//! [`Failure`] a command ends with (its exit code, its `kind` and how it is reported).

use std::collections::BTreeMap;

use crm_cli::output::{error_kind, exit, exit_code};
use crm_config::sentence;
use crm_core::{Crm, CrmError, EmployeeId, Phone, PhoneRegion};
use serde_json::json;

/// A failure with its exit code and its stable `kind` for `--json`.
pub(crate) struct Failure {
    pub(crate) code: u8,
    pub(crate) kind: &'static str,
    pub(crate) message: String,
}

impl From<CrmError> for Failure {
    fn from(e: CrmError) -> Self {
        let mut message = sentence(&e);
        if matches!(e, CrmError::Duplicate { .. }) {
            message.push_str(" (pass --allow-duplicate to do so)");
        }
        Self {
            code: exit_code(&e),
            kind: error_kind(&e),
            message,
        }
    }
}

impl Failure {
    /// Writes the failure to stderr: `error: ...`, or one JSON object with `--json`.
    pub(crate) fn report(&self, json: bool) {
        if json {
            eprintln!(
                "{}",
                json!({"error": {"kind": self.kind, "message": self.message, "exit_code": self.code}})
            );
        } else {
            eprintln!("error: {}", self.message);
        }
    }
}

impl From<crm_core::ValidationError> for Failure {
    fn from(e: crm_core::ValidationError) -> Self {
        CrmError::from(e).into()
    }
}

impl From<crm_core::StoreError> for Failure {
    fn from(e: crm_core::StoreError) -> Self {
        CrmError::from(e).into()
    }
}

pub(crate) fn usage(message: impl Into<String>) -> Failure {
    Failure {
        code: exit::USAGE,
        kind: "usage",
        message: message.into(),
    }
}

pub(crate) fn invalid(message: String) -> Failure {
    Failure {
        code: exit::VALIDATION,
        kind: "invalid_input",
        message,
    }
}

pub(crate) type Out = Result<(), Failure>;

/// Display labels of employees, by id.
pub(crate) type Names = BTreeMap<EmployeeId, String>;

/// An employee's label: the name and id when known, else the id.
pub(crate) fn who(names: &Names, id: EmployeeId) -> String {
    names.get(&id).cloned().unwrap_or_else(|| id.to_string())
}

pub(crate) struct App {
    pub(crate) crm: Crm,
    pub(crate) actor: Option<EmployeeId>,
    pub(crate) json: bool,
    /// Only the commands that read phones need it (loading the phone metadata costs time).
    pub(crate) region: Option<PhoneRegion>,
    /// Where people see dates: the configured `time_zone`.
    pub(crate) time_zone: chrono_tz::Tz,
}

impl App {
    pub(crate) fn actor(&self) -> Result<EmployeeId, Failure> {
        self.actor.ok_or_else(|| {
            usage("this command needs the acting employee: pass --as ID or set CRM_AS")
        })
    }

    /// Employees' names for the human tables, looked up once per distinct id: `سارة (7)`,
    /// or the bare id when the directory does not know them. Empty with `--json`.
    pub(crate) async fn names(&self, ids: impl IntoIterator<Item = EmployeeId>) -> Names {
        let mut names = Names::new();
        if self.json {
            return names;
        }
        let Some(actor) = self.actor else {
            return names;
        };
        for id in ids {
            if names.contains_key(&id) {
                continue;
            }
            let label = match self.crm.employee(actor, id).await {
                Ok(Some(e)) => format!("{} ({id})", e.name),
                _ => id.to_string(),
            };
            names.insert(id, label);
        }
        names
    }

    /// Reads a phone as typed, local forms in the configured region.
    pub(crate) fn phone(&self, typed: &str) -> Result<Phone, crm_core::ValidationError> {
        match self.region {
            Some(region) => Phone::parse_in(typed, region),
            None => Phone::parse(typed),
        }
    }

    pub(crate) fn print(&self, value: serde_json::Value, human: impl FnOnce() -> String) {
        if self.json {
            println!("{value}");
        } else {
            print!("{}", human());
        }
    }
}

/// Items joined with `, `, or `-` when there are none.
pub(crate) fn join<T: std::fmt::Display>(items: impl Iterator<Item = T>) -> String {
    let v: Vec<String> = items.map(|t| t.to_string()).collect();
    if v.is_empty() {
        "-".into()
    } else {
        v.join(", ")
    }
}

/// An optional value parsed, its error as a [`Failure`].
pub(crate) fn opt<T>(
    v: Option<&str>,
    parse: impl Fn(&str) -> Result<T, crm_core::ValidationError>,
) -> Result<Option<T>, Failure> {
    Ok(v.map(parse).transpose()?)
}

/// `--email ""` clears an optional field in an edit.
pub(crate) fn clearable<T>(
    v: Option<&str>,
    parse: impl Fn(&str) -> Result<T, crm_core::ValidationError>,
) -> Result<Option<Option<T>>, Failure> {
    Ok(match v {
        None => None,
        Some(s) if s.trim().is_empty() => Some(None),
        Some(s) => Some(Some(parse(s)?)),
    })
}

/// A duration for people: `3d 4h`, `5h 20m`, `12m`, `40s`.
pub(crate) fn duration(d: chrono::TimeDelta) -> String {
    let secs = d.num_seconds().max(0);
    let (days, hours, mins) = (secs / 86_400, secs % 86_400 / 3600, secs % 3600 / 60);
    match (days, hours, mins) {
        (0, 0, 0) => format!("{secs}s"),
        (0, 0, m) => format!("{m}m"),
        (0, h, m) => format!("{h}h {m}m"),
        (d, h, _) => format!("{d}d {h}h"),
    }
}
