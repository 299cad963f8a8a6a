//! Clinical dates, which are often partial: a year, a month, a day, or an
//! instant with its offset.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::format_description::well_known::Rfc3339;
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// A date or date-time at the precision the source recorded it.
#[derive(Clone, Copy, Debug)]
pub enum PartialDateTime {
    /// Only the year is known.
    Year(i32),
    /// Year and month are known.
    YearMonth(i32, Month),
    /// A calendar date.
    Date(Date),
    /// An instant, keeping the offset the source gave.
    DateTime(OffsetDateTime),
}

/// Why a date string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a date: expected YYYY, YYYY-MM, YYYY-MM-DD or an RFC 3339 date-time")]
pub struct DateError(pub String);

impl PartialDateTime {
    /// Parses the FHIR `date`/`dateTime`/`instant` forms. A time without an
    /// offset (invalid in FHIR, common in the wild) is read as UTC; a time
    /// without seconds is accepted.
    pub fn parse(s: &str) -> Result<Self, DateError> {
        let err = || DateError(s.chars().take(40).collect());
        let s = s.trim();
        let b = s.as_bytes();
        let num = |r: std::ops::Range<usize>| -> Result<i32, DateError> {
            let part = s.get(r).ok_or_else(err)?;
            if part.bytes().all(|c| c.is_ascii_digit()) {
                part.parse().map_err(|_| err())
            } else {
                Err(err())
            }
        };
        if b.len() < 4 {
            return Err(err());
        }
        let year = num(0..4)?;
        if b.len() == 4 {
            return Ok(Self::Year(year));
        }
        if b.get(4) != Some(&b'-') {
            return Err(err());
        }
        let month =
            Month::try_from(u8::try_from(num(5..7)?).map_err(|_| err())?).map_err(|_| err())?;
        if b.len() == 7 {
            return Ok(Self::YearMonth(year, month));
        }
        if b.get(7) != Some(&b'-') {
            return Err(err());
        }
        let day = u8::try_from(num(8..10)?).map_err(|_| err())?;
        let date = Date::from_calendar_date(year, month, day).map_err(|_| err())?;
        if b.len() == 10 {
            return Ok(Self::Date(date));
        }
        if !matches!(b.get(10), Some(b'T' | b't' | b' ')) {
            return Err(err());
        }
        if let Ok(dt) = OffsetDateTime::parse(s, &Rfc3339) {
            return Ok(Self::DateTime(dt));
        }
        // Tolerated forms: hh:mm, with or without an offset; no offset = UTC.
        let rest = &s[11..];
        let (clock, offset) = match rest.find(['Z', 'z', '+', '-']) {
            Some(i) => (&rest[..i], Some(&rest[i..])),
            None => (rest, None),
        };
        let mut parts = clock.split(':');
        let hour = parts
            .next()
            .and_then(|p| p.parse::<u8>().ok())
            .ok_or_else(err)?;
        let minute = parts
            .next()
            .and_then(|p| p.parse::<u8>().ok())
            .ok_or_else(err)?;
        let second_f = match parts.next() {
            Some(p) => p.parse::<f64>().map_err(|_| err())?,
            None => 0.0,
        };
        if parts.next().is_some() || !(0.0..60.0).contains(&second_f) {
            return Err(err());
        }
        let time = Time::from_hms(hour, minute, second_f as u8).map_err(|_| err())?;
        let offset = match offset {
            None | Some("Z") | Some("z") => UtcOffset::UTC,
            Some(o) => {
                let sign = if o.starts_with('-') { -1 } else { 1 };
                let mut hm = o[1..].split(':');
                let h = hm
                    .next()
                    .and_then(|p| p.parse::<i8>().ok())
                    .ok_or_else(err)?;
                let m = hm.next().unwrap_or("0").parse::<i8>().map_err(|_| err())?;
                UtcOffset::from_hms(sign * h, sign * m, 0).map_err(|_| err())?
            }
        };
        Ok(Self::DateTime(
            PrimitiveDateTime::new(date, time).assume_offset(offset),
        ))
    }

    /// The first instant the value covers, in seconds since the Unix epoch
    /// (a year starts on 1 January, 00:00 UTC).
    pub fn start_timestamp(&self) -> i64 {
        let date_ts = |d: Date| {
            PrimitiveDateTime::new(d, Time::MIDNIGHT)
                .assume_utc()
                .unix_timestamp()
        };
        match *self {
            Self::Year(y) => Date::from_calendar_date(y, Month::January, 1)
                .map(date_ts)
                .unwrap_or(0),
            Self::YearMonth(y, m) => Date::from_calendar_date(y, m, 1).map(date_ts).unwrap_or(0),
            Self::Date(d) => date_ts(d),
            Self::DateTime(dt) => dt.unix_timestamp(),
        }
    }

    /// 0 for a year, 1 for a month, 2 for a date, 3 for a date-time.
    pub fn precision(&self) -> u8 {
        match self {
            Self::Year(_) => 0,
            Self::YearMonth(..) => 1,
            Self::Date(_) => 2,
            Self::DateTime(_) => 3,
        }
    }

    /// A value that is equal exactly when two dates denote the same thing at
    /// the same precision (instants compare in UTC, nanoseconds included).
    pub fn identity(&self) -> (u8, i128) {
        match *self {
            Self::DateTime(dt) => (3, dt.unix_timestamp_nanos()),
            _ => (self.precision(), i128::from(self.start_timestamp())),
        }
    }

    /// The calendar date, when the value has day precision or better.
    pub fn date(&self) -> Option<Date> {
        match *self {
            Self::Date(d) => Some(d),
            Self::DateTime(dt) => Some(dt.date()),
            _ => None,
        }
    }
}

impl PartialEq for PartialDateTime {
    fn eq(&self, other: &Self) -> bool {
        self.identity() == other.identity()
    }
}

impl Eq for PartialDateTime {}

impl Hash for PartialDateTime {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.identity().hash(state);
    }
}

/// Chronological: by start, then coarser precision first.
impl Ord for PartialDateTime {
    fn cmp(&self, other: &Self) -> Ordering {
        let a = self.identity();
        let b = other.identity();
        let a_start = if a.0 == 3 { a.1 } else { a.1 * 1_000_000_000 };
        let b_start = if b.0 == 3 { b.1 } else { b.1 * 1_000_000_000 };
        a_start.cmp(&b_start).then(a.0.cmp(&b.0))
    }
}

impl PartialOrd for PartialDateTime {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for PartialDateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Year(y) => write!(f, "{y:04}"),
            Self::YearMonth(y, m) => write!(f, "{y:04}-{:02}", m as u8),
            Self::Date(d) => write!(f, "{:04}-{:02}-{:02}", d.year(), d.month() as u8, d.day()),
            Self::DateTime(dt) => match dt.format(&Rfc3339) {
                Ok(s) => f.write_str(&s),
                Err(_) => Err(fmt::Error),
            },
        }
    }
}

impl Serialize for PartialDateTime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PartialDateTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Serde helpers for an optional RFC 3339 instant (`last_updated`).
pub mod rfc3339_opt {
    use super::*;

    /// Writes the instant as RFC 3339, or null.
    pub fn serialize<S: Serializer>(v: &Option<OffsetDateTime>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(dt) => {
                let text = dt.format(&Rfc3339).map_err(serde::ser::Error::custom)?;
                s.serialize_some(&text)
            }
            None => s.serialize_none(),
        }
    }

    /// Reads an RFC 3339 instant, or null.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<OffsetDateTime>, D::Error> {
        let v = Option::<std::borrow::Cow<'de, str>>::deserialize(d)?;
        v.map(|s| OffsetDateTime::parse(&s, &Rfc3339).map_err(serde::de::Error::custom))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn p(s: &str) -> PartialDateTime {
        PartialDateTime::parse(s).unwrap()
    }

    #[test]
    fn parses_every_fhir_precision() {
        assert_eq!(p("2021").to_string(), "2021");
        assert_eq!(p("2021-02").to_string(), "2021-02");
        assert_eq!(p("2021-02-15").to_string(), "2021-02-15");
        assert_eq!(
            p("2021-02-15T13:50:00+00:00").to_string(),
            "2021-02-15T13:50:00Z"
        );
        assert_eq!(
            p("2021-02-15T13:50:00+01:00").to_string(),
            "2021-02-15T13:50:00+01:00"
        );
        assert_eq!(
            p("2021-02-15T13:50:00.123Z").to_string(),
            "2021-02-15T13:50:00.123Z"
        );
        // tolerated: no seconds, no offset
        assert_eq!(p("2021-02-15T13:50").to_string(), "2021-02-15T13:50:00Z");
        assert_eq!(
            p("2021-02-15T13:50+01:00").to_string(),
            "2021-02-15T13:50:00+01:00"
        );
    }

    #[test]
    fn refuses_nonsense() {
        for bad in [
            "",
            "21",
            "2021-13",
            "2021-02-30",
            "2021/02/15",
            "2021-02-15X",
            "abcd",
            "2021-02-15T25:00:00Z",
            "2021-0٢",
        ] {
            assert!(PartialDateTime::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn instants_compare_in_utc() {
        assert_eq!(p("2021-02-15T13:50:00+01:00"), p("2021-02-15T12:50:00Z"));
        assert_ne!(p("2021-02-15"), p("2021-02-15T00:00:00Z"));
        assert!(p("2021") < p("2021-01"));
        assert!(p("2021-01-01") < p("2021-01-01T00:00:01Z"));
        assert!(p("2020-12-31T23:59:59Z") < p("2021"));
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,40}") {
            let _ = PartialDateTime::parse(&s);
        }

        #[test]
        fn display_round_trips(y in 1900i32..2100, m in 1u8..=12, d in 1u8..=28, h in 0u8..24, mi in 0u8..60, off in -12i8..=12) {
            let month = Month::try_from(m).unwrap();
            let date = Date::from_calendar_date(y, month, d).unwrap();
            let dt = PrimitiveDateTime::new(date, Time::from_hms(h, mi, 0).unwrap())
                .assume_offset(UtcOffset::from_hms(off, 0, 0).unwrap());
            for v in [PartialDateTime::Year(y), PartialDateTime::YearMonth(y, month), PartialDateTime::Date(date), PartialDateTime::DateTime(dt)] {
                let back = PartialDateTime::parse(&v.to_string()).unwrap();
                prop_assert_eq!(back, v);
                prop_assert_eq!(back.to_string(), v.to_string());
            }
        }
    }
}
