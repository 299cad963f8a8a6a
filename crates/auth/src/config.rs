//! `[auth]` in gateway.toml, and loading the keys it names.

use std::path::{Path, PathBuf};

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::Deserialize;

fn default_skew() -> u64 {
    60
}
fn default_max_token_bytes() -> usize {
    8 * 1024
}
fn default_max_lifetime() -> u64 {
    24 * 60 * 60
}

/// `[auth]`: the issuers whose tokens are trusted.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// The trusted issuers.
    #[serde(default)]
    pub issuer: Vec<IssuerConfig>,
    /// Clock skew tolerated on `exp`, `nbf` and `iat`, in seconds (at most 300).
    #[serde(default = "default_skew")]
    pub clock_skew_s: u64,
    /// The longest token accepted, in bytes.
    #[serde(default = "default_max_token_bytes")]
    pub max_token_bytes: usize,
    /// The longest lifetime a token may have, in seconds: `exp` minus
    /// `iat` (or minus now, for a token without `iat`); 60 to 604,800.
    #[serde(default = "default_max_lifetime")]
    pub max_token_lifetime_s: u64,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            issuer: Vec::new(),
            clock_skew_s: default_skew(),
            max_token_bytes: default_max_token_bytes(),
            max_token_lifetime_s: default_max_lifetime(),
        }
    }
}

/// `[[auth.issuer]]`: one identity provider.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuerConfig {
    /// The `iss` its tokens carry.
    pub iss: String,
    /// The `aud` its tokens must carry for this gateway.
    pub audience: String,
    /// Its verification keys as PEM files.
    #[serde(default)]
    pub key: Vec<KeyConfig>,
    /// Its verification keys as a JWKS file (keys need `kid` and `alg`).
    #[serde(default)]
    pub jwks: Option<PathBuf>,
    /// A private key (PEM, PKCS#8) that `icr token` signs with: for a demo
    /// issuer only; never configure one for a real identity provider.
    #[serde(default)]
    pub signing_key: Option<PathBuf>,
}

/// `[[auth.issuer.key]]`: one PEM public key.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyConfig {
    /// The key id tokens name in their header (`kid`).
    pub kid: String,
    /// `RS256` or `ES256`.
    pub alg: String,
    /// The PEM file of the public key, relative to the config directory.
    pub pem: PathBuf,
}

/// Why a configured key could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {message}")]
pub struct KeyError {
    /// The config key at fault (`issuer[0].key[1].pem`).
    pub key: String,
    /// What is wrong.
    pub message: String,
}

/// One loaded verification key.
#[derive(Clone)]
pub(crate) struct LoadedKey {
    pub kid: String,
    pub alg: Algorithm,
    pub key: DecodingKey,
}

pub(crate) fn parse_alg(alg: &str) -> Option<Algorithm> {
    match alg {
        "RS256" => Some(Algorithm::RS256),
        "ES256" => Some(Algorithm::ES256),
        _ => None,
    }
}

/// Reads the keys of issuer `i` from files relative to `dir`.
pub(crate) fn load_keys(
    i: usize,
    issuer: &IssuerConfig,
    dir: &Path,
) -> Result<Vec<LoadedKey>, KeyError> {
    let mut keys = Vec::new();
    for (k, key) in issuer.key.iter().enumerate() {
        let at = format!("auth.issuer[{i}].key[{k}]");
        let alg = parse_alg(&key.alg).ok_or_else(|| KeyError {
            key: format!("{at}.alg"),
            message: format!("{:?} is not allowed: use RS256 or ES256", key.alg),
        })?;
        let path = dir.join(&key.pem);
        let pem = std::fs::read(&path).map_err(|e| KeyError {
            key: format!("{at}.pem"),
            message: format!("cannot read {}: {e}", path.display()),
        })?;
        let decoding = match alg {
            Algorithm::RS256 => DecodingKey::from_rsa_pem(&pem),
            _ => DecodingKey::from_ec_pem(&pem),
        }
        .map_err(|e| KeyError {
            key: format!("{at}.pem"),
            message: format!(
                "{} is not a {} public key in PEM: {e}",
                path.display(),
                key.alg
            ),
        })?;
        keys.push(LoadedKey {
            kid: key.kid.clone(),
            alg,
            key: decoding,
        });
    }
    if let Some(jwks) = &issuer.jwks {
        let at = format!("auth.issuer[{i}].jwks");
        let path = dir.join(jwks);
        let text = std::fs::read_to_string(&path).map_err(|e| KeyError {
            key: at.clone(),
            message: format!("cannot read {}: {e}", path.display()),
        })?;
        let set: JwkSet = serde_json::from_str(&text).map_err(|e| KeyError {
            key: at.clone(),
            message: format!("{} is not a JWKS: {e}", path.display()),
        })?;
        for (n, jwk) in set.keys.iter().enumerate() {
            let kid = jwk.common.key_id.clone().ok_or_else(|| KeyError {
                key: format!("{at} keys[{n}]"),
                message: "a key has no kid".into(),
            })?;
            let alg = jwk
                .common
                .key_algorithm
                .and_then(|a| parse_alg(&format!("{a:?}")))
                .ok_or_else(|| KeyError {
                    key: format!("{at} keys[{n}]"),
                    message: "a key's alg must be RS256 or ES256".into(),
                })?;
            let key = DecodingKey::from_jwk(jwk).map_err(|e| KeyError {
                key: format!("{at} keys[{n}]"),
                message: format!("unusable key: {e}"),
            })?;
            keys.push(LoadedKey { kid, alg, key });
        }
    }
    if keys.is_empty() {
        return Err(KeyError {
            key: format!("auth.issuer[{i}]"),
            message: "the issuer has no key: add [[auth.issuer.key]] or jwks".into(),
        });
    }
    Ok(keys)
}
