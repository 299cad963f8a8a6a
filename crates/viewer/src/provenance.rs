//! Where an item comes from, on every tab: each organisation holding it
//! (its name and ODS code, the system, the source's id for the record,
//! when the source last changed it), and where sources holding the same
//! fact disagree, every version with the organisations holding it — shown,
//! never resolved (hazard log H-08).

use std::fmt::Write as _;

use icr_merge::{Conflict, MergedItem};
use icr_model::{Provenance, SourceId};
use serde_json::Value;

use crate::format;
use crate::html::Esc;
use crate::summary::listed_by;

/// One holder in words: `Ridgeway View Practice (J83019): EMIS Web,
/// source gp, record Condition/1, last updated 07-Dec-2026 07:01 UTC`.
fn holder(out: &mut String, p: &Provenance) {
    let _ = write!(
        out,
        "<li><strong>{}</strong> ({}): {}, source {}, record {}, ",
        Esc(&p.origin.organisation),
        Esc(p.origin.ods_code.as_str()),
        Esc(&p.origin.system),
        Esc(p.record.source().as_str()),
        Esc(p.record.local()),
    );
    match p.last_updated {
        Some(at) => {
            let _ = write!(out, "last updated {}", format::instant(at));
        }
        None => out.push_str("last update not stated"),
    }
    if p.restricted {
        out.push_str(", marked restricted by the source");
    }
    out.push_str("</li>");
}

/// The list of every holder of `provenance`.
pub(crate) fn holders(out: &mut String, provenance: &[Provenance]) {
    out.push_str("<ul class=\"nhsuk-list\">");
    for p in provenance {
        holder(out, p);
    }
    out.push_str("</ul>");
}

/// The organisation holding `source`'s copy, by name (the id when the item
/// names no such source).
fn organisation<'a>(item: &'a MergedItem, source: &'a SourceId) -> &'a str {
    item.provenance
        .iter()
        .find(|p| &p.origin.id == source)
        .map_or(source.as_str(), |p| p.origin.organisation.as_str())
}

/// A conflicting value in words: text as itself, a concept by its text or
/// first display, a quantity with its unit, anything else as compact JSON.
pub(crate) fn value_text(value: Option<&Value>) -> String {
    let Some(value) = value else {
        return "not recorded".to_owned();
    };
    match value {
        Value::Null => "not recorded".to_owned(),
        Value::String(s) => s.clone(),
        Value::Array(items) => items
            .iter()
            .map(|v| value_text(Some(v)))
            .collect::<Vec<_>>()
            .join("; "),
        Value::Object(map) => {
            if let Some(text) = map.get("text").and_then(Value::as_str) {
                return text.to_owned();
            }
            let display = map
                .get("codings")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .find_map(|c| c.get("display").or(c.get("code")).and_then(Value::as_str));
            if let Some(display) = display {
                return display.to_owned();
            }
            if let Some(n) = map.get("value").filter(|v| v.is_number()) {
                let unit = map.get("unit").and_then(Value::as_str).unwrap_or_default();
                return format!("{n} {unit}").trim_end().to_owned();
            }
            value.to_string()
        }
        other => other.to_string(),
    }
}

fn conflict(out: &mut String, item: &MergedItem, c: &Conflict) {
    let _ = write!(out, "<li>{}: ", Esc(&format::code_words(&c.field)));
    for (i, v) in c.values.iter().enumerate() {
        let names: Vec<&str> = v.sources.iter().map(|s| organisation(item, s)).collect();
        let _ = write!(
            out,
            "{}{} ({})",
            if i == 0 { "" } else { "; " },
            Esc(&value_text(v.value.as_ref())),
            Esc(&format::and_list(&names)),
        );
    }
    out.push_str("</li>");
}

/// Where the sources disagree on `item`: every field and every version,
/// with the organisations holding each. Nothing when they agree.
pub(crate) fn conflicts(out: &mut String, item: &MergedItem) {
    if item.conflicts.is_empty() {
        return;
    }
    out.push_str("<p><strong class=\"nhsuk-tag nhsuk-tag--orange\">Sources differ</strong> Each version is shown; none is chosen. The details above are the most recently updated copy.</p><ul class=\"nhsuk-list nhsuk-list--bullet\">");
    for c in &item.conflicts {
        conflict(out, item, c);
    }
    out.push_str("</ul>");
}

/// Every holder (and, with `with_conflicts`, every disagreement) behind a
/// disclosure that works without script.
pub(crate) fn details(out: &mut String, item: &MergedItem, with_conflicts: bool) {
    out.push_str("<details class=\"nhsuk-details\"><summary class=\"nhsuk-details__summary\"><span class=\"nhsuk-details__summary-text\">Where this comes from</span></summary><div class=\"nhsuk-details__text\">");
    holders(out, &item.provenance);
    if with_conflicts {
        conflicts(out, item);
    }
    out.push_str("</div></details>");
}

/// A table cell's worth: the organisations holding `item`, a tag when the
/// sources differ, and the full provenance and conflicts behind a
/// disclosure.
pub(crate) fn cell(out: &mut String, item: &MergedItem) {
    let _ = write!(out, "{}", Esc(&listed_by(item)));
    if !item.conflicts.is_empty() {
        out.push_str(" <strong class=\"nhsuk-tag nhsuk-tag--orange\">Sources differ</strong>");
    }
    details(out, item, true);
}
