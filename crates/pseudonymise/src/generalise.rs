//! Quasi-identifiers made coarse: date of birth to month and year or an
//! age band, postcode to its district or an area.

use std::collections::HashMap;
use std::fmt;

use icr_model::PartialDateTime;
use icr_model::time::{Date, Month};
use serde::{Serialize, Serializer};

/// A five-year age band, `0-4` … `85-89`, with everyone 90 or older in
/// `90+` (the bands the ONS publishes population estimates in, so rates
/// can be computed against them; the open top band keeps the oldest, who
/// are few, from standing out).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct AgeBand(u8);

impl AgeBand {
    /// Width of a band in years.
    pub const WIDTH: u8 = 5;
    /// The lower bound of the open top band.
    pub const TOP: u8 = 90;

    /// The band an age in completed years falls in.
    pub fn of_age(age: u32) -> Self {
        let top = u32::from(Self::TOP);
        let low = if age >= top {
            top
        } else {
            age - age % u32::from(Self::WIDTH)
        };
        // low <= 90, so it fits.
        Self(low as u8)
    }

    /// The youngest age in the band.
    pub fn low(self) -> u8 {
        self.0
    }

    /// The oldest age in the band; `None` for the open top band.
    pub fn high(self) -> Option<u8> {
        (self.0 < Self::TOP).then(|| self.0 + Self::WIDTH - 1)
    }
}

impl fmt::Display for AgeBand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.high() {
            Some(h) => write!(f, "{}-{h}", self.0),
            None => write!(f, "{}+", self.0),
        }
    }
}

impl Serialize for AgeBand {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Age in completed years on `today` of someone born on `birth`, or `None`
/// when `birth` is after `today`. A person born on 29 February becomes a
/// year older on 1 March in a common year.
pub fn age_on(birth: Date, today: Date) -> Option<u32> {
    if birth > today {
        return None;
    }
    let before_birthday = (today.month() as u8, today.day()) < (birth.month() as u8, birth.day());
    let years = today.year() - birth.year() - i32::from(before_birthday);
    u32::try_from(years).ok()
}

/// The age band on `today` of someone born at `birth`. A date of birth
/// known only to the year or month gives a band only when every day it
/// could stand for gives the same band; one after `today` gives none.
pub fn age_band(birth: &PartialDateTime, today: Date) -> Option<AgeBand> {
    let (earliest, latest) = birth_range(birth)?;
    let oldest = AgeBand::of_age(age_on(earliest, today)?);
    let youngest = AgeBand::of_age(age_on(latest.min(today), today)?);
    (oldest == youngest).then_some(oldest)
}

/// The first and last day a date of birth can stand for.
fn birth_range(birth: &PartialDateTime) -> Option<(Date, Date)> {
    match *birth {
        PartialDateTime::Year(y) => Some((
            Date::from_calendar_date(y, Month::January, 1).ok()?,
            Date::from_calendar_date(y, Month::December, 31).ok()?,
        )),
        PartialDateTime::YearMonth(y, m) => {
            let first = Date::from_calendar_date(y, m, 1).ok()?;
            let last = Date::from_calendar_date(y, m, m.length(y)).ok()?;
            Some((first, last))
        }
        _ => birth.date().map(|d| (d, d)),
    }
}

/// Year and month of a date of birth (month absent when only the year is
/// known).
pub fn birth_month(birth: &PartialDateTime) -> (i32, Option<u8>) {
    match *birth {
        PartialDateTime::Year(y) => (y, None),
        PartialDateTime::YearMonth(y, m) => (y, Some(m as u8)),
        PartialDateTime::Date(d) => (d.year(), Some(d.month() as u8)),
        PartialDateTime::DateTime(dt) => (dt.year(), Some(dt.month() as u8)),
    }
}

/// A postcode district: the outward code of a UK postcode (`SN15` of
/// `SN15 3JD`), upper case.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Serialize)]
pub struct District(String);

impl District {
    /// The district of a full UK postcode, in any case and with or without
    /// its space; `None` for anything not shaped like a full postcode, so
    /// nothing unparsed is ever passed on.
    pub fn of_postcode(postcode: &str) -> Option<Self> {
        let compact: String = postcode
            .trim()
            .chars()
            .filter(|c| *c != ' ')
            .map(|c| c.to_ascii_uppercase())
            .collect();
        if !(5..=7).contains(&compact.len()) || !compact.is_ascii() {
            return None;
        }
        let (outward, inward) = compact.split_at(compact.len() - 3);
        if !valid_inward(inward.as_bytes()) || !valid_outward(outward.as_bytes()) {
            return None;
        }
        Some(Self(outward.to_string()))
    }

    /// A district as written on its own (`SN15`, `sn15`), for lookup keys.
    pub fn parse(outward: &str) -> Option<Self> {
        let t = outward.trim().to_ascii_uppercase();
        valid_outward(t.as_bytes()).then_some(Self(t))
    }

    /// The district as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The inward code: a digit and two letters (never C, I, K, M, O or V).
fn valid_inward(b: &[u8]) -> bool {
    let letter = |c: u8| c.is_ascii_uppercase() && !b"CIKMOV".contains(&c);
    matches!(b, [d, l1, l2] if d.is_ascii_digit() && letter(*l1) && letter(*l2))
}

/// The outward code: A9, A99, AA9, AA99, A9A or AA9A.
fn valid_outward(b: &[u8]) -> bool {
    let a = |c: &u8| c.is_ascii_uppercase();
    let d = |c: &u8| c.is_ascii_digit();
    match b {
        [x, y] => a(x) && d(y),
        [x, y, z] => a(x) && ((d(y) && (d(z) || a(z))) || (a(y) && d(z))),
        [w, x, y, z] => a(w) && a(x) && d(y) && (d(z) || a(z)),
        _ => false,
    }
}

/// An area code a lookup maps districts to (an ONS code such as
/// `E02003012`, or any 1 to 12 letters and digits).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Serialize)]
pub struct AreaCode(String);

impl AreaCode {
    /// Parses 1 to 12 ASCII letters or digits, upper-cased.
    pub fn parse(s: &str) -> Option<Self> {
        let t = s.trim();
        ((1..=12).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_alphanumeric()))
            .then(|| Self(t.to_ascii_uppercase()))
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A supplied lookup from postcode district to area code.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AreaLookup(HashMap<District, AreaCode>);

/// A lookup row that is not a district and an area code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "area lookup row {row}: expected a postcode district and an area code of 1 to 12 letters or digits"
)]
pub struct LookupError {
    /// The row, counting from 1.
    pub row: usize,
}

impl AreaLookup {
    /// A lookup from (district, area code) pairs; a pair that is not one is
    /// refused with its position (a later pair for a district replaces an
    /// earlier one).
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, LookupError> {
        let mut map = HashMap::new();
        for (i, (district, area)) in pairs.into_iter().enumerate() {
            let err = LookupError { row: i + 1 };
            let d = District::parse(district).ok_or(err.clone())?;
            let a = AreaCode::parse(area).ok_or(err)?;
            map.insert(d, a);
        }
        Ok(Self(map))
    }

    /// The area of a district, if the lookup has it.
    pub fn area(&self, district: &District) -> Option<&AreaCode> {
        self.0.get(district)
    }

    /// Number of districts in the lookup.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when the lookup has no district.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u8, day: u8) -> Date {
        Date::from_calendar_date(y, Month::try_from(m).unwrap(), day).unwrap()
    }

    fn band(birth: Date, today: Date) -> String {
        age_band(&PartialDateTime::Date(birth), today)
            .map(|b| b.to_string())
            .unwrap_or_default()
    }

    #[test]
    fn districts_of_valid_postcodes() {
        for (pc, d) in [
            ("SN15 3JD", "SN15"),
            ("sn15 3jd", "SN15"),
            ("SN153JD", "SN15"),
            ("  BA1 1AA ", "BA1"),
            ("M1 1AE", "M1"),
            ("B33 8TH", "B33"),
            ("CR2 6XH", "CR2"),
            ("DN55 1PT", "DN55"),
            ("W1A 0AX", "W1A"),
            ("EC1A 1BB", "EC1A"),
        ] {
            assert_eq!(
                District::of_postcode(pc).map(|d| d.as_str().to_string()),
                Some(d.to_string()),
                "{pc}"
            );
        }
    }

    #[test]
    fn garbage_is_no_district() {
        for bad in [
            "",
            "SN15",
            "SN15 3J",
            "SN15 3JDX",
            "SN15 JD3",
            "1N15 3JD",
            "SNNN 3JD",
            "SN15 3CI",
            "SN1£ 3JD",
            "Flat 2, 14 High St",
            "01793 604020",
            "SN15\n3JD",
            "ＳＮ15 3JD",
        ] {
            assert_eq!(District::of_postcode(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn area_lookup() {
        let l = AreaLookup::from_pairs([("SN15", "E02006695"), ("ba1", "e02003012")]).unwrap();
        assert_eq!(l.len(), 2);
        let ba1 = District::of_postcode("BA1 1AA").unwrap();
        assert_eq!(l.area(&ba1).map(AreaCode::as_str), Some("E02003012"));
        let sn1 = District::of_postcode("SN1 1AA").unwrap();
        assert_eq!(l.area(&sn1), None);
        assert_eq!(
            AreaLookup::from_pairs([("SN15", "E1"), ("SN15 3JD", "E2")]).unwrap_err(),
            LookupError { row: 2 }
        );
        assert_eq!(
            AreaLookup::from_pairs([("SN15", "not an area")]).unwrap_err(),
            LookupError { row: 1 }
        );
    }

    #[test]
    fn age_bands_at_birthdays() {
        // Fifth birthday today: 5-9; tomorrow: still 0-4.
        assert_eq!(band(d(2021, 6, 15), d(2026, 6, 15)), "5-9");
        assert_eq!(band(d(2021, 6, 16), d(2026, 6, 15)), "0-4");
        assert_eq!(band(d(2026, 6, 15), d(2026, 6, 15)), "0-4");
        assert_eq!(band(d(1981, 12, 7), d(2026, 12, 7)), "45-49");
        assert_eq!(band(d(1981, 12, 8), d(2026, 12, 7)), "40-44");
        // The open top band.
        assert_eq!(band(d(1936, 12, 7), d(2026, 12, 7)), "90+");
        assert_eq!(band(d(1936, 12, 8), d(2026, 12, 7)), "85-89");
        assert_eq!(band(d(1900, 1, 1), d(2026, 12, 7)), "90+");
        // Born after today: no band.
        assert_eq!(band(d(2026, 12, 8), d(2026, 12, 7)), "");
    }

    #[test]
    fn leap_day_birthdays() {
        let born = d(2016, 2, 29);
        // In a common year the birthday is 1 March.
        assert_eq!(age_on(born, d(2021, 2, 28)), Some(4));
        assert_eq!(age_on(born, d(2021, 3, 1)), Some(5));
        assert_eq!(band(born, d(2021, 2, 28)), "0-4");
        assert_eq!(band(born, d(2021, 3, 1)), "5-9");
        // In a leap year, on the day.
        assert_eq!(age_on(born, d(2024, 2, 28)), Some(7));
        assert_eq!(age_on(born, d(2024, 2, 29)), Some(8));
    }

    #[test]
    fn partial_birth_dates_give_a_band_only_when_unambiguous() {
        let today = d(2026, 12, 7);
        // Born some time in 1960: 65 or 66, both 65-69.
        assert_eq!(
            age_band(&PartialDateTime::Year(1960), today).map(|b| b.to_string()),
            Some("65-69".into())
        );
        // Born some time in 1961: 64 or 65, two bands.
        assert_eq!(age_band(&PartialDateTime::Year(1961), today), None);
        // This month, 2021: 4 or 5 depending on the day.
        assert_eq!(
            age_band(&PartialDateTime::YearMonth(2021, Month::December), today),
            None
        );
        assert_eq!(
            age_band(&PartialDateTime::YearMonth(2021, Month::November), today)
                .map(|b| b.to_string()),
            Some("5-9".into())
        );
        // This month, this year: 0 either way, even for days to come.
        assert_eq!(
            age_band(&PartialDateTime::YearMonth(2026, Month::December), today)
                .map(|b| b.to_string()),
            Some("0-4".into())
        );
        assert_eq!(age_band(&PartialDateTime::Year(2027), today), None);
    }

    #[test]
    fn birth_months() {
        assert_eq!(
            birth_month(&PartialDateTime::Date(d(1950, 3, 4))),
            (1950, Some(3))
        );
        assert_eq!(birth_month(&PartialDateTime::Year(1950)), (1950, None));
    }
}
