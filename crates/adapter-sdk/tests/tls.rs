//! Per-source client TLS, against a real TLS server on loopback with
//! certificates made for the test: the source's own CA as the only trust,
//! and the gateway's client certificate (mTLS, as the Spine Secure Proxy
//! requires). A good handshake reads the answer; a server certificate from
//! another CA, an expired one, a missing or expired client certificate are
//! failures of the source (`unavailable`), never a silent success.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use icr_adapter_sdk::SourceError;
use icr_adapter_sdk::SourceSpec;
use icr_adapter_sdk::http::HttpSource;
use icr_testkit::pki::{Ca, Leaf, write};
use icr_tls::{ClientAuth, ServerTls, TlsConfig};
use tokio::net::TcpListener;

/// A TLS server requiring client certificates from `clients`, answering
/// every request `200 ok`.
async fn server(dir: &Path, leaf: &Leaf, clients: &Ca) -> SocketAddr {
    write(dir, "server.crt", &leaf.cert);
    write(dir, "server.key", &leaf.key);
    write(dir, "clients.pem", &clients.cert_pem());
    let tls = ServerTls::load(
        &TlsConfig {
            cert: "server.crt".into(),
            key: "server.key".into(),
            client_ca: Some("clients.pem".into()),
            client_auth: ClientAuth::Required,
            allowed_clients: Vec::new(),
        },
        dir,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let tls = tls.clone();
            tokio::spawn(async move {
                let Ok((stream, _)) = tls.accept(tcp).await else {
                    return;
                };
                let service = hyper::service::service_fn(|_req| async {
                    Ok::<_, std::convert::Infallible>(hyper::Response::new(
                        http_body_util::Full::new(bytes::Bytes::from_static(b"ok")),
                    ))
                });
                let _ = hyper_util::server::conn::auto::Builder::new(
                    hyper_util::rt::TokioExecutor::new(),
                )
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
            });
        }
    });
    addr
}

fn spec(addr: SocketAddr, tls: &str) -> SourceSpec {
    let text = format!(
        "id = \"trust\"\norganisation = \"A Trust\"\nods_code = \"RN3\"\nkind = \"fhir-r4\"\nendpoint = \"https://localhost:{}/fhir\"\nsections = [\"allergies\"]\ntimeout_ms = 2000\n{tls}",
        addr.port()
    );
    let spec: SourceSpec = toml::from_str(&text).unwrap();
    spec.validate().unwrap_or_else(|e| panic!("{e}"));
    spec
}

struct Setup {
    dir: PathBuf,
    servers: Ca,
    clients: Ca,
}

fn setup(name: &str) -> Setup {
    let dir = std::env::temp_dir().join(format!("icr-source-tls-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let s = Setup {
        dir,
        servers: Ca::new("Spine Test Server CA"),
        clients: Ca::new("Spine Test Client CA"),
    };
    write(&s.dir, "source-ca.pem", &s.servers.cert_pem());
    let gateway = s.clients.client("icr-gateway.example.nhs.uk");
    write(&s.dir, "gateway.crt", &gateway.cert);
    write(&s.dir, "gateway.key", &gateway.key);
    s
}

fn tls_section(s: &Setup, ca: &str, cert: Option<(&str, &str)>) -> String {
    let mut t = format!("\n[tls]\nca = \"{}\"\n", s.dir.join(ca).display());
    if let Some((c, k)) = cert {
        t.push_str(&format!(
            "cert = \"{}\"\nkey = \"{}\"\n",
            s.dir.join(c).display(),
            s.dir.join(k).display()
        ));
    }
    t
}

async fn get(spec: &SourceSpec) -> Result<u16, SourceError> {
    let http = HttpSource::new(spec).unwrap_or_else(|e| panic!("{e}"));
    let url = spec.endpoint.join("metadata").unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    http.get(url, "text/plain", deadline, "metadata")
        .await
        .map(|r| r.status)
}

#[tokio::test]
async fn a_good_handshake_with_the_sources_ca_and_the_gateways_certificate() {
    let s = setup("good");
    let addr = server(&s.dir, &s.servers.server(), &s.clients).await;
    let tls = tls_section(&s, "source-ca.pem", Some(("gateway.crt", "gateway.key")));
    assert_eq!(get(&spec(addr, &tls)).await, Ok(200));
    let _ = std::fs::remove_dir_all(&s.dir);
}

#[tokio::test]
async fn a_server_certificate_from_another_ca_or_expired_is_refused() {
    let s = setup("server");
    let tls = tls_section(&s, "source-ca.pem", Some(("gateway.crt", "gateway.key")));
    // Signed by a CA this source's [tls] does not name (the system roots
    // are not consulted either).
    let stranger = Ca::new("Somebody Else's CA").server();
    let addr = server(&s.dir.join("a"), &stranger, &s.clients).await;
    let e = get(&spec(addr, &tls)).await.unwrap_err();
    assert!(
        matches!(&e, SourceError::Unavailable(m) if m.contains("certificate")),
        "{e:?}"
    );
    let addr = server(&s.dir.join("b"), &s.servers.expired_server(), &s.clients).await;
    let e = get(&spec(addr, &tls)).await.unwrap_err();
    assert!(
        matches!(&e, SourceError::Unavailable(m) if m.contains("certificate")),
        "{e:?}"
    );
    let _ = std::fs::remove_dir_all(&s.dir);
}

#[tokio::test]
async fn a_missing_or_expired_client_certificate_is_refused_by_the_source() {
    let s = setup("client");
    let addr = server(&s.dir, &s.servers.server(), &s.clients).await;
    let no_cert = tls_section(&s, "source-ca.pem", None);
    assert!(matches!(
        get(&spec(addr, &no_cert)).await,
        Err(SourceError::Unavailable(_))
    ));
    let expired = s.clients.expired_client("icr-gateway.example.nhs.uk");
    write(&s.dir, "expired.crt", &expired.cert);
    write(&s.dir, "expired.key", &expired.key);
    let tls = tls_section(&s, "source-ca.pem", Some(("expired.crt", "expired.key")));
    assert!(matches!(
        get(&spec(addr, &tls)).await,
        Err(SourceError::Unavailable(_))
    ));
    let _ = std::fs::remove_dir_all(&s.dir);
}

#[test]
fn tls_settings_are_checked() {
    let base = "id = \"t\"\norganisation = \"T\"\nods_code = \"RN3\"\nkind = \"fhir-r4\"\nsections = [\"allergies\"]\n";
    let check = |extra: &str| {
        toml::from_str::<SourceSpec>(&format!("{base}{extra}"))
            .map_err(|e| e.to_string())
            .and_then(|s| s.validate().map_err(|e| e.to_string()))
    };
    assert!(
        check("endpoint = \"http://x/\"\n[tls]\nca = \"ca.pem\"\n")
            .unwrap_err()
            .contains("https")
    );
    assert!(
        check("endpoint = \"https://x/\"\n[tls]\ncert = \"c.pem\"\n")
            .unwrap_err()
            .contains("needs its key")
    );
    assert!(check("endpoint = \"https://x/\"\n[tls]\nciphers = []\n").is_err());
    // A missing file is named with its key when the client is built.
    let spec: SourceSpec = toml::from_str(&format!(
        "{base}endpoint = \"https://x/\"\n[tls]\nca = \"/nonexistent/ca.pem\"\n"
    ))
    .unwrap();
    let e = HttpSource::new(&spec).unwrap_err().to_string();
    assert!(e.starts_with("tls.ca: /nonexistent/ca.pem"), "{e}");
}
