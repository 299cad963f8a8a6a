//! The tabs' tables: a caption, column headers, and rows whose last cell
//! says where the item comes from ([`crate::provenance::cell`]).

use std::fmt::Write as _;

use icr_merge::MergedItem;

use crate::html::Esc;
use crate::provenance;

/// One cell of a row, escaped as it is written.
pub(crate) enum Cell<'a> {
    /// Plain text.
    Text(&'a str),
    /// A name in bold with a line of detail under it (none when empty).
    Named(&'a str, &'a str),
    /// An abnormal flag, as a red tag (nothing when `None`).
    Flag(Option<&'a str>),
}

/// Opens a table: `caption` (visible, or for assistive technology only)
/// and the column headers.
pub(crate) fn start(out: &mut String, caption: &str, visible: bool, columns: &[&str]) {
    let _ = write!(
        out,
        "<table class=\"nhsuk-table\"><caption class=\"nhsuk-table__caption {}\">{}</caption><thead class=\"nhsuk-table__head\"><tr class=\"nhsuk-table__row\">",
        if visible {
            "nhsuk-table__caption--s"
        } else {
            "nhsuk-u-visually-hidden"
        },
        Esc(caption)
    );
    for c in columns {
        let _ = write!(
            out,
            "<th class=\"nhsuk-table__header\" scope=\"col\">{}</th>",
            Esc(c)
        );
    }
    out.push_str("</tr></thead><tbody class=\"nhsuk-table__body\">");
}

/// One row: `cells`, then the item's provenance.
pub(crate) fn row(out: &mut String, cells: &[Cell<'_>], item: &MergedItem) {
    out.push_str("<tr class=\"nhsuk-table__row\">");
    for cell in cells {
        out.push_str("<td class=\"nhsuk-table__cell\">");
        match cell {
            Cell::Text(t) => {
                let _ = write!(out, "{}", Esc(t));
            }
            Cell::Named(name, detail) => {
                let _ = write!(out, "<strong>{}</strong>", Esc(name));
                if !detail.is_empty() {
                    let _ = write!(out, "<br>{}", Esc(detail));
                }
            }
            Cell::Flag(Some(flag)) => {
                let _ = write!(
                    out,
                    "<strong class=\"nhsuk-tag nhsuk-tag--red\">{}</strong>",
                    Esc(flag)
                );
            }
            Cell::Flag(None) => {}
        }
        out.push_str("</td>");
    }
    out.push_str("<td class=\"nhsuk-table__cell\">");
    provenance::cell(out, item);
    out.push_str("</td></tr>");
}

/// Closes the table.
pub(crate) fn end(out: &mut String) {
    out.push_str("</tbody></table>");
}
