//! HL7 date/times (DTM, and the TS and DT types built on it):
//! `YYYY[MM[DD[HH[MM[SS[.S[S[S[S]]]]]]]]][+/-ZZZZ]`.
//!
//! A time with an offset keeps it. HL7 says a time without one is in the
//! sender's time zone, and that an offset on MSH-7 is the default for the
//! whole message: the caller states which with a [`LocalZone`] (see
//! [`LocalZone::for_message`]).

use icr_model::PartialDateTime;
use icr_model::time::{
    Date, Duration, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset, Weekday,
};

/// Why a value is not an HL7 date/time. Carries no part of the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not an HL7 date/time (YYYY[MM[DD[HH[MM[SS[.S]]]]]][+/-ZZZZ])")]
pub struct DtmError;

/// The time zone of times that carry no offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocalZone {
    /// Coordinated Universal Time.
    Utc,
    /// UK civil time: GMT, and BST (UTC+1) from 01:00 UTC on the last
    /// Sunday of March to 01:00 UTC on the last Sunday of October. The
    /// rule in force since 1996 is applied to every year. A local time
    /// that occurs twice (the October change) is read as the first (BST);
    /// one that never occurs (the March change) as GMT.
    EuropeLondon,
    /// A fixed offset, such as MSH-7's.
    Fixed(UtcOffset),
}

impl LocalZone {
    /// The zone for a message's times: MSH-7's offset when it has one (the
    /// HL7 rule), else `sender`, the sender's own zone.
    pub fn for_message(msh7: &str, sender: LocalZone) -> Self {
        match offset_of(msh7) {
            Some(o) => LocalZone::Fixed(o),
            None => sender,
        }
    }

    /// The offset this zone gives a local date and time.
    pub fn offset_at(&self, local: PrimitiveDateTime) -> UtcOffset {
        match *self {
            LocalZone::Utc => UtcOffset::UTC,
            LocalZone::Fixed(o) => o,
            LocalZone::EuropeLondon => london_offset(local),
        }
    }
}

/// The last Sunday of `month` in `year`.
fn last_sunday(year: i32, month: Month) -> Option<Date> {
    let next = match month {
        Month::December => Date::from_calendar_date(year + 1, Month::January, 1),
        m => Date::from_calendar_date(year, m.next(), 1),
    }
    .ok()?;
    let mut d = next.previous_day()?;
    while d.weekday() != Weekday::Sunday {
        d = d.previous_day()?;
    }
    Some(d)
}

fn london_offset(local: PrimitiveDateTime) -> UtcOffset {
    let bst = UtcOffset::from_hms(1, 0, 0).unwrap_or(UtcOffset::UTC);
    let year = local.year();
    let one = Time::from_hms(1, 0, 0).unwrap_or(Time::MIDNIGHT);
    let (Some(start), Some(end)) = (
        last_sunday(year, Month::March),
        last_sunday(year, Month::October),
    ) else {
        return UtcOffset::UTC;
    };
    let (start, end) = (
        PrimitiveDateTime::new(start, one),
        PrimitiveDateTime::new(end, one),
    );
    // Read as BST, the instant is local - 1h in UTC.
    match local.checked_sub(Duration::HOUR) {
        Some(utc) if utc >= start && utc < end => bst,
        _ => UtcOffset::UTC,
    }
}

/// The explicit offset at the end of a DTM, if it has a valid one.
pub fn offset_of(s: &str) -> Option<UtcOffset> {
    let s = s.trim();
    let i = s.rfind(['+', '-'])?;
    if i < 4 {
        return None;
    }
    parse_offset(&s[i..]).ok()
}

fn parse_offset(s: &str) -> Result<UtcOffset, DtmError> {
    let b = s.as_bytes();
    if b.len() != 5 || !b[1..].iter().all(u8::is_ascii_digit) {
        return Err(DtmError);
    }
    let sign: i8 = if b[0] == b'-' { -1 } else { 1 };
    let h = two(&b[1..3])? as i8;
    let m = two(&b[3..5])? as i8;
    if h > 23 || m > 59 {
        return Err(DtmError);
    }
    UtcOffset::from_hms(sign * h, sign * m, 0).map_err(|_| DtmError)
}

/// Two ASCII digits as a number.
fn two(b: &[u8]) -> Result<u8, DtmError> {
    match b {
        [a, b] if a.is_ascii_digit() && b.is_ascii_digit() => Ok((a - b'0') * 10 + (b - b'0')),
        _ => Err(DtmError),
    }
}

/// Reads an HL7 date/time at the precision it was given: a year, a month,
/// a date, or an instant (hour, minute, second or fraction precision all
/// become an instant). An offset on a date alone is ignored. Times without
/// an offset are placed in `zone`.
pub fn parse_dtm(s: &str, zone: LocalZone) -> Result<PartialDateTime, DtmError> {
    let s = s.trim();
    if !s.is_ascii() {
        return Err(DtmError);
    }
    let (main, offset) = match s.get(4..).and_then(|t| t.find(['+', '-'])) {
        Some(i) => (&s[..4 + i], Some(parse_offset(&s[4 + i..])?)),
        None => (s, None),
    };
    let (digits, fraction) = match main.split_once('.') {
        Some((d, f)) => (d, Some(f)),
        None => (main, None),
    };
    let b = digits.as_bytes();
    if !b.iter().all(u8::is_ascii_digit) || !matches!(b.len(), 4 | 6 | 8 | 10 | 12 | 14) {
        return Err(DtmError);
    }
    if fraction.is_some() && b.len() != 14 {
        return Err(DtmError);
    }
    let year = i32::from(two(&b[0..2])?) * 100 + i32::from(two(&b[2..4])?);
    if b.len() == 4 {
        return Ok(PartialDateTime::Year(year));
    }
    let month = Month::try_from(two(&b[4..6])?).map_err(|_| DtmError)?;
    if b.len() == 6 {
        return Ok(PartialDateTime::YearMonth(year, month));
    }
    let date = Date::from_calendar_date(year, month, two(&b[6..8])?).map_err(|_| DtmError)?;
    if b.len() == 8 {
        return Ok(PartialDateTime::Date(date));
    }
    let hour = two(&b[8..10])?;
    let minute = if b.len() >= 12 { two(&b[10..12])? } else { 0 };
    let second = if b.len() >= 14 { two(&b[12..14])? } else { 0 };
    let nanos = match fraction {
        None => 0,
        Some(f) => {
            if f.is_empty() || f.len() > 9 || !f.bytes().all(|c| c.is_ascii_digit()) {
                return Err(DtmError);
            }
            let n: u32 = f.parse().map_err(|_| DtmError)?;
            n * 10u32.pow(9 - f.len() as u32)
        }
    };
    let time = Time::from_hms_nano(hour, minute, second, nanos).map_err(|_| DtmError)?;
    let local = PrimitiveDateTime::new(date, time);
    let offset = offset.unwrap_or_else(|| zone.offset_at(local));
    Ok(PartialDateTime::DateTime(local.assume_offset(offset)))
}

/// Writes an instant as a DTM with seconds and its offset
/// (`20240501101500+0100`).
pub fn format_instant(dt: OffsetDateTime) -> String {
    let (h, m, _) = dt.offset().as_hms();
    let sign = if dt.offset().is_negative() { '-' } else { '+' };
    format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}{sign}{:02}{:02}",
        dt.year(),
        dt.month() as u8,
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second(),
        h.unsigned_abs(),
        m.unsigned_abs()
    )
}

/// Writes a date/time at its own precision (`2024`, `202405`, `20240501`,
/// or an instant as [`format_instant`] does).
pub fn format_dtm(value: &PartialDateTime) -> String {
    match *value {
        PartialDateTime::Year(y) => format!("{y:04}"),
        PartialDateTime::YearMonth(y, m) => format!("{y:04}{:02}", m as u8),
        PartialDateTime::Date(d) => format!("{:04}{:02}{:02}", d.year(), d.month() as u8, d.day()),
        PartialDateTime::DateTime(dt) => format_instant(dt),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> String {
        parse_dtm(s, LocalZone::EuropeLondon).unwrap().to_string()
    }

    #[test]
    fn every_precision() {
        assert_eq!(p("2024"), "2024");
        assert_eq!(p("202405"), "2024-05");
        assert_eq!(p("20240501"), "2024-05-01");
        assert_eq!(p("2024050110+0000"), "2024-05-01T10:00:00Z");
        assert_eq!(p("202405011015-0500"), "2024-05-01T10:15:00-05:00");
        assert_eq!(p("20240501101530+0215"), "2024-05-01T10:15:30+02:15");
        assert_eq!(p("20240501101530.25+0000"), "2024-05-01T10:15:30.25Z");
        assert_eq!(p("20240501101530.1234"), "2024-05-01T10:15:30.1234+01:00");
        assert_eq!(p(" 20240501+0700 "), "2024-05-01");
    }

    #[test]
    fn local_times_follow_uk_summer_time() {
        // GMT in winter, BST in summer
        assert_eq!(p("20240115093000"), "2024-01-15T09:30:00Z");
        assert_eq!(p("20240715093000"), "2024-07-15T09:30:00+01:00");
        // 2024: BST from 31 March 01:00 UTC to 27 October 01:00 UTC
        assert_eq!(p("202403310059"), "2024-03-31T00:59:00Z");
        assert_eq!(p("202403310200"), "2024-03-31T02:00:00+01:00");
        assert_eq!(p("202410270059"), "2024-10-27T00:59:00+01:00");
        assert_eq!(p("202410270130"), "2024-10-27T01:30:00+01:00");
        assert_eq!(p("202410270200"), "2024-10-27T02:00:00Z");
        let utc = parse_dtm("20240715093000", LocalZone::Utc).unwrap();
        assert_eq!(utc.to_string(), "2024-07-15T09:30:00Z");
    }

    #[test]
    fn msh7_offset_is_the_message_default() {
        let zone = LocalZone::for_message("20240501101500-0500", LocalZone::EuropeLondon);
        assert_eq!(
            parse_dtm("20240115093000", zone).unwrap().to_string(),
            "2024-01-15T09:30:00-05:00"
        );
        let zone = LocalZone::for_message("20240501101500", LocalZone::Utc);
        assert_eq!(zone, LocalZone::Utc);
        assert_eq!(LocalZone::for_message("", LocalZone::Utc), LocalZone::Utc);
    }

    #[test]
    fn refuses_nonsense() {
        for bad in [
            "",
            "24",
            "20241",
            "20241301",
            "20240230",
            "2024050124",
            "202405011060",
            "20240501101560",
            "20240501101530.",
            "20240501101530.1234567890",
            "202405011015.5",
            "20240501+01",
            "20240501+2500",
            "2024-05-01",
            "２０２４",
            "20240501101530+0000x",
            "-2024",
        ] {
            assert!(parse_dtm(bad, LocalZone::Utc).is_err(), "{bad}");
        }
    }

    #[test]
    fn writes_what_it_reads() {
        for s in [
            "2024",
            "202405",
            "20240501",
            "20240501101530+0100",
            "20240501101530-0330",
        ] {
            let v = parse_dtm(s, LocalZone::Utc).unwrap();
            assert_eq!(format_dtm(&v), s);
        }
    }
}
