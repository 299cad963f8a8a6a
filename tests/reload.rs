//! Reloading the whole configuration while the gateway runs, one kind of
//! change per test, each against the demo running from a copy of its
//! configuration: the issuers and their keys (a key revoked, an audience
//! changed), the policy (a new sensitive code), the access settings, the
//! cache settings, the listener's certificates — and a change to a key that
//! only a restart can apply, which is refused whole and said so.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{copy_config, start_demo_in};
use serde_json::Value;

const STORY: &str = "9990000050";

/// Polls `check` every 100 ms for up to 15 s (the gateway looks for
/// changes every 2 s).
async fn eventually<F, Fut>(what: &str, check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    common::eventually_within(what, Duration::from_secs(15), check).await;
}

/// A token minted by `icr token` from the configuration in `dir`.
fn mint_in(dir: &Path, role: &str, org: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_icr"))
        .args(["token", "--role", role, "--org", org, "--config"])
        .arg(dir)
        .output()
        .expect("icr token runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

async fn get(http: &reqwest::Client, url: &str, token: &str) -> (u16, Value) {
    let r = http.get(url).bearer_auth(token).send().await.unwrap();
    let status = r.status().as_u16();
    let body = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap_or(Value::Null);
    (status, body)
}

fn edit(file: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(file).unwrap();
    assert!(text.contains(from), "{} has no {from:?}", file.display());
    std::fs::write(file, text.replacen(from, to, 1)).unwrap();
}

fn record_url(gateway: &str) -> String {
    format!("{gateway}/v1/patients/{STORY}/record")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_signing_key_is_refused_after_reload_without_a_restart() {
    let dir = copy_config("demo");
    let demo = start_demo_in(&dir);
    let http = reqwest::Client::new();
    let old = mint_in(&dir, "R8000", "RN3");
    assert_eq!(get(&http, &record_url(&demo.gateway), &old).await.0, 200);

    // The key is compromised: the identity provider's new key replaces it,
    // in the same files (no line of gateway.toml changes).
    let (private, public) = icr_testkit::pki::es256_key_pair();
    std::fs::write(dir.join("keys/demo-issuer.pub.pem"), public).unwrap();
    std::fs::write(dir.join("keys/demo-issuer.key.pem"), private).unwrap();
    let url = record_url(&demo.gateway);
    eventually("the old key's tokens refused", || {
        let (http, url, old) = (http.clone(), url.clone(), old.clone());
        async move { get(&http, &url, &old).await.0 == 401 }
    })
    .await;
    let (status, body) = get(&http, &url, &old).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("unauthenticated"))
    );
    let new = mint_in(&dir, "R8000", "RN3");
    assert_eq!(get(&http, &url, &new).await.0, 200);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_audience_or_key_id_applies_after_reload() {
    let dir = copy_config("demo");
    // Without the viewer: its provider must stay an issuer whose audience
    // is its client id, and a change to [viewer] waits for a restart, so
    // with it the audience below could not change live.
    let gateway = std::fs::read_to_string(dir.join("gateway.toml")).unwrap();
    let (without_viewer, _) = gateway
        .split_once("\n[viewer]\n")
        .expect("the demo's gateway.toml has a viewer");
    std::fs::write(dir.join("gateway.toml"), without_viewer).unwrap();
    let demo = start_demo_in(&dir);
    let http = reqwest::Client::new();
    let token = mint_in(&dir, "R8000", "RN3");
    let url = record_url(&demo.gateway);
    assert_eq!(get(&http, &url, &token).await.0, 200);

    // The issuer's tokens are now meant for another audience.
    edit(
        &dir.join("gateway.toml"),
        "audience = \"icr-gateway\"",
        "audience = \"icr-gateway-2\"",
    );
    eventually("tokens for the old audience refused", || {
        let (http, url, token) = (http.clone(), url.clone(), token.clone());
        async move { get(&http, &url, &token).await.0 == 401 }
    })
    .await;
    assert_eq!(
        get(&http, &url, &mint_in(&dir, "R8000", "RN3")).await.0,
        200
    );

    // The key is renamed: tokens naming the old kid are refused.
    let before = mint_in(&dir, "R8000", "RN3");
    edit(
        &dir.join("gateway.toml"),
        "kid = \"icr-demo-1\"",
        "kid = \"icr-demo-2\"",
    );
    eventually("tokens naming the old kid refused", || {
        let (http, url, token) = (http.clone(), url.clone(), before.clone());
        async move { get(&http, &url, &token).await.0 == 401 }
    })
    .await;
    assert_eq!(
        get(&http, &url, &mint_in(&dir, "R8000", "RN3")).await.0,
        200
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_sensitive_code_in_the_policy_applies_after_reload() {
    let dir = copy_config("demo");
    let demo = start_demo_in(&dir);
    let http = reqwest::Client::new();
    let token = mint_in(&dir, "R8000", "RN3");
    let url = format!("{}?sections=conditions", record_url(&demo.gateway));
    let (status, view) = get(&http, &url, &token).await;
    assert_eq!(status, 200);
    let diabetes = |view: &Value| view.to_string().contains("44054006");
    assert!(diabetes(&view), "the story patient has type 2 diabetes");
    assert_eq!(view["withheld"]["count"], 0);

    // The policy now treats type 2 diabetes as sensitive.
    edit(
        &dir.join("policy.toml"),
        "[sensitive.codes]\n",
        "[sensitive.codes]\nreload_test = [\"44054006\"]\n",
    );
    eventually("the new sensitive code withheld", || {
        let (http, url, token) = (http.clone(), url.clone(), token.clone());
        async move {
            let (_, view) = get(&http, &url, &token).await;
            !diabetes(&view)
        }
    })
    .await;
    let (_, view) = get(&http, &url, &token).await;
    assert_eq!(view["withheld"]["by_section"]["conditions"], 1, "{view}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_and_cache_settings_apply_after_reload() {
    let dir = copy_config("demo");
    let demo = start_demo_in(&dir);
    let http = reqwest::Client::new();
    let clinician = mint_in(&dir, "R8000", "RN3");
    let sources = format!("{}/v1/sources", demo.gateway);
    assert_eq!(get(&http, &sources, &clinician).await.0, 403);
    let url = record_url(&demo.gateway);
    get(&http, &url, &clinician).await;
    let (_, view) = get(&http, &url, &clinician).await;
    let cached = |view: &Value| {
        view["sources"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["cached"] == true)
            .count()
    };
    assert!(cached(&view) > 0, "answers cached: {view}");

    // Clinicians become operators, and the cache is turned off.
    edit(
        &dir.join("gateway.toml"),
        "[access]\n",
        "[access]\noperator_roles = [\"R8015\", \"R8000\"]\n",
    );
    edit(
        &dir.join("gateway.toml"),
        "enabled = true",
        "enabled = false",
    );
    eventually("a clinician may list the sources", || {
        let (http, sources, token) = (http.clone(), sources.clone(), clinician.clone());
        async move { get(&http, &sources, &token).await.0 == 200 }
    })
    .await;
    for _ in 0..2 {
        let (status, view) = get(&http, &url, &clinician).await;
        assert_eq!(status, 200);
        assert_eq!(cached(&view), 0, "nothing cached any more: {view}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The chain of certificates the server presents on a new connection, as
/// the subject of its leaf, over TLS trusting `ca`.
async fn served_by(addr: &str, ca: &str) -> Result<u16, String> {
    let client = reqwest::Client::builder()
        .tls_certs_only(
            reqwest::Certificate::from_pem_bundle(ca.as_bytes()).map_err(|e| e.to_string())?,
        )
        .build()
        .map_err(|e| e.to_string())?;
    client
        .get(format!("{addr}/healthz"))
        .send()
        .await
        .map(|r| r.status().as_u16())
        .map_err(|e| format!("{e:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_listeners_certificate_rotates_on_reload_for_new_connections() {
    let dir = copy_config("demo");
    let first = icr_testkit::pki::Ca::new("ICR test CA one");
    let leaf = first.server();
    icr_testkit::pki::write(&dir, "tls.crt.pem", &leaf.cert);
    icr_testkit::pki::write(&dir, "tls.key.pem", &leaf.key);
    let gateway_toml = dir.join("gateway.toml");
    let mut text = std::fs::read_to_string(&gateway_toml).unwrap();
    text.push_str("\n[tls]\ncert = \"tls.crt.pem\"\nkey = \"tls.key.pem\"\n");
    std::fs::write(&gateway_toml, text).unwrap();
    let demo = start_demo_in(&dir);
    assert!(demo.gateway.starts_with("https://"), "{}", demo.gateway);
    let gateway = demo.gateway.replace("127.0.0.1", "localhost");
    assert_eq!(served_by(&gateway, &first.cert_pem()).await, Ok(200));

    // A certificate from another CA replaces it in the same files.
    let second = icr_testkit::pki::Ca::new("ICR test CA two");
    let leaf = second.server();
    icr_testkit::pki::write(&dir, "tls.key.pem", &leaf.key);
    icr_testkit::pki::write(&dir, "tls.crt.pem", &leaf.cert);
    eventually("new connections get the new certificate", || {
        let (gateway, ca) = (gateway.clone(), second.cert_pem());
        async move { served_by(&gateway, &ca).await == Ok(200) }
    })
    .await;
    assert!(served_by(&gateway, &first.cert_pem()).await.is_err());
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_only_a_restart_can_apply_is_refused_whole_and_named() {
    let dir = copy_config("demo");
    let demo = start_demo_in(&dir);
    let http = reqwest::Client::new();
    let token = mint_in(&dir, "R8000", "RN3");
    let url = format!("{}?sections=conditions", record_url(&demo.gateway));

    // One change: a new listen address (restart only) and a new sensitive
    // code (live). Neither is applied.
    edit(
        &dir.join("gateway.toml"),
        "listen = \"127.0.0.1:8080\"",
        "listen = \"127.0.0.1:18080\"",
    );
    edit(
        &dir.join("policy.toml"),
        "[sensitive.codes]\n",
        "[sensitive.codes]\nreload_test = [\"44054006\"]\n",
    );
    let ready = format!("{}/readyz", demo.gateway);
    eventually("the refusal shown by /readyz", || {
        let (http, ready) = (http.clone(), ready.clone());
        async move {
            let r = http.get(&ready).send().await.unwrap();
            let body: Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
            body["config_change_refused"]
                .as_str()
                .is_some_and(|p| p.contains("listen") && p.contains("restart"))
        }
    })
    .await;
    let (status, view) = get(&http, &url, &token).await;
    assert_eq!(status, 200);
    assert!(
        view.to_string().contains("44054006"),
        "the policy change was not applied either"
    );
    let metrics = http
        .get(format!("{}/metrics", demo.gateway))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("icr_config_reload_problem 1"), "{metrics}");

    // Undone, the next change applies.
    edit(
        &dir.join("gateway.toml"),
        "listen = \"127.0.0.1:18080\"",
        "listen = \"127.0.0.1:8080\"",
    );
    eventually("the policy change applied once listen is undone", || {
        let (http, url, token) = (http.clone(), url.clone(), token.clone());
        async move {
            let (_, view) = get(&http, &url, &token).await;
            !view.to_string().contains("44054006")
        }
    })
    .await;
    let _ = std::fs::remove_dir_all(&dir);
}
