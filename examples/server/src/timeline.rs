//! A lead's timeline as people read it ([`crm_core::timeline`]): each entry's kind, time in
//! the viewer's zone, who, and a sentence in the page's language, for the lead page and the
//! API's detail alike. A change reads in the direction of the language: `from → to` in
//! English, and in Arabic `from ← to`, which a right-to-left line shows from right to left.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use crm_core::history::{Change, LeadField};
use crm_core::timeline::{Entry, Happening};

use crate::i18n::{Lang, Strings};

/// One entry as read.
pub struct Said {
    /// `follow_up_due`, `created`, `status`, `reassigned`, `edited`, `merged_from`,
    /// `merged_into`, `captured`, `interaction` or `opportunity`.
    pub kind: &'static str,
    /// When, in the viewer's zone (`YYYY-MM-DD HH:MM`).
    pub at: String,
    /// Who, by name when known (empty for a follow-up still to do).
    pub by: String,
    /// What, in the language.
    pub text: String,
}

fn time(t: &DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string()
}

fn who(names: &BTreeMap<i64, String>, id: i64) -> String {
    names
        .get(&id)
        .map_or_else(|| id.to_string(), |n| format!("{n} ({id})"))
}

fn field(t: &Strings, f: LeadField) -> &'static str {
    match f {
        LeadField::Name => t.name,
        LeadField::Email => t.email,
        LeadField::Phone => t.phone,
        LeadField::Company => t.company,
        LeadField::Source => t.source,
        LeadField::NextFollowUp => t.next_follow_up,
    }
}

/// A capture channel as people read it: a mailbox `mail.NAME` as «صندوق البريد NAME».
fn channel(t: &Strings, c: &crm_core::SystemActor) -> String {
    let c = c.as_str();
    if let Some(name) = c.strip_prefix("mail.") {
        format!("{} {name}", t.by_mailbox)
    } else if let Some(name) = c.strip_prefix("form.") {
        format!("{} {name}", t.by_form)
    } else {
        c.to_owned()
    }
}

/// Where a captured lead came from, as people read it: its campaign, the page it came
/// from and the consent it gave (with when, in the viewer's zone), each when known.
fn origin(t: &Strings, d: &crm_core::capture::CaptureDetails, tz: Tz) -> String {
    let mut s = String::new();
    if let Some(c) = &d.utm_campaign {
        s.push_str(&format!(" · {}: {c}", t.campaign));
    }
    if let Some(r) = &d.referrer {
        s.push_str(&format!(" · {}: {r}", t.came_from));
    }
    if let Some(c) = &d.consent {
        s.push_str(&format!(
            " · {} ({}): {}",
            t.consent_given,
            time(&c.at, tz),
            c.text
        ));
    }
    s
}

/// `a` then `b` in the language's direction.
fn moved(lang: Lang, a: &str, b: &str) -> String {
    match lang {
        Lang::Ar => format!("{a} ← {b}"),
        Lang::En => format!("{a} → {b}"),
    }
}

/// An edited value as people read it: a follow-up time in the viewer's zone, `-` for none.
fn value(f: LeadField, v: Option<&str>, tz: Tz) -> String {
    match v {
        None => "-".to_owned(),
        Some(v) if f == LeadField::NextFollowUp => v
            .parse::<DateTime<Utc>>()
            .map_or_else(|_| v.to_owned(), |t| time(&t, tz)),
        Some(v) => v.to_owned(),
    }
}

/// `e` as read in `lang` by a viewer in `tz`, employees named from `names`.
pub fn say(lang: Lang, tz: Tz, names: &BTreeMap<i64, String>, e: &Entry) -> Said {
    let t = lang.strings();
    let (kind, text) = match &e.happening {
        Happening::FollowUpDue => ("follow_up_due", t.follow_up_due.to_owned()),
        Happening::Change(c) => match c {
            Change::Created { source, .. } => (
                "created",
                format!("{} · {}", t.ev_created, t.source_label(source.as_str())),
            ),
            Change::StatusChanged {
                from,
                to,
                lost_reason,
                lost_reason_code,
            } => {
                let mut s = moved(
                    lang,
                    t.status_label(from.as_str()),
                    t.status_label(to.as_str()),
                );
                match (lost_reason_code, lost_reason) {
                    (Some(code), Some(r)) => {
                        s.push_str(&format!(" ({}: {r})", t.reason_label(code.as_str())));
                    }
                    (Some(code), None) => {
                        s.push_str(&format!(" ({})", t.reason_label(code.as_str())));
                    }
                    (None, Some(r)) => s.push_str(&format!(" ({r})")),
                    (None, None) => {}
                }
                ("status", s)
            }
            Change::Reassigned { from, to } => (
                "reassigned",
                format!(
                    "{}: {}",
                    t.ev_reassigned,
                    moved(lang, &who(names, from.get()), &who(names, to.get()))
                ),
            ),
            Change::Edited { field: f, old, new } => (
                "edited",
                format!(
                    "{} {}: {}",
                    t.ev_edited,
                    field(t, *f),
                    moved(
                        lang,
                        &value(*f, old.as_deref(), tz),
                        &value(*f, new.as_deref(), tz)
                    )
                ),
            ),
            Change::MergedFrom { from, .. } => {
                ("merged_from", format!("{} {from}", t.ev_merged_from))
            }
            Change::MergedInto { into } => ("merged_into", format!("{} {into}", t.ev_merged_into)),
            Change::Captured { by, details, .. } => (
                "captured",
                format!(
                    "{} {}{}",
                    t.ev_captured,
                    channel(t, by),
                    origin(t, details, tz)
                ),
            ),
        },
        Happening::Interaction(i) => {
            let mut s = t.kind_label(i.kind.as_str()).to_owned();
            let notes = i.notes.to_string();
            if !notes.is_empty() {
                s.push_str(&format!(": {notes}"));
            }
            if let Some(next) = i.next_follow_up_at {
                s.push_str(&format!(" · {}: {}", t.next_follow_up, time(&next, tz)));
            }
            ("interaction", s)
        }
        Happening::Opportunity(o) => (
            "opportunity",
            format!(
                "{}: {} · {} {} · {}",
                t.opportunity_added,
                o.title,
                o.value.format_amount(),
                o.value.currency().code(),
                t.word(o.stage.as_str())
            ),
        ),
    };
    // A captured interaction is the channel's doing (the lead speaking), not its owner's.
    let by = match &e.happening {
        Happening::Interaction(i) if i.captured_by.is_some() => i
            .captured_by
            .as_ref()
            .map_or(String::new(), |c| c.to_string()),
        _ => e.actor.map_or(String::new(), |a| who(names, a.get())),
    };
    Said {
        kind,
        at: time(&e.at, tz),
        by,
        text,
    }
}
