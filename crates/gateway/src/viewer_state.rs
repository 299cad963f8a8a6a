//! The browser viewer's state, as the gateway holds it: the sessions, the
//! OpenID Connect client, the demo's provider when configured, and where
//! the viewer is reached. A leaf: the routes that use it are
//! [`crate::viewer`]'s.

use std::net::SocketAddr;
use std::path::Path;

use icr_sign_in::{DemoIdp, Provider, RelyingParty, Sessions, ViewerConfig};
use url::Url;

/// The viewer, as built once the gateway's address is known.
pub struct Viewer {
    pub(crate) sessions: Sessions,
    pub(crate) rp: RelyingParty,
    pub(crate) demo: Option<DemoIdp>,
    public: Url,
}

/// Why the viewer could not be built.
#[derive(Debug, thiserror::Error)]
#[error("[viewer]: {0}")]
pub struct ViewerError(String);

impl Viewer {
    /// The viewer `config` describes, reached at its `public_url` or else
    /// at `bound` (`https` when `tls`). `auth` and `dir` give the demo's
    /// provider its signing key and the client secret's file.
    pub fn new(
        config: &ViewerConfig,
        auth: &icr_auth::AuthConfig,
        dir: &Path,
        bound: SocketAddr,
        tls: bool,
    ) -> Result<Self, ViewerError> {
        let public = match &config.public_url {
            Some(u) => u.clone(),
            None => format!("{}://{bound}/", if tls { "https" } else { "http" }),
        };
        let public = Url::parse(&public).map_err(|e| ViewerError(format!("public_url: {e}")))?;
        let secret = match &config.oidc.client_secret_file {
            Some(f) => Some(
                std::fs::read_to_string(dir.join(f))
                    .map(|s| s.trim().to_owned())
                    .map_err(|e| ViewerError(format!("client_secret_file: {e}")))?,
            ),
            None => None,
        };
        let (demo, provider) = if config.oidc.demo {
            let signer = icr_auth::Signer::load(auth, dir)
                .map_err(|e| ViewerError(format!("{}: {}", e.key, e.message)))?
                .filter(|s| s.issuer() == config.oidc.issuer)
                .ok_or_else(|| {
                    ViewerError("the demo's provider needs its issuer's signing_key".into())
                })?;
            let at = |p: &str| public.join(p).map_err(|e| ViewerError(e.to_string()));
            let idp = DemoIdp::new(signer, &at("callback")?);
            let provider = Provider::Given {
                authorize: at("demo-idp/authorize")?,
                token: at("demo-idp/token")?,
                jwks: idp.jwks().map_err(|e| ViewerError(e.to_string()))?,
            };
            (Some(idp), provider)
        } else {
            (None, Provider::Discovered)
        };
        let rp = RelyingParty::new(&config.oidc, &public, secret, provider, config.max_sessions)
            .map_err(|e| ViewerError(e.to_string()))?;
        Ok(Self {
            sessions: Sessions::new(config.session_idle_s, config.max_sessions),
            rp,
            demo,
            public,
        })
    }

    /// Where people reach it.
    pub fn url(&self) -> &Url {
        &self.public
    }

    /// The viewer's gauges, in the Prometheus text format: sessions held
    /// (no label, no patient data).
    pub(crate) fn render_metrics(&self, text: &mut String) {
        use std::fmt::Write as _;
        let _ = write!(
            text,
            "# HELP icr_viewer_sessions Viewer sessions held now (signed in, not yet swept).\n# TYPE icr_viewer_sessions gauge\nicr_viewer_sessions {}\n",
            self.sessions.len()
        );
    }

    /// This gateway's FHIR base, the `iss` of a SMART launch.
    pub(crate) fn fhir_base(&self) -> String {
        format!("{}fhir/r4", self.public)
    }
}
