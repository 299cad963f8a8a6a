//! The refusal page: why the record is not shown, in plain words for every
//! [`RefusalCode`], and — only where the policy's refusal is the absence
//! of a care relationship and the caller may break glass — the break-glass
//! form, saying that the access and its reason are recorded and reviewed.
//! A person's objection never offers break-glass, whatever the caller
//! passes.

use std::fmt::Write as _;

use icr_model::NhsNumber;
use icr_policy::{BreakGlassRules, ReasonProblem, RefusalCode};

use crate::html::Esc;
use crate::{Chrome, form, page};

/// The break-glass form, offered to a caller whose role may break glass.
#[derive(Clone, Copy, Debug)]
pub struct BreakGlassForm<'a> {
    /// The reason as typed, put back in the field after a problem (empty
    /// the first time).
    pub typed: &'a str,
    /// Why the policy did not accept the reason typed.
    pub problem: Option<&'a ReasonProblem>,
    /// The policy's rules for a reason (the hint states their lengths).
    pub rules: &'a BreakGlassRules,
}

/// What the refusal page shows.
#[derive(Clone, Copy, Debug)]
pub struct RefusalView<'a> {
    /// The person asked about.
    pub nhs_number: NhsNumber,
    /// Why the policy refused.
    pub code: RefusalCode,
    /// The break-glass form, when the caller may break glass. Shown only
    /// for [`RefusalCode::NoRelationship`] and
    /// [`RefusalCode::BreakGlassReasonInvalid`].
    pub break_glass: Option<BreakGlassForm<'a>>,
}

/// Most characters of a typed reason put back in the field.
const MAX_ECHO: usize = 2000;

/// The page's heading and what it means, for each refusal (text).
pub(crate) fn refusal_words(code: RefusalCode) -> (&'static str, &'static str) {
    match code {
        RefusalCode::NoRelationship | RefusalCode::BreakGlassReasonInvalid => (
            "You are not recorded as caring for this person",
            "Your organisation is not recorded as involved in this person's care, so their record is not shown.",
        ),
        RefusalCode::NoPatientConsent => (
            "This person has asked that their record is not shared",
            "They have objected to their record being shared through the Integrated Care Record, so it is not shown here, and break-glass access cannot override that. Contact the organisations caring for them directly, such as their GP practice.",
        ),
        RefusalCode::NoSections => (
            "Your role cannot see this record",
            "None of the parts of the record asked for is one your role may see. A colleague whose role may see it can look, or ask your information governance lead.",
        ),
        RefusalCode::RelationshipUndecided => (
            "We cannot check your care relationship at the moment",
            "Your organisation's system did not answer when we checked whether you are involved in this person's care. This is not a refusal: try again in a few minutes.",
        ),
        RefusalCode::BreakGlassNotPermitted => (
            "Your role cannot use break-glass access",
            "Break-glass access is not available to your role, so this record can only be shown with a recorded care relationship.",
        ),
        RefusalCode::NotOwnRecord => (
            "You can only see your own record",
            "You are signed in as a patient, and this is not your record.",
        ),
        RefusalCode::PurposeNotPermitted => (
            "This record is shared for direct care only",
            "The Integrated Care Record is shared only to care for the person directly, and the purpose of your sign-in is not direct care.",
        ),
        RefusalCode::UnknownRole => (
            "Your role is not recognised",
            "Your sign-in did not give a role this service knows, so no record can be shown. Ask your organisation's registration authority to check your role.",
        ),
    }
}

/// Whether a refusal may offer break-glass: only the absence of a care
/// relationship (and a reason that was not accepted).
fn offers_break_glass(code: RefusalCode) -> bool {
    matches!(
        code,
        RefusalCode::NoRelationship | RefusalCode::BreakGlassReasonInvalid
    )
}

/// A reason's problem, in plain words (never repeating the reason).
pub(crate) fn reason_problem_words(problem: &ReasonProblem) -> String {
    match problem {
        ReasonProblem::ControlCharacters => {
            "The reason contains characters that cannot be recorded: type it again as plain text"
                .to_owned()
        }
        ReasonProblem::TooShort { min } => {
            format!("Enter a reason of at least {min} characters: say why you need this record now")
        }
        ReasonProblem::TooLong { max } => format!("Enter a reason of at most {max} characters"),
        ReasonProblem::Repetitive { .. } => {
            "Enter the clinical reason in words: what was typed has too few different letters"
                .to_owned()
        }
        ReasonProblem::TooFewWords { min } => {
            format!("Enter the clinical reason in at least {min} different words")
        }
    }
}

/// The refusal page (the gateway answers 403, or 503 for
/// [`RefusalCode::RelationshipUndecided`]): the refusal in words, the
/// NHS number asked about, and the break-glass form where it applies.
pub fn refusal_page(chrome: &Chrome<'_>, view: &RefusalView<'_>) -> String {
    let (heading, meaning) = refusal_words(view.code);
    let form = view.break_glass.filter(|_| offers_break_glass(view.code));
    let problem = form.and_then(|f| f.problem).map(reason_problem_words);
    let mut main = String::with_capacity(4096);
    if let Some(problem) = &problem {
        form::error_summary(&mut main, &[("reason", problem)]);
    }
    let _ = write!(
        main,
        concat!(
            "<h1>{heading}</h1>\n",
            "<p>NHS number <strong>{nhs}</strong></p>\n",
            "<p>{meaning}</p>\n",
        ),
        heading = heading,
        nhs = view.nhs_number.formatted(),
        meaning = meaning,
    );
    if view.code == RefusalCode::BreakGlassReasonInvalid && problem.is_none() {
        main.push_str("<p>The reason given for break-glass access was not accepted.</p>\n");
    }
    if view.code == RefusalCode::RelationshipUndecided {
        let _ = writeln!(
            main,
            "<p><a href=\"/patients/{}\">Try again</a></p>",
            view.nhs_number
        );
    }
    match form {
        Some(f) => break_glass_form(&mut main, chrome, view.nhs_number, &f, problem.as_deref()),
        None if offers_break_glass(view.code) => main.push_str(
            "<p>Your role cannot use break-glass access. \
             Ask someone involved in the person's care, or your information governance lead.</p>\n",
        ),
        None => {}
    }
    main.push_str("<p><a href=\"/\">Back to the start</a></p>\n");
    page(&form::title(heading, problem.is_some()), chrome, &main)
}

fn break_glass_form(
    out: &mut String,
    chrome: &Chrome<'_>,
    nhs: NhsNumber,
    form: &BreakGlassForm<'_>,
    problem: Option<&str>,
) {
    out.push_str("<h2>See the record in an emergency (break-glass)</h2>\n");
    form::warning_callout(
        out,
        3,
        "Your access and your reason are recorded",
        concat!(
            "<p>If you need this record to care for the person now, you can break the glass. ",
            "Your name, role and organisation, the time and your reason are recorded, ",
            "and the privacy officer reviews every break-glass access.</p>",
        ),
    );
    let _ = write!(
        out,
        "<form method=\"post\" action=\"/patients/{nhs}/break-glass\" novalidate>"
    );
    form::csrf_input(out, chrome);
    let _ = write!(
        out,
        concat!(
            "<div class=\"nhsuk-form-group{group}\">",
            "<label class=\"nhsuk-label nhsuk-label--s\" for=\"reason\">Why do you need this record now?</label>",
            "<div class=\"nhsuk-hint\" id=\"reason-hint\">The clinical reason, in your own words: ",
            "at least {min} and at most {max} characters. For example, ",
            "“Unconscious in the emergency department, no medication history available”.</div>",
        ),
        group = if problem.is_some() {
            " nhsuk-form-group--error"
        } else {
            ""
        },
        min = form.rules.min_chars,
        max = form.rules.max_chars,
    );
    if let Some(problem) = problem {
        form::error_message(out, "reason", problem);
    }
    let typed: String = form.typed.chars().take(MAX_ECHO).collect();
    let _ = write!(
        out,
        concat!(
            "<textarea class=\"nhsuk-textarea{error}\" id=\"reason\" name=\"reason\" rows=\"4\" ",
            "aria-describedby=\"reason-hint{described}\">\n{typed}</textarea>",
            "</div>",
            "<button class=\"nhsuk-button nhsuk-button--warning\" type=\"submit\" ",
            "data-module=\"nhsuk-button\">Break the glass and see the record</button>",
            "</form>\n",
        ),
        error = if problem.is_some() {
            " nhsuk-textarea--error"
        } else {
            ""
        },
        described = if problem.is_some() {
            " reason-error"
        } else {
            ""
        },
        typed = Esc(&typed),
    );
}
