//! Real handshakes on loopback with certificates made for the test: a good
//! client certificate is verified and its subject recorded; a missing one is
//! accepted or refused as configured; one from an unknown CA, an expired
//! one, or one not on the allow-list is refused. Broken configurations are
//! refused at load with the key that is wrong.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use icr_testkit::pki::{Ca, Leaf, write};
use icr_tls::{AcceptError, ClientAuth, ClientIdentity, ServerTls, TlsConfig};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

struct Pki {
    dir: PathBuf,
    servers: Ca,
    clients: Ca,
}

fn pki(name: &str) -> Pki {
    let dir = std::env::temp_dir().join(format!("icr-tls-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let servers = Ca::new("ICR Test Server CA");
    let clients = Ca::new("ICR Test Clients CA");
    let server = servers.server();
    write(&dir, "server.crt", &server.cert);
    write(&dir, "server.key", &server.key);
    write(&dir, "clients-ca.pem", &clients.cert_pem());
    Pki {
        dir,
        servers,
        clients,
    }
}

fn config(client_auth: ClientAuth, allowed: &[&str]) -> TlsConfig {
    TlsConfig {
        cert: "server.crt".into(),
        key: "server.key".into(),
        client_ca: Some("clients-ca.pem".into()),
        client_auth,
        allowed_clients: allowed.iter().map(|s| (*s).to_owned()).collect(),
    }
}

/// Connects to a server using `tls` with `client` (or no) certificate,
/// trusting `servers`; returns what the server's accept made of it.
async fn handshake(
    tls: ServerTls,
    servers: &Ca,
    client: Option<&Leaf>,
) -> Result<Option<ClientIdentity>, AcceptError> {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        match tls.accept(tcp).await {
            Ok((mut stream, id)) => {
                // Prove the session works: echo one line.
                let mut buf = [0u8; 5];
                stream.read_exact(&mut buf).await.unwrap();
                stream.write_all(&buf).await.unwrap();
                stream.shutdown().await.unwrap();
                Ok(id)
            }
            Err(e) => Err(e),
        }
    });
    let config = client_config(servers, client, rustls::DEFAULT_VERSIONS);
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = TcpStream::connect(addr).await.unwrap();
    // The client's view is not asserted: in TLS 1.3 a client learns that its
    // certificate was refused only on its next read. The server decides.
    if let Ok(mut stream) = connector
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
    {
        let _ = stream.write_all(b"hello").await;
        let mut buf = [0u8; 5];
        let _ = stream.read_exact(&mut buf).await;
    }
    server.await.unwrap()
}

/// A client trusting `servers`, presenting `client` (or no) certificate,
/// speaking only `versions`.
fn client_config(
    servers: &Ca,
    client: Option<&Leaf>,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> rustls::ClientConfig {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(servers.cert_pem().as_bytes()).unwrap())
        .unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .unwrap()
        .with_root_certificates(roots);
    match client {
        Some(leaf) => builder
            .with_client_auth_cert(
                CertificateDer::pem_slice_iter(leaf.cert.as_bytes())
                    .collect::<Result<_, _>>()
                    .unwrap(),
                PrivateKeyDer::from_pem_slice(leaf.key.as_bytes()).unwrap(),
            )
            .unwrap(),
        None => builder.with_no_client_auth(),
    }
}

/// What a client speaking only `version` sees when it connects with
/// `client` and exchanges one message: `Ok` when the server echoed it, else
/// the TLS error that ended the exchange (an I/O error that is not a TLS
/// one comes back as `General`). The server's own result comes second.
async fn client_sees(
    tls: ServerTls,
    servers: &Ca,
    client: &Leaf,
    version: &'static rustls::SupportedProtocolVersion,
) -> (
    Result<(), rustls::Error>,
    Result<Option<ClientIdentity>, AcceptError>,
) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let (mut stream, id) = tls.accept(tcp).await?;
        let mut buf = [0u8; 5];
        stream.read_exact(&mut buf).await?;
        stream.write_all(&buf).await?;
        stream.shutdown().await?;
        Ok(id)
    });
    let connector = tokio_rustls::TlsConnector::from(Arc::new(client_config(
        servers,
        Some(client),
        &[version],
    )));
    let tcp = TcpStream::connect(addr).await.unwrap();
    let as_tls =
        |e: std::io::Error| match e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
            Some(tls) => tls.clone(),
            None => rustls::Error::General(e.to_string()),
        };
    let seen = async {
        let mut stream = connector
            .connect(ServerName::try_from("localhost").unwrap(), tcp)
            .await
            .map_err(as_tls)?;
        stream.write_all(b"hello").await.map_err(as_tls)?;
        let mut buf = [0u8; 5];
        stream.read_exact(&mut buf).await.map_err(as_tls)?;
        Ok(())
    }
    .await;
    (seen, server.await.unwrap())
}

fn load(p: &Pki, c: &TlsConfig) -> ServerTls {
    ServerTls::load(c, &p.dir).unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn a_good_client_certificate_is_verified_and_named() {
    let p = pki("good");
    let tls = load(&p, &config(ClientAuth::Required, &[]));
    let leaf = p.clients.client("portal.example.nhs.uk");
    let id = handshake(tls, &p.servers, Some(&leaf))
        .await
        .unwrap()
        .expect("an identity");
    assert_eq!(id.common_names, ["portal.example.nhs.uk"]);
    assert_eq!(id.dns_names, ["portal.example.nhs.uk"]);
    assert!(
        id.subject.contains("CN=portal.example.nhs.uk"),
        "{}",
        id.subject
    );
    assert!(id.subject.contains("O=ICR Test Portal"), "{}", id.subject);
    let _ = std::fs::remove_dir_all(&p.dir);
}

#[tokio::test]
async fn a_missing_client_certificate_is_accepted_when_optional_and_refused_when_required() {
    let p = pki("missing");
    let optional = load(&p, &config(ClientAuth::Optional, &[]));
    assert_eq!(handshake(optional, &p.servers, None).await.unwrap(), None);
    let required = load(&p, &config(ClientAuth::Required, &[]));
    let e = handshake(required, &p.servers, None).await.unwrap_err();
    assert!(matches!(e, AcceptError::Handshake(_)), "{e}");
    // No client_ca at all: no certificate asked for, none recorded.
    let mut plain = config(ClientAuth::Optional, &[]);
    plain.client_ca = None;
    let tls = load(&p, &plain);
    let leaf = p.clients.client("portal.example.nhs.uk");
    assert_eq!(handshake(tls, &p.servers, Some(&leaf)).await.unwrap(), None);
    let _ = std::fs::remove_dir_all(&p.dir);
}

#[tokio::test]
async fn certificates_from_an_unknown_ca_or_expired_are_refused_even_when_optional() {
    let p = pki("refused");
    let stranger = Ca::new("Somebody Else's CA").client("portal.example.nhs.uk");
    let tls = load(&p, &config(ClientAuth::Optional, &[]));
    let e = handshake(tls, &p.servers, Some(&stranger))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("UnknownIssuer"), "{e}");
    let expired = p.clients.expired_client("portal.example.nhs.uk");
    let tls = load(&p, &config(ClientAuth::Optional, &[]));
    let e = handshake(tls, &p.servers, Some(&expired))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("certificate expired"), "{e}");
    let _ = std::fs::remove_dir_all(&p.dir);
}

#[tokio::test]
async fn the_allow_list_admits_only_the_named_calling_systems() {
    let p = pki("allow");
    let listed = p.clients.client("portal.example.nhs.uk");
    let other = p.clients.client("other.example.nhs.uk");
    let allow = config(ClientAuth::Optional, &["PORTAL.example.nhs.uk"]);
    let id = handshake(load(&p, &allow), &p.servers, Some(&listed))
        .await
        .unwrap();
    assert!(id.is_some());
    let e = handshake(load(&p, &allow), &p.servers, Some(&other))
        .await
        .unwrap_err();
    assert!(matches!(e, AcceptError::NotAllowed(_)), "{e}");
    assert!(e.to_string().contains("other.example.nhs.uk"));
    // A list implies required: no certificate, no session.
    let e = handshake(load(&p, &allow), &p.servers, None)
        .await
        .unwrap_err();
    assert!(matches!(e, AcceptError::Handshake(_)), "{e}");
    let _ = std::fs::remove_dir_all(&p.dir);
}

#[tokio::test]
async fn a_certificate_outside_the_allow_list_is_refused_in_the_handshake_with_access_denied() {
    let p = pki("denied");
    let listed = p.clients.client("portal.example.nhs.uk");
    let other = p.clients.client("other.example.nhs.uk");
    let allow = config(ClientAuth::Optional, &["portal.example.nhs.uk"]);
    for version in [&rustls::version::TLS12, &rustls::version::TLS13] {
        // The listed system gets its session, in either version.
        let (seen, server) = client_sees(load(&p, &allow), &p.servers, &listed, version).await;
        assert_eq!(seen, Ok(()), "{version:?}");
        assert!(server.unwrap().is_some());
        // Another system signed by the same CA is told, with a TLS alert,
        // that access is denied; no session reaches the server's caller.
        let (seen, server) = client_sees(load(&p, &allow), &p.servers, &other, version).await;
        assert_eq!(
            seen,
            Err(rustls::Error::AlertReceived(
                rustls::AlertDescription::AccessDenied
            )),
            "{version:?}"
        );
        let e = server.unwrap_err();
        assert!(matches!(e, AcceptError::NotAllowed(_)), "{version:?}: {e}");
        assert_eq!(
            e.to_string(),
            "client certificate CN=other.example.nhs.uk, O=ICR Test Portal is not among the allowed clients"
        );
    }
    let _ = std::fs::remove_dir_all(&p.dir);
}

fn load_err(dir: &Path, c: &TlsConfig) -> icr_tls::TlsConfigError {
    ServerTls::load(c, dir).expect_err("refused")
}

#[test]
fn broken_configurations_name_the_key_at_fault() {
    let p = pki("broken");
    let mut c = config(ClientAuth::Optional, &[]);
    c.cert = "missing.crt".into();
    assert_eq!(load_err(&p.dir, &c).key, "tls.cert");
    // A key that is not the certificate's.
    let other = p.servers.server();
    write(&p.dir, "other.key", &other.key);
    let mut c = config(ClientAuth::Optional, &[]);
    c.key = "other.key".into();
    let e = load_err(&p.dir, &c);
    assert_eq!(e.key, "tls.key", "{e}");
    // A certificate file holding no certificate.
    write(&p.dir, "empty.crt", "not a certificate\n");
    let mut c = config(ClientAuth::Optional, &[]);
    c.cert = "empty.crt".into();
    assert_eq!(load_err(&p.dir, &c).key, "tls.cert");
    // Required without a CA to check against.
    let mut c = config(ClientAuth::Required, &[]);
    c.client_ca = None;
    assert_eq!(load_err(&p.dir, &c).key, "tls.client_ca");
    let mut c = config(ClientAuth::Optional, &["portal"]);
    c.client_ca = None;
    assert_eq!(load_err(&p.dir, &c).key, "tls.client_ca");
    let c = config(ClientAuth::Optional, &[""]);
    assert_eq!(load_err(&p.dir, &c).key, "tls.allowed_clients");
    // The [tls] table itself refuses unknown keys and values.
    assert!(toml_config("cert = \"a\"\nkey = \"b\"\nclient_auth = \"sometimes\"\n").is_err());
    assert!(toml_config("cert = \"a\"\nkey = \"b\"\nciphers = []\n").is_err());
    let ok = toml_config("cert = \"a\"\nkey = \"b\"\n").unwrap();
    assert_eq!(ok.client_auth, ClientAuth::Optional);
    let _ = std::fs::remove_dir_all(&p.dir);
}

fn toml_config(text: &str) -> Result<TlsConfig, toml::de::Error> {
    toml::from_str(text)
}
