//! A team's name. The directory gives each employee a team, and a manager the teams they
//! lead ([`crate::employee::Employee`]); what a team looks like at a moment is a
//! [`crate::employee::TeamSummary`].

use serde::{Deserialize, Serialize};

use crate::text::{arabic_letter, clean_line, string_newtype};
use crate::validation::ValidationError;

/// A team's name: one line (NFC, trimmed, inner white space folded), 1 to [`Team::MAX`]
/// characters, any script. It is an identifier, so spellings that read the same are one
/// team: Latin letters are lower-cased and Persian-keyboard letters read as Arabic ones
/// (`فريق ی` and `فريق ي` are one team, as are `Riyadh` and `riyadh`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Team(String);

impl Team {
    /// The longest team name accepted, in characters.
    pub const MAX: usize = 64;

    /// Parses a team name.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let line = clean_line("team", raw, Self::MAX)?;
        Ok(Self(
            line.chars()
                .map(arabic_letter)
                .flat_map(char::to_lowercase)
                .collect(),
        ))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

string_newtype!(Team, Team::parse);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_that_read_the_same_are_one_team() {
        let t = |s: &str| Team::parse(s).map(|t| t.as_str().to_owned());
        assert_eq!(t("  Riyadh   North "), Ok("riyadh north".into()));
        assert_eq!(t("فريق علی"), t("فريق علي"));
        assert_eq!(t("مکتب"), Ok("مكتب".into()));
        assert!(matches!(t("  "), Err(ValidationError::Empty { .. })));
        assert!(matches!(
            t(&"x".repeat(65)),
            Err(ValidationError::TooLong { .. })
        ));
        assert!(matches!(
            t("a\u{202E}b"),
            Err(ValidationError::ForbiddenCharacter { .. })
        ));
    }
}
