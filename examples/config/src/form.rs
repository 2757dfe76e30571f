//! The web forms leads arrive by (`forms` in `crm.toml`): each a capture channel of the
//! library ([`crm_core::capture`]) named `form.NAME`, published by crm-server at
//! `/forms/NAME`.
//!
//! ```toml
//! [forms.contact]
//! assign = "round-robin:riyadh"        # whom its new leads go to
//! source = "web"                       # the lead source recorded (default: web)
//! fields = ["name", "email*", "phone", "company", "message"]   # * = required
//! origins = ["https://www.example.sa"] # the websites that may post it
//! title = "اطلب عرض سعر"               # the page's heading
//! thanks = "شكرًا لك، سنتواصل معك قريبًا"
//! consent = "أوافق على أن تتواصل معي الشركة بخصوص طلبي"
//! ```
//!
//! In the environment (`CRM_FORMS`) the same tables are written as JSON:
//! `{"contact": {"assign": "round-robin:riyadh", "fields": ["name", "email*"]}}`.
//!
//! Every form has a name field (always required) and an e-mail or phone field: a lead is
//! someone to contact. A form with `consent` asks for it, and a submission without it is
//! refused.

use std::collections::BTreeMap;

use crm_core::{AssignmentRule, Source, SystemActor};
use serde::Deserialize;

/// A field a form may ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FieldKind {
    /// The person's name.
    Name,
    /// Their e-mail.
    Email,
    /// Their phone.
    Phone,
    /// Their company.
    Company,
    /// What they write (kept whole as the first interaction).
    Message,
}

impl FieldKind {
    /// Every field, in the order a form shows them.
    pub const ALL: [FieldKind; 5] = [
        FieldKind::Name,
        FieldKind::Email,
        FieldKind::Phone,
        FieldKind::Company,
        FieldKind::Message,
    ];

    /// Its name in the configuration and in a submission.
    pub fn as_str(self) -> &'static str {
        match self {
            FieldKind::Name => "name",
            FieldKind::Email => "email",
            FieldKind::Phone => "phone",
            FieldKind::Company => "company",
            FieldKind::Message => "message",
        }
    }
}

/// One field of a form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FormField {
    /// Which.
    pub kind: FieldKind,
    /// Whether a submission must fill it.
    pub required: bool,
}

/// A web form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FormSpec {
    /// Its name (`contact`): its address is `/forms/NAME`.
    pub name: String,
    /// The capture channel its submissions are taken in by (`form.contact`).
    pub channel: SystemActor,
    /// The rule its new leads are given by.
    pub rule: AssignmentRule,
    /// The source its leads are recorded under.
    pub source: Source,
    /// The heading of its page (`None`: the server's own words).
    pub title: Option<String>,
    /// Its fields, in order.
    pub fields: Vec<FormField>,
    /// The websites that may post it (`https://www.example.sa`), besides crm-server itself.
    pub origins: Vec<String>,
    /// What a person reads after sending it (`None`: the server's own words).
    pub thanks: Option<String>,
    /// The consent a person must give to send it, if any.
    pub consent: Option<String>,
}

impl FormSpec {
    /// The field of `kind`, if the form has it.
    pub fn field(&self, kind: FieldKind) -> Option<FormField> {
        self.fields.iter().copied().find(|f| f.kind == kind)
    }

    /// Whether `origin` (an `Origin` header: `scheme://host[:port]`) is one of the form's.
    pub fn allows_origin(&self, origin: &str) -> bool {
        let origin = origin.trim().trim_end_matches('/').to_ascii_lowercase();
        self.origins.contains(&origin)
    }
}

/// A form as written in the configuration.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Written {
    assign: String,
    #[serde(default)]
    source: Option<String>,
    fields: Vec<String>,
    #[serde(default)]
    origins: Vec<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    thanks: Option<String>,
    #[serde(default)]
    consent: Option<String>,
}

/// The longest thank-you or consent text.
pub const MAX_TEXT: usize = 500;

/// Every form of the JSON form (an object of forms by name; empty text: none).
pub fn parse_forms(text: &str) -> Result<Vec<FormSpec>, String> {
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    let written: BTreeMap<String, Written> =
        serde_json::from_str(text).map_err(|e| format!("forms: {e}"))?;
    written.into_iter().map(|(n, w)| form(&n, w)).collect()
}

fn form(name: &str, w: Written) -> Result<FormSpec, String> {
    let refuse = |why: String| format!("form {name}: {why}");
    let channel = SystemActor::parse(&format!("form.{name}"))
        .map_err(|_| refuse("a name is 1 to 59 of a-z, 0-9, _, -, .".into()))?;
    let rule: AssignmentRule = w.assign.parse().map_err(|e| refuse(format!("{e}")))?;
    if rule.source.is_some() {
        return Err(refuse(
            "assign is STRATEGY:TEAM (the form names its source)".into(),
        ));
    }
    let source = match &w.source {
        Some(s) => Source::parse(s).map_err(|e| refuse(e.to_string()))?,
        None => Source::web(),
    };
    let mut fields: Vec<FormField> = Vec::new();
    for f in &w.fields {
        let (key, required) = match f.trim().strip_suffix('*') {
            Some(k) => (k.trim(), true),
            None => (f.trim(), false),
        };
        let kind = (FieldKind::ALL.into_iter())
            .find(|k| k.as_str() == key)
            .ok_or_else(|| {
                refuse(format!(
                    "no field {key:?} (the fields: name, email, phone, company, message)"
                ))
            })?;
        if fields.iter().any(|g| g.kind == kind) {
            return Err(refuse(format!("{key} is listed twice")));
        }
        // A lead has a name, always.
        let required = required || kind == FieldKind::Name;
        fields.push(FormField { kind, required });
    }
    let has = |k| fields.iter().any(|f| f.kind == k);
    if !has(FieldKind::Name) || !(has(FieldKind::Email) || has(FieldKind::Phone)) {
        return Err(refuse(
            "a form asks for a name and an e-mail or phone (someone to contact)".into(),
        ));
    }
    let mut origins = Vec::new();
    for o in &w.origins {
        let url = url::Url::parse(o.trim()).map_err(|e| refuse(format!("origin {o:?}: {e}")))?;
        let bare = url.path() == "/" && url.query().is_none() && url.fragment().is_none();
        if !matches!(url.scheme(), "https" | "http") || !bare || url.host_str().is_none() {
            return Err(refuse(format!(
                "origin {o:?} is a website's address alone, https://www.example.sa"
            )));
        }
        origins.push(url.origin().ascii_serialization());
    }
    let text = |t: Option<String>, what: &str| -> Result<Option<String>, String> {
        match t.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty()) {
            Some(t) if t.chars().count() > MAX_TEXT || t.chars().any(char::is_control) => {
                Err(refuse(format!(
                    "{what} is at most {MAX_TEXT} characters on one line"
                )))
            }
            t => Ok(t),
        }
    };
    Ok(FormSpec {
        name: name.to_owned(),
        channel,
        rule,
        source,
        fields,
        origins,
        title: text(w.title, "title")?,
        thanks: text(w.thanks, "thanks")?,
        consent: text(w.consent, "consent")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_form_reads_its_fields_origins_and_texts() {
        let forms = parse_forms(
            r#"{"contact": {"assign": "round-robin:riyadh", "fields": ["email*", "name", "message"],
                "origins": ["https://WWW.example.sa/"], "consent": "أوافق"}}"#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let f = &forms[0];
        assert_eq!(f.channel.as_str(), "form.contact");
        assert_eq!(f.source, Source::web());
        assert!(
            f.field(FieldKind::Name).is_some_and(|n| n.required),
            "a name always"
        );
        assert!(f.field(FieldKind::Email).is_some_and(|e| e.required));
        assert!(f.field(FieldKind::Phone).is_none());
        assert!(f.allows_origin("https://www.example.sa"));
        assert!(!f.allows_origin("https://evil.example"));
        assert_eq!(f.consent.as_deref(), Some("أوافق"));
    }

    #[test]
    fn a_form_that_cannot_make_a_lead_is_refused() {
        for bad in [
            r#"{"a": {"assign": "round-robin:x", "fields": ["name", "company"]}}"#,
            r#"{"a": {"assign": "round-robin:x", "fields": ["email", "message"]}}"#,
            r#"{"a": {"assign": "round-robin:x", "fields": ["name", "email", "email"]}}"#,
            r#"{"a": {"assign": "round-robin:x", "fields": ["name", "email", "age"]}}"#,
            r#"{"a": {"assign": "round-robin:x", "fields": ["name", "email"], "origins": ["https://x.example/page"]}}"#,
            r#"{"a": {"assign": "round-robin:x", "fields": ["name", "email"], "colour": "red"}}"#,
            r#"{"A B": {"assign": "round-robin:x", "fields": ["name", "email"]}}"#,
        ] {
            assert!(parse_forms(bad).is_err(), "{bad}");
        }
    }
}
