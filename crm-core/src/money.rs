//! Money: integer minor units plus an ISO 4217 currency, never floats.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::validation::ValidationError;

/// An ISO 4217 currency (codes and minor-unit exponents from the `iso_currency` table: USD 2,
/// SAR 2, KWD 3, JPY 0, ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency(iso_currency::Currency);

impl Currency {
    /// Parses an ISO 4217 alphabetic code, case-insensitively.
    pub fn parse(code: &str) -> Result<Self, ValidationError> {
        let upper = code.trim().to_ascii_uppercase();
        iso_currency::Currency::from_code(&upper)
            .map(Self)
            .ok_or_else(|| ValidationError::UnknownCurrency {
                code: code.chars().take(16).collect(),
            })
    }

    /// The three-letter code.
    pub fn code(&self) -> &'static str {
        self.0.code()
    }

    /// How many decimal digits the minor unit has (0 for currencies without one).
    pub fn exponent(&self) -> u32 {
        self.0.exponent().map_or(0, u32::from)
    }
}

impl FromStr for Currency {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for Currency {
    type Error = ValidationError;
    fn try_from(v: String) -> Result<Self, Self::Error> {
        Self::parse(&v)
    }
}

impl From<Currency> for String {
    fn from(v: Currency) -> String {
        v.code().to_owned()
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A non-negative amount of money in integer minor units of its currency.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "MoneyRepr", into = "MoneyRepr")]
pub struct Money {
    minor: i64,
    currency: Currency,
}

#[derive(Serialize, Deserialize)]
struct MoneyRepr {
    minor: i64,
    currency: Currency,
}

impl TryFrom<MoneyRepr> for Money {
    type Error = ValidationError;
    fn try_from(r: MoneyRepr) -> Result<Self, Self::Error> {
        Money::from_minor(r.minor, r.currency)
    }
}

impl From<Money> for MoneyRepr {
    fn from(m: Money) -> Self {
        MoneyRepr {
            minor: m.minor,
            currency: m.currency,
        }
    }
}

impl Money {
    /// An amount in minor units (cents, fils, halalas); negative amounts are refused.
    pub fn from_minor(minor: i64, currency: Currency) -> Result<Self, ValidationError> {
        if minor < 0 {
            return Err(ValidationError::InvalidAmount {
                value: minor.to_string(),
                reason: "amounts must not be negative",
            });
        }
        Ok(Self { minor, currency })
    }

    /// Parses a decimal amount such as `1250.5`, `1,250.500` or `١٬٢٥٠٫٥٠٠` in `currency`.
    ///
    /// Only forms that can be read one way are accepted; everything else is refused with the
    /// reason, never guessed:
    ///
    /// - Digits are ASCII, Arabic-Indic (`٠`-`٩`) or Eastern Arabic-Indic (`۰`-`۹`), one set
    ///   per number (`1٢3` is refused).
    /// - The decimal point is `.` or the Arabic decimal separator `٫`, at most one, with
    ///   digits on both sides (`0.5`, not `.5` or `5.`).
    /// - `,` or the Arabic thousands separator `٬` only separate thousands in the whole part:
    ///   a first group of 1-3 digits not starting with 0, then groups of exactly three
    ///   (`1,250,000.50`). `1,25`, `1,2`, `,5`, `1,2345`, `0,250` and `1,250,50` are refused,
    ///   as is a comma after the decimal point (`1.250,50`, the European style).
    /// - A number uses one separator style: `,` with `.`, or `٬` with `٫` (`1,250٫5` is
    ///   refused).
    /// - In a currency with three or more decimals (KWD, BHD, OMR, JOD, TND, IQD, LYD), a
    ///   number with a single thousands separator and no decimal point (`1,250`, `1٬250`) is
    ///   refused: 1.250 is as valid a reading as 1250. In SAR, AED or EGP `1,250` is 1250.00,
    ///   since 1.250 SAR would itself be refused (too many decimals). `1,250.000` and
    ///   `1,250,000` are unambiguous everywhere.
    /// - Spaces, underscores, apostrophes, signs and any other character are refused;
    ///   surrounding white space is trimmed.
    /// - More fraction digits than the currency has are refused rather than rounded.
    pub fn parse(amount: &str, currency: Currency) -> Result<Self, ValidationError> {
        let err = |reason| ValidationError::InvalidAmount {
            value: amount.chars().take(40).collect(),
            reason,
        };
        let s = amount.trim();
        if s.starts_with(['-', '\u{2212}']) {
            return Err(err("amounts must not be negative"));
        }
        let mut digits = None;
        let mut int = String::new();
        let mut frac = String::new();
        // The lengths of the digit runs of the whole part, split at thousands separators.
        let mut groups = vec![0usize];
        let mut group_sep = None;
        let mut point = None;
        for c in s.chars() {
            if let Some((set, d)) = digit(c) {
                if *digits.get_or_insert(set) != set {
                    return Err(err("mixes digit sets; write every digit in one script"));
                }
                if point.is_some() {
                    frac.push(d);
                } else {
                    int.push(d);
                    if let Some(g) = groups.last_mut() {
                        *g += 1;
                    }
                }
                continue;
            }
            match c {
                '.' | '\u{066B}' if point.is_some() => {
                    return Err(err("more than one decimal point"));
                }
                '.' | '\u{066B}' => point = Some(c),
                ',' | '\u{066C}' if point.is_some() => {
                    return Err(err(
                        "a thousands separator after the decimal point; use . or ٫ for decimals \
                         and , or ٬ only between thousands",
                    ));
                }
                ',' | '\u{066C}' => {
                    if *group_sep.get_or_insert(c) != c {
                        return Err(err("mixes the separators , and ٬"));
                    }
                    groups.push(0);
                }
                '+' => return Err(err("write the amount without a sign")),
                c if c.is_whitespace() || c == '_' || c == '\'' => {
                    return Err(err(
                        "spaces, underscores and apostrophes are not accepted in an amount; \
                         use , or ٬ between thousands",
                    ));
                }
                _ => {
                    return Err(err(
                        "not a decimal number; use digits, . or ٫ for decimals and , or ٬ \
                         between thousands",
                    ));
                }
            }
        }
        if int.is_empty() && groups.len() == 1 {
            return Err(err(match point {
                None => "not a decimal number",
                Some(_) => "needs a digit before the decimal point (write 0.5, not .5)",
            }));
        }
        if point.is_some() && frac.is_empty() {
            return Err(err("needs a digit after the decimal point"));
        }
        if matches!(
            (group_sep, point),
            (Some(','), Some('\u{066B}')) | (Some('\u{066C}'), Some('.'))
        ) {
            return Err(err(
                "mixes Latin and Arabic separators; use , with . or ٬ with ٫",
            ));
        }
        let exp = currency.exponent();
        if let [first, rest @ ..] = groups.as_slice()
            && !rest.is_empty()
        {
            if !(1..=3).contains(first) || rest.iter().any(|g| *g != 3) {
                return Err(err(COMMA_GROUPS));
            }
            if int.starts_with('0') {
                return Err(err(COMMA_GROUPS));
            }
            if rest.len() == 1 && point.is_none() && exp >= 3 {
                return Err(err(
                    "could be read as thousands or as decimals in a currency with three \
                     decimals; write it without the separator (1250) or with . or ٫ (1.250)",
                ));
            }
        }
        let frac_digits = u32::try_from(frac.len()).unwrap_or(u32::MAX);
        if frac_digits > exp {
            return Err(err("more decimal places than the currency has"));
        }
        let minor = int
            .bytes()
            .chain(frac.bytes())
            .chain(std::iter::repeat_n(b'0', (exp - frac_digits) as usize))
            .try_fold(0i64, |acc, b| {
                acc.checked_mul(10)?.checked_add(i64::from(b - b'0'))
            })
            .ok_or_else(|| err("too large"))?;
        Self::from_minor(minor, currency)
    }

    /// The decimal amount without the code, with the currency's own number of digits and
    /// no grouping: `1250.500` for KWD, `0.05` for USD, `1250` for JPY. [`Money::parse`]
    /// reads it back to the same value.
    pub fn format_amount(&self) -> String {
        let exp = self.currency.exponent();
        if exp == 0 {
            return self.minor.to_string();
        }
        let scale = 10i64.pow(exp);
        format!(
            "{}.{:0width$}",
            self.minor / scale,
            self.minor % scale,
            width = exp as usize
        )
    }

    /// The amount in minor units.
    pub fn minor(&self) -> i64 {
        self.minor
    }

    /// The currency.
    pub fn currency(&self) -> Currency {
        self.currency
    }
}

/// Why a misplaced `,` or `٬` is refused.
const COMMA_GROUPS: &str =
    "a comma separates thousands in groups of three; use . or ٫ for decimals";

/// Which digit set a digit comes from.
#[derive(Clone, Copy, PartialEq, Eq)]
enum DigitSet {
    Ascii,
    ArabicIndic,
    EasternArabicIndic,
}

/// A digit of any accepted set, with its set and its ASCII form.
fn digit(c: char) -> Option<(DigitSet, char)> {
    let (set, zero) = match c {
        '0'..='9' => return Some((DigitSet::Ascii, c)),
        '\u{0660}'..='\u{0669}' => (DigitSet::ArabicIndic, 0x0660),
        '\u{06F0}'..='\u{06F9}' => (DigitSet::EasternArabicIndic, 0x06F0),
        _ => return None,
    };
    let d = u8::try_from(c as u32 - zero).ok()?;
    Some((set, char::from(b'0' + d)))
}

impl fmt::Display for Money {
    /// `1250.500 KWD`: [`Money::format_amount`] and the currency code.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.format_amount(), self.currency)
    }
}

/// The currencies a host offers for opportunities (the pickers' list, in order), or any
/// ISO 4217 currency (the default).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Currencies(Option<Vec<Currency>>);

impl Currencies {
    /// Any currency.
    pub fn any() -> Self {
        Self(None)
    }

    /// Only `listed` (not empty, none twice).
    pub fn only(listed: Vec<Currency>) -> Result<Self, ValidationError> {
        if listed.is_empty() {
            return Err(ValidationError::InvalidList {
                field: "currencies",
                reason: "the list is empty; no opportunity could be valued".into(),
            });
        }
        for (i, c) in listed.iter().enumerate() {
            if listed[..i].contains(c) {
                return Err(ValidationError::InvalidList {
                    field: "currencies",
                    reason: format!("{c} is listed twice"),
                });
            }
        }
        Ok(Self(Some(listed)))
    }

    /// Parses a comma-separated list of codes (`SAR,AED,EGP,KWD`).
    pub fn parse(list: &str) -> Result<Self, ValidationError> {
        Self::only(
            list.split([',', '،'])
                .map(|c| Currency::parse(c.trim()))
                .collect::<Result<_, _>>()?,
        )
    }

    /// The listed currencies, or `None` when any is accepted.
    pub fn listed(&self) -> Option<&[Currency]> {
        self.0.as_deref()
    }

    /// Accepts `currency` when any is, or when it is listed.
    pub fn check(&self, currency: Currency) -> Result<(), ValidationError> {
        match &self.0 {
            Some(list) if !list.contains(&currency) => Err(ValidationError::UnlistedCurrency {
                code: currency.code().to_owned(),
                expected: list
                    .iter()
                    .map(Currency::code)
                    .collect::<Vec<_>>()
                    .join(", "),
            }),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_the_listed_currencies_are_taken_when_a_host_lists_them() {
        let c = |code: &str| Currency::parse(code).unwrap_or_else(|e| panic!("{e}"));
        assert!(Currencies::any().check(c("USD")).is_ok());
        let gulf = Currencies::parse("SAR, AED,EGP,KWD").unwrap_or_else(|e| panic!("{e}"));
        assert!(gulf.check(c("KWD")).is_ok());
        assert_eq!(
            gulf.check(c("USD")).map_err(|e| e.to_string()),
            Err("currency USD is not one of the host's: SAR, AED, EGP, KWD".to_owned())
        );
        assert!(Currencies::parse("SAR,sar").is_err());
        assert!(Currencies::parse("SAR,XYZ").is_err());
    }

    use super::*;

    fn cur(c: &str) -> Currency {
        Currency::parse(c).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn exponents_follow_iso_4217() {
        assert_eq!(cur("KWD").exponent(), 3);
        assert_eq!(cur("sar").exponent(), 2);
        assert_eq!(cur("JPY").exponent(), 0);
        assert!(Currency::parse("XXY").is_err());
    }

    fn minor(amount: &str, code: &str) -> Result<i64, ValidationError> {
        Money::parse(amount, cur(code)).map(|m| m.minor())
    }

    fn refused(amount: &str, code: &str) -> &'static str {
        match Money::parse(amount, cur(code)) {
            Err(ValidationError::InvalidAmount { reason, .. }) => reason,
            other => panic!("{amount:?} in {code} was not refused: {other:?}"),
        }
    }

    #[test]
    fn parses_decimal_amounts_in_every_digit_set() {
        assert_eq!(minor("1,250.5", "KWD"), Ok(1_250_500));
        assert_eq!(minor("١٬٢٥٠٫٥٠٠", "KWD"), Ok(1_250_500));
        assert_eq!(minor("۱۲۵۰٫۵", "KWD"), Ok(1_250_500));
        assert_eq!(minor("١٢٥٠.٥", "KWD"), Ok(1_250_500));
        assert_eq!(minor(" 99 ", "SAR"), Ok(9_900));
        assert_eq!(minor("0.05", "USD"), Ok(5));
        assert_eq!(minor("1,250,000", "KWD"), Ok(1_250_000_000));
        assert_eq!(minor("12,345,678.90", "AED"), Ok(1_234_567_890));
        assert_eq!(minor("1,250", "JPY"), Ok(1_250));
        assert_eq!(minor("007", "EGP"), Ok(700));
        assert!(Money::parse("1.234", cur("SAR")).is_err());
        assert!(Money::parse("-1", cur("SAR")).is_err());
        assert!(Money::parse("", cur("SAR")).is_err());
        assert!(Money::parse("99999999999999999999", cur("SAR")).is_err());
        assert!(Money::parse("92233720368547758.07", cur("SAR")).is_ok());
        assert!(Money::parse("92233720368547758.08", cur("SAR")).is_err());
    }

    #[test]
    fn commas_are_only_thousands_groups_of_three() {
        for bad in [
            "1,25", "1,2", ",5", "1,2345", "1,250,50", "1234,567", "0,250", "1,,250",
        ] {
            assert_eq!(refused(bad, "SAR"), COMMA_GROUPS, "{bad}");
        }
        assert_eq!(refused("1٬25", "EGP"), COMMA_GROUPS);
        assert!(refused("1.250,50", "SAR").contains("after the decimal point"));
        assert!(refused("1.2.3", "SAR").contains("more than one decimal point"));
        assert!(refused("1,250٫5", "SAR").contains("Latin and Arabic"));
        assert!(refused("1٬250.5", "SAR").contains("Latin and Arabic"));
        assert!(refused("1,000٬000", "SAR").contains("mixes the separators"));
    }

    #[test]
    fn a_single_group_without_decimals_is_ambiguous_in_three_decimal_currencies() {
        for code in ["KWD", "BHD", "OMR", "JOD", "TND", "IQD", "LYD"] {
            assert!(refused("1,250", code).contains("read as thousands or as decimals"));
            assert!(refused("1٬250", code).contains("read as thousands or as decimals"));
            assert_eq!(minor("1,250.000", code), Ok(1_250_000), "{code}");
            assert_eq!(minor("1.250", code), Ok(1_250), "{code}");
        }
        assert_eq!(minor("1,250", "SAR"), Ok(125_000));
        assert_eq!(minor("١٬٢٥٠", "AED"), Ok(125_000));
    }

    #[test]
    fn other_forms_are_refused() {
        for bad in [
            "1 250",
            "1_250",
            "1'250",
            "1\u{202F}250",
            "1\u{00A0}250",
            "+5",
            "5.",
            ".5",
            "٫",
            ",",
            "1e3",
            "0x10",
            "1٢3",
            "١۲",
            "5 SAR",
            "\u{2212}5",
        ] {
            assert!(
                Money::parse(bad, cur("SAR")).is_err(),
                "{bad:?} was accepted"
            );
        }
        assert_eq!(refused("-5", "SAR"), "amounts must not be negative");
        assert!(refused("1٢3", "SAR").contains("digit sets"));
        assert!(refused("1 250", "SAR").contains("spaces"));
        assert!(refused("1.2345", "KWD").contains("more decimal places"));
    }

    #[test]
    fn displays_with_currency_digits() {
        let m = Money::from_minor(1_250_005, cur("KWD")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(m.to_string(), "1250.005 KWD");
        let m = Money::from_minor(5, cur("USD")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(m.to_string(), "0.05 USD");
    }

    #[test]
    fn negative_minor_is_refused() {
        assert!(Money::from_minor(-1, cur("USD")).is_err());
    }

    #[test]
    fn serde_round_trip_checks_values() -> Result<(), serde_json::Error> {
        let m = Money::from_minor(1000, cur("AED")).unwrap_or_else(|e| panic!("{e}"));
        let s = serde_json::to_string(&m)?;
        assert_eq!(s, r#"{"minor":1000,"currency":"AED"}"#);
        assert_eq!(serde_json::from_str::<Money>(&s)?, m);
        assert!(serde_json::from_str::<Money>(r#"{"minor":-1,"currency":"AED"}"#).is_err());
        Ok(())
    }

    /// Every ISO 4217 currency the table knows, found by trying every three-letter code.
    fn every_currency() -> &'static [Currency] {
        static ALL: std::sync::LazyLock<Vec<Currency>> = std::sync::LazyLock::new(table);
        &ALL
    }

    fn table() -> Vec<Currency> {
        let letters = b'A'..=b'Z';
        letters
            .clone()
            .flat_map(|a| {
                letters.clone().flat_map(move |b| {
                    (b'A'..=b'Z').map(move |c| String::from_utf8_lossy(&[a, b, c]).into_owned())
                })
            })
            .filter_map(|code| Currency::parse(&code).ok())
            .collect()
    }

    /// The amount as an Arabic-script typist writes it: Arabic-Indic digits, `٬` between
    /// thousands, `٫` before the decimals.
    fn arabic_grouped(m: &Money) -> String {
        let plain = m.format_amount();
        let (int, frac) = plain
            .split_once('.')
            .map_or((plain.as_str(), None), |(i, f)| (i, Some(f)));
        let mut out = String::new();
        for (i, c) in int.chars().enumerate() {
            if i > 0 && (int.len() - i) % 3 == 0 {
                out.push('\u{066C}');
            }
            out.push(c);
        }
        if let Some(f) = frac {
            out.push('\u{066B}');
            out.push_str(f);
        }
        out.chars()
            .map(|c| match c.to_digit(10) {
                Some(d) => char::from_u32(0x0660 + d).unwrap_or(c),
                None => c,
            })
            .collect()
    }

    #[test]
    fn the_table_has_the_gulf_currencies() {
        let all = every_currency();
        assert!(all.len() > 150, "{}", all.len());
        for code in ["SAR", "AED", "EGP", "KWD", "BHD", "OMR"] {
            assert!(all.contains(&cur(code)), "{code}");
        }
    }

    proptest::proptest! {
        #[test]
        fn format_then_parse_is_the_identity_in_every_currency(
            minor in proptest::prop_oneof![0i64..2_000_000, 0i64..=i64::MAX],
        ) {
            for &currency in every_currency() {
                let m = Money::from_minor(minor, currency).unwrap_or_else(|e| panic!("{e}"));
                proptest::prop_assert_eq!(Money::parse(&m.format_amount(), currency), Ok(m));
                let shown = m.to_string();
                let (amount, code) = shown.rsplit_once(' ').unwrap_or_else(|| panic!("{shown}"));
                proptest::prop_assert_eq!(
                    Money::parse(amount, Currency::parse(code).unwrap_or_else(|e| panic!("{e}"))),
                    Ok(m)
                );
                proptest::prop_assert_eq!(Money::parse(&arabic_grouped(&m), currency), Ok(m));
            }
        }

        #[test]
        fn ambiguous_and_malformed_amounts_are_refused_in_every_currency(
            bad in refused_amounts(),
        ) {
            for &currency in every_currency() {
                proptest::prop_assert!(
                    Money::parse(&bad, currency).is_err(),
                    "{:?} in {} was accepted",
                    bad,
                    currency
                );
            }
        }
    }

    /// Strings no currency accepts.
    fn refused_amounts() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let sep = prop_oneof![Just(','), Just('\u{066C}')];
        let point = prop_oneof![Just('.'), Just('\u{066B}')];
        prop_oneof![
            // A comma group of other than three digits: 1,25  1,2  1,2345
            ("[1-9][0-9]{0,2}", sep.clone(), "[0-9]{1,2}|[0-9]{4,6}")
                .prop_map(|(a, s, b)| format!("{a}{s}{b}")),
            // Nothing before the comma: ,5  ,250
            (sep.clone(), "[0-9]{1,4}").prop_map(|(s, b)| format!("{s}{b}")),
            // Two decimal points: 1.2.3
            ("[0-9]{1,3}", point.clone(), "[0-9]", point.clone(), "[0-9]")
                .prop_map(|(a, p, b, q, c)| format!("{a}{p}{b}{q}{c}")),
            // A short last group: 1,250,50
            ("[1-9][0-9]{0,2}", "[0-9]{3}", "[0-9]{1,2}")
                .prop_map(|(a, b, c)| format!("{a},{b},{c}")),
            // European style: 1.250,50
            ("[1-9][0-9]{0,2}", "[0-9]{3}", "[0-9]{1,2}")
                .prop_map(|(a, b, c)| format!("{a}.{b},{c}")),
            // Spaces and underscores inside: 1 250  1_250
            (
                "[1-9]",
                prop_oneof![Just(' '), Just('_'), Just('\u{202F}')],
                "[0-9]{3}"
            )
                .prop_map(|(a, s, b)| format!("{a}{s}{b}")),
            // Signs
            ("[-+]", "[0-9]{1,5}").prop_map(|(s, b)| format!("{s}{b}")),
            // Far too many decimals
            ("[0-9]{1,3}", "[0-9]{5,8}").prop_map(|(a, b)| format!("{a}.{b}")),
        ]
    }
}
