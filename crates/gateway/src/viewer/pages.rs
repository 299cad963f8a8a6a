//! The pages that are not a record, as the gateway answers them: the
//! status of each, and the page from `icr_viewer`.

use http::{Request, StatusCode};
use icr_viewer::{Chrome, escape, page};

use super::{Viewer, html, session};
use crate::respond::Resp;

/// The sign-in page (signed out), with a problem when there is one.
pub(super) fn sign_in(problem: Option<&str>) -> String {
    let mut main = String::from("<h1>Sign in</h1>");
    if let Some(p) = problem {
        main.push_str(&format!(
            "<div class=\"nhsuk-error-summary\" aria-labelledby=\"problem-title\" role=\"alert\" tabindex=\"-1\"><h2 class=\"nhsuk-error-summary__title\" id=\"problem-title\">There is a problem</h2><div class=\"nhsuk-error-summary__body\"><p>{}</p></div></div>",
            escape(p)
        ));
    }
    main.push_str("<p>Sign in with your organisation's account to see a person's Integrated Care Record.</p><a class=\"nhsuk-button\" id=\"sign-in\" href=\"/sign-in\" draggable=\"false\">Sign in</a>");
    page("Sign in", &Chrome::default(), &main)
}

/// A sign-in that failed, saying why (never a token).
pub(super) fn sign_in_failed(why: &str) -> Resp {
    html(
        StatusCode::UNAUTHORIZED,
        sign_in(Some(&format!("Sign-in failed: {why}"))),
    )
}

/// A page that moves on to `next` (a path here) at once: the first
/// navigation after sign-in is then same-site, carrying the new cookie.
pub(super) fn moving_on(next: &str) -> String {
    let next = escape(next);
    let body = page(
        "Signed in",
        &Chrome::default(),
        &format!("<h1>Signed in</h1><p><a href=\"{next}\">Continue</a></p>"),
    );
    body.replacen(
        "</head>",
        &format!("<meta http-equiv=\"refresh\" content=\"0;url={next}\">\n</head>"),
        1,
    )
}

/// Any other problem, in words, with its status.
pub(super) fn error(code: StatusCode, message: &str) -> Resp {
    html(
        code,
        page(
            "There is a problem",
            &Chrome::default(),
            &format!(
                "<h1>There is a problem</h1><p>{}</p><p><a href=\"/\">Go to the start</a></p>",
                escape(message)
            ),
        ),
    )
}

/// A form whose CSRF token is not the session's.
pub(super) fn expired_form() -> Resp {
    error(
        StatusCode::FORBIDDEN,
        "This form has expired. Go back, reload the page and try again.",
    )
}

/// No such page.
pub(super) fn not_found_page<B>(viewer: &Viewer, req: &Request<B>) -> Resp {
    let s = session(viewer, req);
    let chrome = chrome_of(s.as_ref().map(|(_, s)| s));
    html(
        StatusCode::NOT_FOUND,
        page(
            "Page not found",
            &chrome,
            "<h1>Page not found</h1><p><a href=\"/\">Go to the start</a></p>",
        ),
    )
}

/// The header's view of a session.
pub(super) fn chrome_of(s: Option<&icr_sign_in::Session>) -> Chrome<'_> {
    Chrome {
        user: s.map(|s| icr_viewer::SignedIn {
            name: &s.user.name,
            role: role_words(&s.user.role),
            organisation: &s.user.org,
            csrf: &s.csrf,
        }),
    }
}

/// A role code in words, for the header.
fn role_words(role: &str) -> &str {
    match role {
        "patient" => "Patient",
        "R8000" => "Clinical Practitioner",
        "R8001" => "Nurse",
        "R8014" => "Social Worker",
        "R8009" => "Receptionist",
        "R0001" => "Privacy Officer",
        other => other,
    }
}

/// The signed-out page.
pub(super) fn signed_out() -> String {
    page(
        "Signed out",
        &Chrome::default(),
        "<h1>You have signed out</h1><p><a class=\"nhsuk-button\" id=\"sign-in\" href=\"/sign-in\" draggable=\"false\">Sign in again</a></p>",
    )
}

/// The find-person page, with the number as typed and its problem.
pub(super) fn find(chrome: &Chrome<'_>, typed: &str, problem: Option<&str>) -> String {
    let mut main = String::new();
    if let Some(p) = problem {
        main.push_str(&format!(
            "<div class=\"nhsuk-error-summary\" aria-labelledby=\"error-summary-title\" role=\"alert\" tabindex=\"-1\"><h2 class=\"nhsuk-error-summary__title\" id=\"error-summary-title\">There is a problem</h2><div class=\"nhsuk-error-summary__body\"><ul class=\"nhsuk-list nhsuk-error-summary__list\"><li><a href=\"#nhs\">{}</a></li></ul></div></div>",
            escape(p)
        ));
    }
    let (group, described, message) = match problem {
        Some(p) => (
            " nhsuk-form-group--error",
            " nhs-error",
            format!(
                "<span class=\"nhsuk-error-message\" id=\"nhs-error\"><span class=\"nhsuk-u-visually-hidden\">Error:</span> {}</span>",
                escape(p)
            ),
        ),
        None => ("", "", String::new()),
    };
    main.push_str(&format!(
        "<form method=\"get\" action=\"/find\" novalidate><div class=\"nhsuk-form-group{group}\"><h1 class=\"nhsuk-label-wrapper\"><label class=\"nhsuk-label nhsuk-label--l\" for=\"nhs\">Find a person by NHS number</label></h1><div class=\"nhsuk-hint\" id=\"nhs-hint\">10 digits, for example 999 000 0050</div>{message}<input class=\"nhsuk-input nhsuk-input--width-10\" id=\"nhs\" name=\"nhs\" type=\"text\" inputmode=\"numeric\" autocomplete=\"off\" spellcheck=\"false\" aria-describedby=\"nhs-hint{described}\" value=\"{typed}\"></div><button class=\"nhsuk-button\" id=\"find\" type=\"submit\">Find</button></form>",
        typed = escape(typed),
    ));
    page("Find a person", chrome, &main)
}

/// Nobody found: never an empty record.
pub(super) fn not_found_person(chrome: &Chrome<'_>, nhs: icr_model::NhsNumber) -> String {
    page(
        "No record found",
        chrome,
        &format!(
            "<h1>No record found</h1><p>No organisation asked holds a record for NHS number {}. Check the number.</p><p><a href=\"/\">Find another person</a></p>",
            escape(&nhs.formatted())
        ),
    )
}

/// A refusal in words, with the break-glass form when it is offered.
pub(super) fn refusal(
    chrome: &Chrome<'_>,
    nhs: &str,
    code: icr_policy::RefusalCode,
    offer_break_glass: bool,
    reason: Option<&str>,
    message: &str,
) -> String {
    use icr_policy::RefusalCode as R;
    let words = match code {
        R::NoRelationship => "You have no recorded care relationship with this person.",
        R::NoPatientConsent => {
            "This person has asked that their record is not shared through the Integrated Care Record."
        }
        R::NoSections => "Your role may not see any part of this record.",
        R::RelationshipUndecided => {
            "Your organisation's system did not answer, so your care relationship cannot be checked now. Try again in a minute."
        }
        R::BreakGlassReasonInvalid => "The reason given for emergency access was not accepted.",
        R::BreakGlassNotPermitted => "Your role may not use emergency access.",
        _ => "You may not see this record.",
    };
    let mut main = format!(
        "<h1>You cannot see this record</h1><p>{}</p><p class=\"nhsuk-body-s\">{}</p>",
        escape(words),
        escape(message)
    );
    if offer_break_glass {
        let csrf = chrome.user.map_or("", |u| u.csrf);
        main.push_str(&format!(
            "<h2>Emergency access (break glass)</h2><div class=\"nhsuk-warning-callout\"><h3 class=\"nhsuk-warning-callout__label\"><span role=\"text\"><span class=\"nhsuk-u-visually-hidden\">Important: </span>Your access and your reason are recorded</span></h3><p>The privacy officer reviews every emergency access. Use it only when the person needs care now and you cannot wait for a relationship to be recorded.</p></div><form method=\"post\" action=\"/patients/{nhs}/break-glass\" novalidate><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\"><div class=\"nhsuk-form-group\"><label class=\"nhsuk-label\" for=\"reason\">Why do you need to see this record now?</label><div class=\"nhsuk-hint\" id=\"reason-hint\">For example: unconscious in the emergency department, no history available</div><textarea class=\"nhsuk-textarea\" id=\"reason\" name=\"reason\" rows=\"3\" aria-describedby=\"reason-hint\">{reason}</textarea></div><button class=\"nhsuk-button nhsuk-button--warning\" id=\"break-glass\" type=\"submit\">See the record (emergency access)</button></form>",
            nhs = escape(nhs),
            csrf = escape(csrf),
            reason = escape(reason.unwrap_or("")),
        ));
    }
    main.push_str("<p><a href=\"/\">Find another person</a></p>");
    page("You cannot see this record", chrome, &main)
}

/// Who looked at the record.
pub(super) fn who_looked(
    chrome: &Chrome<'_>,
    read: &crate::pipeline::audit_read::AuditRead,
) -> String {
    let mut main = String::from("<h1>Who has looked at this record</h1>");
    let mut rows = String::new();
    for access in &read.page.records {
        let icr_audit::Logged::Whole(r) = &access.logged else {
            rows.push_str("<tr class=\"nhsuk-table__row\"><td class=\"nhsuk-table__cell\" colspan=\"5\">An access whose outcome was not recorded</td></tr>");
            continue;
        };
        let who = r
            .user
            .as_ref()
            .map(|u| format!("{} ({})", u.org, u.role))
            .unwrap_or_default();
        rows.push_str(&format!(
            "<tr class=\"nhsuk-table__row\"><td class=\"nhsuk-table__cell\">{}</td><td class=\"nhsuk-table__cell\">{}</td><td class=\"nhsuk-table__cell\">{}</td><td class=\"nhsuk-table__cell\">{}</td><td class=\"nhsuk-table__cell\">{}</td></tr>",
            escape(&r.time.to_string()),
            escape(&who),
            escape(&r.purpose),
            escape(r.break_glass_reason.as_deref().unwrap_or("")),
            if r.decision == icr_audit::Decision::Allowed { "seen" } else { "refused" },
        ));
    }
    main.push_str(&format!(
        "<table class=\"nhsuk-table\"><caption class=\"nhsuk-table__caption\">Accesses, newest first</caption><thead class=\"nhsuk-table__head\"><tr class=\"nhsuk-table__row\"><th class=\"nhsuk-table__header\" scope=\"col\">When</th><th class=\"nhsuk-table__header\" scope=\"col\">Organisation and role</th><th class=\"nhsuk-table__header\" scope=\"col\">Purpose</th><th class=\"nhsuk-table__header\" scope=\"col\">Emergency access reason</th><th class=\"nhsuk-table__header\" scope=\"col\">Outcome</th></tr></thead><tbody class=\"nhsuk-table__body\">{rows}</tbody></table>"
    ));
    page("Who has looked at this record", chrome, &main)
}
