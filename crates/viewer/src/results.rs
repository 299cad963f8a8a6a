//! Results: observations grouped by test (its primary code), each group a
//! table of every value — date, value with its unit, reference range,
//! abnormal flag, the organisations holding it — and, for a test with two
//! or more numeric values in one unit, a trend chart drawn as inline SVG
//! (no script; presentation attributes, no style attribute, for the
//! Content-Security-Policy): the reference range shaded, abnormal values
//! drawn red, square and lettered, the chart summarised in words for
//! assistive technology, the table beside it holding the same numbers.
//! Reports (a lab report's or an imaging report's conclusion) follow.

use std::collections::HashMap;
use std::fmt::Write as _;

use icr_merge::MergedItem;
use icr_model::{
    Concept, Entry, PartialDateTime, Quantity, ReferenceRange, ResultKind, ResultValue, Section,
    TestResult,
};

use crate::html::Esc;
use crate::table::{self, Cell};
use crate::tabs::section_tab;
use crate::{RecordView, format};

/// The chart's drawing area, in SVG user units.
const WIDTH: f64 = 600.0;
const HEIGHT: f64 = 200.0;
const LEFT: f64 = 60.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 15.0;
const PLOT_H: f64 = 150.0;

/// NHS identity colours.
const BLUE: &str = "#005eb8";
const RED: &str = "#d5281b";
const GREEN: &str = "#007f3b";
const TEXT: &str = "#212b32";
const GREY: &str = "#4c6272";

/// A number as people write it: `4`, `5.9`.
fn number(v: f64) -> String {
    format!("{v}")
}

/// A quantity: `<0.5 mmol/L`.
fn quantity(q: &Quantity) -> Option<String> {
    let v = q.value?;
    let unit = q.unit.as_deref().or(q.code.as_deref()).unwrap_or_default();
    Some(
        format!(
            "{}{} {unit}",
            q.comparator.as_deref().unwrap_or_default(),
            number(v)
        )
        .trim_end()
        .to_owned(),
    )
}

/// A result's value in words, with its unit.
pub(crate) fn value_text(value: Option<&ResultValue>) -> Option<String> {
    match value? {
        ResultValue::Quantity(q) => quantity(q),
        ResultValue::Coded(c) => c.label().map(str::to_owned),
        ResultValue::Text(t) => Some(t.clone()),
        ResultValue::Boolean(b) => Some(if *b { "Yes" } else { "No" }.to_owned()),
        ResultValue::Integer(n) => Some(n.to_string()),
        ResultValue::Range { low, high } => {
            let low = low.as_ref().and_then(quantity).unwrap_or_default();
            let high = high.as_ref().and_then(quantity).unwrap_or_default();
            Some(format!("{low} to {high}"))
        }
        ResultValue::DateTime(d) => Some(format::partial(d)),
    }
}

/// Reference ranges in words: `3.5 to 5.3 mmol/L`, `below 5`, or the
/// source's text.
pub(crate) fn range_text(ranges: &[ReferenceRange]) -> Option<String> {
    let texts: Vec<String> = ranges
        .iter()
        .filter_map(|r| {
            if let Some(t) = &r.text {
                return Some(t.clone());
            }
            let low = r.low.as_ref().and_then(|q| q.value);
            let high = r.high.as_ref().and_then(quantity);
            match (low, high) {
                (Some(l), Some(h)) => Some(format!("{} to {h}", number(l))),
                (Some(_), None) => r
                    .low
                    .as_ref()
                    .and_then(quantity)
                    .map(|l| format!("above {l}")),
                (None, Some(h)) => Some(format!("below {h}")),
                (None, None) => None,
            }
        })
        .collect();
    (!texts.is_empty()).then(|| texts.join("; "))
}

/// An abnormal flag: its words and the letter marking it on a chart.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Flag {
    pub(crate) text: String,
    pub(crate) letter: char,
}

fn flag(text: &str, letter: char) -> Option<Flag> {
    Some(Flag {
        text: text.to_owned(),
        letter,
    })
}

/// The abnormal flag an interpretation code (HL7 v2 table 0078, the v3
/// ObservationInterpretation codes) stands for.
fn abnormal_code(code: &str) -> Option<Flag> {
    match code {
        "H" => flag("High", 'H'),
        "HH" => flag("Critically high", 'H'),
        "HU" => flag("Significantly high", 'H'),
        "HX" => flag("Above high threshold", 'H'),
        ">" => flag("Above the measurable range", 'H'),
        "L" => flag("Low", 'L'),
        "LL" => flag("Critically low", 'L'),
        "LU" => flag("Significantly low", 'L'),
        "LX" => flag("Below low threshold", 'L'),
        "<" => flag("Below the measurable range", 'L'),
        "A" => flag("Abnormal", '!'),
        "AA" => flag("Critically abnormal", '!'),
        "EX" => flag("Outside threshold", '!'),
        _ => None,
    }
}

/// The abnormal flag an interpretation in words stands for, if it says
/// high, low, abnormal or critical.
fn abnormal_words(label: &str) -> Option<Flag> {
    let l = label.to_ascii_lowercase();
    let letter = if l.contains("high") {
        'H'
    } else if l.contains("low") {
        'L'
    } else if l.contains("abnormal") || l.contains("critical") {
        '!'
    } else {
        return None;
    };
    flag(label, letter)
}

/// Whether a value is abnormal: the source's interpretation where it
/// says (by code, else in words: high, low, abnormal, critical — or
/// normal); else a number outside its reference range. Interpretations
/// that are neither (`Not detected`, `Susceptible`) are words only
/// ([`interpretation_words`]) and leave the range to decide.
pub(crate) fn abnormal(r: &TestResult) -> Option<Flag> {
    let mut normal = false;
    for c in &r.interpretation {
        let code = c.primary().map(|p| p.code.as_str()).unwrap_or_default();
        if let Some(f) = abnormal_code(code).or_else(|| c.label().and_then(abnormal_words)) {
            return Some(f);
        }
        normal |= code == "N" || c.label().is_some_and(|l| l.eq_ignore_ascii_case("normal"));
    }
    if normal {
        return None;
    }
    let v = numeric(r)?;
    let range = r.reference_range.first()?;
    if range
        .high
        .as_ref()
        .and_then(|q| q.value)
        .is_some_and(|h| v > h)
    {
        flag("High", 'H')
    } else if range
        .low
        .as_ref()
        .and_then(|q| q.value)
        .is_some_and(|l| v < l)
    {
        flag("Low", 'L')
    } else {
        None
    }
}

/// The source's interpretations in words (`Not detected`), for a value
/// not flagged abnormal.
fn interpretation_words(r: &TestResult) -> String {
    let words: Vec<&str> = r.interpretation.iter().filter_map(Concept::label).collect();
    words.join(", ")
}

/// The plain number of a quantity value (not a bound such as `<0.5`).
fn numeric(r: &TestResult) -> Option<f64> {
    match &r.value {
        Some(ResultValue::Quantity(q)) if q.comparator.is_none() => {
            q.value.filter(|v| v.is_finite())
        }
        Some(ResultValue::Integer(n)) => Some(*n as f64),
        _ => None,
    }
}

fn unit(r: &TestResult) -> Option<&str> {
    match &r.value {
        Some(ResultValue::Quantity(q)) => q.unit.as_deref().or(q.code.as_deref()),
        _ => None,
    }
}

fn when(r: &TestResult) -> Option<&PartialDateTime> {
    r.effective.as_ref().or(r.issued.as_ref())
}

/// A result's date as the tables write it.
fn dated(r: &TestResult) -> String {
    when(r).map_or_else(|| "Not dated".into(), format::partial)
}

/// One test's results, most recent first.
struct Group<'a> {
    name: &'a str,
    items: Vec<(&'a MergedItem, &'a TestResult)>,
}

/// The test a result is of: its primary coding, else its words.
fn test_key(code: &Concept) -> String {
    match code.primary() {
        Some(c) => format!("{}|{}", c.system.uri(), c.code),
        None => format!("text|{}", code.label().unwrap_or_default()),
    }
}

fn groups(items: &[MergedItem]) -> (Vec<Group<'_>>, Vec<(&MergedItem, &TestResult)>) {
    let mut groups: Vec<Group<'_>> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut reports = Vec::new();
    for item in items {
        let Entry::Result(r) = &item.entry else {
            continue;
        };
        if r.kind == Some(ResultKind::Report) {
            reports.push((item, r));
            continue;
        }
        let g = *index.entry(test_key(&r.code)).or_insert_with(|| {
            groups.push(Group {
                name: r.code.label().unwrap_or("Test not named"),
                items: Vec::new(),
            });
            groups.len() - 1
        });
        groups[g].items.push((item, r));
    }
    (groups, reports)
}

/// The date of a point's time (seconds since the epoch, UTC).
fn day(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .map(|d| format::date(d.date()))
        .unwrap_or_default()
}

/// A point on the chart.
struct Point {
    at: i64,
    value: f64,
    flag: Option<Flag>,
}

/// The chart's scales: user units for a time and for a value.
struct Scale {
    t0: i64,
    t1: i64,
    lo: f64,
    hi: f64,
}

impl Scale {
    /// The scales for `points` (oldest first) and the range to shade: the
    /// values and the range's bounds with an eighth of their span above
    /// and below, so no point sits on an edge. `None` when they are too far
    /// apart to draw (their span is no finite number).
    fn new(points: &[Point], range: Option<(Option<f64>, Option<f64>)>) -> Option<Scale> {
        let values = points.iter().map(|p| p.value);
        let bounds = range.into_iter().flat_map(|(l, h)| l.into_iter().chain(h));
        let (lo, hi) = values
            .chain(bounds)
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
                (lo.min(v), hi.max(v))
            });
        let pad = if hi > lo {
            (hi - lo) / 8.0
        } else {
            (hi.abs() / 10.0).max(1.0)
        };
        let (lo, hi) = (lo - pad, hi + pad);
        ((hi - lo).is_finite() && hi > lo).then(|| Scale {
            t0: points.first().map_or(0, |p| p.at),
            t1: points.last().map_or(0, |p| p.at),
            lo,
            hi,
        })
    }

    fn x(&self, t: i64) -> f64 {
        let plot_w = WIDTH - LEFT - RIGHT;
        if self.t1 == self.t0 {
            LEFT + plot_w / 2.0
        } else {
            LEFT + (t - self.t0) as f64 / (self.t1 - self.t0) as f64 * plot_w
        }
    }

    fn y(&self, v: f64) -> f64 {
        TOP + (self.hi - v) / (self.hi - self.lo) * PLOT_H
    }
}

/// The range to shade, `(low, high)`, from the most recent result's first
/// range with a number.
fn shaded(latest: &TestResult) -> Option<(Option<f64>, Option<f64>)> {
    latest.reference_range.iter().find_map(|r| {
        let low = r
            .low
            .as_ref()
            .and_then(|q| q.value)
            .filter(|v| v.is_finite());
        let high = r
            .high
            .as_ref()
            .and_then(|q| q.value)
            .filter(|v| v.is_finite());
        (low.is_some() || high.is_some()).then_some((low, high))
    })
}

/// The trend chart `id` for `points` (oldest first, at least two) in
/// `unit`, described by `summary`, with `range` shaded.
fn chart(
    out: &mut String,
    (id, summary, unit): (&str, &str, &str),
    points: &[Point],
    range: Option<(Option<f64>, Option<f64>)>,
    scale: &Scale,
) {
    let (lo, hi) = (scale.lo, scale.hi);
    let bottom = TOP + PLOT_H;
    let right = WIDTH - RIGHT;
    let _ = write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" width=\"100%\" role=\"img\" aria-label=\"{s}\" focusable=\"false\" id=\"{id}\"><title>{s}</title>",
        s = Esc(summary),
    );
    let _ = write!(
        out,
        "<text x=\"6\" y=\"11\" font-size=\"12\" fill=\"{TEXT}\">{}</text>",
        Esc(unit)
    );
    if let Some((low, high)) = range {
        let top_y = scale.y(high.unwrap_or(hi));
        let bottom_y = scale.y(low.unwrap_or(lo));
        let _ = write!(
            out,
            "<rect x=\"{LEFT}\" y=\"{top_y:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{GREEN}\" fill-opacity=\"0.15\"/>",
            right - LEFT,
            bottom_y - top_y,
        );
        for bound in [low, high].into_iter().flatten() {
            let y = scale.y(bound);
            let _ = write!(
                out,
                "<line x1=\"{LEFT}\" y1=\"{y:.1}\" x2=\"{right}\" y2=\"{y:.1}\" stroke=\"{GREEN}\" stroke-dasharray=\"4 3\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" font-size=\"12\" fill=\"{TEXT}\">{}</text>",
                LEFT - 6.0,
                y + 4.0,
                number(bound),
            );
        }
    }
    let _ = write!(
        out,
        "<line x1=\"{LEFT}\" y1=\"{TOP}\" x2=\"{LEFT}\" y2=\"{bottom}\" stroke=\"{GREY}\"/><line x1=\"{LEFT}\" y1=\"{bottom}\" x2=\"{right}\" y2=\"{bottom}\" stroke=\"{GREY}\"/>",
    );
    let coords: Vec<(f64, f64)> = points
        .iter()
        .map(|p| (scale.x(p.at), scale.y(p.value)))
        .collect();
    out.push_str("<polyline points=\"");
    for (i, (x, y)) in coords.iter().enumerate() {
        let _ = write!(out, "{}{x:.1},{y:.1}", if i == 0 { "" } else { " " });
    }
    let _ = write!(
        out,
        "\" fill=\"none\" stroke=\"{BLUE}\" stroke-width=\"2\"/>"
    );
    for (p, (x, y)) in points.iter().zip(&coords) {
        match &p.flag {
            None => {
                let _ = write!(
                    out,
                    "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"4\" fill=\"{BLUE}\"/>"
                );
            }
            Some(f) => {
                let _ = write!(
                    out,
                    "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"10\" height=\"10\" fill=\"{RED}\"/><text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"12\" font-weight=\"bold\" fill=\"{RED}\">{}</text>",
                    x - 5.0,
                    y - 5.0,
                    y - 9.0,
                    Esc(f.letter.encode_utf8(&mut [0; 4])),
                );
            }
        }
    }
    for (t, anchor) in [(scale.t0, "start"), (scale.t1, "end")] {
        let _ = write!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"{anchor}\" font-size=\"12\" fill=\"{TEXT}\">{}</text>",
            scale.x(t),
            bottom + 18.0,
            day(t),
        );
    }
    out.push_str("</svg>");
}

/// The words a chart stands for, for assistive technology and as its
/// tooltip.
fn chart_summary(
    name: &str,
    unit: &str,
    points: &[Point],
    range: &Option<String>,
    unplotted: usize,
) -> String {
    let first = points.first();
    let last = points.last();
    let lowest = points.iter().map(|p| p.value).fold(f64::INFINITY, f64::min);
    let highest = points
        .iter()
        .map(|p| p.value)
        .fold(f64::NEG_INFINITY, f64::max);
    let mut s = format!(
        "{name}: {} from {} to {} in {unit}; lowest {}, highest {}, latest {}",
        format::count(points.len(), "value", "values"),
        first.map_or(String::new(), |p| day(p.at)),
        last.map_or(String::new(), |p| day(p.at)),
        number(lowest),
        number(highest),
        last.map_or(String::new(), |p| number(p.value)),
    );
    if let Some(f) = last.and_then(|p| p.flag.as_ref()) {
        let _ = write!(s, " ({})", f.text);
    }
    let abnormal = points.iter().filter(|p| p.flag.is_some()).count();
    let _ = write!(s, "; {} flagged abnormal", abnormal);
    match range {
        Some(r) => {
            let _ = write!(s, "; reference range {r}");
        }
        None => s.push_str("; no reference range"),
    }
    if unplotted > 0 {
        let _ = write!(
            s,
            "; {} not plotted",
            format::count(unplotted, "value", "values")
        );
    }
    s.push_str(". The table lists every value.");
    s
}

fn group(out: &mut String, n: usize, g: &Group<'_>) {
    let _ = write!(
        out,
        "<section aria-labelledby=\"test-{n}\"><h3 class=\"nhsuk-heading-s\" id=\"test-{n}\">{}</h3>",
        Esc(g.name)
    );
    if g.items.len() >= 2 {
        // Oldest first, numbers with dates only.
        let mut plotted: Vec<(&TestResult, Point)> = g
            .items
            .iter()
            .rev()
            .filter_map(|(_, r)| {
                Some((
                    *r,
                    Point {
                        at: when(r)?.start_timestamp(),
                        value: numeric(r)?,
                        flag: abnormal(r),
                    },
                ))
            })
            .collect();
        // Time runs left to right whatever the section's order of ties.
        plotted.sort_by_key(|(_, p)| p.at);
        let mut distinct: Vec<&str> = plotted
            .iter()
            .map(|(r, _)| unit(r).unwrap_or("no unit"))
            .collect();
        distinct.sort_unstable();
        distinct.dedup();
        if plotted.len() < 2 {
            out.push_str("<p class=\"nhsuk-body-s\">Not charted: fewer than two values are numbers with dates.</p>");
        } else if distinct.len() > 1 {
            let _ = write!(
                out,
                "<p class=\"nhsuk-body-s\">Not charted: the values are in different units ({}).</p>",
                Esc(&format::and_list(&distinct))
            );
        } else {
            let (latest, _) = plotted[plotted.len() - 1];
            let range = shaded(latest);
            let range_words = range_text(&latest.reference_range);
            let points: Vec<Point> = plotted.into_iter().map(|(_, p)| p).collect();
            match Scale::new(&points, range) {
                None => out.push_str("<p class=\"nhsuk-body-s\">Not charted: the values are too far apart to draw on one scale.</p>"),
                Some(scale) => {
                    let summary = chart_summary(
                        g.name,
                        distinct[0],
                        &points,
                        &range_words,
                        g.items.len() - points.len(),
                    );
                    let id = format!("chart-{n}");
                    chart(out, (&id, &summary, distinct[0]), &points, range, &scale);
                }
            }
        }
    }
    table::start(
        out,
        &format!("{}: every value, most recent first", g.name),
        true,
        &["Date", "Result", "Reference range", "Flag", "From"],
    );
    for (item, r) in &g.items {
        let value = value_text(r.value.as_ref())
            .or_else(|| {
                let reason = r.absent_reason.as_ref().and_then(Concept::label)?;
                Some(format!("No value: {reason}"))
            })
            .unwrap_or_else(|| "No value".into());
        let flag = abnormal(r);
        let words = interpretation_words(r);
        let cells = [
            Cell::Text(&dated(r)),
            Cell::Text(&value),
            Cell::Text(&range_text(&r.reference_range).unwrap_or_default()),
            match &flag {
                Some(f) => Cell::Flag(Some(&f.text)),
                None => Cell::Text(&words),
            },
        ];
        table::row(out, &cells, item);
    }
    table::end(out);
    out.push_str("</section>\n");
}

fn reports(out: &mut String, reports: &[(&MergedItem, &TestResult)]) {
    out.push_str("<section aria-labelledby=\"reports\"><h3 class=\"nhsuk-heading-s\" id=\"reports\">Reports</h3>");
    table::start(
        out,
        "Reports, most recent first",
        false,
        &["Date", "Report", "Conclusion", "From"],
    );
    for (item, r) in reports {
        let cells = [
            Cell::Text(&dated(r)),
            Cell::Text(r.code.label().unwrap_or("Report")),
            Cell::Text(r.conclusion.as_deref().unwrap_or_default()),
        ];
        table::row(out, &cells, item);
    }
    table::end(out);
    out.push_str("</section>\n");
}

/// The tab.
pub(crate) fn results(out: &mut String, view: &RecordView<'_>) {
    let heading = ("results", "Results");
    section_tab(out, view, heading, Section::Results, |out, items| {
        let (tests, reps) = groups(items);
        for (n, g) in tests.iter().enumerate() {
            group(out, n, g);
        }
        if !reps.is_empty() {
            reports(out, &reps);
        }
    });
}
