//! The NHS number: ten digits whose last is a modulus-11 check digit, and
//! not one digit repeated (`0000000000` … `9999999999` all pass the check
//! but are never issued).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A valid NHS number. It can only be built by parsing, so holding one proves
/// it has ten digits, a correct modulus-11 check digit, and is not one digit
/// repeated.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NhsNumber([u8; 10]);

/// Why a string is not an NHS number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NhsNumberError {
    /// Not exactly ten digits long.
    #[error("an NHS number has 10 digits, this has {0} characters")]
    WrongLength(usize),
    /// Contains something other than ASCII digits.
    #[error("an NHS number has only digits 0-9, this has {0:?}")]
    NotADigit(char),
    /// One digit repeated ten times: every such number passes the check
    /// digit (the check digit of d repeated nine times is d), and none is
    /// ever issued.
    #[error("an NHS number of one digit repeated is never issued")]
    RepeatedDigit,
    /// The check digit computes to 10, which no NHS number is issued with.
    #[error("its first nine digits give check digit 10, which is never issued")]
    CheckDigitTen,
    /// The tenth digit does not match the check digit of the first nine.
    #[error("the check digit is {found} but the first nine digits require {expected}")]
    CheckDigitMismatch {
        /// The check digit the first nine digits require.
        expected: u8,
        /// The last digit given.
        found: u8,
    },
}

impl NhsNumber {
    /// Parses exactly ten ASCII digits with a valid check digit, not all
    /// the same.
    pub fn parse(s: &str) -> Result<Self, NhsNumberError> {
        let bytes = s.as_bytes();
        if let Some(c) = s.chars().find(|c| !c.is_ascii_digit()) {
            return Err(NhsNumberError::NotADigit(c));
        }
        if bytes.len() != 10 {
            return Err(NhsNumberError::WrongLength(s.chars().count()));
        }
        let mut digits = [0u8; 10];
        digits.copy_from_slice(bytes);
        if digits.iter().all(|d| *d == digits[0]) {
            return Err(NhsNumberError::RepeatedDigit);
        }
        let expected = Self::check_digit(&digits)?;
        let found = digits[9] - b'0';
        if expected != found {
            return Err(NhsNumberError::CheckDigitMismatch { expected, found });
        }
        Ok(Self(digits))
    }

    /// Parses an NHS number as people write it: spaces or hyphens between
    /// the groups (`943 476 5919`, `943-476-5919`) are allowed.
    pub fn parse_formatted(s: &str) -> Result<Self, NhsNumberError> {
        let compact: String = s
            .trim()
            .chars()
            .filter(|c| *c != ' ' && *c != '-')
            .collect();
        Self::parse(&compact)
    }

    /// Builds the NHS number whose first nine digits are `first_nine`
    /// (0..=999_999_999), or `None` when those digits give check digit 10
    /// or the number would be one digit repeated.
    pub fn from_first_nine(first_nine: u32) -> Option<Self> {
        if first_nine > 999_999_999 {
            return None;
        }
        let mut digits = [b'0'; 10];
        let mut n = first_nine;
        for i in (0..9).rev() {
            digits[i] = b'0' + (n % 10) as u8;
            n /= 10;
        }
        let check = Self::check_digit(&digits).ok()?;
        digits[9] = b'0' + check;
        Self::parse(std::str::from_utf8(&digits).ok()?).ok()
    }

    fn check_digit(digits: &[u8; 10]) -> Result<u8, NhsNumberError> {
        let sum: u32 = digits[..9]
            .iter()
            .enumerate()
            .map(|(i, d)| u32::from(d - b'0') * (10 - i as u32))
            .sum();
        match 11 - (sum % 11) {
            11 => Ok(0),
            10 => Err(NhsNumberError::CheckDigitTen),
            c => Ok(c as u8),
        }
    }

    /// The ten digits with no separators, as sent to source systems.
    pub fn as_str(&self) -> &str {
        // Only ASCII digits are ever stored.
        std::str::from_utf8(&self.0).unwrap_or("0000000000")
    }

    /// The number grouped 3-3-4 for display (`943 476 5919`).
    pub fn formatted(&self) -> String {
        let s = self.as_str();
        format!("{} {} {}", &s[..3], &s[3..6], &s[6..])
    }

    /// True for numbers in the 999 range the NHS reserves for testing.
    pub fn is_test_range(&self) -> bool {
        self.0.starts_with(b"999")
    }
}

impl fmt::Display for NhsNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Debug never prints the number itself, so a stray `{:?}` cannot leak it
/// into a log.
impl fmt::Debug for NhsNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NhsNumber(***)")
    }
}

impl FromStr for NhsNumber {
    type Err = NhsNumberError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for NhsNumber {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for NhsNumber {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_known_valid_numbers() {
        // Published example numbers with valid check digits.
        for n in ["9434765919", "9000000009", "9449306060", "9999999980"] {
            assert_eq!(
                NhsNumber::parse(n).map(|x| x.to_string()),
                Ok(n.to_string())
            );
        }
    }

    #[test]
    fn rejects_with_reasons() {
        assert_eq!(
            NhsNumber::parse("943476591"),
            Err(NhsNumberError::WrongLength(9))
        );
        assert_eq!(
            NhsNumber::parse("94347659190"),
            Err(NhsNumberError::WrongLength(11))
        );
        assert_eq!(
            NhsNumber::parse("94347659a9"),
            Err(NhsNumberError::NotADigit('a'))
        );
        assert_eq!(
            NhsNumber::parse("9434765918"),
            Err(NhsNumberError::CheckDigitMismatch {
                expected: 9,
                found: 8
            })
        );
        // 999 000 001 x: 9*10+9*9+9*8+1*2 = 245, 245 % 11 = 3, 11-3 = 8.
        assert!(NhsNumber::parse("9990000018").is_ok());
        // first nine 999000000 give check digit 10.
        assert_eq!(
            NhsNumber::parse("9990000000"),
            Err(NhsNumberError::CheckDigitTen)
        );
        assert!(NhsNumber::parse("").is_err());
        // One digit repeated passes the check digit and is never issued.
        for d in '0'..='9' {
            let n: String = std::iter::repeat_n(d, 10).collect();
            assert_eq!(
                NhsNumber::parse(&n),
                Err(NhsNumberError::RepeatedDigit),
                "{n}"
            );
            assert_eq!(
                NhsNumber::parse_formatted(&format!("{} {} {}", &n[..3], &n[3..6], &n[6..])),
                Err(NhsNumberError::RepeatedDigit)
            );
        }
        assert_eq!(NhsNumber::from_first_nine(0), None);
        assert_eq!(NhsNumber::from_first_nine(999_999_999), None);
        assert!(NhsNumber::parse("９４３４７６５９１９").is_err());
    }

    #[test]
    fn formatted_forms() {
        let n = NhsNumber::parse_formatted(" 943 476-5919 ").unwrap();
        assert_eq!(n.formatted(), "943 476 5919");
        assert_eq!(format!("{n:?}"), "NhsNumber(***)");
        assert!(!n.is_test_range());
    }

    #[test]
    fn serde_round_trip_and_refusal() {
        let n: NhsNumber = serde_json::from_str("\"9434765919\"").unwrap();
        assert_eq!(serde_json::to_string(&n).unwrap(), "\"9434765919\"");
        assert!(serde_json::from_str::<NhsNumber>("\"9434765918\"").is_err());
    }

    proptest! {
        #[test]
        fn from_first_nine_always_parses(n in 0u32..=999_999_999) {
            if let Some(nhs) = NhsNumber::from_first_nine(n) {
                prop_assert_eq!(NhsNumber::parse(nhs.as_str()), Ok(nhs));
                prop_assert_eq!(&nhs.as_str()[..9], format!("{n:09}"));
            }
        }

        #[test]
        fn any_single_digit_change_is_caught(n in 0u32..=999_999_999, pos in 0usize..10, delta in 1u8..10) {
            if let Some(nhs) = NhsNumber::from_first_nine(n) {
                let mut s = nhs.as_str().as_bytes().to_vec();
                s[pos] = b'0' + (s[pos] - b'0' + delta) % 10;
                let changed = String::from_utf8(s).unwrap();
                prop_assert!(NhsNumber::parse(&changed).is_err());
            }
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,20}") {
            let _ = NhsNumber::parse(&s);
            let _ = NhsNumber::parse_formatted(&s);
        }
    }
}
