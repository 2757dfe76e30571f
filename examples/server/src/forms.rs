//! Web-to-lead: the web forms of the one configuration (`forms`, [`FormSpec`]), published
//! at `/forms/NAME` (a page that works without JavaScript, and a snippet to paste into a
//! website) and at `/api/v1/forms/NAME` (JSON, for a website's own code). A submission is
//! taken in by the library ([`crm_core::Crm::capture`], as the channel `form.NAME`): a new
//! lead given by the form's rule, or an interaction on the open lead with its e-mail or
//! phone. The submitter learns nothing of either: every accepted submission, and every one
//! spam protection drops, gets the same thank-you.
//!
//! Spam protection without a third party, in this order:
//! 1. `Origin`, when the browser sends it, must be this server or one of the form's
//!    `origins` (403 otherwise);
//! 2. at most [`PER_ADDRESS`] submissions per client address and form, and
//!    [`PER_FORM`] per form, in [`WINDOW`] (429 with `Retry-After` beyond);
//! 3. a filled honeypot field (`website`, hidden from people) is dropped, thanked;
//! 4. a form sent sooner than [`MIN_FILL`] after its page was served is dropped, thanked:
//!    the page carries the time it was served, signed with a key of this process
//!    ([`Forms::token`]); a submission without a valid signed time (the pasted snippet, a
//!    page older than [`MAX_AGE`] or from before a restart) is shown the form again, filled
//!    in, with a fresh one: a person sends it once more, a script that does not read pages
//!    does not;
//! 5. every field has a size limit, and the body [`MAX_BODY`].

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, TimeDelta, Utc};
use crm_config::form::{FieldKind, FormSpec};
use crm_core::capture::{Capture, CaptureDetails, Consent};
use crm_core::{Email, InteractionKind, Name, NewInteraction, NewLead, Note, Phone, PhoneRegion};
use hmac::{Hmac, KeyInit, Mac};
use serde::Deserialize;
use sha2::Sha256;

use crate::problem::FieldError;

/// The soonest a person sends a form after its page was served.
pub const MIN_FILL: TimeDelta = TimeDelta::seconds(3);
/// The oldest page whose submission is taken without showing the form again.
pub const MAX_AGE: TimeDelta = TimeDelta::days(1);
/// The window the rate limits count in.
pub const WINDOW: TimeDelta = TimeDelta::minutes(10);
/// Submissions per client address and form in a window.
pub const PER_ADDRESS: u32 = 10;
/// Submissions per form in a window, from every address.
pub const PER_FORM: u32 = 500;
/// The largest submission body.
pub const MAX_BODY: usize = 32 * 1024;
/// The longest UTM value or referring page kept.
const MAX_DETAIL: usize = crm_core::capture::CaptureDetails::MAX;
/// Counters kept at most; beyond, the oldest windows are forgotten first.
const MAX_COUNTERS: usize = 100_000;

/// The forms, the key their pages' times are signed with, and the rate-limit counters.
pub struct Forms {
    specs: Vec<FormSpec>,
    key: [u8; 32],
    counters: Mutex<Counters>,
}

impl std::fmt::Debug for Forms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Forms")
            .field("specs", &self.specs)
            .finish_non_exhaustive()
    }
}

/// What a submission's signed time says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timing {
    /// Served at least [`MIN_FILL`] and at most [`MAX_AGE`] ago.
    Fresh,
    /// Sent sooner than a person could have filled it.
    TooFast,
    /// None, not ours, or too old: show the form again.
    Missing,
}

impl Forms {
    /// The forms of the configuration, with a new signing key.
    pub fn new(specs: Vec<FormSpec>) -> Self {
        let mut key = [0u8; 32];
        rand::fill(&mut key);
        Self {
            specs,
            key,
            counters: Mutex::new(Counters {
                entries: HashMap::new(),
                pruned: DateTime::<Utc>::MIN_UTC,
            }),
        }
    }

    /// The form named `name`.
    pub fn get(&self, name: &str) -> Option<&FormSpec> {
        self.specs.iter().find(|f| f.name == name)
    }

    /// Every form.
    pub fn all(&self) -> &[FormSpec] {
        &self.specs
    }

    /// The MAC of `form` served at `millis` (HMAC takes a key of any length, so `None`
    /// does not happen; were it to, no token would verify).
    fn mac(&self, form: &str, millis: i64) -> Option<Hmac<Sha256>> {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.key).ok()?;
        mac.update(form.as_bytes());
        mac.update(b"\n");
        mac.update(millis.to_string().as_bytes());
        Some(mac)
    }

    /// The signed time a page of `form` served at `now` carries.
    pub fn token(&self, form: &str, now: DateTime<Utc>) -> String {
        let millis = now.timestamp_millis();
        let tag = self.mac(form, millis).map(|m| m.finalize().into_bytes());
        format!("{millis}.{}", tag.map(hex::encode).unwrap_or_default())
    }

    /// What `token` says of a submission of `form` at `now`.
    pub fn timing(&self, form: &str, token: Option<&str>, now: DateTime<Utc>) -> Timing {
        let Some((millis, tag)) = token.and_then(|t| t.split_once('.')) else {
            return Timing::Missing;
        };
        let (Ok(millis), Ok(tag)) = (millis.parse::<i64>(), hex::decode(tag)) else {
            return Timing::Missing;
        };
        let verified = self
            .mac(form, millis)
            .is_some_and(|m| m.verify_slice(&tag).is_ok());
        if !verified {
            return Timing::Missing;
        }
        let Some(served) = DateTime::from_timestamp_millis(millis) else {
            return Timing::Missing;
        };
        match now - served {
            age if age > MAX_AGE => Timing::Missing,
            age if age < MIN_FILL => Timing::TooFast,
            _ => Timing::Fresh,
        }
    }

    /// Counts one submission of `form` from `address` at `now`; refused with the seconds to
    /// wait when the address or the form is over its limit. The address is counted first,
    /// and only a submission it admits counts toward the form, so one address cannot use up
    /// a form's allowance for everyone. IPv6 addresses count by their /64 (one subscriber's
    /// network). At 100,000 addresses in a window, a new address waits for the
    /// window: memory stays bounded under a flood from many addresses.
    pub fn admit(&self, form: &str, address: &str, now: DateTime<Utc>) -> Result<(), u64> {
        let mut counters = match self.counters.lock() {
            Ok(c) => c,
            // A panic elsewhere while counting leaves counts, not broken state.
            Err(poisoned) => poisoned.into_inner(),
        };
        let c = &mut *counters;
        if c.entries.len() >= MAX_COUNTERS && now - c.pruned >= WINDOW {
            c.entries.retain(|_, (start, _)| now - *start < WINDOW);
            c.pruned = now;
        }
        let wait = |start: DateTime<Utc>| {
            u64::try_from((start + WINDOW - now).num_seconds().max(1)).unwrap_or(1)
        };
        let address_key = format!("{form}\n{}", network(address));
        if c.entries.len() >= MAX_COUNTERS && !c.entries.contains_key(&address_key) {
            return Err(wait(c.pruned));
        }
        for (key, limit) in [(address_key, PER_ADDRESS), (format!("{form}\n*"), PER_FORM)] {
            let (start, count) = c.entries.entry(key).or_insert((now, 0));
            if now - *start >= WINDOW {
                *start = now;
                *count = 0;
            }
            if *count >= limit {
                return Err(wait(*start));
            }
            *count += 1;
        }
        Ok(())
    }
}

/// What a client address is counted as: an IPv4 address itself, an IPv6 address by its /64.
fn network(address: &str) -> String {
    match address.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(v6)) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        _ => address.to_owned(),
    }
}

/// The rate-limit counters: per key, a window's start and count; and when they were last
/// pruned.
#[derive(Debug)]
struct Counters {
    entries: HashMap<String, (DateTime<Utc>, u32)>,
    pruned: DateTime<Utc>,
}

/// A submission as a browser or a website's code sends it. Every field is optional here;
/// the form says which it needs.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct Submission {
    /// The person's name.
    #[serde(default)]
    pub name: Option<String>,
    /// Their e-mail.
    #[serde(default)]
    pub email: Option<String>,
    /// Their phone, in local (`05...`) or international form, any digits.
    #[serde(default)]
    pub phone: Option<String>,
    /// Their company.
    #[serde(default)]
    pub company: Option<String>,
    /// What they write.
    #[serde(default)]
    pub message: Option<String>,
    /// Given consent: `on`, `yes` or `true`.
    #[serde(default)]
    pub consent: Option<String>,
    /// The honeypot: people leave it empty.
    #[serde(default)]
    pub website: Option<String>,
    /// The signed time the form was served at (`GET /api/v1/forms/NAME` gives one).
    #[serde(default)]
    pub t: Option<String>,
    /// `utm_source`.
    #[serde(default)]
    pub utm_source: Option<String>,
    /// `utm_medium`.
    #[serde(default)]
    pub utm_medium: Option<String>,
    /// `utm_campaign`.
    #[serde(default)]
    pub utm_campaign: Option<String>,
    /// `utm_term`.
    #[serde(default)]
    pub utm_term: Option<String>,
    /// `utm_content`.
    #[serde(default)]
    pub utm_content: Option<String>,
    /// The page the person came from.
    #[serde(default)]
    pub referrer: Option<String>,
    /// The person's language (`ar`, `en`).
    #[serde(default)]
    pub lang: Option<String>,
}

impl Submission {
    /// A field as typed, trimmed; `None` when blank.
    pub fn value(&self, kind: FieldKind) -> Option<&str> {
        let v = match kind {
            FieldKind::Name => &self.name,
            FieldKind::Email => &self.email,
            FieldKind::Phone => &self.phone,
            FieldKind::Company => &self.company,
            FieldKind::Message => &self.message,
        };
        v.as_deref().map(str::trim).filter(|v| !v.is_empty())
    }

    /// Whether the honeypot was filled.
    pub fn is_bot(&self) -> bool {
        self.website
            .as_deref()
            .is_some_and(|w| !w.trim().is_empty())
    }

    /// Whether consent was given.
    pub fn consented(&self) -> bool {
        matches!(
            self.consent.as_deref().map(str::trim),
            Some("on" | "yes" | "true" | "1")
        )
    }
}

/// Why a field of a submission was refused, said by the caller in its language.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    /// A required field is empty.
    Required,
    /// Neither an e-mail nor a phone.
    NoContact,
    /// Consent was asked for and not given.
    NoConsent,
    /// Too long (its limit in characters).
    TooLong(usize),
    /// Does not read (the library's words).
    Invalid,
}

/// Each refused field: its name, why, and the library's words when it gave some.
pub type Refusals = Vec<(&'static str, Refused, Option<String>)>;

/// The capture a submission of `form` makes at `now`: the lead it would be, its message (the
/// company too, so a repeat submission keeps it), and where it came from; or each field's
/// refusal. Nothing typed is cut: a text over its limit is refused.
pub fn capture(
    form: &FormSpec,
    sub: &Submission,
    region: PhoneRegion,
    now: DateTime<Utc>,
) -> Result<Capture, Refusals> {
    let mut errors: Refusals = Vec::new();
    let mut refuse = |f: &'static str, r: Refused, detail: Option<String>| {
        errors.push((f, r, detail));
    };
    for f in &form.fields {
        if f.required && sub.value(f.kind).is_none() {
            refuse(f.kind.as_str(), Refused::Required, None);
        }
    }
    let asks = |k| form.field(k).is_some();
    let text = |k: FieldKind| sub.value(k).filter(|_| asks(k));
    let email = text(FieldKind::Email).map(Email::parse).transpose();
    let phone = text(FieldKind::Phone)
        .map(|p| Phone::parse_in(p, region))
        .transpose();
    let name = text(FieldKind::Name).map(Name::parse).transpose();
    let company = text(FieldKind::Company).map(Name::parse).transpose();
    let message = text(FieldKind::Message).unwrap_or_default();
    let mut notes = message.to_owned();
    if let Some(c) = text(FieldKind::Company) {
        notes = match notes.is_empty() {
            true => format!("🏢 {c}"),
            false => format!("{notes}\n\n🏢 {c}"),
        };
    }
    let long = |t: &str, max: usize| t.chars().count() > max;
    if long(message, Note::MAX) || long(&notes, Note::MAX) {
        refuse("message", Refused::TooLong(Note::MAX), None);
    }
    let notes = Note::parse(&notes);
    for (field, bad) in [
        ("email", email.as_ref().err()),
        ("phone", phone.as_ref().err()),
        ("name", name.as_ref().err()),
        ("company", company.as_ref().err()),
        (
            "message",
            notes.as_ref().err().filter(|_| !long(message, Note::MAX)),
        ),
    ] {
        if let Some(e) = bad {
            refuse(field, Refused::Invalid, Some(e.to_string()));
        }
    }
    if matches!((&email, &phone), (Ok(None), Ok(None)))
        && !(form.fields.iter())
            .any(|f| f.required && matches!(f.kind, FieldKind::Email | FieldKind::Phone))
    {
        let field = if asks(FieldKind::Email) {
            "email"
        } else {
            "phone"
        };
        refuse(field, Refused::NoContact, None);
    }
    if form.consent.is_some() && !sub.consented() {
        refuse("consent", Refused::NoConsent, None);
    }
    // Where the person came from is not what they typed (a link's or a page's address): a
    // value that cannot be kept is left out, never a reason to refuse the person.
    let detail = |f: &'static str, v: &Option<String>| {
        let v = v.as_deref().map(str::trim).filter(|v| !v.is_empty())?;
        if v.chars().count() > MAX_DETAIL || v.chars().any(char::is_control) {
            tracing::info!(target: "crm::forms", field = f, "left out: too long or not text");
            return None;
        }
        Some(v.to_owned())
    };
    let details = CaptureDetails {
        utm_source: detail("utm_source", &sub.utm_source),
        utm_medium: detail("utm_medium", &sub.utm_medium),
        utm_campaign: detail("utm_campaign", &sub.utm_campaign),
        utm_term: detail("utm_term", &sub.utm_term),
        utm_content: detail("utm_content", &sub.utm_content),
        referrer: detail("referrer", &sub.referrer),
        language: detail("lang", &sub.lang),
        consent: (form.consent.as_ref()).map(|text| Consent {
            text: text.clone(),
            at: now,
        }),
    };
    let (Ok(email), Ok(phone), Ok(Some(name)), Ok(company), Ok(notes)) =
        (email, phone, name, company, notes)
    else {
        return Err(errors);
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut lead = NewLead::new(name, form.source.clone());
    lead.email = email;
    lead.phone = phone;
    lead.company = company;
    Ok(Capture {
        key: format!("form:{}", uuid::Uuid::now_v7()),
        lead,
        interaction: NewInteraction::new(InteractionKind::Note).notes(notes),
        details,
    })
}

/// `errors` as the API's field errors, in English.
pub fn field_errors(errors: &[(&'static str, Refused, Option<String>)]) -> Vec<FieldError> {
    errors
        .iter()
        .map(|(f, r, detail)| {
            let text = match (r, detail) {
                (Refused::Required, _) => "is required".to_owned(),
                (Refused::NoContact, _) => "an e-mail or a phone is required".to_owned(),
                (Refused::NoConsent, _) => "consent is required to send this form".to_owned(),
                (Refused::TooLong(max), _) => format!("is longer than {max} characters"),
                (Refused::Invalid, Some(d)) => d.clone(),
                (Refused::Invalid, None) => "does not read".to_owned(),
            };
            FieldError::new(*f, text)
        })
        .collect()
}

/// What became of a submission.
#[derive(Debug)]
pub enum Outcome {
    /// Taken in, or dropped as spam: the submitter is thanked either way.
    Thanks,
    /// No form by that name.
    Unknown,
    /// Posted from a website the form does not name.
    OtherSite,
    /// Over a rate limit: the seconds to wait.
    TooMany(u64),
    /// Without a valid signed time: show the form again, filled in, to be sent once more.
    Confirm,
    /// Fields refused.
    Refused(Refusals),
    /// The library refused or failed.
    Failed(crm_core::CrmError),
}

/// The client address a request came from (`-` when the server was not told).
pub fn address(extensions: &axum::http::Extensions) -> String {
    extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map_or_else(|| "-".to_owned(), |c| c.0.ip().to_string())
}

/// Whether `origin` (an `Origin` header) is this server, as the request's `Host` names it.
/// Behind a reverse proxy the host the browser saw is `X-Forwarded-Host`, as for the
/// same-site check of the other forms.
fn is_own(origin: &str, headers: &axum::http::HeaderMap) -> bool {
    let Some(bare) = origin.split_once("://").map(|(_, h)| h) else {
        return false;
    };
    ["x-forwarded-host", "host"].into_iter().any(|name| {
        (headers.get(name).and_then(|h| h.to_str().ok()))
            .is_some_and(|h| h.eq_ignore_ascii_case(bare))
    })
}

/// The UTM parameters of the referring page's address, where the submission has none (a
/// pasted form cannot carry them itself).
fn utm_from_referrer(sub: &mut Submission) {
    let Some(url) = sub
        .referrer
        .as_deref()
        .and_then(|r| url::Url::parse(r).ok())
    else {
        return;
    };
    for (k, v) in url.query_pairs() {
        let slot = match k.as_ref() {
            "utm_source" => &mut sub.utm_source,
            "utm_medium" => &mut sub.utm_medium,
            "utm_campaign" => &mut sub.utm_campaign,
            "utm_term" => &mut sub.utm_term,
            "utm_content" => &mut sub.utm_content,
            _ => continue,
        };
        if slot.as_deref().is_none_or(|s| s.trim().is_empty()) {
            *slot = Some(v.into_owned());
        }
    }
}

/// Receives a submission of the form `name` from `address`, with the request's `headers`:
/// the checks of the module's order, then the library's capture.
pub async fn receive(
    s: &crate::AppState,
    name: &str,
    headers: &axum::http::HeaderMap,
    address: &str,
    mut sub: Submission,
) -> Outcome {
    let Some(form) = s.forms.get(name) else {
        return Outcome::Unknown;
    };
    let origin = headers
        .get(axum::http::header::ORIGIN)
        .and_then(|o| o.to_str().ok());
    if let Some(o) = origin
        && !(form.allows_origin(o) || is_own(o, headers))
    {
        return Outcome::OtherSite;
    }
    let now = s.clock.now();
    if let Err(wait) = s.forms.admit(name, address, now) {
        return Outcome::TooMany(wait);
    }
    if sub.is_bot() {
        tracing::info!(target: "crm::forms", form = name, "honeypot filled: dropped");
        return Outcome::Thanks;
    }
    match s.forms.timing(name, sub.t.as_deref(), now) {
        Timing::TooFast => {
            tracing::info!(target: "crm::forms", form = name, "sent too fast: dropped");
            return Outcome::Thanks;
        }
        Timing::Missing => return Outcome::Confirm,
        Timing::Fresh => {}
    }
    if sub.referrer.is_none() {
        sub.referrer = headers
            .get(axum::http::header::REFERER)
            .and_then(|r| r.to_str().ok())
            .filter(|r| !is_own_page(r, headers))
            .map(str::to_owned);
    }
    utm_from_referrer(&mut sub);
    let capture = match capture(form, &sub, s.config.region, now) {
        Ok(c) => c,
        Err(errors) => return Outcome::Refused(errors),
    };
    match s.crm.capture(&form.channel, capture).await {
        Ok(_) => Outcome::Thanks,
        Err(e) => Outcome::Failed(e),
    }
}

/// Whether `page` is one of this server's own pages (the form's page itself is no referrer).
fn is_own_page(page: &str, headers: &axum::http::HeaderMap) -> bool {
    url::Url::parse(page).is_ok_and(|u| {
        let origin = u.origin().ascii_serialization();
        is_own(&origin, headers)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forms() -> Forms {
        let specs = crm_config::form::parse_forms(
            r#"{"contact": {"assign": "round-robin:east", "fields": ["name", "email", "phone", "company", "message"], "consent": "أوافق"}}"#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        Forms::new(specs)
    }

    fn at(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap_or_default()
    }

    #[test]
    fn a_signed_time_is_fresh_only_after_the_fill_time_and_for_its_form() {
        let f = forms();
        let t = f.token("contact", at(0));
        assert_eq!(f.timing("contact", Some(&t), at(1)), Timing::TooFast);
        assert_eq!(f.timing("contact", Some(&t), at(4)), Timing::Fresh);
        assert_eq!(f.timing("other", Some(&t), at(4)), Timing::Missing);
        assert_eq!(
            f.timing("contact", Some(&t), at(2 * 86_400)),
            Timing::Missing
        );
        let forged = format!("{}.{}", at(-60).timestamp_millis(), &t[t.len() - 64..]);
        assert_eq!(f.timing("contact", Some(&forged), at(4)), Timing::Missing);
        assert_eq!(f.timing("contact", None, at(4)), Timing::Missing);
        // Another process (a restart) signs with another key.
        assert_eq!(forms().timing("contact", Some(&t), at(4)), Timing::Missing);
    }

    #[test]
    fn an_address_is_cut_to_its_limit_and_waits_for_the_window() {
        let f = forms();
        for _ in 0..PER_ADDRESS {
            assert_eq!(f.admit("contact", "10.0.0.1", at(0)), Ok(()));
        }
        let wait = f.admit("contact", "10.0.0.1", at(60));
        assert_eq!(wait, Err(540));
        assert_eq!(
            f.admit("contact", "10.0.0.2", at(60)),
            Ok(()),
            "another address"
        );
        assert_eq!(
            f.admit("contact", "10.0.0.1", at(600)),
            Ok(()),
            "a new window"
        );
    }

    #[test]
    fn a_submission_keeps_every_text_or_refuses_it() {
        let f = forms();
        let form = f.get("contact").unwrap_or_else(|| panic!("form"));
        let sub = Submission {
            name: Some("منى".into()),
            phone: Some("٠٥٠ ١٢٣ ٤٥٦٧".into()),
            company: Some("شركة الندى".into()),
            message: Some("أريد عرض سعر".into()),
            consent: Some("on".into()),
            utm_campaign: Some("رمضان".into()),
            lang: Some("ar".into()),
            ..Submission::default()
        };
        let c = capture(
            form,
            &sub,
            PhoneRegion::parse("SA").unwrap_or_else(|e| panic!("{e}")),
            at(0),
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(
            c.lead.phone.as_ref().map(|p| p.as_str()),
            Some("+966501234567")
        );
        assert_eq!(
            c.interaction.notes.as_str(),
            "أريد عرض سعر\n\n🏢 شركة الندى"
        );
        assert_eq!(c.details.utm_campaign.as_deref(), Some("رمضان"));
        assert_eq!(c.details.consent.map(|c| c.text), Some("أوافق".into()));
        let long = Submission {
            message: Some("ن".repeat(Note::MAX + 1)),
            consent: None,
            ..sub
        };
        let errs = capture(
            form,
            &long,
            PhoneRegion::parse("SA").unwrap_or_else(|e| panic!("{e}")),
            at(0),
        )
        .err()
        .unwrap_or_default();
        let fields: Vec<&str> = errs.iter().map(|(f, _, _)| *f).collect();
        assert_eq!(fields, ["message", "consent"]);
    }
}
