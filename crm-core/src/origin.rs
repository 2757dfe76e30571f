//! Where a lead that arrived by itself came from, and what the person agreed to
//! ([`crate::capture`]): kept with the lead in its history ([`crate::Change::Captured`]).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::validation::ValidationError;

/// Where a capture came from and what the person agreed to, kept with the lead it makes
/// (in its history's [`Change::Captured`](crate::Change::Captured) entry): a web form's UTM parameters, referring
/// page, consent and language. Each text is 1 to [`CaptureDetails::MAX`] characters without
/// control characters; an empty one is left out.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaptureDetails {
    /// `utm_source`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utm_source: Option<String>,
    /// `utm_medium`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utm_medium: Option<String>,
    /// `utm_campaign`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utm_campaign: Option<String>,
    /// `utm_term`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utm_term: Option<String>,
    /// `utm_content`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utm_content: Option<String>,
    /// The page the person came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referrer: Option<String>,
    /// What the person agreed to, and when.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent: Option<Consent>,
    /// The language the person used (a BCP 47 tag, `ar`, `en-GB`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
}

/// Consent given with a capture: the text the person saw, and when they agreed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consent {
    /// The text, as shown.
    pub text: String,
    /// When.
    pub at: DateTime<Utc>,
}

impl CaptureDetails {
    /// The longest text kept.
    pub const MAX: usize = 500;

    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// Refuses a text longer than [`CaptureDetails::MAX`] or with control characters; a
    /// blank one is made `None`.
    pub fn checked(mut self) -> Result<Self, ValidationError> {
        let fields: [(&'static str, &mut Option<String>); 7] = [
            ("utm_source", &mut self.utm_source),
            ("utm_medium", &mut self.utm_medium),
            ("utm_campaign", &mut self.utm_campaign),
            ("utm_term", &mut self.utm_term),
            ("utm_content", &mut self.utm_content),
            ("referrer", &mut self.referrer),
            ("language", &mut self.language),
        ];
        for (field, value) in fields {
            *value = value
                .take()
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty());
            if let Some(v) = value {
                check_text(field, v)?;
            }
        }
        if let Some(c) = &self.consent {
            check_text("consent", &c.text)?;
        }
        Ok(self)
    }
}

fn check_text(field: &'static str, v: &str) -> Result<(), ValidationError> {
    let len = v.chars().count();
    if len > CaptureDetails::MAX {
        return Err(ValidationError::TooLong {
            field,
            max: CaptureDetails::MAX,
            len,
        });
    }
    match v.chars().find(|c| c.is_control()) {
        Some(c) => Err(ValidationError::ForbiddenCharacter {
            field,
            codepoint: u32::from(c),
        }),
        None => Ok(()),
    }
}
