//! Dates, times and ages as the former NHS common user interface standard
//! writes them: `07-Dec-2026`, `07-Dec-2026 07:01 UTC`, `76y`.

use icr_model::PartialDateTime;
use time::{Date, Month, OffsetDateTime, UtcOffset};

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

fn month(m: Month) -> &'static str {
    MONTHS[usize::from(u8::from(m)) - 1]
}

/// A calendar date: `12-Mar-1950`.
pub(crate) fn date(d: Date) -> String {
    format!("{:02}-{}-{:04}", d.day(), month(d.month()), d.year())
}

/// A date at the precision recorded: `1950`, `Mar-1950`, `12-Mar-1950`
/// (an instant by its date in UTC).
pub(crate) fn partial(p: &PartialDateTime) -> String {
    match *p {
        PartialDateTime::Year(y) => format!("{y:04}"),
        PartialDateTime::YearMonth(y, m) => format!("{}-{y:04}", month(m)),
        PartialDateTime::Date(d) => date(d),
        PartialDateTime::DateTime(t) => date(t.to_offset(UtcOffset::UTC).date()),
    }
}

/// An instant, in UTC: `07-Dec-2026 07:01 UTC`.
pub(crate) fn instant(t: OffsetDateTime) -> String {
    let t = t.to_offset(UtcOffset::UTC);
    format!("{} {:02}:{:02} UTC", date(t.date()), t.hour(), t.minute())
}

/// Age on `today` of a person born on `born`: whole years from two,
/// months under two, days under a month; `None` for a birth after today.
pub(crate) fn age(born: Date, today: Date) -> Option<String> {
    if born > today {
        return None;
    }
    let mut months = (today.year() - born.year()) * 12 + i32::from(u8::from(today.month()))
        - i32::from(u8::from(born.month()));
    if today.day() < born.day() {
        months -= 1;
    }
    Some(if months >= 24 {
        format!("{}y", months / 12)
    } else if months >= 1 {
        format!("{months}m")
    } else {
        format!("{}d", (today - born).whole_days())
    })
}

/// A FHIR code in words: `entered-in-error` is `Entered in error`.
pub(crate) fn code_words(code: &str) -> String {
    let mut out = String::with_capacity(code.len());
    for (i, c) in code.chars().enumerate() {
        match c {
            '-' | '_' => out.push(' '),
            c if i == 0 => out.extend(c.to_uppercase()),
            c => out.push(c),
        }
    }
    out
}

/// `1 item` / `3 items`.
pub(crate) fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// `A`, `A and B`, `A, B and C`.
pub(crate) fn and_list(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    #[test]
    fn dates_are_written_day_month_year() {
        assert_eq!(date(date!(1950 - 03 - 02)), "02-Mar-1950");
        assert_eq!(partial(&PartialDateTime::Year(1950)), "1950");
        assert_eq!(
            partial(&PartialDateTime::YearMonth(1950, Month::December)),
            "Dec-1950"
        );
        assert_eq!(
            partial(&PartialDateTime::DateTime(
                datetime!(2026-12-07 00:30 +01:00)
            )),
            "06-Dec-2026"
        );
        assert_eq!(
            instant(datetime!(2026-12-07 08:01:59 +01:00)),
            "07-Dec-2026 07:01 UTC"
        );
    }

    #[test]
    fn ages_in_years_months_or_days() {
        let today = date!(2026 - 12 - 07);
        assert_eq!(age(date!(1950 - 12 - 07), today).unwrap(), "76y");
        assert_eq!(age(date!(1950 - 12 - 08), today).unwrap(), "75y");
        assert_eq!(age(date!(2024 - 12 - 08), today).unwrap(), "23m");
        assert_eq!(age(date!(2026 - 11 - 07), today).unwrap(), "1m");
        assert_eq!(age(date!(2026 - 11 - 20), today).unwrap(), "17d");
        assert_eq!(age(today, today).unwrap(), "0d");
        assert_eq!(age(date!(2026 - 12 - 08), today), None);
    }

    #[test]
    fn counts_agree_in_number() {
        assert_eq!(count(1, "item", "items"), "1 item");
        assert_eq!(count(3, "item", "items"), "3 items");
        assert_eq!(and_list(&[]), "");
        assert_eq!(and_list(&["A"]), "A");
        assert_eq!(and_list(&["A", "B"]), "A and B");
        assert_eq!(and_list(&["A", "B", "C"]), "A, B and C");
    }

    #[test]
    fn codes_read_as_words() {
        assert_eq!(code_words("entered-in-error"), "Entered in error");
        assert_eq!(code_words("on-hold"), "On hold");
        assert_eq!(code_words("active"), "Active");
        assert_eq!(code_words(""), "");
    }
}
