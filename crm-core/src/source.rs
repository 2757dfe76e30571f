//! Where a lead came from.

use std::str::FromStr;

use serde::{Deserialize, Serialize};

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

use crate::text::{arabic_letter, ascii_digit, string_newtype};
use crate::validation::ValidationError;

/// A lead source: one of the built-in sources or a host's own, as a short slug: 1 to 32
/// letters of any script (`web`, `معرض`), digits, `_` or `-`, starting with a letter. Stored
/// and compared lowercase and NFC, with Arabic-Indic digits as ASCII and Persian-keyboard
/// letters as their Arabic ones (`معرض_۲` and `معرض_2` are one source).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Source(String);

impl Source {
    /// The built-in sources, in report order.
    pub const BUILT_IN: [&'static str; 6] = ["web", "referral", "phone", "email", "event", "other"];

    /// Parses a source slug (trimmed, lowercased, NFC).
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        parse_slug(raw)
            .map(Self)
            .map_err(|reason| ValidationError::InvalidSource {
                value: raw.chars().take(40).collect(),
                reason,
            })
    }

    fn builtin(i: usize) -> Self {
        Self(Self::BUILT_IN[i].to_owned())
    }
    /// `web`.
    pub fn web() -> Self {
        Self::builtin(0)
    }
    /// `referral`.
    pub fn referral() -> Self {
        Self::builtin(1)
    }
    /// `phone`.
    pub fn phone() -> Self {
        Self::builtin(2)
    }
    /// `email`.
    pub fn email() -> Self {
        Self::builtin(3)
    }
    /// `event`.
    pub fn event() -> Self {
        Self::builtin(4)
    }
    /// `other`.
    pub fn other() -> Self {
        Self::builtin(5)
    }

    /// Whether this is one of [`Source::BUILT_IN`].
    pub fn is_built_in(&self) -> bool {
        Self::BUILT_IN.contains(&self.0.as_str())
    }

    /// The slug.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Report order: built-in sources in their listed order, then the host's own by name.
    pub fn report_order(&self) -> (usize, &str) {
        let rank = Self::BUILT_IN
            .iter()
            .position(|b| *b == self.0)
            .unwrap_or(Self::BUILT_IN.len());
        (rank, &self.0)
    }
}

impl FromStr for Source {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

string_newtype!(Source, Source::parse);

/// The slug rules of sources (and of lost-reason codes): trimmed, lowercased, NFC, Arabic-Indic
/// digits as ASCII and Persian-keyboard letters as Arabic; 1 to 32 letters, digits, `_` or
/// `-`, starting with a letter. The error is the reason.
pub(crate) fn parse_slug(raw: &str) -> Result<String, &'static str> {
    let s: String = raw
        .trim()
        .nfc()
        .flat_map(char::to_lowercase)
        .map(|c| arabic_letter(ascii_digit(c)))
        .collect();
    if s.is_empty() {
        return Err("it is empty");
    }
    if s.chars().count() > 32 {
        return Err("it is longer than 32 characters");
    }
    if !s.starts_with(char::is_alphabetic) {
        return Err("it must start with a letter");
    }
    // Letters only: an Arabic combining mark (a haraka) would make two spellings of one slug.
    if !s.chars().all(|c| {
        (c.is_alphabetic() && !is_combining_mark(c)) || c.is_ascii_digit() || c == '_' || c == '-'
    }) {
        return Err("only letters, digits, _ and - are allowed");
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_ins_and_custom_slugs() {
        assert!(Source::web().is_built_in());
        let s = Source::parse(" Trade-Show_2026 ").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.as_str(), "trade-show_2026");
        assert!(!s.is_built_in());
        for bad in [
            "",
            "1abc",
            "a b",
            "مَعرض",
            "-x",
            "معرض الرياض",
            &"a".repeat(33),
        ] {
            assert!(Source::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn arabic_sources_are_one_source_whatever_the_keyboard() {
        let s = Source::parse(" معرض ").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.as_str(), "معرض");
        assert!(!s.is_built_in());
        assert_eq!(
            Source::parse("معرض_۲٠٢٦").map(String::from),
            Ok("معرض_2026".into())
        );
        assert_eq!(Source::parse("مکتب"), Source::parse("مكتب"));
        assert_eq!(
            Source::parse(&"ع".repeat(32)).map(|s| s.as_str().chars().count()),
            Ok(32)
        );
        assert!(Source::parse(&"ع".repeat(33)).is_err());
    }

    #[test]
    fn report_order_puts_built_ins_first() {
        let mut v = vec![
            Source::parse("zzz"),
            Source::parse("aaa"),
            Ok(Source::other()),
            Ok(Source::web()),
        ]
        .into_iter()
        .collect::<Result<Vec<_>, _>>()
        .unwrap_or_default();
        v.sort_by(|a, b| a.report_order().cmp(&b.report_order()));
        let names: Vec<_> = v.iter().map(Source::as_str).collect();
        assert_eq!(names, ["web", "other", "aaa", "zzz"]);
    }
}
