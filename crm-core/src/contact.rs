//! Contact data newtypes: [`Name`], [`Email`], [`Phone`] and [`Note`]. Each can only hold a
//! valid, normalised value.

use serde::{Deserialize, Serialize};

use crate::error::ValidationError;
use crate::text::{ascii_digit, clean_block, clean_line, string_newtype};

/// A single line of human text (a person's or company's name, a title, a reason): NFC,
/// trimmed, inner white space folded, 1 to [`Name::MAX`] characters, any script.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Name(String);

impl Name {
    /// The longest name accepted, in characters.
    pub const MAX: usize = 200;

    /// Parses a name for `field` (the field is named in the error).
    pub fn parse_field(field: &'static str, raw: &str) -> Result<Self, ValidationError> {
        clean_line(field, raw, Self::MAX).map(Self)
    }

    /// Parses a name.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        Self::parse_field("name", raw)
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Free text such as interaction notes: NFC, trimmed, line breaks kept, at most
/// [`Note::MAX`] characters; may be empty.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Note(String);

impl Note {
    /// The longest note accepted, in characters.
    pub const MAX: usize = 4000;

    /// Parses a note.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        clean_block("notes", raw, Self::MAX).map(Self)
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An email address, trimmed and lowercased, syntax checked (`local@domain.tld`, at most 254
/// characters). Internationalised addresses (Arabic letters in the local part or domain) are
/// accepted; white space, quotes and control characters are not.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    /// Parses an email address.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let err = |reason| ValidationError::InvalidEmail {
            value: raw.chars().take(80).collect(),
            reason,
        };
        let s = raw.trim().to_lowercase();
        if s.is_empty() {
            return Err(err("it is empty"));
        }
        if s.chars().count() > 254 {
            return Err(err("it is longer than 254 characters"));
        }
        let (local, domain) = s.rsplit_once('@').ok_or_else(|| err("it has no @"))?;
        if local.is_empty() {
            return Err(err("nothing before the @"));
        }
        if local.chars().count() > 64 {
            return Err(err("the part before the @ is longer than 64 characters"));
        }
        let local_ok = local
            .chars()
            .all(|c| c.is_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c));
        if !local_ok {
            return Err(err(
                "the part before the @ has a character not allowed there",
            ));
        }
        if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
            return Err(err("the part before the @ has a misplaced dot"));
        }
        let labels: Vec<&str> = domain.split('.').collect();
        if labels.len() < 2 {
            return Err(err("the domain has no dot"));
        }
        for label in &labels {
            if label.is_empty() || label.chars().count() > 63 {
                return Err(err("the domain has an empty or over-long part"));
            }
            if !label.chars().all(|c| c.is_alphanumeric() || c == '-')
                || label.starts_with('-')
                || label.ends_with('-')
            {
                return Err(err("the domain has a character not allowed there"));
            }
        }
        let tld = labels.last().map_or("", |l| l);
        if tld.chars().count() < 2 || tld.chars().all(|c| c.is_ascii_digit()) {
            return Err(err("the domain does not end in a valid top-level domain"));
        }
        Ok(Self(s))
    }

    /// The normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A phone number normalised to ASCII digits with an optional leading `+`: 6 to 15 digits
/// (E.164's limit). Arabic-Indic digits are accepted, as are the separators people type
/// (spaces, `-`, `.`, `/`, parentheses); a leading `00` stays as typed.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Phone(String);

impl Phone {
    /// Parses a phone number.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let err = |reason| ValidationError::InvalidPhone {
            value: raw.chars().take(40).collect(),
            reason,
        };
        let mut out = String::with_capacity(16);
        let mut digits = 0usize;
        for (i, c) in raw.trim().chars().enumerate() {
            let c = ascii_digit(c);
            match c {
                '0'..='9' => {
                    out.push(c);
                    digits += 1;
                }
                '+' if i == 0 => out.push('+'),
                '+' => return Err(err("a + may only come first")),
                ' ' | '-' | '.' | '/' | '(' | ')' | '\u{00A0}' | '\u{200E}' | '\u{200F}' => {}
                _ => return Err(err("it has a character that is not a digit or separator")),
            }
        }
        if digits < 6 {
            return Err(err("it has fewer than 6 digits"));
        }
        if digits > 15 {
            return Err(err("it has more than 15 digits"));
        }
        Ok(Self(out))
    }

    /// The normalised number.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

string_newtype!(Name, Name::parse);
string_newtype!(Note, Note::parse);
string_newtype!(Email, Email::parse);
string_newtype!(Phone, Phone::parse);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_accepts_arabic_indic_digits_and_separators() {
        assert_eq!(
            Phone::parse("٠٥٠١٢٣٤٥٦٧").map(String::from),
            Ok("0501234567".into())
        );
        assert_eq!(
            Phone::parse(" +966 (50) 123-4567 ").map(String::from),
            Ok("+966501234567".into())
        );
        assert_eq!(
            Phone::parse("+۹۶۶۵۰۱۲۳۴۵۶۷").map(String::from),
            Ok("+966501234567".into())
        );
    }

    #[test]
    fn phone_rejects_bad_input_with_reason() {
        for bad in ["12345", "+1 2+3", "abc123456", "1234567890123456", ""] {
            assert!(
                matches!(Phone::parse(bad), Err(ValidationError::InvalidPhone { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn email_is_lowercased_and_checked() {
        assert_eq!(
            Email::parse("  Ali@Example.COM ").map(String::from),
            Ok("ali@example.com".into())
        );
        assert!(Email::parse("بريد@مثال.السعودية").is_ok());
        for bad in [
            "",
            "a",
            "a@",
            "@b.com",
            "a@b",
            "a b@c.com",
            "a@-b.com",
            "a..b@c.com",
            "a@b.c",
            "a@1.23",
        ] {
            assert!(
                matches!(Email::parse(bad), Err(ValidationError::InvalidEmail { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn name_keeps_arabic_and_refuses_empty() {
        assert_eq!(
            Name::parse(" شركة  الأفق ").map(String::from),
            Ok("شركة الأفق".into())
        );
        assert!(Name::parse("\t").is_err());
        assert!(Name::parse(&"x".repeat(Name::MAX + 1)).is_err());
    }

    #[test]
    fn note_keeps_lines() {
        assert_eq!(Note::parse(" a\r\nb ").map(String::from), Ok("a\nb".into()));
        assert!(Note::parse(&"x".repeat(Note::MAX + 1)).is_err());
    }
}
