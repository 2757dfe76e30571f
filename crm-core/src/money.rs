//! Money: integer minor units plus an ISO 4217 currency, never floats.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::ValidationError;
use crate::text::ascii_digit;

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

    /// Parses a decimal amount such as `1,250.500` or `١٬٢٥٠٫٥٠٠` in `currency`. More
    /// fraction digits than the currency has are refused rather than rounded.
    pub fn parse(amount: &str, currency: Currency) -> Result<Self, ValidationError> {
        let err = |reason| ValidationError::InvalidAmount {
            value: amount.chars().take(40).collect(),
            reason,
        };
        let exp = currency.exponent();
        let (mut int, mut frac, mut seen_point, mut frac_digits) = (0i64, 0i64, false, 0u32);
        let mut any_digit = false;
        for c in amount.trim().chars().map(ascii_digit) {
            match c {
                '0'..='9' => {
                    any_digit = true;
                    let d = i64::from(c as u8 - b'0');
                    if seen_point {
                        frac_digits += 1;
                        if frac_digits > exp {
                            return Err(err("more decimal places than the currency has"));
                        }
                        frac = frac * 10 + d;
                    } else {
                        int = int
                            .checked_mul(10)
                            .and_then(|v| v.checked_add(d))
                            .ok_or_else(|| err("too large"))?;
                    }
                }
                '.' | '\u{066B}' if !seen_point => seen_point = true,
                ',' | '\u{066C}' | '_' | ' ' if !seen_point => {}
                '-' => return Err(err("amounts must not be negative")),
                _ => return Err(err("not a decimal number")),
            }
        }
        if !any_digit {
            return Err(err("not a decimal number"));
        }
        let scale = 10i64.pow(exp);
        let frac = frac * 10i64.pow(exp - frac_digits);
        let minor = int
            .checked_mul(scale)
            .and_then(|v| v.checked_add(frac))
            .ok_or_else(|| err("too large"))?;
        Self::from_minor(minor, currency)
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

impl fmt::Display for Money {
    /// `1250.500 KWD`: the decimal amount with the currency's own number of digits.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let exp = self.currency.exponent();
        if exp == 0 {
            return write!(f, "{} {}", self.minor, self.currency);
        }
        let scale = 10i64.pow(exp);
        write!(
            f,
            "{}.{:0width$} {}",
            self.minor / scale,
            self.minor % scale,
            self.currency,
            width = exp as usize
        )
    }
}

#[cfg(test)]
mod tests {
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

    #[test]
    fn parses_decimal_amounts_in_both_digit_sets() {
        assert_eq!(
            Money::parse("1,250.5", cur("KWD")).map(|m| m.minor()),
            Ok(1_250_500)
        );
        assert_eq!(
            Money::parse("١٬٢٥٠٫٥٠٠", cur("KWD")).map(|m| m.minor()),
            Ok(1_250_500)
        );
        assert_eq!(Money::parse("99", cur("SAR")).map(|m| m.minor()), Ok(9_900));
        assert!(Money::parse("1.234", cur("SAR")).is_err());
        assert!(Money::parse("-1", cur("SAR")).is_err());
        assert!(Money::parse("", cur("SAR")).is_err());
        assert!(Money::parse("99999999999999999999", cur("SAR")).is_err());
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
}
