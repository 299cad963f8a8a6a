//! End to end in a real browser: the viewer's pages in headless Chromium,
//! driven through chromedriver (WebDriver). Every main page is checked with
//! axe-core (no serious or critical WCAG 2.2 AA violation), walked with the
//! keyboard only (every control reached, focus visible), photographed and
//! measured (`target/screenshots/`, with `figures.json`).
//!
//! The tools come from the distribution (Chromium, chromedriver) and from
//! `bash tools/browser/install.sh` (axe-core, pinned); without them the
//! test says loudly that it was skipped, except under `CI=true`, where it
//! fails.

#[path = "browser/harness.rs"]
mod harness;

use harness::{Browser, Tools};
use icr_testkit::serve::Canned;

/// A page that fails every check: a field without a label, a link that
/// hides its focus, a button the Tab key never reaches.
const INACCESSIBLE: &str = concat!(
    "<!DOCTYPE html><html lang=\"en\"><head><title>Inaccessible</title></head><body><main>",
    "<h1>Inaccessible</h1><input type=\"text\" name=\"q\">",
    "<a id=\"hidden-focus\" href=\"/x\" style=\"outline:none!important;box-shadow:none!important\">No focus</a>",
    "<button id=\"unreachable\" tabindex=\"-1\">Out of reach</button>",
    "</main></body></html>",
);

/// The harness on a page the viewer renders, served here (a form, a link,
/// the header's sign-out button): it passes; and on a page that fails
/// each check: each failure is caught.
#[tokio::test]
async fn the_harness_passes_a_viewer_page_and_catches_an_inaccessible_one() {
    let Some(tools) = Tools::find() else {
        return;
    };
    let server = icr_testkit::serve::http(|asked| match icr_viewer::asset(&asked.path) {
        Some(a) => Canned::new(200, a.content_type, a.bytes),
        None if asked.path == "/inaccessible" => {
            Canned::new(200, "text/html; charset=utf-8", INACCESSIBLE)
        }
        None => {
            let chrome = icr_viewer::Chrome {
                user: Some(icr_viewer::SignedIn {
                    name: "Dr Demo Clinician",
                    role: "Clinician",
                    organisation: "Great Western Hospitals",
                    csrf: "token",
                }),
            };
            let main = concat!(
                "<h1 class=\"nhsuk-heading-l\">Find a person</h1>",
                "<form method=\"get\" action=\"/find\"><div class=\"nhsuk-form-group\">",
                "<label class=\"nhsuk-label\" for=\"nhs\">NHS number</label>",
                "<input class=\"nhsuk-input nhsuk-input--width-10\" id=\"nhs\" name=\"nhs\" type=\"text\" inputmode=\"numeric\">",
                "</div><button class=\"nhsuk-button\" type=\"submit\">Find</button></form>",
                "<p><a href=\"/help\">Help</a></p>",
            );
            Canned::new(
                200,
                "text/html; charset=utf-8",
                icr_viewer::page("Find a person", &chrome, main),
            )
        }
    })
    .await;
    let mut browser = Browser::start(tools).await;
    browser.goto(&format!("{}/", server.origin())).await;
    assert_eq!(browser.texts("main h1").await, ["Find a person"]);
    assert_eq!(browser.count("form[action='/sign-out'] button").await, 1);
    assert!(browser.text().await.contains("Dr Demo Clinician"));
    assert_eq!(browser.text_of("main label").await, "NHS number");
    browser.check_page("harness-find").await;
    browser.click("#nhs").await;
    browser.type_into("#nhs", "999 000 0050").await;
    browser.follow("button[type=submit].nhsuk-button").await;
    assert!(browser.here().await.contains("nhs=999+000+0050"));

    browser
        .goto(&format!("{}/inaccessible", server.origin()))
        .await;
    let violations = browser.axe_violations("inaccessible").await;
    assert!(
        violations.iter().any(|v| v.starts_with("label (critical)")),
        "{violations:?}"
    );
    let problems = browser.keyboard_problems("inaccessible").await;
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(
        problems[0].starts_with("Tab never reaches button#unreachable"),
        "{problems:?}"
    );
    assert!(
        problems[1].starts_with("focus not visible on a#hidden-focus"),
        "{problems:?}"
    );
    browser.write_figures();
    browser.close().await;
}
