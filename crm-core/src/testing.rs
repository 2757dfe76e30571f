//! For host test suites (feature `testing`): proptest strategies for the domain types and the
//! mockall mocks of every port.

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use proptest::prelude::*;

use crate::contact::{Email, Name, Note, Phone};
use crate::interaction::{InteractionKind, NewInteraction};
use crate::lead::NewLead;
use crate::money::{Currency, Money};
use crate::opportunity::NewOpportunity;
use crate::source::Source;
use crate::status::LeadStatus;

pub use crate::ports::{
    MockClientsPort, MockClock, MockEmployeeDirectory, MockLeadStore, MockNotifier,
};

const ARABIC_NAMES: &[&str] = &[
    "أحمد",
    "محمد",
    "فاطمة",
    "عائشة",
    "يوسف",
    "مريم",
    "خالد",
    "نورة",
];
const LATIN_NAMES: &[&str] = &[
    "Alice", "Omar", "Sara", "John", "Layla", "Chen", "Ana", "Ravi",
];

/// Valid names, in Arabic and Latin script.
pub fn name() -> impl Strategy<Value = Name> {
    (
        prop::sample::select(
            ARABIC_NAMES
                .iter()
                .chain(LATIN_NAMES)
                .copied()
                .collect::<Vec<_>>(),
        ),
        prop::sample::select(
            ARABIC_NAMES
                .iter()
                .chain(LATIN_NAMES)
                .copied()
                .collect::<Vec<_>>(),
        ),
    )
        .prop_filter_map("valid name", |(a, b)| Name::parse(&format!("{a} {b}")).ok())
}

/// Valid, normalised emails.
pub fn email() -> impl Strategy<Value = Email> {
    (
        "[a-z][a-z0-9._]{0,10}[a-z0-9]",
        "[a-z]{1,8}",
        prop::sample::select(vec!["com", "sa", "ae", "eg", "kw"]),
    )
        .prop_filter_map("valid email", |(l, d, t)| {
            Email::parse(&format!("{l}@{d}.{t}")).ok()
        })
}

/// Valid phones, typed with ASCII or Arabic-Indic digits.
pub fn phone() -> impl Strategy<Value = Phone> {
    ("[0-9]{8,12}", any::<bool>(), any::<bool>()).prop_filter_map(
        "valid phone",
        |(d, plus, arabic)| {
            let digits: String = if arabic {
                d.chars()
                    .map(|c| char::from_u32(0x0660 + c.to_digit(10).unwrap_or(0)).unwrap_or(c))
                    .collect()
            } else {
                d
            };
            Phone::parse(&format!("{}{digits}", if plus { "+" } else { "" })).ok()
        },
    )
}

/// Built-in and custom sources.
pub fn source() -> impl Strategy<Value = Source> {
    prop_oneof![
        4 => prop::sample::select(Source::BUILT_IN.to_vec()).prop_filter_map("built-in", |s| Source::parse(s).ok()),
        1 => "[a-z][a-z0-9_-]{0,12}".prop_filter_map("slug", |s| Source::parse(&s).ok()),
    ]
}

/// Currencies the first users work in, plus USD and JPY for the exponent extremes.
pub fn currency() -> impl Strategy<Value = Currency> {
    prop::sample::select(vec!["SAR", "AED", "EGP", "KWD", "USD", "JPY"])
        .prop_filter_map("currency", |c| Currency::parse(c).ok())
}

/// Non-negative money.
pub fn money() -> impl Strategy<Value = Money> {
    (0i64..=1_000_000_000_000, currency())
        .prop_filter_map("money", |(m, c)| Money::from_minor(m, c).ok())
}

/// Any status.
pub fn status() -> impl Strategy<Value = LeadStatus> {
    prop::sample::select(LeadStatus::ALL.to_vec())
}

/// Valid lead input with at least one of email and phone.
pub fn new_lead() -> impl Strategy<Value = NewLead> {
    (
        name(),
        prop::option::of(email()),
        prop::option::of(phone()),
        prop::option::of(name()),
        source(),
    )
        .prop_filter_map("contact", |(n, e, p, c, s)| {
            if e.is_none() && p.is_none() {
                return None;
            }
            Some(NewLead {
                name: n,
                email: e,
                phone: p,
                company: c,
                source: s,
                owner: None,
                allow_duplicate: false,
            })
        })
}

/// Interaction kinds.
pub fn interaction_kind() -> impl Strategy<Value = InteractionKind> {
    prop::sample::select(InteractionKind::ALL.to_vec())
}

/// Interaction input happening up to 30 days before `now`.
pub fn new_interaction(now: DateTime<Utc>) -> impl Strategy<Value = NewInteraction> {
    (interaction_kind(), 0i64..30 * 24 * 60, "[ a-zA-Zء-ي]{0,40}").prop_map(
        move |(k, mins, notes)| NewInteraction {
            kind: k,
            occurred_at: Some(now - TimeDelta::minutes(mins)),
            notes: Note::parse(&notes).unwrap_or_default(),
        },
    )
}

/// Opportunity input.
pub fn new_opportunity() -> impl Strategy<Value = NewOpportunity> {
    (name(), money(), 0i64..365).prop_map(|(t, v, d)| NewOpportunity {
        title: t,
        value: v,
        expected_close: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap_or_default()
            + TimeDelta::days(d),
    })
}

/// UTC instants between 2000 and 2100, to the microsecond (what every store keeps).
pub fn instant() -> impl Strategy<Value = DateTime<Utc>> {
    (946_684_800_000_000i64..4_102_444_800_000_000)
        .prop_filter_map("instant", DateTime::from_timestamp_micros)
}
