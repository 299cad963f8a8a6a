//! End to end: the viewer signs in with a real, independent, certified
//! OpenID provider — panva's `oidc-provider` (npm), run by
//! `tools/oidc-provider/provider.mjs` — instead of the demo's own: its
//! discovery document read at the first sign-in, the code flow with PKCE
//! through its authorize and token endpoints, its ES256 ID token verified
//! by the relying party and then as every API token (`[[auth.issuer]]`
//! with its JWKS), and the record pages audited under its subject. Also
//! refused, each with a sign-in-failed page: a tampered `state`, a
//! replayed callback, an ID token without the ICR's claims, the provider's
//! own refusal, and a provider down or silent (within `timeout_ms`).
//!
//! The provider is installed by `bash tools/oidc-provider/install.sh`;
//! without node or the package these tests say loudly that they were
//! skipped, except under `CI=true`, where they fail.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{Demo, copy_config, spawn_with_lines, start_demo_with, viewer_accesses};
use reqwest::header::{LOCATION, SET_COOKIE};
use reqwest::redirect::Policy;

/// The provider's test account (tools/oidc-provider/provider.mjs).
const SUBJECT: &str = "oidc-test-clinician";

fn tool_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tools/oidc-provider")
}

/// Whether node and the installed provider are here: if not, says so
/// loudly, and fails the test under `CI=true`.
fn provider_installed() -> bool {
    let node = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    let package = tool_dir()
        .join("node_modules/oidc-provider/package.json")
        .is_file();
    if node && package {
        return true;
    }
    let why = if node {
        "oidc-provider is not installed (run: bash tools/oidc-provider/install.sh)"
    } else {
        "node is not on PATH"
    };
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "viewer_oidc: {why}"
    );
    eprintln!("\n!!! SKIPPED viewer_oidc: {why} !!!\n");
    false
}

/// A loopback port free when asked (bound, read, released).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// The running provider; stopped when dropped.
struct OidcProvider {
    child: Child,
    /// Its issuer, `http://127.0.0.1:PORT`.
    issuer: String,
    /// Its public JWKS, written at start.
    jwks: PathBuf,
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        common::stop(&mut self.child);
    }
}

/// Starts the provider for a gateway whose callback is `redirect`,
/// writing its public keys into `dir`, with `args` (`--deny`).
fn start_provider(redirect: &str, dir: &Path, args: &[&str]) -> OidcProvider {
    let jwks = dir.join("oidc-provider.jwks.json");
    let (child, rx) = spawn_with_lines(
        Command::new("node")
            .arg(tool_dir().join("provider.mjs"))
            .args(["--port", "0", "--redirect-uri", redirect, "--jwks-out"])
            .arg(&jwks)
            .args(args)
            .stderr(Stdio::null()),
    );
    let line = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the provider prints its address within 30 s");
    let issuer = line
        .strip_prefix("oidc-provider listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    OidcProvider {
        child,
        issuer,
        jwks,
    }
}

/// The scopes the gateway asks for: `icr` is the provider's scope for the
/// ICR's claims.
const SCOPES: &str = r#"["openid", "profile", "icr"]"#;

/// A copy of `config/demo` whose viewer signs in with the provider at
/// `issuer` (discovered, not the demo's) asking for `scopes`, trusted as an
/// API issuer with its keys in `jwks`; calls to it bounded by `timeout_ms`.
fn configure(dir: &Path, issuer: &str, jwks: &Path, scopes: &str, timeout_ms: u64) {
    let path = dir.join("gateway.toml");
    let text = std::fs::read_to_string(&path).expect("gateway.toml");
    let demo = "[viewer.oidc]\nissuer = \"https://login.icr-demo.example\"\n\
                client_id = \"icr-gateway\"\ndemo = true\n";
    assert!(text.contains(demo), "config/demo's [viewer.oidc] changed");
    let oidc = format!(
        "[viewer.oidc]\nissuer = \"{issuer}\"\nclient_id = \"icr-gateway\"\n\
         scopes = {scopes}\ntimeout_ms = {timeout_ms}\n\n\
         [[auth.issuer]]\niss = \"{issuer}\"\naudience = \"icr-gateway\"\njwks = \"{}\"\n",
        jwks.display()
    );
    std::fs::write(&path, text.replace(demo, &oidc)).expect("gateway.toml written");
}

/// The gateway on `port` (so that its callback was known to the
/// provider), on the configuration in `dir`.
fn start_gateway(dir: &Path, port: u16) -> Demo {
    let listen = format!("127.0.0.1:{port}");
    start_demo_with(dir, &[], &["--listen", &listen])
}

/// A browser that follows nothing by itself: the gateway's session cookie
/// and the provider's cookies kept apart.
struct Browser {
    http: reqwest::Client,
    gateway: String,
    issuer: String,
    session: Option<String>,
    provider_cookies: HashMap<String, String>,
}

impl Browser {
    fn new(gateway: &str, issuer: &str) -> Self {
        Self {
            http: reqwest::Client::builder()
                .redirect(Policy::none())
                // A guard against a hang, not a timing check.
                .timeout(Duration::from_secs(60))
                .build()
                .expect("a client"),
            gateway: gateway.to_owned(),
            issuer: issuer.to_owned(),
            session: None,
            provider_cookies: HashMap::new(),
        }
    }

    async fn get(&mut self, url: &str) -> reqwest::Response {
        let url = if url.starts_with("http") {
            url.to_owned()
        } else {
            format!("{}{url}", self.gateway)
        };
        let cookie = if url.starts_with(&self.issuer) {
            let jar: Vec<String> = self
                .provider_cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            (!jar.is_empty()).then(|| jar.join("; "))
        } else {
            self.session.as_ref().map(|s| format!("icr_session={s}"))
        };
        let mut r = self.http.get(&url);
        if let Some(c) = cookie {
            r = r.header("cookie", c);
        }
        let r = r.send().await.expect("an answer");
        if url.starts_with(&self.issuer) {
            for c in r.headers().get_all(SET_COOKIE) {
                let c = c.to_str().expect("a cookie");
                let (k, v) = c
                    .split(';')
                    .next()
                    .and_then(|kv| kv.split_once('='))
                    .expect("name=value");
                if v.is_empty() || c.contains("expires=Thu, 01 Jan 1970") {
                    self.provider_cookies.remove(k);
                } else {
                    self.provider_cookies.insert(k.to_owned(), v.to_owned());
                }
            }
        }
        r
    }

    /// `/sign-in`, then the provider's redirects (its authorize and
    /// interaction endpoints), up to the URL it sends the browser back to
    /// the gateway with.
    async fn sign_in_at_provider(&mut self) -> String {
        let r = self.get("/sign-in").await;
        assert_eq!(
            r.status(),
            303,
            "/sign-in sends the browser to the provider"
        );
        let mut next = location(&r);
        assert!(
            next.starts_with(&format!("{}/auth?", self.issuer)),
            "the discovered authorization endpoint: {next}"
        );
        assert!(next.contains("code_challenge_method=S256"), "{next}");
        assert!(next.contains("nonce="), "{next}");
        for _ in 0..10 {
            if !next.starts_with(&self.issuer) {
                break;
            }
            let r = self.get(&next).await;
            let status = r.status();
            assert!(
                status.is_redirection(),
                "the provider answered {status}: {}",
                r.text().await.unwrap_or_default()
            );
            next = location(&r);
        }
        assert!(
            next.starts_with(&format!("{}/callback?", self.gateway)),
            "back to the gateway: {next}"
        );
        next
    }

    /// The callback: the session cookie kept.
    async fn callback(&mut self, url: &str) -> reqwest::Response {
        let r = self.get(url).await;
        if let Some(c) = r.headers().get(SET_COOKIE).and_then(|v| v.to_str().ok()) {
            self.session = c
                .strip_prefix("icr_session=")
                .and_then(|c| c.split(';').next())
                .map(str::to_owned);
        }
        r
    }
}

fn location(r: &reqwest::Response) -> String {
    let to = r
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .expect("a Location");
    // The provider's redirects within itself are relative.
    match reqwest::Url::parse(to) {
        Ok(u) => u.to_string(),
        Err(_) => r.url().join(to).expect("a relative Location").to_string(),
    }
}

/// How the gateway and the provider are set up for a test.
struct Setup<'a> {
    /// The scopes the gateway asks for.
    scopes: &'a str,
    /// The gateway's `timeout_ms` for calls to the provider.
    timeout_ms: u64,
    /// The provider's extra arguments.
    provider_args: &'a [&'a str],
}

/// Asking for the ICR's claims, the default timeout, the provider as is.
const USUAL: Setup = Setup {
    scopes: SCOPES,
    timeout_ms: 5_000,
    provider_args: &[],
};

/// The provider, and the demo gateway signing in with it, and a browser
/// for both; none when the provider is not installed (outside CI).
fn start(setup: Setup) -> Option<(OidcProvider, Demo, Browser)> {
    if !provider_installed() {
        return None;
    }
    let dir = copy_config("demo");
    let port = free_port();
    let redirect = format!("http://127.0.0.1:{port}/callback");
    let provider = start_provider(&redirect, &dir, setup.provider_args);
    configure(
        &dir,
        &provider.issuer,
        &provider.jwks,
        setup.scopes,
        setup.timeout_ms,
    );
    let demo = start_gateway(&dir, port);
    let browser = Browser::new(&demo.gateway, &provider.issuer);
    Some((provider, demo, browser))
}

#[tokio::test]
async fn a_clinician_signs_in_with_a_certified_provider_found_by_discovery() {
    let Some((_provider, demo, mut b)) = start(USUAL) else {
        return;
    };

    let callback = b.sign_in_at_provider().await;
    let r = b.callback(&callback).await;
    let status = r.status();
    let page = r.text().await.expect("a page");
    assert_eq!(status, 200, "the callback begins a session: {page}");
    assert!(b.session.is_some(), "the session cookie is set");
    assert!(page.contains("content=\"0;url=/\""), "{page}");

    let r = b.get("/patients/9990000050").await;
    assert_eq!(r.status(), 200);
    let page = r.text().await.expect("a page");
    assert!(page.contains("PENNINGTON"), "the record's banner: {page}");

    let subjects: Vec<_> = viewer_accesses(&demo, "9990000050")
        .await
        .into_iter()
        .map(|a| a["user"]["sub"].clone())
        .collect();
    assert!(
        subjects.iter().any(|s| *s == SUBJECT),
        "the page view is audited as the provider's subject: {subjects:?}"
    );
}

/// The callback at `url` answers the sign-in-failed page, saying `why`,
/// and begins no session: the page.
async fn assert_callback_refused(b: &mut Browser, url: &str, why: &str) -> String {
    b.session = None;
    let r = b.callback(url).await;
    assert_eq!(r.status(), 401);
    let page = r.text().await.expect("a page");
    assert!(page.contains(&format!("Sign-in failed: {why}")), "{page}");
    assert!(b.session.is_none(), "no session begins");
    page
}

#[tokio::test]
async fn a_tampered_state_or_a_replayed_callback_is_refused() {
    let Some((_provider, _demo, mut b)) = start(USUAL) else {
        return;
    };
    let unknown = "this sign-in was not started here";

    let callback = b.sign_in_at_provider().await;
    let tampered = callback.replacen("state=", "state=x", 1);
    assert_ne!(tampered, callback);
    assert_callback_refused(&mut b, &tampered, unknown).await;

    // The genuine answer still signs in, once: its state is used up.
    let r = b.callback(&callback).await;
    assert_eq!(r.status(), 200);
    assert!(b.session.is_some());
    assert_callback_refused(&mut b, &callback, unknown).await;
}

#[tokio::test]
async fn an_id_token_without_the_icr_claims_is_refused_naming_the_claim() {
    // Without the `icr` scope the provider's ID token has name but no
    // role, org or purpose: it verifies as an ID token, not as the ICR's
    // credential.
    let Some((_provider, _demo, mut b)) = start(Setup {
        scopes: r#"["openid", "profile"]"#,
        ..USUAL
    }) else {
        return;
    };
    let callback = b.sign_in_at_provider().await;
    assert_callback_refused(
        &mut b,
        &callback,
        "the ID token is not accepted: claim role: missing",
    )
    .await;
}

/// `/sign-in` answers the sign-in-failed page: the provider not reached.
async fn assert_provider_unreached(b: &mut Browser) {
    let r = b.get("/sign-in").await;
    assert_eq!(r.status(), 401);
    let page = r.text().await.expect("a page");
    assert!(
        page.contains("Sign-in failed: the identity provider could not be reached"),
        "{page}"
    );
}

#[tokio::test]
async fn the_providers_refusal_comes_back_as_a_sign_in_failed_page() {
    let Some((_provider, _demo, mut b)) = start(Setup {
        provider_args: &["--deny"],
        ..USUAL
    }) else {
        return;
    };
    let callback = b.sign_in_at_provider().await;
    assert!(callback.contains("error=access_denied"), "{callback}");
    let page = assert_callback_refused(&mut b, &callback, "the identity provider").await;
    assert!(page.contains("access_denied"), "the refusal named: {page}");
}

#[tokio::test]
async fn a_provider_down_or_silent_gives_a_sign_in_failed_page() {
    // The provider ran (its keys are trusted), then stopped.
    let Some((mut provider, _demo, mut b)) = start(Setup {
        timeout_ms: 1_000,
        ..USUAL
    }) else {
        return;
    };
    common::stop(&mut provider.child);

    // Down: nothing listens at the issuer.
    assert_provider_unreached(&mut b).await;

    // Silent: something listens at the issuer and never answers; the
    // discovery gives up after timeout_ms (the client's own 60 s limit is
    // only a guard against a hang).
    let addr = provider.issuer.trim_start_matches("http://");
    let _silent = std::net::TcpListener::bind(addr).expect("the issuer's port again");
    assert_provider_unreached(&mut b).await;
    assert!(b.session.is_none());
}
