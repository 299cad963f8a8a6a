//! End to end: the browser viewer of `icr demo` (its `[viewer]` with the
//! demo's identity provider) driven over HTTP as a browser would — the
//! OpenID Connect code flow with PKCE, the session cookie, CSRF tokens,
//! the record pages as audited accesses, break-glass, SMART launch and the
//! patient's "who looked". The real browser's run of the same pages is
//! `tests/browser.rs`.

mod common;

use common::{Demo, start_demo};
use reqwest::header::{CACHE_CONTROL, LOCATION, SET_COOKIE};
use reqwest::redirect::Policy;

/// A break-glass reason the demo policy accepts.
const GLASS: &str = "Unconscious in the emergency department; no records to hand";

/// A browser that follows nothing by itself and keeps its cookies (the
/// viewer's session, the demo provider's single sign-on).
struct Browser {
    http: reqwest::Client,
    base: String,
    cookies: std::sync::Mutex<std::collections::BTreeMap<String, String>>,
}

impl Browser {
    fn new(demo: &Demo) -> Self {
        Self {
            http: reqwest::Client::builder()
                .redirect(Policy::none())
                .build()
                .expect("a client"),
            base: demo.gateway.clone(),
            cookies: Default::default(),
        }
    }

    fn cookie_header(&self) -> Option<String> {
        let jar = self.cookies.lock().unwrap();
        (!jar.is_empty()).then(|| {
            jar.iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ")
        })
    }

    /// Keeps the cookies an answer sets (and drops those it expires).
    fn keep(&self, r: &reqwest::Response) {
        let mut jar = self.cookies.lock().unwrap();
        for v in r.headers().get_all(SET_COOKIE) {
            let v = v.to_str().unwrap();
            let (pair, attributes) = v.split_once(';').unwrap_or((v, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if attributes.contains("Max-Age=0") {
                jar.remove(name);
            } else {
                jar.insert(name.to_owned(), value.to_owned());
            }
        }
    }

    fn session(&self) -> Option<String> {
        self.cookies.lock().unwrap().get("icr_session").cloned()
    }

    fn url(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}{path}", self.base)
        }
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        let mut r = self.http.get(self.url(path));
        if let Some(c) = self.cookie_header() {
            r = r.header("cookie", c);
        }
        let r = r.send().await.expect("the gateway answers");
        self.keep(&r);
        r
    }

    async fn post(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let mut r = self
            .http
            .post(self.url(path))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        if let Some(c) = self.cookie_header() {
            r = r.header("cookie", c);
        }
        let r = r.send().await.expect("the gateway answers");
        self.keep(&r);
        r
    }

    /// Signs in as the demo's `user` through the demo provider: the
    /// session's CSRF token.
    async fn sign_in(&mut self, user: &str) -> String {
        self.sign_in_from("/sign-in", user).await.0
    }

    /// Signs in starting at `start`: the CSRF token and where the page
    /// after sign-in moves on to.
    async fn sign_in_from(&mut self, start: &str, user: &str) -> (String, String) {
        let r = self.get(start).await;
        assert_eq!(r.status(), 303, "{start} sends the browser to the provider");
        let authorize = location(&r);
        assert!(authorize.contains("/demo-idp/authorize?"), "{authorize}");
        assert!(
            authorize.contains("code_challenge_method=S256"),
            "{authorize}"
        );
        let r = self.get(&authorize).await;
        let callback = if r.status() == 303 {
            // Signed in at the provider already: no picker.
            location(&r)
        } else {
            let picker = r.text().await.expect("a page");
            let mut form = hidden_fields(&picker);
            form.push(("user".into(), user.into()));
            let pairs: Vec<(&str, &str)> =
                form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let r = self.post("/demo-idp/authorize", &pairs).await;
            assert_eq!(r.status(), 303);
            location(&r)
        };
        let r = self.get(&callback).await;
        assert_eq!(r.status(), 200, "the callback begins a session");
        let cookie = r
            .headers()
            .get(SET_COOKIE)
            .and_then(|v| v.to_str().ok())
            .expect("a session cookie")
            .to_owned();
        assert!(
            cookie.ends_with("; Path=/; Secure; HttpOnly; SameSite=Strict"),
            "{cookie}"
        );
        assert!(cookie.starts_with("icr_session="), "{cookie}");
        let page = r.text().await.expect("a page");
        let next = between(&page, "content=\"0;url=", "\"").to_owned();
        let home = self.get(&next).await;
        let csrf = if home.status() == 303 {
            let to = location(&home);
            csrf_of(&self.get(&to).await.text().await.expect("a page"))
        } else {
            csrf_of(&home.text().await.expect("a page"))
        };
        (csrf, next)
    }
}

fn location(r: &reqwest::Response) -> String {
    r.headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .expect("a Location")
        .replace("&amp;", "&")
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
    let from = text.find(start).map(|i| i + start.len()).unwrap_or(0);
    let to = text[from..].find(end).map_or(text.len(), |i| from + i);
    &text[from..to]
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// Every hidden input of a page, in order.
fn hidden_fields(page: &str) -> Vec<(String, String)> {
    page.split("<input type=\"hidden\" ")
        .skip(1)
        .map(|rest| {
            let name = between(rest, "name=\"", "\"");
            let value = between(rest, "value=\"", "\"");
            (unescape(name), unescape(value))
        })
        .collect()
}

fn csrf_of(page: &str) -> String {
    hidden_fields(page)
        .into_iter()
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v)
        .expect("the page's forms carry the CSRF token")
}

/// The viewer's accesses to `nhs` in the audit, as a privacy officer
/// reads them: (interaction, user, decision, break-glass reason).
async fn audited(demo: &Demo, nhs: &str) -> Vec<(String, String, String, String)> {
    common::viewer_accesses(demo, nhs)
        .await
        .iter()
        .map(|a| {
            let s = |v: &serde_json::Value| v.as_str().unwrap_or("").to_owned();
            (
                s(&a["interaction"]),
                s(&a["user"]["sub"]),
                s(&a["decision"]),
                s(&a["break_glass_reason"]),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_clinician_signs_in_with_pkce_and_each_record_page_is_an_audited_access() {
    let demo = start_demo();
    let mut b = Browser::new(&demo);

    // Signed out: the sign-in page, and a record page sends them there.
    let r = b.get("/").await;
    assert_eq!(r.status(), 200);
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.starts_with("default-src 'self'; script-src 'self'; style-src 'self';"),
        "{csp}"
    );
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("id=\"sign-in\" href=\"/sign-in\"")
    );
    let r = b.get("/patients/9990000050").await;
    assert_eq!((r.status().as_u16(), location(&r)), (303, "/".to_owned()));

    b.sign_in("clinician").await;
    let metrics = reqwest::get(format!("{}/metrics", demo.gateway))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(common::metric(&metrics, "icr_viewer_sessions"), Some(1.0));
    let r = b.get("/").await;
    assert_eq!(r.status(), 200);
    let home = r.text().await.unwrap();
    assert!(
        home.contains("Dr Demo Clinician (Clinical Practitioner, RN3)"),
        "{home}"
    );
    assert!(home.contains("action=\"/find\""));

    // The number as people type it.
    let r = b.get("/find?nhs=999+000+0050").await;
    assert_eq!(
        (r.status().as_u16(), location(&r)),
        (303, "/patients/9990000050".to_owned())
    );
    let r = b.get("/find?nhs=999+000+0051").await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("check digit"));

    let r = b.get("/patients/9990000050").await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()[CACHE_CONTROL], "no-store");
    assert_eq!(r.headers()["referrer-policy"], "no-referrer");
    let page = r.text().await.unwrap();
    assert!(page.contains("PENNINGTON, Robert James (Mr)"), "the banner");
    assert!(page.contains("999 000 0050"));
    assert!(page.contains("Great Western Hospitals NHS Foundation Trust"));
    assert!(!page.contains("<script>"), "no inline script");

    // The record's tabs: each a page of its own, each an access.
    for (tab, expect) in [
        ("/sections", "Held by"),
        ("/timeline?org=RN3&type=result", "the filter hides"),
        ("/problems", "Active"),
        ("/results", "role=\"img\""),
        ("/documents", "Discharge summary"),
    ] {
        let r = b.get(&format!("/patients/9990000050{tab}")).await;
        assert_eq!(r.status(), 200, "{tab}");
        let page = r.text().await.unwrap();
        assert!(page.contains(expect), "{tab} shows {expect:?}");
        assert!(
            page.contains("PENNINGTON, Robert James (Mr)"),
            "{tab} keeps the banner"
        );
    }
    assert_eq!(
        b.get("/patients/9990000050/no-such-tab").await.status(),
        404
    );

    // Each page view is an access, audited as the viewer's, by the user
    // the provider signed in.
    let seen = audited(&demo, "9990000050").await;
    assert_eq!(
        seen,
        vec![
            (
                "viewer".to_owned(),
                "demo-clinician".to_owned(),
                "allowed".to_owned(),
                String::new()
            );
            6
        ]
    );
}

#[tokio::test]
async fn a_code_state_and_verifier_are_good_once_and_forms_need_the_sessions_csrf_token() {
    let demo = start_demo();
    let mut b = Browser::new(&demo);
    // The flow by hand: the callback's code cannot be replayed.
    let r = b.get("/sign-in").await;
    let authorize = location(&r);
    let picker = b.get(&authorize).await.text().await.unwrap();
    let mut form = hidden_fields(&picker);
    form.push(("user".into(), "clinician".into()));
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let callback = location(&b.post("/demo-idp/authorize", &pairs).await);
    // RFC 9207: a callback naming another provider is not exchanged.
    let elsewhere = format!("{callback}&iss=https%3A%2F%2Fevil.example");
    let r = b.get(&elsewhere).await;
    assert_eq!(r.status(), 401);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("the answer came from another identity provider")
    );
    assert_eq!(b.get(&callback).await.status(), 200);
    let again = b.get(&callback).await;
    assert_eq!(again.status(), 401, "state and code are used once");
    assert!(again.text().await.unwrap().contains("Sign-in failed"));

    // The token endpoint: a code needs its PKCE verifier. (The provider
    // remembers the browser now: its authorize answers with a code at once.)
    let r = b.get("/sign-in").await;
    let authorize = location(&r);
    let r = b.get(&authorize).await;
    assert_eq!(r.status(), 303, "single sign-on");
    let callback = location(&r);
    let code = between(&callback, "code=", "&").to_owned();
    let redirect = format!("{}/callback", demo.gateway);
    let r = b
        .post(
            "/demo-idp/token",
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", &redirect),
                ("client_id", "icr-gateway"),
                (
                    "code_verifier",
                    "not-the-verifier-not-the-verifier-not-the-verifier",
                ),
            ],
        )
        .await;
    assert_eq!(r.status(), 400);
    assert_eq!(r.text().await.unwrap(), r#"{"error":"invalid_grant"}"#);

    // Sign-out needs the session's token; without it nothing ends.
    let csrf = b.sign_in("clinician").await;
    let r = b.post("/sign-out", &[("csrf", "forged")]).await;
    assert_eq!(r.status(), 403);
    assert_eq!(
        b.get("/patients/9990000050").await.status(),
        200,
        "still signed in"
    );
    let r = b.post("/sign-out", &[("csrf", &csrf)]).await;
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()[SET_COOKIE]
            .to_str()
            .unwrap()
            .ends_with("Max-Age=0")
    );
    let r = b.get("/patients/9990000050").await;
    assert_eq!(
        (r.status().as_u16(), location(&r)),
        (303, "/".to_owned()),
        "the session ended"
    );
    assert!(b.session().is_none());
    // The demo's provider forgot the browser too: the next sign-in asks.
    let authorize = location(&b.get("/sign-in").await);
    assert_eq!(b.get(&authorize).await.status(), 200, "the picker again");
}

#[tokio::test]
async fn break_glass_by_the_form_is_refused_without_csrf_and_recorded_with_its_reason() {
    let demo = start_demo();
    let mut b = Browser::new(&demo);
    let csrf = b.sign_in("clinician").await;
    // No one holds 9990000999, so no one has a relationship: refused, with
    // the form.
    let r = b.get("/patients/9990000999").await;
    assert_eq!(r.status(), 403);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("action=\"/patients/9990000999/break-glass\""),
        "{page}"
    );
    let r = b
        .post(
            "/patients/9990000999/break-glass",
            &[("csrf", "forged"), ("reason", GLASS)],
        )
        .await;
    assert_eq!(r.status(), 403);
    let r = b
        .post(
            "/patients/9990000999/break-glass",
            &[("csrf", &csrf), ("reason", GLASS)],
        )
        .await;
    assert_eq!(r.status(), 404, "glass broken; nobody holds a record");
    assert!(r.text().await.unwrap().contains("999 000 0999"));
    let seen = audited(&demo, "9990000999").await;
    assert_eq!(
        seen.iter()
            .map(|(_, _, d, g)| (d.as_str(), g.as_str()))
            .collect::<Vec<_>>(),
        vec![("allowed", GLASS), ("refused", "")],
        "newest first: the break-glass access with its reason, the refusal before it"
    );
}

#[tokio::test]
async fn an_epr_launch_opens_its_patient_and_a_patient_sees_who_looked() {
    let demo = start_demo();
    let mut b = Browser::new(&demo);
    // A launch naming another server is refused.
    let r = b
        .get("/launch?iss=https://elsewhere.example/fhir&launch=x")
        .await;
    assert_eq!(r.status(), 400);
    // The pretend EPR launches on its patient: signed in, the viewer
    // opens that record.
    // Signed in once (picking who to be at the provider) ...
    b.sign_in("clinician").await;
    // ... an EPR launching on its patient opens that record without
    // asking again: the provider signs the browser in at once.
    let r = b.get("/demo-idp/epr?nhs=999+000+0050").await;
    assert_eq!(r.status(), 303);
    let launch = location(&r);
    assert!(launch.starts_with("/launch?iss="), "{launch}");
    let r = b.get(&launch).await;
    let authorize = location(&r);
    assert!(authorize.contains("launch="), "{authorize}");
    let r = b.get(&authorize).await;
    assert_eq!(r.status(), 303, "single sign-on: no picker");
    let r = b.get(&location(&r)).await;
    let page = r.text().await.unwrap();
    assert!(
        page.contains("content=\"0;url=/patients/9990000050\""),
        "{page}"
    );
    assert_eq!(b.get("/patients/9990000050").await.status(), 200);

    // The patient, signed in, lands on their own record and sees that
    // clinician's look.
    let mut p = Browser::new(&demo);
    let (_, next) = p.sign_in_from("/sign-in", "patient-9990000050").await;
    assert_eq!(next, "/");
    let r = p.get("/").await;
    assert_eq!(
        (r.status().as_u16(), location(&r)),
        (303, "/patients/9990000050".to_owned())
    );
    let own = p.get("/patients/9990000050").await.text().await.unwrap();
    assert!(
        own.contains("href=\"/patients/9990000050/who-looked\">Who has looked at my record</a>")
    );
    let r = p.get("/patients/9990000050/who-looked").await;
    assert_eq!(r.status(), 200);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("Great Western Hospitals NHS Foundation Trust"),
        "{page}"
    );
    // A page at a time, the older accesses a link away.
    let first = p
        .get("/patients/9990000050/who-looked?_count=1")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(
        first.matches("<tr class=\"nhsuk-table__row\"><td").count(),
        1
    );
    let older = unescape(between(&first, "<p><a href=\"", "\">Older accesses</a>"));
    assert!(
        older.starts_with("/patients/9990000050/who-looked?"),
        "{older}"
    );
    let second = p.get(&older).await;
    assert_eq!(second.status(), 200);
    let second = second.text().await.unwrap();
    assert_eq!(
        second.matches("<tr class=\"nhsuk-table__row\"><td").count(),
        1
    );
    assert_ne!(
        between(&first, "<tbody", "</tbody>"),
        between(&second, "<tbody", "</tbody>"),
        "the next page holds another access"
    );
    // Their own record only.
    let r = p.get("/patients/9990000026/who-looked").await;
    assert_eq!(r.status(), 403);
}

#[tokio::test]
async fn the_design_systems_files_are_served_compressed_to_a_browser_that_accepts_it() {
    let demo = start_demo();
    let css = format!("{}/assets/nhsuk-frontend.min.css", demo.gateway);
    let raw = reqwest::Client::builder().no_gzip().build().unwrap();
    let plain = raw.get(&css).send().await.unwrap();
    assert_eq!(plain.status(), 200);
    assert!(plain.headers().get("content-encoding").is_none());
    assert_eq!(plain.headers()["vary"], "Accept-Encoding");
    let plain = plain.bytes().await.unwrap();
    let packed = raw
        .get(&css)
        .header("accept-encoding", "br;q=1.0, gzip;q=0.8")
        .send()
        .await
        .unwrap();
    assert_eq!(packed.headers()["content-encoding"], "gzip");
    assert_eq!(packed.headers()["content-type"], "text/css; charset=utf-8");
    let packed = packed.bytes().await.unwrap();
    assert_eq!(&packed[..2], &[0x1f, 0x8b], "a gzip stream");
    assert!(
        packed.len() * 4 < plain.len(),
        "{} of {}",
        packed.len(),
        plain.len()
    );
    // Unpacked by a client that reads gzip, it is the same file.
    let unpacked = reqwest::get(&css).await.unwrap().bytes().await.unwrap();
    assert_eq!(unpacked, plain);
    // Refused by q=0: sent as it is.
    let refused = raw
        .get(&css)
        .header("accept-encoding", "gzip;q=0")
        .send()
        .await
        .unwrap();
    assert!(refused.headers().get("content-encoding").is_none());
}
