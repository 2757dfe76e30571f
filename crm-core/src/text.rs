//! Text handling shared by every field: Unicode normalisation, Arabic-Indic digits, and the
//! search key that makes search match Arabic the way its readers expect.

use unicode_normalization::UnicodeNormalization;

use crate::validation::ValidationError;

/// Maps Arabic-Indic (U+0660..) and Eastern Arabic-Indic (U+06F0..) digits to ASCII digits and
/// leaves every other character alone.
pub fn ascii_digits(s: &str) -> String {
    s.chars().map(ascii_digit).collect()
}

/// One character of [`ascii_digits`].
pub(crate) fn ascii_digit(c: char) -> char {
    match c {
        '\u{0660}'..='\u{0669}' => char::from(b'0' + (c as u32 - 0x0660) as u8),
        '\u{06F0}'..='\u{06F9}' => char::from(b'0' + (c as u32 - 0x06F0) as u8),
        _ => c,
    }
}

/// Cleans a human-entered single-line text: NFC-normalised, trimmed, inner runs of white space
/// folded to one space. Control characters and bidi overrides (a spoofing vector in mixed
/// Arabic/Latin text) are refused, as is text longer than `max` characters or, when `required`,
/// empty text.
pub(crate) fn clean_line(
    field: &'static str,
    raw: &str,
    max: usize,
) -> Result<String, ValidationError> {
    let nfc: String = raw.nfc().collect();
    if let Some(c) = nfc.chars().find(|c| is_forbidden(*c) && !c.is_whitespace()) {
        return Err(ValidationError::ForbiddenCharacter {
            field,
            codepoint: c as u32,
        });
    }
    let folded = nfc.split_whitespace().collect::<Vec<_>>().join(" ");
    if folded.is_empty() {
        return Err(ValidationError::Empty { field });
    }
    let len = folded.chars().count();
    if len > max {
        return Err(ValidationError::TooLong { field, max, len });
    }
    Ok(folded)
}

/// Cleans multi-line free text (notes): NFC, trimmed, line breaks kept, other control
/// characters refused, at most `max` characters. Empty text is allowed.
pub(crate) fn clean_block(
    field: &'static str,
    raw: &str,
    max: usize,
) -> Result<String, ValidationError> {
    let nfc: String = raw.nfc().collect();
    if let Some(c) = nfc
        .chars()
        .find(|c| is_forbidden(*c) && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(ValidationError::ForbiddenCharacter {
            field,
            codepoint: c as u32,
        });
    }
    let trimmed = nfc.trim().replace("\r\n", "\n");
    let len = trimmed.chars().count();
    if len > max {
        return Err(ValidationError::TooLong { field, max, len });
    }
    Ok(trimmed)
}

fn is_forbidden(c: char) -> bool {
    // Bidi embeddings/overrides/isolates; the marks LRM/RLM/ALM are legitimate in Arabic text.
    c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// The Arabic letter a Persian-keyboard letter stands for in Arabic text: Gulf data mixes
/// both keyboards, so `علی` (Farsi yeh) and `علي` are one name, as are `مکتب` (keheh) and
/// `مكتب`. Every other character is left alone.
pub fn arabic_letter(c: char) -> char {
    match c {
        '\u{06CC}' => '\u{064A}', // Farsi yeh -> yeh
        '\u{06A9}' => '\u{0643}', // keheh -> kaf
        '\u{06C0}' => '\u{0647}', // heh with yeh above -> heh
        c => c,
    }
}

/// The key text search compares: case-folded, NFKC, Arabic diacritics (tashkeel) and tatweel
/// removed, Persian-keyboard letters read as Arabic ones ([`arabic_letter`]), the hamza seats
/// folded to their bare letters (alef variants to alef, `ؤ` to waw, `ئ` to ya), ta marbuta to
/// ha, alef maksura to ya, and Arabic-Indic digits to ASCII. "أحمد" finds "احمد" and
/// "أَحْمَد"; "علي" finds "علی"; "٠٥٠" finds "050".
pub fn search_key(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut last_space = true;
    for c in s.nfkc() {
        let c = arabic_letter(ascii_digit(c));
        let mapped = match c {
            '\u{064B}'..='\u{065F}' | '\u{0670}' | '\u{0640}' | '\u{200C}'..='\u{200F}' => None,
            '\u{0622}' | '\u{0623}' | '\u{0625}' | '\u{0671}' => Some('\u{0627}'),
            '\u{0624}' => Some('\u{0648}'),
            '\u{0626}' | '\u{0649}' => Some('\u{064A}'),
            '\u{0629}' => Some('\u{0647}'),
            c if c.is_whitespace() => Some(' '),
            c => Some(c),
        };
        if let Some(m) = mapped {
            if m == ' ' {
                if !last_space {
                    out.push(' ');
                }
                last_space = true;
            } else {
                out.extend(m.to_lowercase());
                last_space = false;
            }
        }
    }
    if out.ends_with(' ') {
        out.pop();
    }
    out
}

/// Implements `AsRef<str>`, `Display`, `TryFrom<String>` (through the type's parser) and
/// `From<T> for String` for a validated string newtype `T(String)`.
macro_rules! string_newtype {
    ($t:ident, $parse:expr) => {
        impl AsRef<str> for $t {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $t {
            type Error = $crate::validation::ValidationError;
            fn try_from(v: String) -> Result<Self, Self::Error> {
                ($parse)(v.as_str())
            }
        }

        impl From<$t> for String {
            fn from(v: $t) -> String {
                v.0
            }
        }

        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}
pub(crate) use string_newtype;

/// Finds the enum value whose stable name is `s` (trimmed, case-insensitive, `-` read as
/// `_`), or names the accepted ones in the error.
pub(crate) fn parse_name<T: Copy>(
    kind: &'static str,
    s: &str,
    all: &[T],
    name: impl Fn(T) -> &'static str,
    expected: &'static str,
) -> Result<T, ValidationError> {
    let t = s.trim().to_ascii_lowercase().replace('-', "_");
    all.iter()
        .copied()
        .find(|v| name(*v) == t)
        .ok_or_else(|| ValidationError::UnknownName {
            kind,
            value: s.chars().take(40).collect(),
            expected,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_fold_to_ascii() {
        assert_eq!(ascii_digits("٠٥٠١٢٣٤٥٦٧"), "0501234567");
        assert_eq!(ascii_digits("۰۹"), "09");
    }

    #[test]
    fn search_key_folds_arabic_spelling_variants() {
        assert_eq!(search_key("أَحْمَد"), search_key("احمد"));
        assert_eq!(search_key("إسلام"), search_key("اسلام"));
        assert_eq!(search_key("فاطمة"), search_key("فاطمه"));
        assert_eq!(search_key("مصطفى"), search_key("مصطفي"));
        assert_eq!(search_key("  Big   CORP "), "big corp");
        assert_eq!(search_key("شركة ١٢٣"), search_key("شركه 123"));
    }

    #[test]
    fn search_key_reads_persian_keyboard_letters_as_arabic() {
        assert_eq!(search_key("علی کریمی"), search_key("علي كريمي"));
        assert!(search_key("علی کریمی").contains(&search_key("علي")));
        assert!(search_key("علی کریمی").contains(&search_key("كريمي")));
        assert_eq!(search_key("مکتب"), search_key("مكتب"));
        assert_eq!(search_key("خانۀ"), search_key("خانه"));
        // Hamza seats: the bare letter finds the seated one, both ways.
        assert_eq!(search_key("مؤسسة"), search_key("موسسه"));
        assert_eq!(search_key("رئيس"), search_key("رييس"));
        assert_eq!(search_key("إيمان"), search_key("ايمان"));
    }

    #[test]
    fn clean_line_folds_space_and_refuses_controls() {
        assert_eq!(
            clean_line("name", "  محمد   علي ", 10).as_deref(),
            Ok("محمد علي")
        );
        assert!(matches!(
            clean_line("name", "a\u{202E}b", 10),
            Err(ValidationError::ForbiddenCharacter { .. })
        ));
        assert!(matches!(
            clean_line("name", "   ", 10),
            Err(ValidationError::Empty { .. })
        ));
        assert!(matches!(
            clean_line("name", "abcdef", 5),
            Err(ValidationError::TooLong { max: 5, len: 6, .. })
        ));
    }
}
