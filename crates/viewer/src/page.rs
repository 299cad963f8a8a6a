//! The page around every view: the nhsuk header with the service name, the
//! main content, the footer. No inline script or style: the stylesheet and
//! script are linked from `/assets/`, so the strictest Content-Security-Policy
//! (`default-src 'self'`) holds.

use std::fmt::Write as _;

use crate::html::Esc;

/// The service's name, in the header and every title.
pub const SERVICE_NAME: &str = "Integrated Care Record";

/// The static files every page links ([`crate::asset`] serves them).
pub(crate) const LINKED: [&str; 3] = [
    "/assets/nhsuk-frontend.min.css",
    "/assets/images/favicon.svg",
    "/assets/viewer/init.js",
];

const LOGO: &str = r#"<svg class="nhsuk-header__logo" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 200 80" height="40" width="100" focusable="false" role="img" aria-label="NHS"><title>NHS</title><path fill="currentcolor" d="M200 0v80H0V0h200Zm-27.5 5.5c-14.5 0-29 5-29 22 0 10.2 7.7 13.5 14.7 16.3l.7.3c5.4 2 10.1 3.9 10.1 8.4 0 6.5-8.5 7.5-14 7.5s-12.5-1.5-16-3.5L135 70c5.5 2 13.5 3.5 20 3.5 15.5 0 32-4.5 32-22.5 0-19.5-25.5-16.5-25.5-25.5 0-5.5 5.5-6.5 12.5-6.5a35 35 0 0 1 14.5 3l4-13.5c-4.5-2-12-3-20-3Zm-131 2h-22l-14 65H22l9-45h.5l13.5 45h21.5l14-65H64l-9 45h-.5l-13-45Zm63 0h-18l-13 65h17l6-28H117l-5.5 28H129l13.5-65H125L119.5 32h-20l5-24.5Z"></path></svg>"#;

/// Who is signed in, as every page's header shows them, with the token
/// the sign-out form carries against cross-site requests.
#[derive(Clone, Copy, Debug)]
pub struct SignedIn<'a> {
    /// Their name, as the identity provider gave it.
    pub name: &'a str,
    /// Their role, in words (e.g. "Clinician", "Patient").
    pub role: &'a str,
    /// Their organisation's name (or ODS code when it has no name here).
    pub organisation: &'a str,
    /// The session's CSRF token, put in every form the page holds.
    pub csrf: &'a str,
    /// A patient's own NHS number: their header links to who has looked
    /// at their record.
    pub own_record: Option<icr_model::NhsNumber>,
}

/// What surrounds a page's content: the signed-in user, if any.
#[derive(Clone, Copy, Debug, Default)]
pub struct Chrome<'a> {
    /// The signed-in user; `None` on the sign-in and signed-out pages.
    pub user: Option<SignedIn<'a>>,
}

/// A patient's links to their own record and who has looked at it.
struct OwnLinks(Option<icr_model::NhsNumber>);

impl std::fmt::Display for OwnLinks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(n) => write!(
                f,
                concat!(
                    "<span class=\"nhsuk-header__account-item\"><a class=\"nhsuk-header__account-link\" href=\"/patients/{n}\">My record</a></span>",
                    "<span class=\"nhsuk-header__account-item\"><a class=\"nhsuk-header__account-link\" href=\"/patients/{n}/who-looked\">Who has looked at my record</a></span>",
                ),
                n = n.as_str()
            ),
            None => Ok(()),
        }
    }
}

/// A whole page: `title` (text) in the `<title>` before the service name,
/// the header naming who is signed in (with a sign-out button), `main`
/// (HTML, already escaped) inside `<main>`.
pub fn page(title: &str, chrome: &Chrome<'_>, main: &str) -> String {
    let mut out = String::with_capacity(main.len() + 3 * 1024);
    let _ = write!(
        out,
        concat!(
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n",
            "<meta charset=\"utf-8\">\n",
            "<title>{title} – {service}</title>\n",
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1, viewport-fit=cover\">\n",
            "<meta name=\"theme-color\" content=\"#005eb8\">\n",
            "<link rel=\"icon\" href=\"{icon}\" sizes=\"any\" type=\"image/svg+xml\">\n",
            "<link rel=\"stylesheet\" href=\"{css}\">\n",
            "<script type=\"module\" src=\"{js}\"></script>\n",
            "</head>\n<body>\n",
            "<a class=\"nhsuk-skip-link\" href=\"#maincontent\">Skip to main content</a>\n",
            "<header class=\"nhsuk-header\" role=\"banner\">",
            "<div class=\"nhsuk-header__container nhsuk-width-container\">",
            "<div class=\"nhsuk-header__service\">",
            "<a class=\"nhsuk-header__service-logo\" href=\"/\" aria-label=\"{service} homepage\">{logo}</a>",
            "<span class=\"nhsuk-header__service-name\">{service}</span>",
            "</div>",
        ),
        title = Esc(title),
        service = SERVICE_NAME,
        icon = LINKED[1],
        css = LINKED[0],
        js = LINKED[2],
        logo = LOGO,
    );
    if let Some(user) = &chrome.user {
        let _ = write!(
            out,
            concat!(
                "<div class=\"nhsuk-header__account icr-account\">",
                "<span class=\"nhsuk-header__account-item\">{name} ({role}, {org})</span>",
                "{own}",
                "<form class=\"nhsuk-header__account-item\" method=\"post\" action=\"/sign-out\">",
                "<input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">",
                "<button class=\"nhsuk-header__account-button\" type=\"submit\">Sign out</button>",
                "</form></div>",
            ),
            name = Esc(user.name),
            role = Esc(user.role),
            org = Esc(user.organisation),
            csrf = Esc(user.csrf),
            own = OwnLinks(user.own_record),
        );
    }
    out.push_str(concat!(
        "</div></header>\n",
        "<div class=\"nhsuk-width-container\">\n",
        "<main class=\"nhsuk-main-wrapper\" id=\"maincontent\">\n",
    ));
    out.push_str(main);
    out.push_str(concat!(
        "</main>\n</div>\n",
        "<footer class=\"nhsuk-footer\" role=\"contentinfo\">",
        "<div class=\"nhsuk-width-container\"><div class=\"nhsuk-footer__meta\">",
        "<p class=\"nhsuk-body-s\">Every view of a record is recorded. ",
        "Synthetic data only in the demonstration.</p>",
        "</div></div></footer>\n</body>\n</html>\n",
    ));
    out
}
