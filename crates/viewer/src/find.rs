//! Finding a person by NHS number: the number as people type it
//! ([`typed_nhs_number`]: spaces and hyphens anywhere), and the find page
//! ([`find_page`]) with each problem in plain words — nothing typed, not
//! ten digits, a check digit that does not match, and nobody found. A
//! person not found is said in words on the find page: it never looks like
//! a record with nothing in it (no banner, no sources, no sections).

use std::fmt::Write as _;

use icr_model::{NhsNumber, NhsNumberError};

use crate::html::Esc;
use crate::{Chrome, form, page};

/// Why what was typed does not find a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FindProblem {
    /// Nothing but spaces and hyphens was typed.
    Empty,
    /// Something other than digits, spaces and hyphens.
    NotDigits,
    /// Not ten digits: how many there are.
    WrongLength(usize),
    /// The tenth digit does not match the first nine (a typing mistake),
    /// or the first nine give a check digit no number is issued with.
    CheckDigit,
    /// One digit repeated ten times: never issued.
    NeverIssued,
    /// A valid number, but nobody with it is known: the gateway's answer
    /// when the person is not found (never when sources failed to answer).
    NotFound(NhsNumber),
}

/// Most characters of what was typed put back in the field.
const MAX_ECHO: usize = 64;

/// Separators people type or paste between the groups of digits: any
/// whitespace (a pasted no-break space too) and hyphens or dashes.
fn separator(c: char) -> bool {
    c.is_whitespace() || matches!(c, '-' | '\u{2010}' | '\u{2011}' | '\u{2012}' | '\u{2013}')
}

/// The NHS number in `typed`, as people type it: digits with spaces or
/// hyphens anywhere (`943 476 5919`, `943-476-5919`, ` 9434765919 `),
/// checked by [`NhsNumber::parse`] (ten digits, the check digit, not one
/// digit repeated).
pub fn typed_nhs_number(typed: &str) -> Result<NhsNumber, FindProblem> {
    let mut digits = String::with_capacity(10);
    for c in typed.chars().filter(|c| !separator(*c)) {
        if !c.is_ascii_digit() {
            return Err(FindProblem::NotDigits);
        }
        if digits.len() > 10 {
            // Bounded: the count is all that is said of a long number.
            return Err(FindProblem::WrongLength(
                typed.chars().filter(char::is_ascii_digit).count(),
            ));
        }
        digits.push(c);
    }
    if digits.is_empty() {
        return Err(FindProblem::Empty);
    }
    NhsNumber::parse(&digits).map_err(|e| match e {
        NhsNumberError::WrongLength(n) => FindProblem::WrongLength(n),
        NhsNumberError::NotADigit(_) => FindProblem::NotDigits,
        NhsNumberError::RepeatedDigit => FindProblem::NeverIssued,
        NhsNumberError::CheckDigitTen | NhsNumberError::CheckDigitMismatch { .. } => {
            FindProblem::CheckDigit
        }
    })
}

impl FindProblem {
    /// The HTTP status the find page is answered with: 404 for nobody
    /// found, 400 for a number mistyped.
    pub fn status(&self) -> u16 {
        match self {
            FindProblem::NotFound(_) => 404,
            _ => 400,
        }
    }

    /// The problem in plain words, as the error summary and the field say.
    pub fn message(&self) -> String {
        match self {
            FindProblem::Empty => "Enter an NHS number".to_owned(),
            FindProblem::NotDigits => {
                "Enter the NHS number using only digits, spaces and hyphens".to_owned()
            }
            FindProblem::WrongLength(1) => {
                "An NHS number has 10 digits: you typed 1 digit".to_owned()
            }
            FindProblem::WrongLength(n) => {
                format!("An NHS number has 10 digits: you typed {n} digits")
            }
            FindProblem::CheckDigit => concat!(
                "This is not a valid NHS number: its last digit (the check digit) ",
                "does not match the first nine — check for a typing mistake"
            )
            .to_owned(),
            FindProblem::NeverIssued => {
                "This is not a valid NHS number: one digit repeated is never issued".to_owned()
            }
            FindProblem::NotFound(nhs) => format!(
                "No record found for {} — check the number; if it is right, \
                 none of the organisations connected to the {} knows this person",
                nhs.formatted(),
                crate::SERVICE_NAME,
            ),
        }
    }
}

/// What the find page shows: what was typed (put back in the field) and
/// the problem with it, if any.
#[derive(Clone, Copy, Debug, Default)]
pub struct FindView<'a> {
    /// What was typed, as it was typed (empty on the first visit).
    pub typed: &'a str,
    /// Why it found no record; `None` on the first visit.
    pub problem: Option<FindProblem>,
}

/// The find-a-person page: a GET form to `/find` with one field, `nhs`.
/// With a problem: the error summary linking to the field, the message
/// beside it, and what was typed put back (for [`FindProblem::NotFound`],
/// the number as it is written, `999 000 0050`). The gateway answers 400
/// for a typing problem and 404 for nobody found.
pub fn find_page(chrome: &Chrome<'_>, view: &FindView<'_>) -> String {
    let mut main = String::with_capacity(2048);
    let message = view.problem.map(|p| p.message());
    if let Some(message) = &message {
        form::error_summary(&mut main, &[("nhs", message)]);
    }
    let typed = match view.problem {
        Some(FindProblem::NotFound(nhs)) => nhs.formatted(),
        _ => view.typed.chars().take(MAX_ECHO).collect(),
    };
    let _ = write!(
        main,
        concat!(
            "<form method=\"get\" action=\"/find\" novalidate>",
            "<div class=\"nhsuk-form-group{group}\">",
            "<h1 class=\"nhsuk-label-wrapper\">",
            "<label class=\"nhsuk-label nhsuk-label--l\" for=\"nhs\">Find a person by NHS number</label>",
            "</h1>",
            "<div class=\"nhsuk-hint\" id=\"nhs-hint\">10 digits, for example 999 000 0050</div>",
        ),
        group = if message.is_some() {
            " nhsuk-form-group--error"
        } else {
            ""
        },
    );
    if let Some(message) = &message {
        form::error_message(&mut main, "nhs", message);
    }
    let _ = write!(
        main,
        concat!(
            "<input class=\"nhsuk-input nhsuk-input--width-10{error}\" id=\"nhs\" name=\"nhs\" ",
            "type=\"text\" inputmode=\"numeric\" autocomplete=\"off\" spellcheck=\"false\" ",
            "value=\"{typed}\" aria-describedby=\"nhs-hint{described}\">",
            // Filled as the number is typed, by /assets/viewer/init.js.
            "<p class=\"nhsuk-body-s\" id=\"nhs-check\" aria-live=\"polite\"></p>",
            "</div>",
            "<button class=\"nhsuk-button\" type=\"submit\" data-module=\"nhsuk-button\">Find</button>",
            "</form>\n",
        ),
        error = if message.is_some() {
            " nhsuk-input--error"
        } else {
            ""
        },
        typed = Esc(&typed),
        described = if message.is_some() { " nhs-error" } else { "" },
    );
    page(
        &form::title("Find a person", message.is_some()),
        chrome,
        &main,
    )
}
