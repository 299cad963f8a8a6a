//! End to end in a real browser: the viewer `icr demo` serves, in headless
//! Chromium driven through chromedriver (WebDriver). A newcomer's path —
//! sign in through the demo identity provider as the demo's clinician,
//! find each story patient by NHS number typed with spaces, read the
//! banner, every source's status line (checked against what the JSON API
//! reports), the summary, the timeline (filtered by organisation), the
//! problems with an item's provenance opened, a trend chart, documents and
//! every holder of an item; break glass for a person they have no
//! relationship with; see a stopped source shown as not answered; an
//! invalid number refused; sign out; be launched from the demo EPR onto a
//! patient — and the demo patient's own record and who looked at it. The
//! same viewer with the browser's scripts off still signs in, finds, shows
//! and filters (server-rendered HTML, enhanced by script, never needing it).
//!
//! Every main page is checked with axe-core (no serious or critical WCAG
//! 2.2 AA violation), walked with the keyboard only (every control
//! reached, focus visible), photographed and measured
//! (`target/screenshots/{page}.png` and `figures.json`).
//!
//! The tools come from the distribution (Chromium, chromedriver) and from
//! `bash tools/browser/install.sh` (axe-core, pinned); without them the
//! test says loudly that it was skipped, except under `CI=true`, where it
//! fails.

mod common;
#[path = "browser/harness.rs"]
mod harness;

use common::{Demo, mint, start_demo};
use harness::{Browser, Tools};
use icr_model::SourceStatus;
use icr_testkit::serve::Canned;
use serde_json::Value;

/// The story patients (config/demo/README.md): NHS number, the banner's
/// name, and whether the demo's clinician (Great Western Hospitals, RN3)
/// has a relationship with them.
const STORIES: [(&str, &str, bool); 7] = [
    ("9990000018", "ELLERY, Margaret Rose", true),
    ("9990000026", "ASHWORTH, Jordan", true),
    ("9990000034", "RAHMAN, Priya", true),
    ("9990000042", "OKAFOR, Sophie Grace", false),
    ("9990000050", "PENNINGTON, Robert James", true),
    ("9990000069", "STAINTON, Hannah", false),
    ("9990000077", "CARTHEW, Isla Maeve", false),
];

/// Robert Pennington: every section, from ten organisations.
const ROBERT: &str = "9990000050";

/// A break-glass reason.
const GLASS: &str = "Brought in unconscious; her own hospital's records are needed now";

/// `9990000050` as people type it: `999 000 0050`.
fn spaced(nhs: &str) -> String {
    format!("{} {} {}", &nhs[..3], &nhs[3..6], &nhs[6..])
}

/// The record as the JSON API gives it to the demo's clinician: what the
/// pages must agree with.
async fn record_json(demo: &Demo, nhs: &str) -> Value {
    let token = mint("R8000", "RN3");
    let r = reqwest::Client::new()
        .get(format!("{}/v1/patients/{nhs}/record", demo.gateway))
        .bearer_auth(token)
        .send()
        .await
        .expect("the gateway answers");
    assert_eq!(r.status().as_u16(), 200, "{nhs} as JSON");
    serde_json::from_slice(&r.bytes().await.expect("a body")).expect("a JSON record")
}

/// On a refusal page, breaks glass with [`GLASS`] as the reason.
async fn break_glass(b: &Browser) {
    b.type_into("[name=reason]", GLASS).await;
    b.follow("form[action$='/break-glass'] button[type=submit]")
        .await;
}

/// Tells the simulator's control API to `what` (e.g. `awp/stop`).
async fn simulator(control: &str, what: &str) {
    let r = reqwest::Client::new()
        .post(format!("{control}/sources/{what}"))
        .send()
        .await
        .expect("the control API answers");
    assert!(r.status().is_success(), "{what}: {}", r.status());
}

/// Signs in through the demo identity provider as `user`, from the home
/// page.
async fn sign_in(b: &mut Browser, gw: &str, user: &str, check: bool) {
    b.goto(&format!("{gw}/")).await;
    b.follow("#sign-in").await;
    pick(b, user, check).await;
}

/// At the demo identity provider's page, signs in as `user` (its radio's
/// id is `user-{user}`) and waits for the page after the callback.
async fn pick(b: &mut Browser, user: &str, check: bool) {
    assert!(
        b.here().await.contains("/demo-idp/authorize"),
        "not at the identity provider: {}",
        b.here().await
    );
    if check {
        b.check_page("demo-identity-provider").await;
    }
    b.click(&format!("#user-{user}")).await;
    b.follow("#idp-continue").await;
    // The callback's page moves on by itself.
    b.left("/callback").await;
}

/// Types `nhs` (with spaces) into the find form and sends it.
async fn find(b: &Browser, gw: &str, nhs: &str) {
    b.goto(&format!("{gw}/")).await;
    b.type_into("input[name=nhs]", nhs).await;
    b.follow("main form[action='/find'] button[type=submit]")
        .await;
}

/// The lines of the sources panel.
async fn source_lines(b: &Browser) -> Vec<String> {
    b.texts("section[aria-labelledby=sources-heading] > ul > li")
        .await
}

/// Every source the gateway reports has its status sentence in the
/// panel, one line each.
fn assert_sources_shown(lines: &[String], json: &Value, what: &str) {
    let sources = json["sources"].as_array().expect("sources");
    assert_eq!(lines.len(), sources.len(), "{what}: {lines:#?}");
    for s in sources {
        let organisation = s["organisation"].as_str().unwrap_or("");
        let status: SourceStatus = serde_json::from_value(s["status"].clone()).expect("a status");
        let sentence = icr_viewer::status_sentence(organisation, status);
        assert!(
            lines.iter().any(|l| l.contains(&sentence)),
            "{what}: no line says {sentence:?}: {lines:#?}"
        );
    }
}

/// The names of the organisations whose items in `section` of the JSON
/// view mention `what` (any case) in their code's text.
fn organisations_listing<'a>(json: &'a Value, section: &str, what: &str) -> Vec<&'a str> {
    let organisation = |source: &Value| {
        json["sources"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|s| s["source"] == *source)
            .and_then(|s| s["organisation"].as_str())
    };
    let mut out: Vec<&str> = json["sections"][section]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|item| item.to_string().to_lowercase().contains(what))
        .flat_map(|item| item["provenance"].as_array().into_iter().flatten())
        .filter_map(|p| organisation(&p["source"]))
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// The banner's age, e.g. `(61y)`, after the date of birth.
fn has_age(banner: &str) -> bool {
    banner.split('(').skip(1).any(|rest| {
        let n = rest.split(')').next().unwrap_or("");
        n.len() > 1
            && n.ends_with(['y', 'm', 'd'])
            && n[..n.len() - 1].bytes().all(|b| b.is_ascii_digit())
    })
}

/// `icr demo` and a browser (Chromium given `extra` arguments), when the
/// browser's tools are installed.
async fn demo_in_a_browser(extra: &[&str]) -> Option<(Demo, Browser)> {
    let tools = Tools::find()?;
    let demo = start_demo();
    Some((demo, Browser::start_with(tools, extra).await))
}

#[tokio::test]
async fn a_clinician_and_a_patient_use_the_viewer_in_a_real_browser() {
    let Some((demo, mut b)) = demo_in_a_browser(&[]).await else {
        return;
    };
    let gw = demo.gateway.clone();
    let control = demo.control.clone();

    // Signed out: the sign-in page, and no record behind it.
    b.goto(&format!("{gw}/")).await;
    assert_eq!(b.count("#sign-in").await, 1, "{}", b.text().await);
    b.check_page("sign-in").await;
    b.goto(&format!("{gw}/patients/{ROBERT}")).await;
    assert!(
        !b.text().await.contains("PENNINGTON"),
        "a record signed out: {}",
        b.here().await
    );

    // The demo's clinician signs in and lands on the find page.
    sign_in(&mut b, &gw, "clinician", true).await;
    assert!(b.text().await.contains("Dr Demo Clinician"));
    assert_eq!(b.count("input[name=nhs]").await, 1, "{}", b.text().await);
    b.check_page("find").await;

    // The check digit checked as it is typed (the page's script, loaded
    // under its Content-Security-Policy), said beside the field.
    b.type_into("#nhs", "999 000 0051").await;
    let said = b.text_of("#nhs-check").await;
    assert!(said.contains("check digit does not match"), "{said:?}");
    b.type_into("#nhs", "999 000 0050").await;
    assert_eq!(b.text_of("#nhs-check").await, "The check digit is correct");

    // An invalid NHS number (the check digit wrong) says so.
    find(&b, &gw, "999 000 0051").await;
    assert_eq!(b.status().await, 400);
    assert_eq!(b.count("input[name=nhs]").await, 1);
    assert!(
        b.count(".nhsuk-error-message, .nhsuk-error-summary").await > 0,
        "no error shown: {}",
        b.text().await
    );
    b.check_page("find-invalid-number").await;

    // A source stopped before anyone asked for Robert (so nothing of it is
    // cached): his record says it did not answer, never that it is empty.
    simulator(&control, "awp/stop").await;
    find(&b, &gw, &spaced(ROBERT)).await;
    assert!(b.here().await.ends_with(&format!("/patients/{ROBERT}")));
    let down = record_json(&demo, ROBERT).await;
    let lines = source_lines(&b).await;
    assert_sources_shown(&lines, &down, "awp stopped");
    assert!(
        lines
            .iter()
            .any(|l| l.contains("No answer") && l.contains("this record may be incomplete")),
        "{lines:#?}"
    );
    assert!(b.text().await.contains("This record may be incomplete"));
    b.check_page("record-source-down").await;
    simulator(&control, "awp/start").await;

    // Every story patient, found by the number typed with spaces.
    for (nhs, name, related) in STORIES {
        find(&b, &gw, &spaced(nhs)).await;
        if related {
            assert_eq!(b.status().await, 200, "{nhs}");
            let banner = b.text_of("#patient-name").await;
            assert!(banner.starts_with(name), "{nhs}: {banner}");
            let card = b.text_of("section[aria-labelledby=patient-name]").await;
            assert!(card.contains(&spaced(nhs)), "{nhs}: {card}");
            assert!(has_age(&card), "{nhs}: no age in {card}");
            let json = record_json(&demo, nhs).await;
            assert_sources_shown(&source_lines(&b).await, &json, nhs);
        } else {
            // No relationship: the refusal, with the break-glass form.
            assert_eq!(b.status().await, 403, "{nhs}");
            assert!(!b.text().await.contains(name), "{nhs} shown");
            assert_eq!(
                b.count("form textarea[name=reason], form input[name=reason]")
                    .await,
                1,
                "{nhs}: no break-glass form: {}",
                b.text().await
            );
        }
    }

    // Robert, with every source up: banner, sources, summary.
    find(&b, &gw, &spaced(ROBERT)).await;
    let text = b.text().await;
    assert!(!text.contains("this record may be incomplete"), "{text}");
    for list in ["allergies", "medications", "conditions", "alerts"] {
        assert_eq!(
            b.count(&format!("section[aria-labelledby=summary-{list}] h2"))
                .await,
            1,
            "the summary has no {list}"
        );
    }
    // Provenance: metformin, merged, once, naming every organisation that
    // lists it.
    let up = record_json(&demo, ROBERT).await;
    let metformin: Vec<String> = b
        .texts("section[aria-labelledby=summary-medications] tbody tr")
        .await
        .into_iter()
        .filter(|row| row.to_lowercase().contains("metformin"))
        .collect();
    assert_eq!(metformin.len(), 1, "{metformin:?}");
    let listing: Vec<&str> = organisations_listing(&up, "medications", "metformin");
    assert!(listing.len() >= 3, "{listing:?}");
    for organisation in &listing {
        assert!(
            metformin[0].contains(organisation),
            "metformin's row does not name {organisation}: {}",
            metformin[0]
        );
    }
    b.check_page("record-summary").await;

    // The other tabs, each with the banner and the sources.
    for tab in ["timeline", "problems", "results", "documents", "sections"] {
        b.goto(&format!("{gw}/patients/{ROBERT}/{tab}")).await;
        assert!(
            b.text_of("#patient-name").await.starts_with("PENNINGTON"),
            "{tab}: no banner"
        );
        assert_eq!(
            b.count("nav a[aria-current=page]").await,
            1,
            "{tab}: the tab is not marked current"
        );
        assert_sources_shown(&source_lines(&b).await, &up, tab);
        b.check_page(&format!("record-{tab}")).await;
        match tab {
            // Provenance behind each problem's disclosure: every holder
            // with its system, record id and last update.
            "problems" => {
                b.click("main tbody tr details summary").await;
                let holders = b.text_of("main tbody tr details[open]").await;
                assert!(
                    holders.contains(", record ") && holders.contains("last updated"),
                    "{holders}"
                );
                b.check_state("record-problems-provenance").await;
            }
            // Repeated tests drawn as trend charts (inline SVG).
            "results" => assert!(
                b.count("main svg[role=img]").await > 0,
                "results: no trend chart"
            ),
            // Documents in their text.
            "documents" => {
                let documents = b
                    .texts("main section.nhsuk-card[aria-labelledby^=document-]")
                    .await;
                assert!(!documents.is_empty(), "no document");
                assert!(
                    documents.iter().any(|d| d.len() > 200),
                    "no document's text: {documents:#?}"
                );
            }
            // Every item with every holder: metformin's names every
            // organisation that lists it, with its record id there.
            "sections" => {
                let cards = b
                    .texts("section[aria-labelledby=section-medications] .nhsuk-card")
                    .await;
                let metformin: Vec<&String> = cards
                    .iter()
                    .filter(|c| c.to_lowercase().contains("metformin"))
                    .collect();
                assert!(!metformin.is_empty(), "no metformin card");
                for organisation in &listing {
                    assert!(
                        metformin.iter().any(|c| c.contains(organisation)),
                        "metformin's cards do not name {organisation}: {metformin:#?}"
                    );
                }
            }
            _ => {}
        }
    }

    // The timeline filtered by organisation, as a person does it: open the
    // filter, tick Great Western Hospitals, apply.
    b.goto(&format!("{gw}/patients/{ROBERT}/timeline")).await;
    let everything = b.text_of("#timeline-filter").await;
    b.click("main details summary").await;
    b.click("#org-RN3").await;
    b.follow("main details form button[type=submit]").await;
    assert!(b.here().await.contains("org=RN3"), "{}", b.here().await);
    let filtered = b.text_of("#timeline-filter").await;
    assert!(filtered.contains("Showing"), "{filtered}");
    assert_ne!(filtered, everything);
    b.check_page("record-timeline-filtered").await;

    // Break glass for Sophie Okafor (held by ruh and sft only).
    find(&b, &gw, &spaced("9990000042")).await;
    b.check_page("refusal-break-glass").await;
    break_glass(&b).await;
    assert_eq!(b.status().await, 200);
    assert!(
        b.text_of("#patient-name").await.starts_with("OKAFOR"),
        "break glass did not show the record: {}",
        b.text().await
    );

    // Hannah Stainton, restricted in PDS: her banner shows no address nor
    // telephone, though her council and Medvivo hold her address.
    find(&b, &gw, &spaced("9990000069")).await;
    break_glass(&b).await;
    let card = b.text_of("section[aria-labelledby=patient-name]").await;
    assert!(card.starts_with("STAINTON"), "{card}");
    assert!(
        card.contains("Restricted record: address and contact details are not shown"),
        "{card}"
    );
    assert!(!b.text().await.contains("SN2 7HQ"));
    b.check_page("record-restricted").await;

    // A valid number nobody holds: after breaking glass, nobody found.
    find(&b, &gw, "999 000 0999").await;
    break_glass(&b).await;
    assert_eq!(b.status().await, 404, "{}", b.text().await);
    assert_eq!(b.count("#patient-name").await, 0);
    assert!(
        b.text().await.contains("999 000 0999"),
        "{}",
        b.text().await
    );
    b.check_page("not-found").await;

    // Sign out: the signed-out page, and no record behind it.
    b.follow("form[action='/sign-out'] button").await;
    assert_eq!(b.count("#patient-name").await, 0);
    b.check_page("signed-out").await;
    b.goto(&format!("{gw}/patients/9990000042")).await;
    assert_eq!(b.count("#patient-name").await, 0, "a record after sign-out");

    // The demo patient: their own record, and who looked at it.
    sign_in(&mut b, &gw, &format!("patient-{ROBERT}"), false).await;
    assert!(b.text_of("#patient-name").await.starts_with("PENNINGTON"));
    b.goto(&format!("{gw}/patients/{ROBERT}/who-looked")).await;
    // The clinician's views and the patient's own, newest first.
    let who = b.texts("main table tbody tr").await;
    assert!(who[0].contains("Patient"), "{who:#?}");
    assert!(
        who.iter().any(
            |r| r.contains("Great Western Hospitals NHS Foundation Trust (RN3)")
                && r.contains("Clinical Practitioner")
                && r.contains("(viewer)")
        ),
        "{who:#?}"
    );
    b.check_page("who-looked").await;

    b.follow("form[action='/sign-out'] button").await;

    // Launched from an EPR (SMART EHR launch): the clinician signs in once
    // and lands on the patient in context, no number typed.
    b.goto(&format!("{gw}/demo-idp/epr")).await;
    b.check_page("demo-epr").await;
    b.type_into("#epr-nhs", &spaced(ROBERT)).await;
    b.follow("#epr-open").await;
    pick(&mut b, "clinician", false).await;
    assert!(
        b.here().await.ends_with(&format!("/patients/{ROBERT}")),
        "the launch did not open the patient: {}",
        b.here().await
    );
    assert!(b.text_of("#patient-name").await.starts_with("PENNINGTON"));
    // The next patient opened from the EPR: no second sign-in.
    b.goto(&format!("{gw}/demo-idp/epr")).await;
    b.type_into("#epr-nhs", "999 000 0026").await;
    b.follow("#epr-open").await;
    b.left("/callback").await;
    assert!(
        b.here().await.ends_with("/patients/9990000026"),
        "a second launch asked to sign in again: {}",
        b.here().await
    );
    assert!(b.text_of("#patient-name").await.starts_with("ASHWORTH"));

    b.write_figures();
    b.close().await;
}

/// Without JavaScript (the browser's scripts off) the viewer still works:
/// sign in, find, the record, a tab, sign out — server-rendered HTML.
#[tokio::test]
async fn the_viewer_works_without_javascript() {
    let Some((demo, mut b)) = demo_in_a_browser(&["--blink-settings=scriptEnabled=false"]).await
    else {
        return;
    };
    let gw = demo.gateway.clone();
    sign_in(&mut b, &gw, "clinician", false).await;
    find(&b, &gw, &spaced(ROBERT)).await;
    // The page's own script never ran: no design-system enhancement.
    assert_eq!(b.count("body.js-enabled").await, 0, "scripts ran");
    assert!(b.text_of("#patient-name").await.starts_with("PENNINGTON"));
    b.goto(&format!("{gw}/patients/{ROBERT}/timeline")).await;
    b.click("main details summary").await;
    b.click("#org-RN3").await;
    b.follow("main details form button[type=submit]").await;
    assert!(b.here().await.contains("org=RN3"), "{}", b.here().await);
    b.screenshot("no-javascript-timeline-filtered").await;
    b.follow("form[action='/sign-out'] button").await;
    assert_eq!(b.count("#sign-in").await, 1);
    b.close().await;
}

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
                    own_record: None,
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
    browser.close().await;
}
