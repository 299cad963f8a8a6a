//! What a read of one person's accesses asks for: a page size, a cursor and
//! dates, parsed from the search parameters of `GET /v1/audit` and
//! `GET /fhir/r4/AuditEvent` (`_count`, `before`, `date`). Pure, no I/O;
//! [`AccessQuery::from_params`] is fuzzed.

use icr_model::time::format_description::well_known::Rfc3339;
use icr_model::time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};

use crate::chain::Sequence;
use crate::record::Timestamp;

/// Accesses on a page when `_count` is not given.
pub const DEFAULT_PAGE: usize = 50;
/// The most accesses on one page (`_count` above it is refused).
pub const MAX_PAGE: usize = 500;
/// The most bytes of log lines read for one page: a page stops early, with
/// a cursor to the rest, when its lines reach this (lines are at most
/// 64 KiB, so a page always holds at least one access).
pub const MAX_PAGE_BYTES: usize = 4 * 1024 * 1024;
/// The longest value of one parameter that is read.
const MAX_VALUE_LEN: usize = 64;

/// Why a search parameter is refused. The message names the parameter and
/// what it takes, never echoes the value.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{param} {why}")]
pub struct QueryError {
    /// The parameter (`_count`, `before`, `date`).
    pub param: &'static str,
    /// What is wrong.
    pub why: &'static str,
}

fn refuse<T>(param: &'static str, why: &'static str) -> Result<T, QueryError> {
    Err(QueryError { param, why })
}

/// A page size as `_count` gives it: a whole number from 1 to [`MAX_PAGE`].
pub fn page_count(value: &str) -> Result<usize, QueryError> {
    match value.parse::<usize>() {
        Ok(n) if (1..=MAX_PAGE).contains(&n) && value.len() <= 4 => Ok(n),
        _ => refuse("_count", "must be a whole number from 1 to 500"),
    }
}

/// A range of times, as microseconds since the Unix epoch: from (included)
/// until (excluded); either end may be open.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct DateRange {
    from: Option<i64>,
    until: Option<i64>,
}

impl DateRange {
    /// Every time.
    pub const ALL: DateRange = DateRange {
        from: None,
        until: None,
    };

    /// Whether `t` is in the range.
    pub fn contains(&self, t: Timestamp) -> bool {
        self.contains_micros(t.unix_micros())
    }

    pub(crate) fn contains_micros(&self, t: i64) -> bool {
        self.from.is_none_or(|f| t >= f) && self.until.is_none_or(|u| t < u)
    }

    /// The range's ends in microseconds since the Unix epoch: from
    /// (included), until (excluded).
    pub fn micros(&self) -> (Option<i64>, Option<i64>) {
        (self.from, self.until)
    }

    /// Whether no time can be in the range.
    pub fn is_empty(&self) -> bool {
        matches!((self.from, self.until), (Some(f), Some(u)) if f >= u)
    }

    /// The times in both ranges (FHIR ANDs repeated `date` parameters).
    pub fn and(self, other: DateRange) -> DateRange {
        let max = |a: Option<i64>, b: Option<i64>| match (a, b) {
            (Some(x), Some(y)) => Some(x.max(y)),
            (x, y) => x.or(y),
        };
        let min = |a: Option<i64>, b: Option<i64>| match (a, b) {
            (Some(x), Some(y)) => Some(x.min(y)),
            (x, y) => x.or(y),
        };
        DateRange {
            from: max(self.from, other.from),
            until: min(self.until, other.until),
        }
    }

    /// One FHIR `date` search value: a prefix (`eq`, the default, `ge`,
    /// `gt`, `le`, `lt`) and a date or time — `2026`, `2026-11`,
    /// `2026-11-26`, or `2026-11-26T09:14:03Z` (any offset, fractions of a
    /// second). Each stands for the range its precision covers (a day, a
    /// second, …): `ge2026-11-26` is from that day's start, `le2026-11-26`
    /// up to its end, `gt` after its end, `lt` before its start.
    pub fn parse(value: &str) -> Result<DateRange, QueryError> {
        const P: &str = "date";
        if value.len() > MAX_VALUE_LEN {
            return refuse(P, "is too long");
        }
        let (prefix, rest) = match value.get(..2) {
            Some(p) if p.bytes().all(|b| b.is_ascii_lowercase()) => (p, &value[2..]),
            _ => ("eq", value),
        };
        let (start, end) = span(rest).ok_or(QueryError {
            param: P,
            why: "must be a date (2026-11-26), a month, a year or a time (2026-11-26T09:14:03Z), after an optional prefix eq, ge, gt, le or lt",
        })?;
        Ok(match prefix {
            "eq" => DateRange {
                from: Some(start),
                until: end,
            },
            "ge" => DateRange {
                from: Some(start),
                until: None,
            },
            "gt" => DateRange {
                // After the end of the range; nothing is after year 9999.
                from: Some(end.unwrap_or(i64::MAX)),
                until: None,
            },
            "lt" => DateRange {
                from: None,
                until: Some(start),
            },
            "le" => DateRange {
                from: None,
                until: end,
            },
            _ => return refuse(P, "prefix is not supported: use eq, ge, gt, le or lt"),
        })
    }

    /// The range as `date` values (`ge…`, `lt…`) that parse back to it.
    fn to_values(self) -> Vec<String> {
        let text = |t: i64| Timestamp::from_unix_micros(t).map(|t| t.to_rfc3339());
        let mut out = Vec::new();
        if let Some(from) = self.from {
            out.push(match text(from) {
                Some(t) => format!("ge{t}"),
                // Only "after the end of year 9999" starts past what can
                // be written: it is written as it was asked.
                None => "gt9999-12-31".to_owned(),
            });
        }
        // Every end is the start of a range that was parsed: writable.
        if let Some(t) = self.until.and_then(text) {
            out.push(format!("lt{t}"));
        }
        out
    }
}

/// Microseconds of midnight UTC on `date`.
fn midnight(date: Date) -> i64 {
    Timestamp::from_offset(PrimitiveDateTime::new(date, Time::MIDNIGHT).assume_utc()).unix_micros()
}

/// The range a date or time stands for: its start, and its end (`None`
/// past year 9999).
fn span(s: &str) -> Option<(i64, Option<i64>)> {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let year = |s: &str| -> Option<i32> { (s.len() == 4 && digits(s)).then(|| s.parse().ok())? };
    let two = |s: &str| -> Option<u8> { (s.len() == 2 && digits(s)).then(|| s.parse().ok())? };
    let parts: Vec<&str> = s.split('-').collect();
    match parts.as_slice() {
        [y] => {
            let y = year(y)?;
            let start = Date::from_calendar_date(y, Month::January, 1).ok()?;
            let end = Date::from_calendar_date(y + 1, Month::January, 1).ok();
            Some((midnight(start), end.map(midnight)))
        }
        [y, m] => {
            let (y, m) = (year(y)?, Month::try_from(two(m)?).ok()?);
            let start = Date::from_calendar_date(y, m, 1).ok()?;
            let end = match m {
                Month::December => Date::from_calendar_date(y + 1, Month::January, 1).ok(),
                _ => Date::from_calendar_date(y, m.next(), 1).ok(),
            };
            Some((midnight(start), end.map(midnight)))
        }
        [y, m, d] if d.len() == 2 => {
            let (y, m) = (year(y)?, Month::try_from(two(m)?).ok()?);
            let start = Date::from_calendar_date(y, m, two(d)?).ok()?;
            Some((midnight(start), start.next_day().map(midnight)))
        }
        _ => {
            // A time: to the second, or to the microsecond when it has a
            // fraction (finer fractions are cut to the microsecond).
            let t = OffsetDateTime::parse(s, &Rfc3339).ok()?;
            let start = Timestamp::checked_from_offset(t)?.unix_micros();
            let step = if s.contains('.') { 1 } else { 1_000_000 };
            Some((start, start.checked_add(step)))
        }
    }
}

/// One page of a person's accesses: how many, older than which entry, and
/// in which dates. Newest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AccessQuery {
    /// Accesses on the page, 1 to [`MAX_PAGE`].
    pub count: usize,
    /// Only accesses with a sequence number below this (the cursor a
    /// previous page gave).
    pub before: Option<Sequence>,
    /// Only accesses at these times.
    pub dates: DateRange,
}

impl Default for AccessQuery {
    fn default() -> Self {
        Self {
            count: DEFAULT_PAGE,
            before: None,
            dates: DateRange::ALL,
        }
    }
}

impl AccessQuery {
    /// Reads `_count`, `before` and `date` (repeatable: the ranges are
    /// ANDed) from a query's decoded parameters; others are ignored (FHIR
    /// servers ignore search parameters they do not know, and the person
    /// is the caller's to read).
    pub fn from_params<'a>(
        params: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, QueryError> {
        let mut q = AccessQuery::default();
        for (key, value) in params {
            match key {
                "_count" => q.count = page_count(value)?,
                "before" => {
                    q.before = match value.parse::<u64>() {
                        Ok(n) if n >= 1 && value.len() <= 20 => Some(Sequence::new(n)),
                        _ => {
                            return refuse(
                                "before",
                                "must be an entry's sequence number, as a page's next link gives it",
                            );
                        }
                    }
                }
                "date" => q.dates = q.dates.and(DateRange::parse(value)?),
                _ => {}
            }
        }
        Ok(q)
    }

    /// The query's parameters, in the form [`from_params`](Self::from_params)
    /// reads back: `_count=50&date=ge…&before=1204` — for `next` links.
    pub fn to_query(&self) -> String {
        let mut out = format!("_count={}", self.count);
        for d in self.dates.to_values() {
            out.push_str("&date=");
            out.push_str(&d);
        }
        if let Some(b) = self.before {
            out.push_str(&format!("&before={b}"));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn micros(s: &str) -> i64 {
        Timestamp::parse(s).unwrap().unix_micros()
    }

    fn params(q: &str) -> Result<AccessQuery, QueryError> {
        AccessQuery::from_params(q.split('&').filter_map(|p| p.split_once('=')))
    }

    /// Found from outside (the search property test): a time whose offset
    /// takes it past the end of year 9999 in UTC panicked in the
    /// conversion; it is refused as any other unreadable date is.
    #[test]
    fn a_time_past_year_9999_in_utc_is_refused_not_a_panic() {
        let e = DateRange::parse("eq9999-12-31T20:00:00-04:00").unwrap_err();
        assert_eq!(e.param, "date");
        assert!(DateRange::parse("9999-12-31T19:59:59-04:00").is_ok());
    }

    #[test]
    fn date_values_stand_for_the_range_their_precision_covers() {
        let day = (
            micros("2026-11-26T00:00:00Z"),
            micros("2026-11-27T00:00:00Z"),
        );
        let table: &[(&str, Option<i64>, Option<i64>)] = &[
            ("2026-11-26", Some(day.0), Some(day.1)),
            ("eq2026-11-26", Some(day.0), Some(day.1)),
            ("ge2026-11-26", Some(day.0), None),
            ("gt2026-11-26", Some(day.1), None),
            ("lt2026-11-26", None, Some(day.0)),
            ("le2026-11-26", None, Some(day.1)),
            (
                "2026-11",
                Some(micros("2026-11-01T00:00:00Z")),
                Some(micros("2026-12-01T00:00:00Z")),
            ),
            (
                "2026-12",
                Some(micros("2026-12-01T00:00:00Z")),
                Some(micros("2027-01-01T00:00:00Z")),
            ),
            (
                "2026",
                Some(micros("2026-01-01T00:00:00Z")),
                Some(micros("2027-01-01T00:00:00Z")),
            ),
            (
                "ge2026-11-26T09:14:03Z",
                Some(micros("2026-11-26T09:14:03Z")),
                None,
            ),
            (
                "le2026-11-26T10:14:03+01:00",
                None,
                Some(micros("2026-11-26T09:14:04Z")),
            ),
            (
                "2026-11-26T09:14:03.5Z",
                Some(micros("2026-11-26T09:14:03.5Z")),
                Some(micros("2026-11-26T09:14:03.500001Z")),
            ),
            ("ge9999-12-31", Some(micros("9999-12-31T00:00:00Z")), None),
            ("gt9999-12-31", Some(i64::MAX), None),
        ];
        for (value, from, until) in table {
            let r = DateRange::parse(value).unwrap_or_else(|e| panic!("{value}: {e}"));
            assert_eq!((r.from, r.until), (*from, *until), "{value}");
        }
        for bad in [
            "",
            "yesterday",
            "ne2026-11-26",
            "ap2026-11-26",
            "2026-13",
            "2026-02-30",
            "26-11-26",
            "2026-11-26T09:14Z",
            "2026-11-26T09:14:03",
            "+2026-11-26",
            "2026-1-26",
            &"2".repeat(100),
        ] {
            let e = DateRange::parse(bad).unwrap_err();
            assert_eq!(e.param, "date", "{bad}");
        }
    }

    #[test]
    fn ranges_are_anded_and_contain_what_they_should() {
        let r = DateRange::parse("ge2026-11-26")
            .unwrap()
            .and(DateRange::parse("lt2026-11-27").unwrap());
        assert!(r.contains(Timestamp::parse("2026-11-26T00:00:00Z").unwrap()));
        assert!(r.contains(Timestamp::parse("2026-11-26T23:59:59.999999Z").unwrap()));
        assert!(!r.contains(Timestamp::parse("2026-11-27T00:00:00Z").unwrap()));
        assert!(!r.contains(Timestamp::parse("2026-11-25T23:59:59Z").unwrap()));
        assert!(!r.is_empty());
        let none = r.and(DateRange::parse("gt2026-11-27").unwrap());
        assert!(none.is_empty());
        assert_eq!(DateRange::ALL.and(r), r);
        assert!(DateRange::ALL.contains(Timestamp::now()));
    }

    #[test]
    fn pages_are_asked_for_with_count_before_and_dates() {
        assert_eq!(
            params("patient=9990000018").unwrap(),
            AccessQuery::default()
        );
        let q = params("_count=3&before=1204&date=ge2026-11-26&date=lt2026-11-27&x=y").unwrap();
        assert_eq!(q.count, 3);
        assert_eq!(q.before, Some(Sequence::new(1204)));
        assert_eq!(
            q.to_query(),
            "_count=3&date=ge2026-11-26T00:00:00Z&date=lt2026-11-27T00:00:00Z&before=1204"
        );
        assert_eq!(params(&q.to_query()).unwrap(), q);
        let nothing = params("date=gt9999-12-31").unwrap();
        assert_eq!(nothing.to_query(), "_count=50&date=gt9999-12-31");
        assert_eq!(params(&nothing.to_query()).unwrap(), nothing);
        assert_eq!(
            AccessQuery::default().to_query(),
            format!("_count={DEFAULT_PAGE}")
        );
        for (bad, param) in [
            ("_count=0", "_count"),
            ("_count=501", "_count"),
            ("_count=-1", "_count"),
            ("_count=00003", "_count"),
            ("_count=x", "_count"),
            ("before=0", "before"),
            ("before=x", "before"),
            ("before=-4", "before"),
            ("date=ne2026-01-01", "date"),
        ] {
            assert_eq!(params(bad).unwrap_err().param, param, "{bad}");
        }
        let e = params("_count=x").unwrap_err();
        assert_eq!(e.to_string(), "_count must be a whole number from 1 to 500");
    }
}
