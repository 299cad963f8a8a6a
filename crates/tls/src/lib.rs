//! TLS on the gateway's listener. Where it sits in the flow: a connection is
//! accepted, the TLS handshake runs here (bounded in time), and the calling
//! system's identity — the subject of the client certificate it presented,
//! verified against the configured client CA — is handed to the request
//! pipeline, which records it in the audit with the user's. A certificate
//! the CA signed but `allowed_clients` does not name is refused inside the
//! handshake with the `access_denied` alert: the calling system is told,
//! and never reaches the HTTP layer.
//!
//! `[tls]` in `gateway.toml`:
//!
//! ```toml
//! [tls]
//! cert = "tls/gateway.crt.pem"        # the chain, leaf first
//! key = "tls/gateway.key.pem"         # PKCS#8, PKCS#1 or SEC1 PEM
//! client_ca = "tls/clients-ca.pem"    # verify calling systems' certificates
//! client_auth = "optional"            # or "required" (needs client_ca)
//! allowed_clients = ["portal.example.nhs.uk"]  # subject CN or DNS SAN; empty: any the CA signed
//! ```
//!
//! Only TLS 1.2 and 1.3 with rustls's safe defaults; ALPN `h2` and
//! `http/1.1`.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use std::cell::RefCell;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{
    CertificateError, DigitallySignedStruct, DistinguishedName, RootCertStore, SignatureScheme,
};
use serde::Deserialize;
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// Longest a TLS handshake may take before the connection is dropped.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Longest calling-system identity recorded (a subject name is attacker
/// influenced only through a CA we trust, but is bounded anyway).
const MAX_IDENTITY: usize = 512;

/// Most names in `allowed_clients`.
const MAX_ALLOWED: usize = 10_000;

/// `[tls]` in `gateway.toml`: paths relative to the config directory.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// The server certificate chain (PEM), leaf first.
    pub cert: PathBuf,
    /// The server's private key (PEM).
    pub key: PathBuf,
    /// CA certificates (PEM) that sign calling systems' client
    /// certificates; without it no client certificate is asked for.
    #[serde(default)]
    pub client_ca: Option<PathBuf>,
    /// Whether a client certificate is required or only recorded when
    /// presented.
    #[serde(default)]
    pub client_auth: ClientAuth,
    /// Calling systems allowed to connect, by subject common name or DNS
    /// subject-alternative name; empty: any certificate `client_ca` signed.
    /// A non-empty list implies `client_auth = "required"`.
    #[serde(default)]
    pub allowed_clients: Vec<String>,
}

/// Whether calling systems must present a client certificate.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ClientAuth {
    /// Recorded when presented (and verified); connections without one are
    /// accepted.
    #[default]
    Optional,
    /// Connections without a valid client certificate are refused in the
    /// handshake.
    Required,
}

/// A problem loading `[tls]`: the key it concerns and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {message}")]
pub struct TlsConfigError {
    /// The key in `gateway.toml` (`tls.cert`, …).
    pub key: String,
    /// What is wrong.
    pub message: String,
}

fn config_error(key: &str, message: impl Into<String>) -> TlsConfigError {
    TlsConfigError {
        key: key.into(),
        message: message.into(),
    }
}

/// Why an accepted connection did not become a TLS session.
#[derive(Debug, thiserror::Error)]
pub enum AcceptError {
    /// The handshake failed (bad or missing client certificate, protocol
    /// error, the peer went away).
    #[error("TLS handshake failed: {0}")]
    Handshake(#[from] std::io::Error),
    /// The handshake took longer than [`HANDSHAKE_TIMEOUT`].
    #[error("TLS handshake timed out")]
    Timeout,
    /// The client's certificate is valid but not on the allow-list: the
    /// handshake was refused with the `access_denied` alert.
    #[error("client certificate {0} is not among the allowed clients")]
    NotAllowed(ClientIdentity),
}

/// The calling system, as its verified client certificate names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientIdentity {
    /// The subject distinguished name (`CN=…, O=…`).
    pub subject: String,
    /// The subject's common names.
    pub common_names: Vec<String>,
    /// DNS names in the subject alternative name extension.
    pub dns_names: Vec<String>,
}

impl fmt::Display for ClientIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.subject)
    }
}

impl ClientIdentity {
    /// Reads the names from a DER certificate (already verified by the
    /// handshake); `None` if it cannot be parsed.
    pub fn from_der(der: &[u8]) -> Option<Self> {
        let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
        let mut subject = cert.subject().to_string();
        truncate(&mut subject);
        let common_names = cert
            .subject()
            .iter_common_name()
            .filter_map(|cn| cn.as_str().ok())
            .map(str::to_owned)
            .collect();
        let dns_names = match cert.subject_alternative_name() {
            Ok(Some(san)) => san
                .value
                .general_names
                .iter()
                .filter_map(|n| match n {
                    x509_parser::extensions::GeneralName::DNSName(d) => Some((*d).to_owned()),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        };
        Some(Self {
            subject,
            common_names,
            dns_names,
        })
    }

    fn is_named(&self, name: &str) -> bool {
        self.common_names
            .iter()
            .chain(&self.dns_names)
            .any(|n| n.eq_ignore_ascii_case(name))
    }
}

fn truncate(s: &mut String) {
    if s.len() > MAX_IDENTITY {
        let mut end = MAX_IDENTITY;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
}

tokio::task_local! {
    /// The identity the allow-list refused during the handshake that
    /// [`ServerTls::accept`] is running (the verifier is shared by every
    /// connection; the task it runs in is not), so that the refusal names it.
    static REFUSED: RefCell<Option<ClientIdentity>>;
}

/// Verifies a client certificate as WebPKI does (it chains to `client_ca`,
/// is within its validity and is for client authentication), then checks
/// `allowed_clients`: a certificate the list does not name fails the
/// handshake with `ApplicationVerificationFailure`, which rustls sends as
/// the `access_denied` alert (RFC 8446 §6.2: "a valid certificate was
/// received, but … the sender decided not to proceed").
#[derive(Debug)]
struct AllowListVerifier {
    chain: Arc<dyn ClientCertVerifier>,
    allowed: Arc<[String]>,
}

impl ClientCertVerifier for AllowListVerifier {
    fn offer_client_auth(&self) -> bool {
        self.chain.offer_client_auth()
    }

    fn client_auth_mandatory(&self) -> bool {
        self.chain.client_auth_mandatory()
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.chain.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let verified = self
            .chain
            .verify_client_cert(end_entity, intermediates, now)?;
        match ClientIdentity::from_der(end_entity) {
            Some(id) if self.allowed.iter().any(|n| id.is_named(n)) => Ok(verified),
            refused => {
                // Outside accept() (no task-local) there is no one to tell.
                let _ = REFUSED.try_with(|slot| *slot.borrow_mut() = refused);
                Err(rustls::Error::InvalidCertificate(
                    CertificateError::ApplicationVerificationFailure,
                ))
            }
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.chain.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.chain.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.chain.supported_verify_schemes()
    }
}

/// The listener's TLS, ready to accept connections.
#[derive(Clone)]
pub struct ServerTls {
    acceptor: TlsAcceptor,
    allowed: usize,
    verifies_clients: bool,
}

impl fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerTls")
            .field("verifies_clients", &self.verifies_clients)
            .field("allowed_clients", &self.allowed)
            .finish_non_exhaustive()
    }
}

impl ServerTls {
    /// Loads the certificates and keys `config` names (relative to `dir`)
    /// and checks that they fit together: every problem names its key.
    pub fn load(config: &TlsConfig, dir: &Path) -> Result<Self, TlsConfigError> {
        let cert_path = dir.join(&config.cert);
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&cert_path)
            .map_err(|e| config_error("tls.cert", format!("{}: {e}", cert_path.display())))?
            .collect::<Result<_, _>>()
            .map_err(|e| config_error("tls.cert", format!("{}: {e}", cert_path.display())))?;
        if chain.is_empty() {
            return Err(config_error(
                "tls.cert",
                format!("{}: no certificate in the file", cert_path.display()),
            ));
        }
        let key_path = dir.join(&config.key);
        let key = PrivateKeyDer::from_pem_file(&key_path)
            .map_err(|e| config_error("tls.key", format!("{}: {e}", key_path.display())))?;
        if config.allowed_clients.len() > MAX_ALLOWED {
            return Err(config_error(
                "tls.allowed_clients",
                format!("at most {MAX_ALLOWED} names"),
            ));
        }
        if let Some(bad) = config
            .allowed_clients
            .iter()
            .find(|n| n.is_empty() || n.len() > 253 || n.chars().any(char::is_control))
        {
            return Err(config_error(
                "tls.allowed_clients",
                format!("{bad:?} is not a host or common name"),
            ));
        }
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| config_error("tls", e.to_string()))?;
        let required =
            config.client_auth == ClientAuth::Required || !config.allowed_clients.is_empty();
        let builder = match &config.client_ca {
            None if required => {
                return Err(config_error(
                    "tls.client_ca",
                    "client certificates are required (client_auth or allowed_clients) but no client_ca says who may sign them",
                ));
            }
            None => builder.with_no_client_auth(),
            Some(ca) => {
                let ca_path = dir.join(ca);
                let mut roots = RootCertStore::empty();
                let cas = CertificateDer::pem_file_iter(&ca_path).map_err(|e| {
                    config_error("tls.client_ca", format!("{}: {e}", ca_path.display()))
                })?;
                for c in cas {
                    let c = c.map_err(|e| {
                        config_error("tls.client_ca", format!("{}: {e}", ca_path.display()))
                    })?;
                    roots.add(c).map_err(|e| {
                        config_error("tls.client_ca", format!("{}: {e}", ca_path.display()))
                    })?;
                }
                if roots.is_empty() {
                    return Err(config_error(
                        "tls.client_ca",
                        format!("{}: no certificate in the file", ca_path.display()),
                    ));
                }
                let verifier =
                    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
                let verifier = if required {
                    verifier
                } else {
                    verifier.allow_unauthenticated()
                };
                let verifier = verifier
                    .build()
                    .map_err(|e| config_error("tls.client_ca", e.to_string()))?;
                if config.allowed_clients.is_empty() {
                    builder.with_client_cert_verifier(verifier)
                } else {
                    builder.with_client_cert_verifier(Arc::new(AllowListVerifier {
                        chain: verifier,
                        allowed: config.allowed_clients.clone().into(),
                    }))
                }
            }
        };
        let mut server = builder.with_single_cert(chain, key).map_err(|e| {
            config_error(
                "tls.key",
                format!("does not fit the certificate in tls.cert: {e}"),
            )
        })?;
        server.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Self {
            acceptor: TlsAcceptor::from(Arc::new(server)),
            allowed: config.allowed_clients.len(),
            verifies_clients: config.client_ca.is_some(),
        })
    }

    /// Runs the handshake on an accepted connection (at most
    /// [`HANDSHAKE_TIMEOUT`]) and returns the session with the calling
    /// system's identity, if it presented a certificate. A calling system
    /// outside `allowed_clients` has been sent `access_denied` and is
    /// named in [`AcceptError::NotAllowed`].
    pub async fn accept(
        &self,
        tcp: TcpStream,
    ) -> Result<(TlsStream<TcpStream>, Option<ClientIdentity>), AcceptError> {
        let (handshake, refused) = REFUSED
            .scope(RefCell::new(None), async {
                let handshake =
                    tokio::time::timeout(HANDSHAKE_TIMEOUT, self.acceptor.accept(tcp)).await;
                (handshake, REFUSED.with(|slot| slot.borrow_mut().take()))
            })
            .await;
        let stream = match (handshake, refused) {
            (Ok(Ok(stream)), _) => stream,
            (Ok(Err(_)), Some(identity)) => return Err(AcceptError::NotAllowed(identity)),
            (Ok(Err(e)), None) => return Err(AcceptError::Handshake(e)),
            (Err(_), _) => return Err(AcceptError::Timeout),
        };
        let identity = stream
            .get_ref()
            .1
            .peer_certificates()
            .and_then(|chain| chain.first())
            .and_then(|leaf| ClientIdentity::from_der(leaf));
        Ok((stream, identity))
    }
}
