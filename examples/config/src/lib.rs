//! The one configuration of the crm programs, and the one place that builds the library's
//! [`Crm`] from it.
//!
//! The `crm` tool and `crm-server` read their settings the same way, in this order, each
//! later source overriding the earlier ones (the quickstart sets its own with
//! [`Config::from_pairs`], and builds the library through the same [`Settings::connect`]):
//!
//! 1. the built-in defaults;
//! 2. a TOML file (`crm.toml`), named by `--config` or `$CRM_CONFIG`;
//! 3. environment variables, `CRM_` and the key in capitals (`CRM_VISIBILITY`);
//! 4. command-line flags (`--visibility`).
//!
//! Every setting is one entry of [`KEYS`], with its documentation; a key the file names
//! that is not there, or a value that does not parse, is refused before anything is opened,
//! naming the key and where the value came from. [`Config::rows`] says what is in force and
//! where each value came from (`crm config check`).
//!
//! ```
//! use crm_config::{Config, Sources};
//!
//! let file = "visibility = \"own\"\nweekend = [\"fri\", \"sat\"]\n";
//! let config = Config::from_sources(Sources {
//!     file: Some(("crm.toml".into(), file.to_owned())),
//!     env: &|name| (name == "CRM_REGION").then(|| "AE".to_owned()),
//!     flags: vec![("db".into(), "--db".into(), "sqlite::memory:".into())],
//! })?;
//! assert_eq!(config.settings().visibility.to_string(), "own");
//! assert_eq!(config.origin("region").to_string(), "$CRM_REGION");
//! assert_eq!(config.origin("db").to_string(), "--db");
//! # Ok::<(), crm_config::ConfigError>(())
//! ```

pub mod form;
pub mod input;
pub mod mailbox;

pub use form::FormSpec;
pub use input::{parse_date, parse_instant, sentence};
pub use mailbox::MailboxSpec;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use chrono::NaiveDate;
use chrono_tz::Tz;
use crm_core::calendar::{default_weekend, parse_time_zone, parse_weekdays};
use crm_core::scoring::{RulePoints, Rules};
use crm_core::{
    AssignmentRule, AssignmentRules, CaptureChannel, Crm, CrmBuilder, Currencies, EscalationRule,
    FollowUpRule, LogNotifier, LostReasons, NewSources, PhoneRegion, Sources as LeadSources,
    StageProbabilities, StoreError, SystemClock, Visibility, WorkCalendar,
};

/// One setting: its name in the file, its environment variable, its flag, its default and
/// what it means.
#[derive(Clone, Copy, Debug)]
pub struct Key {
    /// The key in `crm.toml`.
    pub name: &'static str,
    /// The environment variable.
    pub env: &'static str,
    /// The command-line flag, where a program has one.
    pub flag: &'static str,
    /// The value when nothing sets it (`""`: not set).
    pub default: &'static str,
    /// What a TOML array of values is joined with into the one-line form (`None`: a single
    /// value only).
    list: Option<char>,
    /// What it means.
    pub help: &'static str,
}

/// Every setting of the crm programs.
pub const KEYS: &[Key] = &[
    Key {
        name: "db",
        env: "CRM_DB",
        flag: "--db",
        default: "crm.db",
        list: None,
        help: "the database: a SQLite file path or URL (created if missing), or postgres://...",
    },
    Key {
        name: "region",
        env: "CRM_REGION",
        flag: "--region",
        default: "SA",
        list: None,
        help: "the region phones typed in local form belong to (ISO 3166: SA reads 0501234567 \
               as +966501234567)",
    },
    Key {
        name: "time_zone",
        env: "CRM_TIME_ZONE",
        flag: "--time-zone",
        default: "",
        list: None,
        help: "the IANA time zone of the working calendar and of dates shown to people \
               (default: $TZ when it names one, else UTC)",
    },
    Key {
        name: "visibility",
        env: "CRM_VISIBILITY",
        flag: "--visibility",
        default: "all",
        list: None,
        help: "who sees which leads: all, team (the team's leads; a manager the teams they \
               lead) or own (one's own leads; a manager the teams they lead)",
    },
    Key {
        name: "assign",
        env: "CRM_ASSIGN",
        flag: "--assign",
        default: "",
        list: Some(';'),
        help: "assignment rules for leads added without an owner: STRATEGY:TEAM, or \
               SOURCE=STRATEGY:TEAM for one source; STRATEGY is round-robin or least-open \
               (a list; `;` between rules in the one-line form)",
    },
    Key {
        name: "lost_reasons",
        env: "CRM_LOST_REASONS",
        flag: "--lost-reasons",
        default: "",
        list: Some(','),
        help: "the lost-reason codes (default: price, competitor, no-budget, no-response, \
               not-interested, timing, duplicate, other)",
    },
    Key {
        name: "sources",
        env: "CRM_SOURCES",
        flag: "--sources",
        default: "",
        list: Some(','),
        help: "the lead sources offered, in order, e.g. web,referral,معرض (default: web, \
               referral, phone, email, event, other)",
    },
    Key {
        name: "new_sources",
        env: "CRM_NEW_SOURCES",
        flag: "--new-sources",
        default: "everyone",
        list: None,
        help: "who may record a lead under a source not in `sources`: everyone, management \
               or nobody",
    },
    Key {
        name: "currencies",
        env: "CRM_CURRENCIES",
        flag: "--currencies",
        default: "",
        list: Some(','),
        help: "the currencies opportunities may be valued in, e.g. SAR,AED,EGP,KWD \
               (default: any ISO 4217 currency)",
    },
    Key {
        name: "stage_probabilities",
        env: "CRM_STAGE_PROBABILITIES",
        flag: "--stage-probabilities",
        default: "",
        list: Some(','),
        help: "the open stages' win probabilities, e.g. open=10,qualified=25,proposal=50,\
               negotiation=75 (the defaults); a table in crm.toml",
    },
    Key {
        name: "score_points",
        env: "CRM_SCORE_POINTS",
        flag: "--score-points",
        default: "",
        list: Some(','),
        help: "lead scoring's rule points on top of the predicted score: FIELD:VALUE=POINTS, \
               e.g. source:event=20,email_kind:free_mail=-5 (fields: source, email_kind, \
               phone_kind, phone_country, language, age, interactions, opportunity)",
    },
    Key {
        name: "score_decay",
        env: "CRM_SCORE_DECAY",
        flag: "--score-decay",
        default: "0",
        list: None,
        help: "lead scoring: points taken per full week without an interaction",
    },
    Key {
        name: "score_events",
        env: "CRM_SCORE_EVENTS",
        flag: "--score-events",
        default: "false",
        list: None,
        help: "lead scoring: append a score_changed event when a write moves a lead's score \
               by 10 points or more (true or false; each interaction, opportunity and edit \
               then reads the lead's facts and its team's counts first)",
    },
    Key {
        name: "follow_up_days",
        env: "CRM_FOLLOW_UP_DAYS",
        flag: "--days",
        default: "5",
        list: None,
        help: "days a new lead may wait for its first follow-up before its owner is \
               notified (working days when a calendar setting is given)",
    },
    Key {
        name: "working_hours",
        env: "CRM_WORKING_HOURS",
        flag: "--working-hours",
        default: "",
        list: None,
        help: "daily working hours in local time, HH:MM-HH:MM (default 00:00-24:00)",
    },
    Key {
        name: "weekend",
        env: "CRM_WEEKEND",
        flag: "--weekend",
        default: "",
        list: Some(','),
        help: "weekend days, e.g. fri,sat, or none (default: fri,sat for Arabic locales, \
               else sat,sun)",
    },
    Key {
        name: "locale",
        env: "CRM_LOCALE",
        flag: "--locale",
        default: "",
        list: None,
        help: "the locale whose weekend is the default (default: $LANG)",
    },
    Key {
        name: "holidays",
        env: "CRM_HOLIDAYS",
        flag: "--holidays",
        default: "",
        list: Some(','),
        help: "holidays, YYYY-MM-DD",
    },
    Key {
        name: "holidays_file",
        env: "CRM_HOLIDAYS_FILE",
        flag: "--holidays-file",
        default: "",
        list: None,
        help: "a file of holidays, one YYYY-MM-DD per line (# starts a comment)",
    },
    Key {
        name: "escalate_after",
        env: "CRM_ESCALATE_AFTER",
        flag: "--escalate-after",
        default: "",
        list: None,
        help: "escalate to the owner's manager a lead still without follow-up this many \
               working days after its owner was notified (default: never)",
    },
    Key {
        name: "mailboxes",
        env: "CRM_MAILBOXES",
        flag: "--mailboxes",
        default: "",
        list: Some(';'),
        help: "mailboxes leads arrive by, one per team: NAME=STRATEGY:TEAM URL, the URL \
               imaps://USER:PASSWORD@HOST[:PORT]/FOLDER (imap:// only to this machine); a \
               table [mailboxes.NAME] with assign and url in crm.toml",
    },
    Key {
        name: "forms",
        env: "CRM_FORMS",
        flag: "--forms",
        default: "",
        list: None,
        help: "web forms leads arrive by, published at /forms/NAME: a table [forms.NAME] in \
               crm.toml with assign (STRATEGY:TEAM), fields (name, email, phone, company, \
               message; * = required), origins, source, title, thanks and consent; JSON elsewhere",
    },
    Key {
        name: "mail_domains",
        env: "CRM_MAIL_DOMAINS",
        flag: "--mail-domains",
        default: "",
        list: Some(','),
        help: "the company's own mail domains: their mail is a colleague's (left alone), or a \
               website's relay (its Reply-To is the lead)",
    },
    Key {
        name: "mail_ca_file",
        env: "CRM_MAIL_CA_FILE",
        flag: "--mail-ca-file",
        default: "",
        list: None,
        help: "a PEM file of certificate authorities trusted for imaps:// besides the \
               system's (a company's own mail server)",
    },
    Key {
        name: "mail_every",
        env: "CRM_MAIL_EVERY",
        flag: "--mail-every",
        default: "",
        list: None,
        help: "crm-server: read the mailboxes this often, e.g. 5m (default: never; `crm mail \
               fetch` reads them)",
    },
    Key {
        name: "bind",
        env: "CRM_BIND",
        flag: "--bind",
        default: "127.0.0.1:8080",
        list: None,
        help: "crm-server: the address to listen on",
    },
    Key {
        name: "secure_cookies",
        env: "CRM_SECURE_COOKIES",
        flag: "--secure-cookies",
        default: "false",
        list: None,
        help: "crm-server: mark cookies Secure (users reach it over https)",
    },
];

fn key(name: &str) -> Option<&'static Key> {
    KEYS.iter().find(|k| k.name == name)
}

/// Where a setting's value came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// Nothing set it.
    Default,
    /// The configuration file.
    File(PathBuf),
    /// An environment variable.
    Env(&'static str),
    /// A command-line flag.
    Flag(String),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Default => f.write_str("default"),
            Origin::File(p) => write!(f, "{}", p.display()),
            Origin::Env(v) => write!(f, "${v}"),
            Origin::Flag(flag) => f.write_str(flag),
        }
    }
}

/// Why the configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read the configuration file {path}: {reason}")]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The file is not TOML.
    #[error("{path} is not valid TOML: {reason}")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// The parser's words.
        reason: String,
    },
    /// The file names a key that is no setting.
    #[error("{origin}: unknown key {key:?} (the keys are: {known})")]
    UnknownKey {
        /// The key.
        key: String,
        /// Where.
        origin: Origin,
        /// The keys there are.
        known: String,
    },
    /// A value does not parse.
    #[error("{key} (from {origin}): {reason}")]
    Invalid {
        /// The setting.
        key: &'static str,
        /// Where its value came from.
        origin: Origin,
        /// Why.
        reason: String,
    },
}

/// What the settings are read from; [`Sources::process`] for a program's own.
pub struct Sources<'a> {
    /// The configuration file, as a path and its text.
    pub file: Option<(PathBuf, String)>,
    /// The environment.
    pub env: &'a dyn Fn(&str) -> Option<String>,
    /// Flags: the key, the flag as typed, the value.
    pub flags: Vec<(String, String, String)>,
}

impl Sources<'_> {
    /// A program's own sources: the file at `config` (from `--config` or `$CRM_CONFIG`),
    /// its environment, and the flags it was given.
    pub fn process(
        config: Option<PathBuf>,
        flags: Vec<(String, String, String)>,
    ) -> Result<Sources<'static>, ConfigError> {
        let file = config
            .map(|path| match std::fs::read_to_string(&path) {
                Ok(text) => Ok((path, text)),
                Err(e) => Err(ConfigError::Unreadable {
                    reason: e.to_string(),
                    path,
                }),
            })
            .transpose()?;
        Ok(Sources {
            file,
            env: &|name| std::env::var(name).ok(),
            flags,
        })
    }
}

/// The settings in force, parsed.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The database URL.
    pub db: String,
    /// The region of phones typed in local form.
    pub region: PhoneRegion,
    /// The time zone of the calendar and of dates shown to people.
    pub time_zone: Tz,
    /// Who sees which leads.
    pub visibility: Visibility,
    /// Assignment rules.
    pub assignment: AssignmentRules,
    /// The lost-reason codes.
    pub lost_reasons: LostReasons,
    /// The sources offered and who may add one.
    pub sources: LeadSources,
    /// The currencies offered.
    pub currencies: Currencies,
    /// The open stages' probabilities.
    pub stage_probabilities: StageProbabilities,
    /// The follow-up rule.
    pub follow_up: FollowUpRule,
    /// The escalation rule, if any.
    pub escalation: Option<EscalationRule>,
    /// Lead scoring's rule points and decay.
    pub scoring: Rules,
    /// Whether writes that move a score append `score_changed` events.
    pub score_events: bool,
    /// The mailboxes leads arrive by.
    pub mailboxes: Vec<MailboxSpec>,
    /// The web forms leads arrive by.
    pub forms: Vec<FormSpec>,
    /// The company's own mail domains.
    pub mail_domains: Vec<String>,
    /// Certificate authorities trusted for `imaps://` besides the system's.
    pub mail_ca_file: Option<PathBuf>,
    /// crm-server: how often it reads the mailboxes (`None`: never).
    pub mail_every: Option<std::time::Duration>,
    /// crm-server's listening address.
    pub bind: String,
    /// crm-server: mark cookies `Secure`.
    pub secure_cookies: bool,
}

impl Settings {
    /// Opens the database (migrating it) and returns a builder holding the store, its
    /// employee directory and clients system, a log notifier, the system clock and every
    /// policy of these settings: a front end adds what is its own (a test clock, a system
    /// actor) and builds.
    pub async fn connect(&self) -> Result<CrmBuilder, StoreError> {
        let db = crm_store_sqlx::connect(&self.db).await?;
        let mut builder = Crm::builder()
            .store(db.store)
            .employee_admin(db.employees)
            .clients(db.clients)
            .notifier(Arc::new(LogNotifier))
            .clock(Arc::new(SystemClock))
            .visibility(self.visibility)
            .assignment(self.assignment.clone())
            .follow_up(self.follow_up.clone())
            .lost_reasons(self.lost_reasons.clone())
            .sources(self.sources.clone())
            .currencies(self.currencies.clone())
            .stage_probabilities(self.stage_probabilities.clone())
            .scoring_rules(self.scoring.clone())
            .score_events(self.score_events);
        if let Some(e) = &self.escalation {
            builder = builder.escalation(*e);
        }
        for f in &self.forms {
            builder =
                builder.capture_channel(CaptureChannel::new(f.channel.clone(), f.rule.clone()));
        }
        for m in &self.mailboxes {
            builder =
                builder.capture_channel(CaptureChannel::new(m.channel.clone(), m.rule.clone()));
        }
        Ok(builder)
    }
}

/// The configuration: the settings in force and where each came from. Its `Debug` shows
/// [`Config::rows`] (mailbox passwords hidden).
#[derive(Clone)]
pub struct Config {
    raw: BTreeMap<&'static str, (String, Origin)>,
    settings: Settings,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("rows", &self.rows())
            .finish_non_exhaustive()
    }
}

/// One row of [`Config::rows`].
#[derive(Clone, Debug, serde::Serialize)]
pub struct Row {
    /// The key.
    pub key: &'static str,
    /// The value, in its one-line form (`""`: not set).
    pub value: String,
    /// Where it came from.
    pub origin: String,
}

impl Config {
    /// The defaults, overridden by nothing but `pairs` (key, value), as flags: for tests
    /// and programs that configure themselves.
    pub fn from_pairs(pairs: &[(&str, &str)]) -> Result<Self, ConfigError> {
        Self::from_sources(Sources {
            file: None,
            env: &|_| None,
            flags: pairs
                .iter()
                .map(|(k, v)| {
                    (
                        (*k).to_owned(),
                        format!("{k} (set by the program)"),
                        (*v).to_owned(),
                    )
                })
                .collect(),
        })
    }

    /// Reads and checks every setting from `sources`.
    pub fn from_sources(sources: Sources<'_>) -> Result<Self, ConfigError> {
        let mut raw: BTreeMap<&'static str, (String, Origin)> = KEYS
            .iter()
            .map(|k| (k.name, (k.default.to_owned(), Origin::Default)))
            .collect();
        let env = sources.env;
        if let Some(tz) = env("TZ").map(|tz| tz.trim_start_matches(':').to_owned())
            && parse_time_zone(&tz).is_ok()
        {
            raw.insert("time_zone", (tz, Origin::Env("TZ")));
        }
        if let Some((path, text)) = &sources.file {
            let table: toml::Table =
                text.parse()
                    .map_err(|e: toml::de::Error| ConfigError::Syntax {
                        path: path.clone(),
                        reason: e.message().to_owned(),
                    })?;
            for (name, value) in &table {
                let origin = Origin::File(path.clone());
                let Some(k) = key(name) else {
                    return Err(unknown(name, origin));
                };
                let text = one_line(k, value).map_err(|reason| ConfigError::Invalid {
                    key: k.name,
                    origin: origin.clone(),
                    reason,
                })?;
                raw.insert(k.name, (text, origin));
            }
        }
        for k in KEYS {
            if let Some(v) = env(k.env).filter(|v| !v.trim().is_empty()) {
                raw.insert(k.name, (v, Origin::Env(k.env)));
            }
        }
        for (name, flag, value) in sources.flags {
            let Some(k) = key(&name) else {
                return Err(unknown(&name, Origin::Flag(flag)));
            };
            raw.insert(k.name, (value, Origin::Flag(flag)));
        }
        let lang = env("LANG").unwrap_or_default();
        let settings = parse(&raw, &lang)?;
        Ok(Self { raw, settings })
    }

    /// The settings in force.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Where a setting's value came from ([`Origin::Default`] for a name that is no key).
    pub fn origin(&self, key: &str) -> Origin {
        self.raw
            .get(key)
            .map_or(Origin::Default, |(_, o)| o.clone())
    }

    /// Every setting, its value and where it came from, in the order of [`KEYS`].
    pub fn rows(&self) -> Vec<Row> {
        KEYS.iter()
            .map(|k| {
                let (value, origin) = self
                    .raw
                    .get(k.name)
                    .cloned()
                    .unwrap_or((String::new(), Origin::Default));
                Row {
                    key: k.name,
                    // A mailbox's password is not shown back.
                    value: match k.name {
                        "mailboxes" => mailbox::redacted(&value),
                        _ => value,
                    },
                    origin: origin.to_string(),
                }
            })
            .collect()
    }
}

fn unknown(name: &str, origin: Origin) -> ConfigError {
    ConfigError::UnknownKey {
        key: name.chars().take(60).collect(),
        origin,
        known: KEYS.iter().map(|k| k.name).collect::<Vec<_>>().join(", "),
    }
}

/// A TOML value in the one-line form the environment and the flags use.
fn one_line(k: &Key, value: &toml::Value) -> Result<String, String> {
    use toml::Value as V;
    let scalar = |v: &V| match v {
        V::String(s) => Ok(s.clone()),
        V::Integer(i) => Ok(i.to_string()),
        V::Boolean(b) => Ok(b.to_string()),
        other => Err(format!(
            "expected text, a number or true/false, not {}",
            other.type_str()
        )),
    };
    match (value, k.list) {
        (V::Array(items), Some(sep)) => Ok(items
            .iter()
            .map(scalar)
            .collect::<Result<Vec<_>, _>>()?
            .join(&sep.to_string())),
        (V::Table(t), Some(sep)) if k.name == "stage_probabilities" => Ok(t
            .iter()
            .map(|(stage, p)| scalar(p).map(|p| format!("{stage}={p}")))
            .collect::<Result<Vec<_>, _>>()?
            .join(&sep.to_string())),
        (V::Table(t), Some(sep)) if k.name == "mailboxes" => Ok(t
            .iter()
            .map(|(name, m)| {
                let field = |f: &str| match m.get(f) {
                    Some(V::String(s)) => Ok(s.clone()),
                    _ => Err(format!("mailbox {name}: expected {f} = \"...\"")),
                };
                Ok(format!("{name}={} {}", field("assign")?, field("url")?))
            })
            .collect::<Result<Vec<_>, String>>()?
            .join(&sep.to_string())),
        // A form is a table of its own: carried as JSON, the form the environment uses.
        (V::Table(t), None) if k.name == "forms" => {
            serde_json::to_string(t).map_err(|e| e.to_string())
        }
        (V::Array(_), None) => Err("expected one value, not a list".to_owned()),
        (v, _) => scalar(v),
    }
}

fn parse(
    raw: &BTreeMap<&'static str, (String, Origin)>,
    lang: &str,
) -> Result<Settings, ConfigError> {
    let get = |name: &'static str| -> (&str, &Origin) {
        raw.get(name)
            .map_or(("", &Origin::Default), |(v, o)| (v.trim(), o))
    };
    let set = |name: &'static str| !get(name).0.is_empty();
    // Each value is read by the library's own parser; its refusal is reported with the key
    // and where the value came from.
    let read = |name: &'static str| Field {
        name,
        value: get(name).0,
        origin: get(name).1,
    };

    let db = read("db").required()?.to_owned();
    let region = read("region").with(|v| PhoneRegion::parse(v).map_err(|e| e.to_string()))?;
    let time_zone = match read("time_zone").value {
        "" => Tz::UTC,
        _ => read("time_zone").with(|v| parse_time_zone(v).map_err(|e| e.to_string()))?,
    };
    let visibility =
        read("visibility").with(|v| v.parse::<Visibility>().map_err(|e| e.to_string()))?;
    let assignment = read("assign").with(|v| {
        let rules = v
            .split(';')
            .filter(|r| !r.trim().is_empty())
            .map(|r| r.parse::<AssignmentRule>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| e.to_string())?;
        AssignmentRules::new(rules).map_err(|e| e.to_string())
    })?;
    let lost_reasons = match read("lost_reasons").value {
        "" => LostReasons::default(),
        _ => read("lost_reasons").with(|v| LostReasons::parse(v).map_err(|e| e.to_string()))?,
    };
    let new_sources =
        read("new_sources").with(|v| v.parse::<NewSources>().map_err(|e| e.to_string()))?;
    let sources = match read("sources").value {
        "" => read("new_sources").with(|_| {
            LeadSources::new(LeadSources::default().listed().to_vec(), new_sources)
                .map_err(|e| e.to_string())
        })?,
        _ => read("sources")
            .with(|v| LeadSources::parse(v, new_sources).map_err(|e| e.to_string()))?,
    };
    let currencies = match read("currencies").value {
        "" => Currencies::any(),
        _ => read("currencies").with(|v| Currencies::parse(v).map_err(|e| e.to_string()))?,
    };
    let stage_probabilities = match read("stage_probabilities").value {
        "" => StageProbabilities::default(),
        _ => read("stage_probabilities")
            .with(|v| StageProbabilities::parse(v).map_err(|e| e.to_string()))?,
    };
    let scoring = Rules {
        points: read("score_points").with(|v| {
            (v.split(',').filter(|r| !r.trim().is_empty()))
                .map(|r| r.parse::<RulePoints>().map_err(|e| e.to_string()))
                .collect::<Result<Vec<_>, _>>()
        })?,
        decay_per_week: read("score_decay").with(|v| {
            (v.parse::<u32>().ok())
                .filter(|d| *d <= 100)
                .ok_or_else(|| format!("expected whole points from 0 to 100, not {v:?}"))
        })?,
    };
    let score_events = read("score_events").with(flag)?;
    let days = read("follow_up_days").with(|v| {
        v.parse::<u32>()
            .map_err(|_| format!("expected a whole number of days, not {v:?}"))
    })?;

    // The working calendar is in force when any of its settings is given (a time zone from
    // $TZ alone only says where dates are shown); otherwise the rule counts calendar days.
    let calendar_given = ["working_hours", "weekend", "holidays", "holidays_file"]
        .into_iter()
        .any(set)
        || (set("time_zone") && *get("time_zone").1 != Origin::Env("TZ"));
    let follow_up = if calendar_given {
        let mut calendar = WorkCalendar::new(time_zone);
        if set("working_hours") {
            calendar = read("working_hours").with(|v| {
                WorkCalendar::new(time_zone)
                    .working_hours(v)
                    .map_err(|e| e.to_string())
            })?;
        }
        let weekend = if set("weekend") {
            read("weekend").with(|v| parse_weekdays(v).map_err(|e| e.to_string()))?
        } else {
            let locale = if set("locale") { get("locale").0 } else { lang };
            default_weekend(locale)
        };
        calendar = read("weekend").with(|_| {
            calendar
                .clone()
                .weekend(weekend.clone())
                .map_err(|e| e.to_string())
        })?;
        let mut days_off = BTreeSet::new();
        read("holidays").with(|v| add_dates(&mut days_off, v.split(',')))?;
        if set("holidays_file") {
            read("holidays_file").with(|path| {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("cannot read the holidays file {path}: {e}"))?;
                add_dates(&mut days_off, text.lines())
            })?;
        }
        calendar = read("holidays").with(|_| {
            calendar
                .clone()
                .holidays(days_off.clone())
                .map_err(|e| e.to_string())
        })?;
        read("follow_up_days").with(|_| {
            FollowUpRule::in_calendar(days, calendar.clone()).map_err(|e| e.to_string())
        })?
    } else {
        read("follow_up_days")
            .with(|_| FollowUpRule::calendar_days(days).map_err(|e| e.to_string()))?
    };
    let escalation = match read("escalate_after").value {
        "" => None,
        _ => Some(read("escalate_after").with(|v| {
            let days = v
                .parse::<u32>()
                .map_err(|_| format!("expected a whole number of working days, not {v:?}"))?;
            EscalationRule::after_working_days(days).map_err(|e| e.to_string())
        })?),
    };
    let mailboxes = read("mailboxes").with(mailbox::parse_mailboxes)?;
    let forms = read("forms").with(form::parse_forms)?;
    let mail_domains = read("mail_domains").with(|v| {
        (v.split(',').map(str::trim).filter(|d| !d.is_empty()))
            .map(|d| match d.contains('.') && !d.contains(['@', ' ', '/']) {
                true => Ok(d.to_ascii_lowercase()),
                false => Err(format!("{d:?} is not a mail domain (example.com)")),
            })
            .collect::<Result<Vec<_>, _>>()
    })?;
    let mail_ca_file = match read("mail_ca_file").value {
        "" => None,
        v => Some(PathBuf::from(v)),
    };
    let mail_every = match read("mail_every").value {
        "" => None,
        _ => Some(read("mail_every").with(input::parse_interval)?),
    };
    let bind = read("bind").required()?.to_owned();
    let secure_cookies = read("secure_cookies").with(flag)?;
    Ok(Settings {
        db,
        region,
        time_zone,
        visibility,
        assignment,
        lost_reasons,
        sources,
        currencies,
        stage_probabilities,
        follow_up,
        escalation,
        scoring,
        score_events,
        forms,
        mailboxes,
        mail_domains,
        mail_ca_file,
        mail_every,
        bind,
        secure_cookies,
    })
}

/// A true-or-false setting.
fn flag(v: &str) -> Result<bool, String> {
    match v.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        other => Err(format!("expected true or false, not {other:?}")),
    }
}

/// Adds the dates of `lines` (blank lines and `#` comments skipped) to `days`.
fn add_dates<'a>(
    days: &mut BTreeSet<NaiveDate>,
    lines: impl Iterator<Item = &'a str>,
) -> Result<(), String> {
    for line in lines {
        let d = line.split('#').next().unwrap_or_default().trim();
        if d.is_empty() {
            continue;
        }
        let date = NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .map_err(|_| format!("{d:?} is not a date (YYYY-MM-DD)"))?;
        days.insert(date);
    }
    Ok(())
}

/// A setting's value on its way to being parsed.
struct Field<'a> {
    name: &'static str,
    value: &'a str,
    origin: &'a Origin,
}

impl Field<'_> {
    fn refuse(&self, reason: String) -> ConfigError {
        ConfigError::Invalid {
            key: self.name,
            origin: self.origin.clone(),
            reason,
        }
    }

    fn required(&self) -> Result<&str, ConfigError> {
        if self.value.is_empty() {
            return Err(self.refuse("must not be empty".to_owned()));
        }
        Ok(self.value)
    }

    fn with<T>(&self, f: impl FnOnce(&str) -> Result<T, String>) -> Result<T, ConfigError> {
        f(self.value).map_err(|reason| self.refuse(reason))
    }
}

#[cfg(test)]
mod tests;
