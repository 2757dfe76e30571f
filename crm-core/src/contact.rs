//! Contact data newtypes: [`Name`], [`Email`], [`Phone`] (read in a [`PhoneRegion`]) and
//! [`Note`]. Each can only hold a valid, normalised value.

mod fast_phone;

use phonenumber::metadata::{DATABASE, Metadata};
use phonenumber::{ParseError, country};
use serde::{Deserialize, Serialize};

use crate::text::{ascii_digit, clean_block, clean_line, string_newtype};
use crate::validation::ValidationError;

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

/// The region codes `phonenumber` knows that its metadata has no numbering plan for.
const REGIONS_WITHOUT_METADATA: &[&str] = &[];

/// The region whose numbering plan reads a phone number typed in local form (`0501234567`
/// is a Saudi mobile only if the region is `SA`): an ISO 3166 alpha-2 code that the
/// `phonenumber` metadata knows. A host configures one per deployment or per team.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PhoneRegion(country::Id);

impl PhoneRegion {
    /// Parses an ISO 3166 alpha-2 code such as `SA` or `us` (case-insensitive).
    pub fn parse(code: &str) -> Result<Self, ValidationError> {
        let err = || ValidationError::UnknownRegion {
            code: code.chars().take(20).collect(),
        };
        let upper = code.trim().to_ascii_uppercase();
        // `country::Id` parses any of its variant names; only two letters are region codes.
        if upper.len() != 2 || !upper.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(err());
        }
        let id: country::Id = upper.parse().map_err(|_| err())?;
        // The id list and the metadata are separate tables; a region without metadata could
        // not read a single local number. Those regions are listed (a test checks the list
        // against the metadata), so reading a configured region does not load the metadata,
        // which every command of the `crm` tool would otherwise pay for.
        if REGIONS_WITHOUT_METADATA.contains(&id.as_ref()) {
            return Err(err());
        }
        Ok(Self(id))
    }

    /// The upper-case ISO 3166 alpha-2 code.
    pub fn code(&self) -> &str {
        self.0.as_ref()
    }
}

impl std::str::FromStr for PhoneRegion {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for PhoneRegion {
    type Error = ValidationError;
    fn try_from(v: String) -> Result<Self, Self::Error> {
        Self::parse(&v)
    }
}

impl From<PhoneRegion> for String {
    fn from(v: PhoneRegion) -> String {
        v.code().to_owned()
    }
}

impl std::fmt::Display for PhoneRegion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// A phone number: the **key** that duplicate detection compares, and the text as typed,
/// kept for display.
///
/// The key is the number in E.164 (`+966501234567`), followed by `;ext=NNN` when the number
/// has an extension (`+13027654235;ext=116`, the RFC 3966 spelling). `0501234567` read in
/// region `SA`, `+966 50 123 4567`, `00966501234567` and `٠٥٠١٢٣٤٥٦٧` (region `SA`) all have
/// the key `+966501234567`. The numbering plans come from the `phonenumber` crate (Google's
/// libphonenumber metadata), not from a table of our own.
///
/// A number is accepted when its length is *possible* for its country, not only when it is
/// in an assigned range: a CRM must take the number a customer gives, and assignments change
/// faster than any release. What cannot be a phone number is refused with the reason.
///
/// Equality, hashing and ordering compare the key only: `0501234567` and `+966501234567`
/// are the same number, as they are for duplicate detection. Compare [`Phone::display`]
/// where the spelling matters.
///
/// Serialised as `{"key": "+966501234567", "display": "٠٥٠١٢٣٤٥٦٧"}`; a bare string (the
/// form before display text was kept) still deserialises, as both key and display.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(try_from = "PhoneWire", into = "PhoneWire")]
pub struct Phone {
    key: String,
    display: String,
}

/// The serialised form of [`Phone`].
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum PhoneWire {
    Parts { key: String, display: String },
    Legacy(String),
}

impl Phone {
    /// The longest phone text accepted as typed, in characters.
    pub const MAX: usize = 64;

    /// Parses a number written in international form: `+966 50 123 4567` or
    /// `00966501234567`. A number in local form (`0501234567`) is refused, because only a
    /// region says which country it belongs to; use [`Phone::parse_in`] for input that may
    /// be local.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        Self::read(raw, None)
    }

    /// Parses a number in international form, or in the local form of `region`
    /// (`0501234567` in `SA`, `(302) 765-4235 x116` in `US`).
    pub fn parse_in(raw: &str, region: PhoneRegion) -> Result<Self, ValidationError> {
        Self::read(raw, Some(region))
    }

    fn read(raw: &str, region: Option<PhoneRegion>) -> Result<Self, ValidationError> {
        let err = |reason| ValidationError::InvalidPhone {
            value: raw.chars().take(40).collect(),
            reason,
        };
        let display = clean_line("phone", raw, Self::MAX).map_err(|e| {
            err(match e {
                ValidationError::Empty { .. } => "it is empty",
                ValidationError::TooLong { .. } => "it is longer than 64 characters",
                _ => "it has a control or bidi-override character",
            })
        })?;
        let Dialable { number, extension } = dialable(&display).map_err(err)?;
        let e164 = match region {
            None => {
                let Some(rest) = international(&number) else {
                    return Err(err(
                        "it is in local form; reading it needs a default region (such as SA) \
                         or a + and country code",
                    ));
                };
                e164(None, &format!("+{rest}"))
            }
            Some(r) => match e164(Some(r.0), &number) {
                // `00` is the international prefix in most of the world but not everywhere
                // (the US dials 011): a number the region cannot read that starts with `00`
                // is read as international.
                Err(e) => match international(&number) {
                    Some(rest) if !number.starts_with('+') => {
                        e164(None, &format!("+{rest}")).map_err(|_| e)
                    }
                    _ => Err(e),
                },
                ok => ok,
            },
        }
        .map_err(err)?;
        let key = match extension {
            Some(ext) => format!("{e164};ext={ext}"),
            None => e164,
        };
        Ok(Self { key, display })
    }

    /// Rebuilds a phone from what a store kept: the key and the text as typed (`None` when
    /// the store kept no display text; the key is shown then).
    ///
    /// The key is checked for its shape, not re-read through the numbering plans: it was
    /// made by [`Phone::parse`] or [`Phone::parse_in`]. Keys stored before keys were E.164
    /// are accepted too: ASCII digits without a `+` (a local number, which cannot be turned
    /// into E.164 without the region it was typed in) keep matching each other; a leading
    /// `00` is read as `+`.
    pub fn from_stored(key: &str, display: Option<&str>) -> Result<Self, ValidationError> {
        let err = |reason| ValidationError::InvalidPhone {
            value: key.chars().take(40).collect(),
            reason,
        };
        let (number, extension) = match key.split_once(";ext=") {
            Some((n, e)) => (n, Some(e)),
            None => (key, None),
        };
        let key_number = match number.strip_prefix("00") {
            Some(rest) => format!("+{rest}"),
            None => number.to_owned(),
        };
        let digits = key_number.strip_prefix('+').unwrap_or(&key_number);
        if !digits.bytes().all(|b| b.is_ascii_digit()) || !(6..=15).contains(&digits.len()) {
            return Err(err(
                "a stored phone key must be 6 to 15 digits after an optional +",
            ));
        }
        let key = match extension {
            Some(e) if is_extension(e) => format!("{key_number};ext={e}"),
            Some(_) => return Err(err("a stored phone extension must be 1 to 10 digits")),
            None => key_number,
        };
        let display = match display {
            Some(d) => clean_line("phone", d, Self::MAX).map_err(|_| {
                err("the stored phone text is empty, too long or has a control character")
            })?,
            None => key.clone(),
        };
        Ok(Self { key, display })
    }

    /// The key duplicate detection compares: E.164, then `;ext=NNN` when there is an
    /// extension.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The key (the same as [`Phone::key`]).
    pub fn as_str(&self) -> &str {
        &self.key
    }

    /// The number as typed, cleaned (NFC, trimmed, inner white space folded); the digits
    /// stay in the script they were typed in.
    pub fn display(&self) -> &str {
        &self.display
    }

    /// The extension, if the number has one.
    pub fn extension(&self) -> Option<&str> {
        self.key.split_once(";ext=").map(|(_, e)| e)
    }
}

impl PartialEq for Phone {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl Eq for Phone {}

impl std::hash::Hash for Phone {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.key.hash(state);
    }
}

impl PartialOrd for Phone {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Phone {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key.cmp(&other.key)
    }
}

impl AsRef<str> for Phone {
    fn as_ref(&self) -> &str {
        &self.key
    }
}

/// Shows the number as typed (what a person recognises); [`Phone::key`] is the key.
impl std::fmt::Display for Phone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.display)
    }
}

impl TryFrom<PhoneWire> for Phone {
    type Error = ValidationError;
    fn try_from(v: PhoneWire) -> Result<Self, Self::Error> {
        match v {
            PhoneWire::Parts { key, display } => Self::from_stored(&key, Some(&display)),
            PhoneWire::Legacy(key) => Self::from_stored(&key, None),
        }
    }
}

impl From<Phone> for PhoneWire {
    fn from(v: Phone) -> Self {
        PhoneWire::Parts {
            key: v.key,
            display: v.display,
        }
    }
}

/// A typed phone number split into the number (ASCII digits, `+` and separators) and the
/// extension digits.
struct Dialable {
    number: String,
    extension: Option<String>,
}

/// The words and signs that introduce an extension, lower case, longest first so `ext.`
/// wins over `ext` and `x`. Arabic speakers write تحويلة (transfer) or داخلي (internal).
const EXTENSION_MARKERS: &[&str] = &[
    ";ext=",
    "extension",
    "تحويلة",
    "داخلي",
    "ext.",
    "ext",
    "x",
    "#",
];

/// Separators people type inside a number: the number's meaning does not depend on them.
fn is_separator(c: char) -> bool {
    matches!(
        c,
        ' ' | '-' | '.' | '/' | '(' | ')' | '\u{2010}'..='\u{2015}'
    )
}

/// ASCII digits, `+` and separators, then optionally an extension. Arabic-Indic digits become
/// ASCII, bidi marks (which Arabic text puts around Latin runs) are dropped and any white
/// space becomes a space, so `phonenumber` sees what a person meant. Letters are refused
/// here: `phonenumber` would read them as a vanity number or skip them as surrounding text,
/// and neither is what a CRM user typing a phone means.
fn dialable(display: &str) -> Result<Dialable, &'static str> {
    let text: String = display
        .chars()
        .filter(|c| !matches!(c, '\u{200E}' | '\u{200F}' | '\u{061C}'))
        .map(|c| {
            if c.is_whitespace() {
                ' '
            } else {
                ascii_digit(c)
            }
        })
        .collect();
    let end = text
        .find(|c: char| !(c.is_ascii_digit() || c == '+' || is_separator(c)))
        .unwrap_or(text.len());
    let (number, rest) = text.split_at(end);
    let number = number.trim();
    let extension = if rest.is_empty() {
        None
    } else {
        let lower = rest.to_lowercase();
        let digits = EXTENSION_MARKERS
            .iter()
            .find_map(|m| lower.strip_prefix(m))
            .map(|d| d.trim_start_matches([' ', '.', ':', '=', '-']))
            .filter(|d| is_extension(d))
            .ok_or(
                "it has a letter or sign that is not part of a phone number; only an \
                 extension such as x116 or ext. 116 may follow the number",
            )?;
        Some(digits.to_owned())
    };
    if number.chars().skip(1).any(|c| c == '+') {
        return Err("a + may only come first");
    }
    if !number.chars().any(|c| c.is_ascii_digit()) {
        return Err("it has no digits");
    }
    Ok(Dialable {
        number: number.to_owned(),
        extension,
    })
}

/// 1 to 10 ASCII digits: libphonenumber keeps extensions of up to 7 digits from free text,
/// and PBX systems rarely use more than 6.
fn is_extension(s: &str) -> bool {
    (1..=10).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
}

/// The digits after a leading `+` or `00` (the international forms), if there is one.
fn international(number: &str) -> Option<&str> {
    number
        .strip_prefix('+')
        .or_else(|| number.strip_prefix("00"))
}

/// The national-number lengths a region's numbers can have, and those only local numbers
/// (without an area code) have, sorted. libphonenumber's own build derives the general
/// description's lengths as this union; the `phonenumber` crate reads its XML as it is, where
/// only the number types list them.
fn lengths(meta: &Metadata) -> (Vec<u16>, Vec<u16>) {
    let d = meta.descriptors();
    let types = [
        d.fixed_line(),
        d.mobile(),
        d.toll_free(),
        d.premium_rate(),
        d.shared_cost(),
        d.personal_number(),
        d.voip(),
        d.pager(),
        d.uan(),
        d.voicemail(),
    ];
    let mut possible: Vec<u16> = d.general().possible_length().to_vec();
    let mut local: Vec<u16> = d.general().possible_local_length().to_vec();
    for t in types.into_iter().flatten() {
        possible.extend_from_slice(t.possible_length());
        local.extend_from_slice(t.possible_local_length());
    }
    for v in [&mut possible, &mut local] {
        v.sort_unstable();
        v.dedup();
    }
    (possible, local)
}

/// The calling code and national number of `number` (ASCII digits, `+`, separators) read by
/// `phonenumber`, in `region` when given.
fn full_parse(region: Option<country::Id>, number: &str) -> Result<(u16, String), &'static str> {
    let parsed = phonenumber::parse(region, number).map_err(|e| match e {
        ParseError::NoNumber => "it has too few digits to be a phone number",
        ParseError::InvalidCountryCode => "it does not start with a known country calling code",
        ParseError::TooShortAfterIdd | ParseError::TooShortNsn => "it is too short",
        ParseError::TooLong | ParseError::MalformedInteger(_) => "it is too long",
    })?;
    Ok((parsed.code().value(), parsed.national().to_string()))
}

/// Reads `number` (ASCII digits, `+`, separators), in `region` when given, and returns its
/// E.164 form if its length is possible for its country: `+` and digits the shortcut of
/// [`fast_phone`] reads, anything else `phonenumber` does.
fn e164(region: Option<country::Id>, number: &str) -> Result<String, &'static str> {
    let (code, national) = match fast_phone::international(region, number) {
        Some(read) => read,
        None => full_parse(region, number)?,
    };
    possible_e164(code, &national)
}

/// `+` `code` `national` when that number's length is possible for its country.
fn possible_e164(code: u16, national: &str) -> Result<String, &'static str> {
    // libphonenumber judges "possible" against the main region of a shared calling code
    // (`US` for +1), as here.
    let meta = DATABASE
        .by_code(&code)
        .and_then(|all| {
            all.iter()
                .find(|m| m.is_main_country_for_code())
                .or_else(|| all.first())
                .copied()
        })
        .ok_or("it does not start with a known country calling code")?;
    let len = u16::try_from(national.len()).map_err(|_| "it is too long")?;
    let (possible, local) = lengths(meta);
    if !possible.contains(&len) && local.contains(&len) {
        return Err("it is a local number without its area code");
    }
    match (possible.first(), possible.last()) {
        (Some(&min), _) if len < min => return Err("it is too short for a number of its country"),
        (_, Some(&max)) if len > max => return Err("it is too long for a number of its country"),
        (Some(_), _) if !possible.contains(&len) => {
            return Err("it has the wrong number of digits for its country");
        }
        _ => {}
    }
    let e164 = format!("+{code}{national}");
    // E.164's own limit: 15 digits with the country code.
    if e164.len() > 16 {
        return Err("it is longer than E.164's 15 digits");
    }
    Ok(e164)
}

string_newtype!(Name, Name::parse);
string_newtype!(Note, Note::parse);
string_newtype!(Email, Email::parse);

#[cfg(test)]
mod tests {
    use super::*;

    /// Every two-letter code the id list knows has metadata, but the listed ones: what
    /// `PhoneRegion::parse` accepts without loading the metadata is what it would accept
    /// with it.
    #[test]
    fn regions_without_metadata_are_exactly_the_listed_ones() {
        let mut missing = Vec::new();
        for a in b'A'..=b'Z' {
            for b in b'A'..=b'Z' {
                let code = String::from_utf8(vec![a, b]).unwrap();
                if let Ok(id) = code.parse::<country::Id>()
                    && DATABASE.by_id(id.as_ref()).is_none()
                {
                    missing.push(code);
                }
            }
        }
        assert_eq!(missing, REGIONS_WITHOUT_METADATA);
    }

    fn sa() -> PhoneRegion {
        PhoneRegion::parse("SA").unwrap()
    }

    fn us() -> PhoneRegion {
        PhoneRegion::parse("us").unwrap()
    }

    fn reason(r: Result<Phone, ValidationError>) -> &'static str {
        match r {
            Err(ValidationError::InvalidPhone { reason, .. }) => reason,
            other => panic!("expected InvalidPhone, got {other:?}"),
        }
    }

    #[test]
    fn one_saudi_number_written_every_way_has_one_key() {
        for typed in [
            "0501234567",
            "+966501234567",
            "00966501234567",
            "٠٥٠١٢٣٤٥٦٧",
            "+٩٦٦ ٥٠ ١٢٣ ٤٥٦٧",
            "+۹۶۶۵۰۱۲۳۴۵۶۷",
            " +966 (50) 123-4567 ",
            "\u{200F}050\u{00A0}123\u{00A0}4567\u{200E}",
            "966501234567",
        ] {
            let p = Phone::parse_in(typed, sa()).unwrap_or_else(|e| panic!("{typed}: {e}"));
            assert_eq!(p.key(), "+966501234567", "{typed}");
            assert_eq!(p.as_str(), p.key());
            assert_eq!(p.extension(), None);
        }
        // The display keeps what was typed, cleaned: digits in their own script.
        let p = Phone::parse_in(" ٠٥٠١٢٣٤٥٦٧ ", sa()).unwrap();
        assert_eq!(p.display(), "٠٥٠١٢٣٤٥٦٧");
        assert_eq!(p.to_string(), "٠٥٠١٢٣٤٥٦٧");
        // The same number, so equal, whatever the spelling.
        assert_eq!(p, Phone::parse("00966501234567").unwrap());
    }

    #[test]
    fn international_forms_need_no_region() {
        for typed in ["+966501234567", "00966501234567", "+٩٦٦٥٠١٢٣٤٥٦٧"] {
            assert_eq!(
                Phone::parse(typed).map(|p| p.key().to_owned()),
                Ok("+966501234567".into()),
                "{typed}"
            );
        }
        // A US number dialled with 00 although the US prefix is 011.
        assert_eq!(
            Phone::parse_in("00966501234567", us()).map(|p| p.key().to_owned()),
            Ok("+966501234567".into())
        );
    }

    #[test]
    fn extensions_are_kept_in_the_key() {
        let p = Phone::parse_in("302-765-4235x116", us()).unwrap();
        assert_eq!(p.key(), "+13027654235;ext=116");
        assert_eq!(p.extension(), Some("116"));
        assert_eq!(p.display(), "302-765-4235x116");
        // 993 is not an assigned area code, but the number is possible: accepted.
        let p = Phone::parse_in("(993)710-3413x164", us()).unwrap();
        assert_eq!(p.key(), "+19937103413;ext=164");
        for typed in [
            "+1 302 765 4235 ext. 116",
            "302.765.4235 EXT 116",
            "(302) 765-4235 #116",
            "+13027654235;ext=116",
        ] {
            assert_eq!(
                Phone::parse_in(typed, us()).map(|p| p.key().to_owned()),
                Ok("+13027654235;ext=116".into()),
                "{typed}"
            );
        }
        assert_eq!(
            Phone::parse_in("011 234 5678 تحويلة ٢٣", sa()).map(|p| p.key().to_owned()),
            Ok("+966112345678;ext=23".into())
        );
        // The extension is part of the number: another extension is another line.
        assert_ne!(
            Phone::parse_in("302-765-4235x116", us()).unwrap(),
            Phone::parse_in("302-765-4235x117", us()).unwrap()
        );
    }

    #[test]
    fn a_local_number_without_a_region_is_refused_saying_so() {
        let r = reason(Phone::parse("0501234567"));
        assert!(r.contains("region"), "{r}");
        assert!(reason(Phone::parse("٠٥٠١٢٣٤٥٦٧")).contains("region"));
    }

    #[test]
    fn what_cannot_be_a_phone_is_refused_with_its_reason() {
        assert_eq!(reason(Phone::parse_in("", sa())), "it is empty");
        assert_eq!(reason(Phone::parse_in("   ", sa())), "it is empty");
        assert!(reason(Phone::parse_in("12345", sa())).contains("too short"));
        assert!(reason(Phone::parse_in("+9665012345678901", sa())).contains("too long"));
        assert!(reason(Phone::parse_in("05012345678901", sa())).contains("too long"));
        assert!(reason(Phone::parse_in("abc123456", sa())).contains("letter"));
        assert!(reason(Phone::parse_in("0501234567 call after 5", sa())).contains("letter"));
        assert!(reason(Phone::parse_in("1-800-FLOWERS", us())).contains("letter"));
        assert!(reason(Phone::parse_in("0501234567x", sa())).contains("extension"));
        assert_eq!(
            reason(Phone::parse_in("+1 2+3", sa())),
            "a + may only come first"
        );
        assert!(reason(Phone::parse_in("+999 1234 5678", sa())).contains("country calling code"));
        assert!(reason(Phone::parse_in("765-4235", us())).contains("area code"));
        assert!(reason(Phone::parse_in("--", sa())).contains("no digits"));
        assert!(reason(Phone::parse_in("050\u{202E}1234567", sa())).contains("bidi"));
        assert!(reason(Phone::parse_in(&"1".repeat(65), sa())).contains("64"));
    }

    #[test]
    fn regions_are_iso_codes() {
        assert_eq!(
            PhoneRegion::parse(" sa ").map(|r| r.to_string()),
            Ok("SA".into())
        );
        assert_eq!(
            "AE".parse::<PhoneRegion>().map(|r| r.code().to_owned()),
            Ok("AE".into())
        );
        for bad in ["", "S", "SAU", "ZZ", "Saudi", "001", "s1"] {
            assert!(
                matches!(
                    PhoneRegion::parse(bad),
                    Err(ValidationError::UnknownRegion { .. })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn stored_phones_read_back_legacy_keys_too() {
        let p = Phone::from_stored("+966501234567", Some("٠٥٠١٢٣٤٥٦٧")).unwrap();
        assert_eq!((p.key(), p.display()), ("+966501234567", "٠٥٠١٢٣٤٥٦٧"));
        let p = Phone::from_stored("+13027654235;ext=116", None).unwrap();
        assert_eq!(
            (p.display(), p.extension()),
            ("+13027654235;ext=116", Some("116"))
        );
        // Legacy keys: a local number stays as it was; 00 reads as +.
        assert_eq!(
            Phone::from_stored("0501234567", None).map(|p| p.key().to_owned()),
            Ok("0501234567".into())
        );
        assert_eq!(
            Phone::from_stored("00966501234567", None).map(|p| p.key().to_owned()),
            Ok("+966501234567".into())
        );
        for bad in [
            "",
            "+",
            "12345",
            "+1234567890123456",
            "+96650 1234567",
            "+966501234567;ext=",
            "+966501234567;ext=1a",
        ] {
            assert!(
                matches!(
                    Phone::from_stored(bad, None),
                    Err(ValidationError::InvalidPhone { .. })
                ),
                "{bad}"
            );
        }
        assert!(Phone::from_stored("+966501234567", Some("")).is_err());
    }

    #[test]
    fn phone_serde_keeps_both_parts_and_reads_the_old_string_form() -> Result<(), serde_json::Error>
    {
        let p = Phone::parse_in("٠٥٠١٢٣٤٥٦٧", sa()).unwrap();
        let json = serde_json::to_string(&p)?;
        assert_eq!(json, r#"{"key":"+966501234567","display":"٠٥٠١٢٣٤٥٦٧"}"#);
        let back: Phone = serde_json::from_str(&json)?;
        assert_eq!((back.key(), back.display()), (p.key(), p.display()));
        let old: Phone = serde_json::from_str(r#""0501234567""#)?;
        assert_eq!((old.key(), old.display()), ("0501234567", "0501234567"));
        assert!(serde_json::from_str::<Phone>(r#"{"key":"abc","display":"x"}"#).is_err());
        assert_eq!(serde_json::to_string(&sa())?, r#""SA""#);
        assert!(serde_json::from_str::<PhoneRegion>(r#""XX""#).is_err());
        Ok(())
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
