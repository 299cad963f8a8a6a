//! Who looked at a record, as Patient Access shows it for GP records: each
//! access with its date and time (UK time), the organisation and role,
//! the purpose, what was done, any break-glass reason, and whether the
//! record was shown or refused. A patient looking at their own record sees
//! organisations and roles, not the staff's names. The page says when the
//! list may be incomplete, and says "nobody has looked" only when it is
//! complete.

use std::fmt::Write as _;

use icr_model::{NhsNumber, OdsCode};
use time::{Date, Duration, Month, OffsetDateTime, UtcOffset};

use crate::escape;
use crate::html::Esc;
use crate::{Chrome, form, format, page};

/// Whether an access was allowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The record (or the part the role may see) was shown.
    Shown,
    /// The access was refused: nothing was shown.
    Refused,
}

/// One access to the record, from the audit trail.
#[derive(Clone, Copy, Debug)]
pub struct LookedEntry<'a> {
    /// When.
    pub when: OffsetDateTime,
    /// The organisation's name (or its ODS code when it has no name here).
    pub organisation: &'a str,
    /// The organisation's ODS code.
    pub ods_code: &'a OdsCode,
    /// The role, in words (e.g. "Clinical Practitioner").
    pub role: &'a str,
    /// The person's name; never shown to the patient themself
    /// ([`WhoLookedView::own`]).
    pub person: Option<&'a str>,
    /// The purpose, in words (e.g. "Direct care").
    pub purpose: &'a str,
    /// What was done, in words (e.g. "Viewed the record").
    pub interaction: &'a str,
    /// The break-glass reason, as given.
    pub break_glass_reason: Option<&'a str>,
    /// Whether the record was shown.
    pub outcome: Outcome,
}

/// What the who-looked page shows.
#[derive(Clone, Copy, Debug)]
pub struct WhoLookedView<'a> {
    /// The person whose record it is.
    pub nhs_number: NhsNumber,
    /// The person is looking at their own record: "your record", and no
    /// staff names.
    pub own: bool,
    /// The accesses, newest first.
    pub entries: &'a [LookedEntry<'a>],
    /// What may be missing from the list (e.g. "Accesses through one of the
    /// gateway's servers in the last few minutes may not be listed yet").
    /// Empty when the list is complete.
    pub notes: &'a [&'a str],
    /// The link to the next page of older accesses, when there are more.
    pub older: Option<&'a str>,
}

/// The table's columns; on a narrow screen each cell is headed by its
/// column's name instead.
const COLUMNS: [&str; 5] = ["Date and time", "Who", "Purpose", "What", "Outcome"];

/// The last Sunday of `month` (March or October) in `year`.
fn last_sunday(year: i32, month: Month) -> Option<Date> {
    let last = Date::from_calendar_date(year, month, 31).ok()?;
    Some(last - Duration::days(i64::from(last.weekday().number_days_from_sunday())))
}

/// `t` in UK time: British Summer Time from 01:00 UTC on the last Sunday
/// of March to 01:00 UTC on the last Sunday of October, else GMT —
/// `14-Jul-2026 11:05 BST`, `07-Dec-2026 08:14 GMT`.
pub(crate) fn uk_time(t: OffsetDateTime) -> String {
    let utc = t.to_offset(UtcOffset::UTC);
    let year = utc.year();
    let at_one = |d: Date| d.with_hms(1, 0, 0).ok().map(|d| d.assume_utc());
    let summer = match (
        last_sunday(year, Month::March).and_then(at_one),
        last_sunday(year, Month::October).and_then(at_one),
    ) {
        (Some(start), Some(end)) => utc >= start && utc < end,
        _ => false,
    };
    let (local, zone) = if summer {
        (utc.saturating_add(Duration::HOUR), "BST")
    } else {
        (utc, "GMT")
    };
    format!(
        "{} {:02}:{:02} {zone}",
        format::date(local.date()),
        local.hour(),
        local.minute()
    )
}

/// The who-looked page: the notes on what may be missing first, then the
/// accesses as a table (with a link to older ones), or a sentence when
/// there are none.
pub fn who_looked_page(chrome: &Chrome<'_>, view: &WhoLookedView<'_>) -> String {
    let whose = if view.own { "your" } else { "this" };
    let mut main = String::with_capacity(1024 + view.entries.len() * 512);
    let _ = write!(
        main,
        concat!(
            "<h1>Who has looked at {whose} record</h1>\n",
            "<p>NHS number <strong>{nhs}</strong>. Every time someone opens or is refused ",
            "this record through the {service}, it is recorded.</p>\n",
        ),
        whose = whose,
        nhs = view.nhs_number.formatted(),
        service = crate::SERVICE_NAME,
    );
    if !view.notes.is_empty() {
        let mut body = String::from("<ul>");
        for note in view.notes {
            let _ = write!(body, "<li>{}</li>", Esc(note));
        }
        body.push_str("</ul>");
        form::warning_callout(&mut main, 2, "This list may be incomplete", &body);
    }
    if view.entries.is_empty() {
        if view.notes.is_empty() {
            let _ = writeln!(main, "<p>Nobody has looked at {whose} record.</p>");
        } else {
            main.push_str(
                "<p>No one is listed, but this list may be incomplete (see above).</p>\n",
            );
        }
        return page("Who has looked at the record", chrome, &main);
    }
    main.push_str(concat!(
        "<table class=\"nhsuk-table nhsuk-table--responsive\">",
        "<caption class=\"nhsuk-table__caption\">Accesses, newest first</caption>",
        "<thead class=\"nhsuk-table__head\"><tr class=\"nhsuk-table__row\">",
    ));
    for heading in COLUMNS {
        let _ = write!(
            main,
            "<th class=\"nhsuk-table__header\" scope=\"col\">{heading}</th>"
        );
    }
    main.push_str("</tr></thead><tbody class=\"nhsuk-table__body\">");
    for e in view.entries {
        let who = match e.person.filter(|_| !view.own) {
            Some(name) => format!(
                "{} ({})<br>{}<br>{}",
                Esc(e.organisation),
                Esc(e.ods_code.as_str()),
                Esc(e.role),
                Esc(name)
            ),
            None => format!(
                "{} ({})<br>{}",
                Esc(e.organisation),
                Esc(e.ods_code.as_str()),
                Esc(e.role)
            ),
        };
        let why = match e.break_glass_reason {
            Some(reason) => format!(
                "{}<br><strong>Break-glass</strong>, reason given: {}",
                Esc(e.purpose),
                Esc(reason)
            ),
            None => escape(e.purpose),
        };
        let outcome = match e.outcome {
            Outcome::Shown => "<strong class=\"nhsuk-tag nhsuk-tag--blue\">Shown</strong>",
            Outcome::Refused => "<strong class=\"nhsuk-tag nhsuk-tag--grey\">Refused</strong>",
        };
        main.push_str("<tr class=\"nhsuk-table__row\">");
        let cells = [uk_time(e.when), who, why, escape(e.interaction)];
        for (heading, html) in COLUMNS
            .iter()
            .zip(cells.iter().map(String::as_str).chain([outcome]))
        {
            let _ = write!(
                main,
                concat!(
                    "<td class=\"nhsuk-table__cell\">",
                    "<span class=\"nhsuk-table-responsive__heading\" aria-hidden=\"true\">{} </span>",
                    // One flex item on a narrow screen, however many inside.
                    "<span>{}</span></td>",
                ),
                heading, html
            );
        }
        main.push_str("</tr>");
    }
    main.push_str("</tbody></table>\n");
    if let Some(href) = view.older {
        let _ = writeln!(main, "<p><a href=\"{}\">Older accesses</a></p>", Esc(href));
    }
    page("Who has looked at the record", chrome, &main)
}
