//! A shortcut for the commonest phone spelling, `+` and the digits (`+966501234567`,
//! `+966 50 123 4567`), that gives what `phonenumber::parse` gives without running it.
//!
//! Why: the full parse costs about 130,000 instructions per number, most of it picking the
//! region of a calling code that several regions share (`+1` has 25: each region's number
//! patterns are matched in turn, through a regex cache of 100 entries behind one mutex), and
//! creating a lead reads its phone. The region picked only decides how a national prefix
//! is stripped from what follows the calling code. So when no region that could be picked
//! strips anything from this number, every pick gives the same national number, and the
//! pick can be skipped.
//!
//! What the full parse does with `+` and digit groups separated by single spaces (the only
//! input taken here; anything else, and any doubt, goes to the full parse):
//! 1. The RFC 3966 reader refuses any text with a space, and without one it takes every
//!    digit after `+` as the calling code and then finds no number, so the natural reader
//!    runs: it keeps the text, and normalising it keeps the digits.
//! 2. The calling code is the shortest of the first 1 to 3 digits that the metadata knows.
//!    Given a default region, a match of that region's international prefix at the start of
//!    the digits after `+` is stripped first; here such a match means "full parse".
//! 3. The region: the default one, or the one the number's patterns pick. Its national
//!    prefix for parsing is stripped when it matches at the start, else its national prefix
//!    when the number starts with it. Here: when that could happen for the default region or
//!    for any region of the calling code, full parse.
//! 4. The national number is then the digits after the calling code (here: at least 2, and
//!    15 digits in all at most, E.164's limit; not all zeros).
//!
//! The property tests below compare this with the full parse on
//! generated numbers of every calling code, in ASCII and Arabic-Indic digits.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use phonenumber::country;
use phonenumber::metadata::{DATABASE, Metadata};
use regex::{Regex, RegexBuilder};

/// What a region strips from the start of a national number: its national prefix, and its
/// pattern for national prefixes (and carrier codes) when parsing; compiled the way the
/// metadata compiles them (with `x` on, white space ignored).
struct Stripping {
    prefix: Option<String>,
    parsing: Option<Regex>,
}

impl Stripping {
    fn of(meta: &Metadata) -> Option<Self> {
        Some(Self {
            prefix: meta.national_prefix().map(str::to_owned),
            parsing: match meta.national_prefix_for_parsing() {
                Some(re) => Some(compiled(re.as_str())?),
                None => None,
            },
        })
    }

    /// Whether this region could strip anything from the start of `national`.
    fn may_strip(&self, national: &str) -> bool {
        self.prefix
            .as_deref()
            .is_some_and(|p| !p.is_empty() && national.starts_with(p))
            || self
                .parsing
                .as_ref()
                .is_some_and(|re| re.find(national).is_some_and(|m| m.start() == 0))
    }
}

fn compiled(source: &str) -> Option<Regex> {
    RegexBuilder::new(source)
        .ignore_whitespace(true)
        .build()
        .ok()
}

/// A region's stripping and international prefix.
struct Region {
    stripping: Stripping,
    international: Option<Regex>,
}

/// What the shortcut needs of a calling code or a default region, compiled once each.
#[derive(Default)]
struct Tables {
    /// The distinct strippings of the regions sharing a calling code.
    codes: HashMap<u16, Arc<Vec<Stripping>>>,
    regions: HashMap<country::Id, Arc<Region>>,
}

fn tables() -> &'static Mutex<Tables> {
    static TABLES: OnceLock<Mutex<Tables>> = OnceLock::new();
    TABLES.get_or_init(Mutex::default)
}

fn code_strippings(code: u16) -> Option<Arc<Vec<Stripping>>> {
    let mut t = tables().lock().ok()?;
    if let Some(s) = t.codes.get(&code) {
        return Some(s.clone());
    }
    let mut seen: Vec<(Option<&str>, Option<&str>)> = Vec::new();
    let mut all = Vec::new();
    for meta in DATABASE.by_code(&code)? {
        let key = (
            meta.national_prefix(),
            meta.national_prefix_for_parsing().map(|r| r.as_str()),
        );
        if !seen.contains(&key) {
            seen.push(key);
            all.push(Stripping::of(meta)?);
        }
    }
    let all = Arc::new(all);
    t.codes.insert(code, all.clone());
    Some(all)
}

fn region_of(id: country::Id) -> Option<Arc<Region>> {
    let mut t = tables().lock().ok()?;
    if let Some(r) = t.regions.get(&id) {
        return Some(r.clone());
    }
    let meta = DATABASE.by_id(id.as_ref())?;
    let r = Arc::new(Region {
        stripping: Stripping::of(meta)?,
        international: match meta.international_prefix() {
            Some(re) => Some(compiled(re.as_str())?),
            None => None,
        },
    });
    t.regions.insert(id, r.clone());
    Some(r)
}

/// The calling code and the national number `phonenumber::parse(region, number)` would
/// give, when `number` is `+` and digit groups separated by single spaces and nothing could
/// make the full parse read it otherwise; `None` means "ask the full parse".
pub(super) fn international(region: Option<country::Id>, number: &str) -> Option<(u16, String)> {
    let rest = number.strip_prefix('+')?;
    if rest.starts_with(' ') || rest.ends_with(' ') || rest.contains("  ") {
        return None;
    }
    let digits: String = rest.chars().filter(|c| *c != ' ').collect();
    if !digits.bytes().all(|b| b.is_ascii_digit()) || !(3..=15).contains(&digits.len()) {
        return None;
    }
    // E.164 has at most 15 digits (longer ones the full parse refuses in its own ways), and
    // no calling code starts with 0.
    if digits.starts_with('0') {
        return None;
    }
    // Step 2: a default region's international prefix right after the `+` is stripped.
    let home = match region {
        Some(id) => {
            let r = region_of(id)?;
            if r.international
                .as_ref()
                .is_some_and(|re| re.find(&digits).is_some_and(|m| m.start() == 0))
            {
                return None;
            }
            Some(r)
        }
        None => None,
    };
    let (code, len) = (1..=3).find_map(|len| {
        let code: u16 = digits.get(..len)?.parse().ok()?;
        DATABASE.by_code(&code).map(|_| (code, len))
    })?;
    let national = &digits[len..];
    if national.len() < 2 || national.bytes().all(|b| b == b'0') {
        return None;
    }
    // Step 3: a default region is the region whose prefixes are stripped; without one, any
    // region of the calling code may be.
    let may_strip = match home {
        Some(r) => r.stripping.may_strip(national),
        None => code_strippings(code)?.iter().any(|s| s.may_strip(national)),
    };
    if may_strip {
        return None;
    }
    Some((code, national.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contact::{Phone, PhoneRegion, dialable, full_parse, possible_e164};
    use crate::text::clean_line;
    use proptest::prelude::*;

    /// Every calling code the metadata knows, sorted.
    fn codes() -> Vec<u16> {
        let mut v: Vec<u16> = DATABASE.iter().map(|m| m.country_code()).collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// Default regions to read in: none, ours, and ones whose prefixes are unusual (the US
    /// dials 011 abroad, Russia 810, Argentina rewrites national numbers when parsing,
    /// Brazil has carrier codes, Italy keeps leading zeros).
    const REGIONS: [Option<&str>; 9] = [
        None,
        Some("SA"),
        Some("AE"),
        Some("EG"),
        Some("US"),
        Some("RU"),
        Some("AR"),
        Some("BR"),
        Some("IT"),
    ];

    fn region(r: Option<&str>) -> Option<PhoneRegion> {
        r.map(|c| PhoneRegion::parse(c).unwrap())
    }

    /// The key the full parse gives for typed text starting with `+` (for such text
    /// `Phone::read` has nothing else to try).
    fn key_by_full_parse(typed: &str, region: Option<PhoneRegion>) -> Result<String, &str> {
        let display = clean_line("phone", typed, Phone::MAX).map_err(|_| "unclean")?;
        let d = dialable(&display)?;
        let (code, national) = full_parse(region.map(|r| r.0), &d.number)?;
        possible_e164(code, &national)
    }

    /// Writes ASCII digits in a script: 0 ASCII, 1 Arabic-Indic, 2 Persian.
    fn in_script(s: &str, script: u8) -> String {
        s.chars()
            .map(|c| match (c.to_digit(10), script) {
                (Some(d), 1) => char::from_u32(0x0660 + d).unwrap(),
                (Some(d), 2) => char::from_u32(0x06F0 + d).unwrap(),
                _ => c,
            })
            .collect()
    }

    /// `+`, the calling code, then `national` split into groups at `cuts`.
    fn spelled(code: u16, national: &str, cuts: &[usize], spaced: bool) -> String {
        let mut s = format!("+{code}");
        if spaced {
            s.push(' ');
        }
        for (i, c) in national.chars().enumerate() {
            if i > 0 && cuts.contains(&i) {
                s.push(' ');
            }
            s.push(c);
        }
        s
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1500))]

        /// Whenever the shortcut reads a number, the full parse reads it the same way; and a
        /// phone typed in any digit script gets the key the full parse gives.
        #[test]
        fn the_shortcut_agrees_with_the_full_parse(
            code in prop::sample::select(codes()),
            national in "[0-9]{1,16}",
            cuts in prop::collection::vec(1usize..16, 0..4),
            spaced in any::<bool>(),
            script in 0u8..3,
            r in prop::sample::select(REGIONS.to_vec()),
        ) {
            let ascii = spelled(code, &national, &cuts, spaced);
            let id = region(r).map(|r| r.0);
            if let Some(read) = international(id, &ascii) {
                prop_assert_eq!(full_parse(id, &ascii), Ok(read), "{} in {:?}", ascii, r);
            }
            let typed = in_script(&ascii, script);
            let ours = Phone::read(&typed, region(r)).map(|p| p.key().to_owned());
            let full = key_by_full_parse(&typed, region(r));
            prop_assert_eq!(ours.ok(), full.ok(), "{} in {:?}", typed, r);
        }

        /// Any other digits after a `+` (no calling code check, stray zeros, long runs): the
        /// shortcut never disagrees.
        #[test]
        fn any_plus_digits(
            digits in "[0-9]{1,20}",
            r in prop::sample::select(REGIONS.to_vec()),
        ) {
            let ascii = format!("+{digits}");
            let id = region(r).map(|r| r.0);
            if let Some(read) = international(id, &ascii) {
                prop_assert_eq!(full_parse(id, &ascii), Ok(read), "{} in {:?}", ascii, r);
            }
        }
    }

    /// The shortcut is taken for the spellings it is for, not only allowed: the benchmark's
    /// US numbers, and the Gulf and Egyptian ones our users type, in every digit script.
    #[test]
    fn common_international_spellings_take_the_shortcut() {
        for (typed, key) in [
            ("+15550000001", "+15550000001"),
            ("+1 302 765 4235", "+13027654235"),
            ("+966501234567", "+966501234567"),
            ("+966 50 123 4567", "+966501234567"),
            ("+٩٦٦ ٥٠ ١٢٣ ٤٥٦٧", "+966501234567"),
            ("+۹۷۱۵۰۱۲۳۴۵۶۷", "+971501234567"),
            ("+20 100 123 4567", "+201001234567"),
            ("+965 5012 3456", "+96550123456"),
        ] {
            let d = dialable(typed).unwrap();
            // (Read in the US, the US national prefix 1 may be stripped from a number of any
            // country: `+20 100...` goes to the full parse there.)
            for r in [None, Some("SA"), Some("AE")] {
                let id = region(r).map(|r| r.0);
                let read = international(id, &d.number);
                assert!(read.is_some(), "{typed} in {r:?} went to the full parse");
                assert_eq!(read.map(|(c, n)| format!("+{c}{n}")), Some(key.to_owned()));
                assert_eq!(Phone::read(typed, region(r)).unwrap().key(), key);
            }
        }
        // A national prefix after the code, the Russian exit code (810) after the +, separators the
        // RFC 3966 reader treats otherwise: the full parse decides.
        assert_eq!(international(None, "+44 020 7031 3000"), None);
        assert_eq!(
            international(region(Some("RU")).map(|r| r.0), "+810966501234567"),
            None
        );
        assert_eq!(international(None, "+1-555-000-0001"), None);
        assert_eq!(international(None, "+1  555"), None);
    }
}
