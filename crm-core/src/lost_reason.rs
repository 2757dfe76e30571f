//! Why leads are lost: a code from the host's list ([`LostReasons`]), with optional free-text
//! detail. Moving a lead to `lost` needs a code from the list in force; the code makes lost
//! leads countable by reason ([`crate::LostReasonReport`]).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::contact::Name;
use crate::source::parse_slug;
use crate::text::string_newtype;
use crate::validation::ValidationError;

/// A lost-reason code: a short slug under the rules of [`crate::Source`] (1 to 32 letters of any
/// script, digits, `_` or `-`, starting with a letter; lowercase, NFC), e.g. `price`, `سعر`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct LostReasonCode(String);

impl LostReasonCode {
    /// Parses a code (trimmed, lowercased, NFC, Arabic-Indic digits as ASCII).
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        // The same slug rules as sources: one spelling per code whatever the keyboard.
        parse_slug(raw)
            .map(Self)
            .map_err(|reason| ValidationError::InvalidLostReasonCode {
                value: raw.chars().take(40).collect(),
                reason,
            })
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for LostReasonCode {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

string_newtype!(LostReasonCode, LostReasonCode::parse);

/// Why a lead was lost: a code and, optionally, free text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LostReason {
    /// The code (one of the host's [`LostReasons`] when the lead was marked lost).
    pub code: LostReasonCode,
    /// Free-text detail ("chose the competitor's annual plan").
    pub detail: Option<Name>,
}

impl LostReason {
    /// A reason with a code and no detail.
    pub fn new(code: LostReasonCode) -> Self {
        Self { code, detail: None }
    }
    /// Adds free-text detail.
    pub fn detail(mut self, detail: Name) -> Self {
        self.detail = Some(detail);
        self
    }
}

impl fmt::Display for LostReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.detail {
            Some(d) => write!(f, "{}: {}", self.code, d),
            None => f.write_str(self.code.as_str()),
        }
    }
}

/// The lost-reason codes a host accepts, in the order it lists them. At least one code, no
/// code twice.
///
/// The default list: `price` (too expensive), `competitor` (chose another vendor),
/// `no-budget`, `no-response` (could not be reached), `not-interested`, `timing` (not now),
/// `duplicate` (the same person as another lead), `other` (see the detail). Leads marked lost
/// before codes existed read back with `other` and their text as the detail.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Vec<LostReasonCode>", into = "Vec<LostReasonCode>")]
pub struct LostReasons(Vec<LostReasonCode>);

impl LostReasons {
    /// The default codes, in order.
    pub const DEFAULT: [&'static str; 8] = [
        "price",
        "competitor",
        "no-budget",
        "no-response",
        "not-interested",
        "timing",
        "duplicate",
        "other",
    ];

    /// A list of codes; refused when empty or when a code repeats.
    pub fn new(codes: Vec<LostReasonCode>) -> Result<Self, ValidationError> {
        if codes.is_empty() {
            return Err(ValidationError::InvalidList {
                field: "lost reasons",
                reason: "the list is empty; a lead could never be marked lost".into(),
            });
        }
        for (i, c) in codes.iter().enumerate() {
            if codes[..i].contains(c) {
                return Err(ValidationError::InvalidList {
                    field: "lost reasons",
                    reason: format!("{c} is listed twice"),
                });
            }
        }
        Ok(Self(codes))
    }

    /// Parses a comma-separated list (`price,competitor,سعر`).
    pub fn parse(list: &str) -> Result<Self, ValidationError> {
        Self::new(
            list.split([',', '،'])
                .map(LostReasonCode::parse)
                .collect::<Result<_, _>>()?,
        )
    }

    /// The codes, in order.
    pub fn codes(&self) -> &[LostReasonCode] {
        &self.0
    }

    /// Accepts `reason` when its code is in the list.
    pub fn check(&self, reason: &LostReason) -> Result<(), ValidationError> {
        if self.0.contains(&reason.code) {
            return Ok(());
        }
        Err(ValidationError::UnknownLostReason {
            code: reason.code.to_string(),
            expected: self
                .0
                .iter()
                .map(LostReasonCode::as_str)
                .collect::<Vec<_>>()
                .join(", "),
        })
    }
}

impl Default for LostReasons {
    fn default() -> Self {
        Self(
            Self::DEFAULT
                .iter()
                .map(|c| LostReasonCode(String::from(*c)))
                .collect(),
        )
    }
}

impl TryFrom<Vec<LostReasonCode>> for LostReasons {
    type Error = ValidationError;
    fn try_from(v: Vec<LostReasonCode>) -> Result<Self, Self::Error> {
        Self::new(v)
    }
}

impl From<LostReasons> for Vec<LostReasonCode> {
    fn from(v: LostReasons) -> Self {
        v.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(s: &str) -> LostReasonCode {
        LostReasonCode::parse(s).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn codes_are_slugs_in_any_script() {
        assert_eq!(code(" Price ").as_str(), "price");
        assert_eq!(code("سعر_۲"), code("سعر_2"));
        for bad in ["", "no budget", "1x", &"a".repeat(33)] {
            assert!(LostReasonCode::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_list_refuses_empty_and_repeated_codes_and_unknown_reasons() {
        assert!(LostReasons::parse("price,Price").is_err());
        assert!(LostReasons::new(vec![]).is_err());
        let list = LostReasons::parse("price, سعر").unwrap_or_else(|e| panic!("{e}"));
        assert!(list.check(&LostReason::new(code("سعر"))).is_ok());
        assert!(matches!(
            list.check(&LostReason::new(code("competitor"))),
            Err(ValidationError::UnknownLostReason { expected, .. }) if expected == "price, سعر"
        ));
        let d = LostReasons::default();
        assert_eq!(d.codes().len(), LostReasons::DEFAULT.len());
        for c in LostReasons::DEFAULT {
            assert_eq!(code(c).as_str(), c, "default codes are valid slugs");
        }
    }
}
