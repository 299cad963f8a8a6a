//! The design system's form and message patterns, written once for every
//! page that has a form or a problem to tell: the error summary (its links
//! move focus to the field), a field's error message, the CSRF input every
//! POST form carries, the warning callout.

use std::fmt::Write as _;

use crate::Chrome;
use crate::html::Esc;

/// The error summary at the top of a page: "There is a problem" and, for
/// each problem, a link to its field (`#id`) saying what is wrong. The
/// design system's script focuses it when the page loads.
pub(crate) fn error_summary(out: &mut String, problems: &[(&str, &str)]) {
    out.push_str(concat!(
        "<div class=\"nhsuk-error-summary\" data-module=\"nhsuk-error-summary\">",
        "<div role=\"alert\">",
        "<h2 class=\"nhsuk-error-summary__title\">There is a problem</h2>",
        "<div class=\"nhsuk-error-summary__body\">",
        "<ul class=\"nhsuk-list nhsuk-error-summary__list\">",
    ));
    for (field, message) in problems {
        let _ = write!(
            out,
            "<li><a href=\"#{}\">{}</a></li>",
            Esc(field),
            Esc(message)
        );
    }
    out.push_str("</ul></div></div></div>\n");
}

/// A field's error message, `id="{field}-error"` (the field names it in
/// its `aria-describedby`).
pub(crate) fn error_message(out: &mut String, field: &str, message: &str) {
    let _ = write!(
        out,
        concat!(
            "<span class=\"nhsuk-error-message\" id=\"{}-error\">",
            "<span class=\"nhsuk-u-visually-hidden\">Error:</span> {}</span>",
        ),
        Esc(field),
        Esc(message),
    );
}

/// The hidden `csrf` input of a POST form: the signed-in session's token.
/// Signed out there is none, and the gateway refuses the form.
pub(crate) fn csrf_input(out: &mut String, chrome: &Chrome<'_>) {
    if let Some(user) = &chrome.user {
        let _ = write!(
            out,
            "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
            Esc(user.csrf)
        );
    }
}

/// A warning callout: `label` (text) as its heading at `level`, then `body`
/// (HTML, already escaped).
pub(crate) fn warning_callout(out: &mut String, level: u8, label: &str, body: &str) {
    let _ = write!(
        out,
        concat!(
            "<div class=\"nhsuk-warning-callout\">",
            "<h{level} class=\"nhsuk-warning-callout__label\"><span role=\"text\">",
            "<span class=\"nhsuk-u-visually-hidden\">Important: </span>{label}</span></h{level}>",
            "{body}</div>\n",
        ),
        level = level,
        label = Esc(label),
        body = body,
    );
}

/// A page's `<title>` text: "Error: " before it when the page shows a
/// problem with what was typed, as the design system asks.
pub(crate) fn title(text: &str, problem: bool) -> String {
    if problem {
        format!("Error: {text}")
    } else {
        text.to_owned()
    }
}
