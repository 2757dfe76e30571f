//! A lead's values of the scoring fields.

use chrono::{DateTime, Utc};
use phonenumber::Type;
use phonenumber::metadata::DATABASE;
use serde::{Deserialize, Serialize};

use super::{Features, Field};
use crate::contact::{Email, Phone};
use crate::lead::Lead;

/// What a lead's record does not hold, counted by the store or the caller.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Facts {
    /// Interactions logged on the lead.
    pub interactions: u32,
    /// Whether the lead has an opportunity.
    pub has_opportunity: bool,
}

/// The values of a lead's scoring fields at `now`.
pub fn features(lead: &Lead, facts: &Facts, now: DateTime<Utc>) -> Features {
    let (line, country) = lead.phone().map_or(("none", "none".to_owned()), phone_line);
    let days = (now - lead.created_at()).num_days();
    Features::new([
        (Field::Source, lead.source().as_str().to_owned()),
        (Field::EmailKind, email_kind(lead.email()).to_owned()),
        (Field::PhoneKind, line.to_owned()),
        (Field::PhoneCountry, country),
        (Field::Language, script(lead.name().as_str()).to_owned()),
        (Field::Age, age(days).to_owned()),
        (
            Field::Interactions,
            interactions(facts.interactions).to_owned(),
        ),
        (
            Field::Opportunity,
            (if facts.has_opportunity { "yes" } else { "no" }).to_owned(),
        ),
    ])
}

/// Mail providers anyone can sign up to: an address there says nothing of a company. Matched
/// on the domain's first label followed by at most two more (`hotmail.com`, `hotmail.co.uk`,
/// `yahoo.com.sa`; not `live.alnoor.com.sa`), or on the whole domain.
const FREE_MAIL_LABELS: [&str; 17] = [
    "gmail",
    "googlemail",
    "hotmail",
    "outlook",
    "live",
    "windowslive",
    "msn",
    "yahoo",
    "ymail",
    "rocketmail",
    "icloud",
    "aol",
    "protonmail",
    "gmx",
    "yandex",
    "zoho",
    "maktoob",
];
const FREE_MAIL_DOMAINS: [&str; 9] = [
    "me.com",
    "mac.com",
    "mail.com",
    "mail.ru",
    "pm.me",
    "proton.me",
    "qq.com",
    "163.com",
    "web.de",
];

fn email_kind(email: Option<&Email>) -> &'static str {
    let Some(domain) = email
        .and_then(|e| e.as_str().rsplit_once('@'))
        .map(|(_, d)| d)
    else {
        return "none";
    };
    let first = domain.split('.').next().unwrap_or(domain);
    let labels = domain.split('.').count();
    if (FREE_MAIL_LABELS.contains(&first) && labels <= 3) || FREE_MAIL_DOMAINS.contains(&domain) {
        "free_mail"
    } else {
        "company"
    }
}

/// The phone's line (`mobile`, `landline`, `other`) and country, from the numbering plans.
fn phone_line(phone: &Phone) -> (&'static str, String) {
    let key = phone.key().split(";ext=").next().unwrap_or_default();
    // A key stored in local form (before keys were E.164) names no country.
    let Ok(number) = phonenumber::parse(None, key) else {
        return ("other", "none".to_owned());
    };
    let line = match number.number_type(&DATABASE) {
        Type::Mobile => "mobile",
        Type::FixedLine => "landline",
        _ => "other",
    };
    let country = number.country().id().map(|id| id.as_ref().to_owned());
    (line, country.unwrap_or_else(|| "none".to_owned()))
}

/// `arabic` when the name has an Arabic letter (Persian-keyboard letters and presentation
/// forms included), else `latin` when it has a Latin one, else `other`.
fn script(name: &str) -> &'static str {
    let arabic = |c: char| {
        c.is_alphabetic()
            && matches!(c, '\u{0600}'..='\u{06FF}' | '\u{0750}'..='\u{077F}'
                | '\u{08A0}'..='\u{08FF}' | '\u{FB50}'..='\u{FDFF}' | '\u{FE70}'..='\u{FEFF}')
    };
    if name.chars().any(arabic) {
        "arabic"
    } else if name.chars().any(|c| c.is_alphabetic() && c.is_ascii()) {
        "latin"
    } else {
        "other"
    }
}

fn age(days: i64) -> &'static str {
    match days {
        ..=1 => "0-1",
        2..=7 => "2-7",
        8..=30 => "8-30",
        31..=90 => "31-90",
        _ => "90+",
    }
}

fn interactions(n: u32) -> &'static str {
    match n {
        0 => "0",
        1 => "1",
        2..=3 => "2-3",
        _ => "4+",
    }
}
