//! The gateway over TLS: a calling system presenting a client certificate
//! is named in the audit record of every request it makes, beside the user
//! of the bearer token; one presenting none is recorded without; one the
//! allow-list does not name is told `access_denied` in the handshake and
//! never reaches the API.

mod common;

use common::*;
use icr_testkit::pki::{Ca, Leaf, write};
use icr_tls::{ClientAuth, ServerTls, TlsConfig};

/// A gateway over TLS whose client CA is `clients`, with `allowed` calling
/// systems (none: any `clients` signed).
async fn start_tls(servers: &Ca, clients: &Ca, allowed: &[&str]) -> Started {
    // One directory per gateway: tests run at once in one process.
    static RUN: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "icr-gateway-tls-{}-{}",
        std::process::id(),
        RUN.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
    ));
    let server = servers.server();
    write(&dir, "server.crt", &server.cert);
    write(&dir, "server.key", &server.key);
    write(&dir, "clients-ca.pem", &clients.cert_pem());
    let config = TlsConfig {
        cert: "server.crt".into(),
        key: "server.key".into(),
        client_ca: Some("clients-ca.pem".into()),
        client_auth: ClientAuth::Optional,
        allowed_clients: allowed.iter().map(|s| (*s).to_owned()).collect(),
    };
    let tls = ServerTls::load(&config, &dir).unwrap_or_else(|e| panic!("{e}"));
    let m = meta("gwh");
    let sources = vec![(
        spec("gwh", "allergies", 1000, 0),
        Script::Answer(
            record(&m, vec![("AllergyIntolerance/1", penicillin())]),
            std::time::Duration::ZERO,
        ),
    )];
    start_with(
        2000,
        sources,
        Setup {
            tls: Some(tls),
            ..Setup::default()
        },
    )
    .await
}

fn client(servers: &Ca, identity: Option<&Leaf>) -> reqwest::Client {
    builder(servers, identity).build().unwrap()
}

/// A client trusting `servers`, presenting `identity` (or no) certificate.
fn builder(servers: &Ca, identity: Option<&Leaf>) -> reqwest::ClientBuilder {
    let ca = reqwest::Certificate::from_pem(servers.cert_pem().as_bytes()).unwrap();
    let mut b = reqwest::Client::builder().tls_certs_only([ca]);
    if let Some(leaf) = identity {
        b = b.identity(reqwest::Identity::from_pem(&leaf.identity_pem()).unwrap());
    }
    b
}

async fn ask(http: &reqwest::Client, base: &str) -> Result<u16, reqwest::Error> {
    let r = http
        .get(format!("{base}/v1/patients/9990000018/record"))
        .bearer_auth(token("R8000", "RN3"))
        .send()
        .await?;
    Ok(r.status().as_u16())
}

async fn calling_systems(dir: &std::path::Path) -> Vec<Option<String>> {
    // Every outcome written first: a completion being written is a torn
    // last line to the verifier.
    let records = common::audited(dir, &nhs(), 100).await;
    icr_audit::verify(&icr_audit::log_files(dir).unwrap()).unwrap();
    records.into_iter().map(|r| r.calling_system).collect()
}

#[tokio::test]
async fn the_calling_systems_certificate_is_recorded_with_the_user() {
    let servers = Ca::new("ICR Test Server CA");
    let clients = Ca::new("ICR Test Clients CA");
    let s = start_tls(&servers, &clients, &[]).await;
    assert!(s.base.starts_with("https://"));
    let portal = clients.client("portal.example.nhs.uk");
    assert_eq!(
        ask(&client(&servers, Some(&portal)), &s.base)
            .await
            .unwrap(),
        200
    );
    assert_eq!(ask(&client(&servers, None), &s.base).await.unwrap(), 200);
    // A certificate from a CA the gateway does not trust: no session.
    let stranger = Ca::new("Somebody Else's CA").client("portal.example.nhs.uk");
    assert!(
        ask(&client(&servers, Some(&stranger)), &s.base)
            .await
            .is_err()
    );
    // Plain HTTP to the TLS port: no answer.
    let plain = s.base.replace("https://", "http://");
    let answered = reqwest::get(format!("{plain}/healthz"))
        .await
        .is_ok_and(|r| r.status().is_success());
    assert!(!answered);
    let recorded = calling_systems(&s.audit_dir).await;
    assert_eq!(recorded.len(), 2, "{recorded:?}");
    let named = recorded[0].as_deref().expect("the portal named");
    assert!(named.contains("CN=portal.example.nhs.uk"), "{named}");
    assert!(named.contains("O=ICR Test Portal"), "{named}");
    assert_eq!(recorded[1], None);
}

#[tokio::test]
async fn only_the_allowed_calling_systems_reach_the_api() {
    let servers = Ca::new("ICR Test Server CA");
    let clients = Ca::new("ICR Test Clients CA");
    let s = start_tls(&servers, &clients, &["portal.example.nhs.uk"]).await;
    let portal = clients.client("portal.example.nhs.uk");
    let other = clients.client("other.example.nhs.uk");
    assert_eq!(
        ask(&client(&servers, Some(&portal)), &s.base)
            .await
            .unwrap(),
        200
    );
    assert!(ask(&client(&servers, Some(&other)), &s.base).await.is_err());
    assert!(ask(&client(&servers, None), &s.base).await.is_err());
    assert_eq!(calling_systems(&s.audit_dir).await.len(), 1);
}

/// The whole chain of an error's messages.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[tokio::test]
async fn a_calling_system_outside_the_allow_list_is_told_access_denied_in_the_handshake() {
    let servers = Ca::new("ICR Test Server CA");
    let clients = Ca::new("ICR Test Clients CA");
    let s = start_tls(&servers, &clients, &["portal.example.nhs.uk"]).await;
    let other = clients.client("other.example.nhs.uk");
    for http2 in [false, true] {
        let mut b = builder(&servers, Some(&other));
        if http2 {
            b = b.http2_prior_knowledge();
        }
        let e = ask(&b.build().unwrap(), &s.base).await.unwrap_err();
        let text = chain(&e);
        assert!(
            text.contains("received fatal alert: AccessDenied"),
            "http2 {http2}: {text}"
        );
    }
    assert!(
        calling_systems(&s.audit_dir).await.is_empty(),
        "no request reached the API"
    );
}
