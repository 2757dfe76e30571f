//! Where a lead came from.

use std::str::FromStr;

use serde::{Deserialize, Serialize};

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

use crate::employee::{Employee, Role};
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

/// Who may record a lead under a source the host did not list ([`Sources`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum NewSources {
    /// Anyone who may create or edit the lead (the default).
    #[default]
    Everyone,
    /// Management only: sales staff choose from the list.
    Management,
    /// Nobody: only the listed sources.
    Nobody,
}

impl NewSources {
    /// The setting's name (`everyone`, `management`, `nobody`).
    pub fn as_str(self) -> &'static str {
        match self {
            NewSources::Everyone => "everyone",
            NewSources::Management => "management",
            NewSources::Nobody => "nobody",
        }
    }
}

impl FromStr for NewSources {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "everyone" => Ok(NewSources::Everyone),
            "management" => Ok(NewSources::Management),
            "nobody" => Ok(NewSources::Nobody),
            other => Err(ValidationError::UnknownName {
                kind: "new sources policy",
                value: other.chars().take(40).collect(),
                expected: "everyone, management, nobody",
            }),
        }
    }
}

/// The sources a host offers (the pickers' list, in order) and who may record a lead under
/// one not listed. The default lists the built-in sources and lets anyone add one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sources {
    listed: Vec<Source>,
    new: NewSources,
}

impl Default for Sources {
    fn default() -> Self {
        Self {
            listed: (0..Source::BUILT_IN.len()).map(Source::builtin).collect(),
            new: NewSources::Everyone,
        }
    }
}

impl Sources {
    /// `listed` (not empty, no source twice) under `new`.
    pub fn new(listed: Vec<Source>, new: NewSources) -> Result<Self, ValidationError> {
        if listed.is_empty() {
            return Err(ValidationError::InvalidList {
                field: "sources",
                reason: "the list is empty; no lead could be recorded".into(),
            });
        }
        for (i, s) in listed.iter().enumerate() {
            if listed[..i].contains(s) {
                return Err(ValidationError::InvalidList {
                    field: "sources",
                    reason: format!("{s} is listed twice"),
                });
            }
        }
        Ok(Self { listed, new })
    }

    /// Parses a comma-separated list (`web,referral,معرض`) under `new`.
    pub fn parse(list: &str, new: NewSources) -> Result<Self, ValidationError> {
        Self::new(
            list.split([',', '،'])
                .map(Source::parse)
                .collect::<Result<_, _>>()?,
            new,
        )
    }

    /// The listed sources, in order.
    pub fn listed(&self) -> &[Source] {
        &self.listed
    }

    /// Who may add a source.
    pub fn new_sources(&self) -> NewSources {
        self.new
    }

    /// Whether `actor` may record a lead under a source not listed.
    pub fn may_add(&self, actor: &Employee) -> bool {
        match self.new {
            NewSources::Everyone => true,
            NewSources::Management => actor.role == Role::Manager,
            NewSources::Nobody => false,
        }
    }

    /// Accepts `source` from `actor`: listed, or a new one they may add.
    pub fn check(&self, source: &Source, actor: &Employee) -> Result<(), ValidationError> {
        if self.may_add(actor) {
            return Ok(());
        }
        self.check_listed(source)
    }

    /// Accepts `source` only if it is listed (for a writer that adds no sources: a capture
    /// channel).
    pub fn check_listed(&self, source: &Source) -> Result<(), ValidationError> {
        if self.listed.contains(source) {
            return Ok(());
        }
        Err(ValidationError::UnlistedSource {
            value: source.to_string(),
            expected: (self.listed.iter())
                .map(Source::as_str)
                .collect::<Vec<_>>()
                .join(", "),
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_source_not_listed_is_refused_to_whoever_may_not_add_one() {
        use crate::contact::Name;
        use crate::ids::EmployeeId;
        let who = |role| {
            let name = Name::parse("x").unwrap_or_else(|e| panic!("{e}"));
            Employee::new(
                EmployeeId::new(1).unwrap_or_else(|e| panic!("{e}")),
                name,
                role,
            )
        };
        let (sales, boss) = (who(Role::Sales), who(Role::Manager));
        let fair = Source::parse("معرض").unwrap_or_else(|e| panic!("{e}"));
        let web = Source::web();
        let open = Sources::default();
        assert!(open.check(&fair, &sales).is_ok(), "anyone adds by default");
        let managed =
            Sources::parse("web, معرض_۲", NewSources::Management).unwrap_or_else(|e| panic!("{e}"));
        assert!(managed.check(&web, &sales).is_ok());
        // Persian-keyboard and Arabic-Indic spellings are the listed source.
        let fair2 = Source::parse("معرض_2").unwrap_or_else(|e| panic!("{e}"));
        assert!(managed.check(&fair2, &sales).is_ok());
        let e = managed.check(&fair, &sales).map_err(|e| e.to_string());
        assert_eq!(
            e,
            Err("source \"معرض\" is not one of the host's: web, معرض_2".to_owned())
        );
        assert!(managed.check(&fair, &boss).is_ok());
        let closed = Sources::parse("web", NewSources::Nobody).unwrap_or_else(|e| panic!("{e}"));
        assert!(closed.check(&fair, &boss).is_err());
        assert!(Sources::parse("web,web", NewSources::Nobody).is_err());
        assert!(Sources::parse("", NewSources::Nobody).is_err());
        assert_eq!(
            "management".parse::<NewSources>(),
            Ok(NewSources::Management)
        );
        assert!("some".parse::<NewSources>().is_err());
    }

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
