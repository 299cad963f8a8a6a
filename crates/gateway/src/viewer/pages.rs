//! The pages that are not a record, as the gateway answers them: the
//! status of each, and the page from `icr_viewer`.

use http::{Request, StatusCode};
use icr_viewer::{Chrome, escape, page};

use super::{Viewer, html, session};
use crate::respond::Resp;

/// The sign-in page (signed out), with a problem when there is one.
pub(super) fn sign_in(problem: Option<&str>, demo: bool) -> String {
    icr_viewer::sign_in_page(&icr_viewer::SignInView { problem, demo })
}

/// A sign-in that failed, saying why (never a token).
pub(super) fn sign_in_failed(why: &str) -> Resp {
    html(
        StatusCode::UNAUTHORIZED,
        sign_in(Some(&format!("Sign-in failed: {why}")), false),
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
        icr_viewer::error_page(&Chrome::default(), code.as_u16(), message),
    )
}

/// A form whose CSRF token is not the session's.
pub(super) fn expired_form() -> Resp {
    error(
        StatusCode::FORBIDDEN,
        "This form has expired. Go back, reload the page and try again.",
    )
}

/// No such page, for whoever the request's session names.
pub(super) fn not_found_page<B>(viewer: &Viewer, req: &Request<B>) -> Resp {
    let s = session(viewer, req);
    not_found(&chrome_of(s.as_ref().map(|(_, s)| s)))
}

/// No such page.
pub(super) fn not_found(chrome: &Chrome<'_>) -> Resp {
    html(
        StatusCode::NOT_FOUND,
        page(
            "Page not found",
            chrome,
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
            own_record: s.user.nhs_number.filter(|_| s.user.role == "patient"),
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

/// Who looked at the record, as the audit read found it: organisations
/// named as the sources registered here name them.
pub(super) fn who_looked(
    chrome: &Chrome<'_>,
    own: bool,
    read: &crate::pipeline::audit_read::AuditRead,
    names: impl Fn(&icr_model::OdsCode) -> Option<String>,
    older: Option<&str>,
) -> String {
    let named: Vec<(Option<String>, &icr_audit::AuditRecord)> = read
        .page
        .records
        .iter()
        .filter_map(|a| match &a.logged {
            icr_audit::Logged::Whole(r) => Some((r.user.as_ref().and_then(|u| names(&u.org)), r)),
            icr_audit::Logged::OutcomeNotRecorded(_) => None,
        })
        .collect();
    let entries: Vec<icr_viewer::LookedEntry<'_>> = named
        .iter()
        .filter_map(|(name, r)| {
            let user = r.user.as_ref()?;
            Some(icr_viewer::LookedEntry {
                when: r.time.as_offset(),
                organisation: name.as_deref().unwrap_or(user.org.as_str()),
                ods_code: &user.org,
                role: role_words(&user.role),
                person: Some(&user.name),
                purpose: purpose_words(&r.purpose),
                interaction: interaction_words(r.interaction),
                break_glass_reason: r.break_glass_reason.as_deref(),
                outcome: if r.decision == icr_audit::Decision::Allowed {
                    icr_viewer::Outcome::Shown
                } else {
                    icr_viewer::Outcome::Refused
                },
            })
        })
        .collect();
    let unrecorded = read.page.records.len() - named.len();
    let mut notes: Vec<String> = read.page.incomplete.iter().map(|i| i.to_string()).collect();
    if let Some(p) = &read.page.problem {
        notes.push(p.to_string());
    }
    if unrecorded > 0 {
        notes.push(format!(
            "{unrecorded} access(es) began but their outcome was not recorded; they may have been shown the record"
        ));
    }
    let notes: Vec<&str> = notes.iter().map(String::as_str).collect();
    icr_viewer::who_looked_page(
        chrome,
        &icr_viewer::WhoLookedView {
            nhs_number: read.nhs_number,
            own,
            entries: &entries,
            notes: &notes,
            older,
        },
    )
}

/// A purpose of use in words (the token's code otherwise).
fn purpose_words(purpose: &str) -> &str {
    match purpose {
        "directcare" => "Direct care",
        other => other,
    }
}

fn interaction_words(i: icr_audit::Interaction) -> &'static str {
    match i {
        icr_audit::Interaction::Record => "Record (API)",
        icr_audit::Interaction::FhirEverything => "Record (FHIR API)",
        icr_audit::Interaction::Viewer => "Record (viewer)",
        icr_audit::Interaction::AuditRead => "Who looked",
        icr_audit::Interaction::BreakGlassReview => "Emergency access review",
        icr_audit::Interaction::Extract => "Population-health extract (pseudonymised)",
    }
}
