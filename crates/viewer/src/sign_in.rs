//! The pages around a session: signing in (a button to `/sign-in`, which
//! goes to the OpenID Connect provider), signed out, and the error page for
//! anything else that went wrong (e.g. a form whose CSRF token expired).

use std::fmt::Write as _;

use crate::html::Esc;
use crate::{Chrome, form, page};

/// What the sign-in page shows.
#[derive(Clone, Copy, Debug, Default)]
pub struct SignInView<'a> {
    /// Why the visitor is here again, e.g. "Your session has ended, sign
    /// in again" or "Sign-in failed: the identity provider did not answer".
    /// The gateway's own words: never text from the request (a provider's
    /// `error_description` in the callback's query is anyone's link, and
    /// would put their words on this page).
    pub problem: Option<&'a str>,
    /// The demonstration: the next page is the demo identity provider.
    pub demo: bool,
}

/// The sign-in page: a "Sign in" button link (`id="sign-in"`) to
/// `/sign-in`, and the problem, if any, in an error summary.
pub fn sign_in_page(view: &SignInView<'_>) -> String {
    let mut main = String::with_capacity(1024);
    if let Some(problem) = view.problem {
        problem_summary(&mut main, problem);
    }
    let _ = write!(
        main,
        concat!(
            "<h1>Sign in to the {service}</h1>\n",
            "<p>The {service} shows a person's records from the organisations that care for them, ",
            "fetched as you look. Sign in with your organisation's account.</p>\n",
            "<p>Every view of a record is recorded, with who looked and why.</p>\n",
        ),
        service = crate::SERVICE_NAME,
    );
    if view.demo {
        main.push_str(
            "<p>This is a demonstration with made-up people only: \
             the next page lets you choose whom to sign in as.</p>\n",
        );
    }
    main.push_str("<a class=\"nhsuk-button\" id=\"sign-in\" href=\"/sign-in\">Sign in</a>\n");
    page(
        &form::title("Sign in", view.problem.is_some()),
        &Chrome::default(),
        &main,
    )
}

/// The page after signing out.
pub fn signed_out_page() -> String {
    let main = concat!(
        "<h1>You have signed out</h1>\n",
        "<p>If you are using a shared computer, close the browser as well.</p>\n",
        "<a class=\"nhsuk-button\" id=\"sign-in\" href=\"/sign-in\">Sign in again</a>\n",
    );
    page("Signed out", &Chrome::default(), main)
}

/// A problem that is not about a field: the error summary with a sentence.
fn problem_summary(out: &mut String, problem: &str) {
    let _ = write!(
        out,
        concat!(
            "<div class=\"nhsuk-error-summary\" data-module=\"nhsuk-error-summary\">",
            "<div role=\"alert\">",
            "<h2 class=\"nhsuk-error-summary__title\">There is a problem</h2>",
            "<div class=\"nhsuk-error-summary__body\"><p>{}</p></div>",
            "</div></div>\n",
        ),
        Esc(problem),
    );
}

/// The heading for an HTTP status the error page answers with.
fn error_heading(status: u16) -> &'static str {
    match status {
        403 => "You cannot see this page",
        404 => "Page not found",
        429 => "Too many requests: wait a moment and try again",
        502..=504 => "Sorry, the service is unavailable",
        400..=499 => "There is a problem with the request",
        _ => "Sorry, there is a problem with the service",
    }
}

/// The page for any other failure, answered with `status`: a heading for
/// the status and `message` (text, e.g. "This form has expired. Go back and
/// try again."; the gateway's own words, never the request's).
pub fn error_page(chrome: &Chrome<'_>, status: u16, message: &str) -> String {
    let heading = error_heading(status);
    let mut main = String::with_capacity(512 + message.len());
    let _ = write!(
        main,
        concat!(
            "<h1>{heading}</h1>\n",
            "<p>{message}</p>\n",
            "<p><a href=\"/\">Back to the start</a></p>\n",
        ),
        heading = heading,
        message = Esc(message),
    );
    page(heading, chrome, &main)
}
