//! `[viewer]` in gateway.toml: where the viewer is reached, how long its
//! sessions last, and the OpenID provider it signs people in with.

use std::path::PathBuf;

use serde::Deserialize;

fn default_idle() -> u64 {
    15 * 60
}
fn default_max_sessions() -> usize {
    10_000
}
fn default_scopes() -> Vec<String> {
    vec!["openid".into(), "profile".into()]
}
fn default_timeout_ms() -> u64 {
    5_000
}

/// `[viewer]`: the browser viewer, served at `/` and below when present.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ViewerConfig {
    /// The address people reach the gateway at (`https://icr.example.nhs.uk`),
    /// for the sign-in redirect and the SMART `iss`. Absent: the address
    /// the gateway listens on (loopback demos only).
    #[serde(default)]
    pub public_url: Option<String>,
    /// A session unused this long ends, in seconds (60 to 43,200). It also
    /// ends when the ID token it was begun with expires.
    #[serde(default = "default_idle")]
    pub session_idle_s: u64,
    /// Sessions held at once, at most (and as many sign-ins under way).
    #[serde(default = "default_max_sessions")]
    pub max_sessions: usize,
    /// The OpenID provider (`[viewer.oidc]`).
    pub oidc: OidcConfig,
}

/// `[viewer.oidc]`: the OpenID Connect provider people sign in with. Its
/// ID tokens are the caller's credential for every page, so its `issuer`
/// must also be a trusted `[[auth.issuer]]` whose `audience` is
/// `client_id`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcConfig {
    /// The provider's issuer identifier; its discovery document is read
    /// from `{issuer}/.well-known/openid-configuration` at the first
    /// sign-in.
    pub issuer: String,
    /// This gateway's client id at the provider.
    pub client_id: String,
    /// A file holding the client secret, for a confidential client
    /// (relative to the config directory). Absent: a public client, PKCE
    /// alone.
    #[serde(default)]
    pub client_secret_file: Option<PathBuf>,
    /// The scopes asked for (`openid` is always asked).
    #[serde(default = "default_scopes")]
    pub scopes: Vec<String>,
    /// The longest a call to the provider may take, in milliseconds.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// Demonstration only: the gateway itself is the provider, at
    /// `/demo-idp/`, signing as `issuer` with that issuer's `signing_key`,
    /// and a visitor picks who to be. Never set it for a real deployment.
    #[serde(default)]
    pub demo: bool,
}

impl ViewerConfig {
    /// Problems with the values, each naming its key.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if !(60..=43_200).contains(&self.session_idle_s) {
            out.push(("viewer.session_idle_s", "must be 60 to 43200".to_string()));
        }
        if !(1..=1_000_000).contains(&self.max_sessions) {
            out.push(("viewer.max_sessions", "must be 1 to 1000000".to_string()));
        }
        if let Some(u) = &self.public_url {
            match url::Url::parse(u) {
                Ok(u) if matches!(u.scheme(), "http" | "https") && u.path() == "/" => {}
                Ok(_) => out.push((
                    "viewer.public_url",
                    "must be an http(s) origin with no path, e.g. https://icr.example.nhs.uk"
                        .to_string(),
                )),
                Err(e) => out.push(("viewer.public_url", format!("not a URL: {e}"))),
            }
        }
        if url::Url::parse(&self.oidc.issuer).is_err() {
            out.push(("viewer.oidc.issuer", "must be a URL".to_string()));
        }
        if self.oidc.client_id.trim().is_empty() {
            out.push(("viewer.oidc.client_id", "must not be empty".to_string()));
        }
        if !(100..=60_000).contains(&self.oidc.timeout_ms) {
            out.push(("viewer.oidc.timeout_ms", "must be 100 to 60000".to_string()));
        }
        out
    }
}
