//! For host test suites (feature `testing`): proptest strategies for the domain types and the
//! mockall mocks of every port.

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use proptest::prelude::*;

use crate::contact::{Email, Name, Note, Phone, PhoneRegion};
use crate::interaction::{InteractionKind, NewInteraction};
use crate::lead::NewLead;
use crate::money::{Currency, Money};
use crate::opportunity::NewOpportunity;
use crate::source::Source;
use crate::status::LeadStatus;

pub use crate::clock::MockClock;
pub use crate::ports::{MockClientsPort, MockEmployeeDirectory, MockLeadStore, MockNotifier};

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

/// The region the generated local numbers are typed in.
pub fn phone_region() -> PhoneRegion {
    // "SA" is in the metadata of every `phonenumber` release; a failure here is a bug.
    PhoneRegion::parse("SA").unwrap_or_else(|e| panic!("{e}"))
}

/// Valid phones as people type them, read in [`phone_region`]: Saudi mobiles in local
/// (`05…`) and international (`+966…`, `00966…`) form, and North American numbers (area and
/// exchange codes 200-999, assigned or not) with or without an extension; ASCII or
/// Arabic-Indic digits, with or without separators.
pub fn phone() -> impl Strategy<Value = Phone> {
    let saudi = ("[0-9]{8}", 0u8..3).prop_map(|(rest, form)| match form {
        0 => format!("05{rest}"),
        1 => format!("+966 5{rest}"),
        _ => format!("009665{rest}"),
    });
    let american = (
        "[2-9][0-9]{2}",
        "[2-9][0-9]{2}",
        "[0-9]{4}",
        prop::option::of("[0-9]{1,5}"),
    )
        .prop_map(|(area, exchange, line, ext)| {
            let ext = ext.map(|e| format!(" x{e}")).unwrap_or_default();
            format!("+1 ({area}) {exchange}-{line}{ext}")
        });
    (prop_oneof![3 => saudi, 1 => american], any::<bool>()).prop_filter_map(
        "valid phone",
        |(typed, arabic)| {
            let typed: String = if arabic {
                typed
                    .chars()
                    .map(|c| match c.to_digit(10) {
                        Some(d) => char::from_u32(0x0660 + d).unwrap_or(c),
                        None => c,
                    })
                    .collect()
            } else {
                typed
            };
            Phone::parse_in(&typed, phone_region()).ok()
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
            next_follow_up: None,
        },
    )
}

/// Opportunity input.
pub fn new_opportunity() -> impl Strategy<Value = NewOpportunity> {
    (name(), money(), 0i64..365, proptest::option::of(0u8..=100)).prop_map(|(t, v, d, p)| {
        NewOpportunity {
            title: t,
            value: v,
            expected_close: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap_or_default()
                + TimeDelta::days(d),
            probability: p.and_then(|p| crate::Probability::new(p).ok()),
        }
    })
}

/// UTC instants between 2000 and 2100, to the microsecond (what every store keeps).
pub fn instant() -> impl Strategy<Value = DateTime<Utc>> {
    (946_684_800_000_000i64..4_102_444_800_000_000)
        .prop_filter_map("instant", DateTime::from_timestamp_micros)
}
