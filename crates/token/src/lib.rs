//! `icr token`: a bearer token for a caller, signed with the key of the
//! issuer in `gateway.toml` that has a `signing_key` (the demo issuer's),
//! so that the demo can be called as the gateway expects to be called. It
//! stands in for an identity provider, ahead of the request flow; the
//! gateway verifies what it mints as any other token (`icr_auth`).

use std::path::{Path, PathBuf};

use icr_auth::{MintClaims, Signer};

/// The lifetimes a token may be minted for, in seconds.
const TTL: std::ops::RangeInclusive<u64> = 60..=86_400;

/// What `icr token` is given.
#[derive(Clone, Debug, clap::Args)]
pub struct Args {
    /// Directory holding gateway.toml, whose [[auth.issuer]] has a signing_key.
    #[arg(long, default_value = "config/demo")]
    pub config: PathBuf,
    /// National RBAC job role code (e.g. R8000), or `patient`.
    #[arg(long)]
    pub role: String,
    /// ODS code of the caller's organisation (e.g. RN3).
    #[arg(long)]
    pub org: String,
    /// User id.
    #[arg(long, default_value = "demo-user")]
    pub sub: String,
    /// User name.
    #[arg(long, default_value = "Demo User")]
    pub name: String,
    /// Purpose of use.
    #[arg(long, default_value = "directcare")]
    pub purpose: String,
    /// For role `patient`: their own NHS number.
    #[arg(long)]
    pub nhs_number: Option<String>,
    /// Lifetime in seconds.
    #[arg(long, default_value_t = 3600)]
    pub ttl: u64,
}

impl Args {
    /// The claims the token carries.
    pub fn claims(&self) -> MintClaims {
        MintClaims {
            sub: self.sub.clone(),
            name: self.name.clone(),
            role: self.role.clone(),
            org: self.org.clone(),
            purpose: self.purpose.clone(),
            nhs_number: self.nhs_number.clone(),
        }
    }
}

/// Why no token was minted.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The lifetime asked for is out of range.
    #[error("--ttl must be between 60 and 86400 seconds")]
    Ttl,
    /// gateway.toml could not be read.
    #[error("cannot read {}: {source}", file.display())]
    Read {
        /// The file.
        file: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// gateway.toml is not a gateway configuration.
    #[error("{0}")]
    Parse(icr_config::ConfigError),
    /// The signing key could not be loaded.
    #[error("{}: {source}", file.display())]
    Key {
        /// The file.
        file: PathBuf,
        /// Why.
        source: icr_auth::KeyError,
    },
    /// No issuer has a signing key.
    #[error(
        "{}: no [[auth.issuer]] has a signing_key: tokens can only be minted for the demo issuer",
        file.display()
    )]
    NoSigningKey {
        /// The file.
        file: PathBuf,
    },
    /// Signing failed.
    #[error("{0}")]
    Mint(String),
}

/// A token for `claims`, valid for `ttl` seconds from now, signed with the
/// signing issuer's key in `dir`/gateway.toml.
pub fn mint(dir: &Path, claims: &MintClaims, ttl: u64) -> Result<String, TokenError> {
    if !TTL.contains(&ttl) {
        return Err(TokenError::Ttl);
    }
    signer(dir)?
        .mint(claims, now(), ttl)
        .map_err(TokenError::Mint)
}

/// The signing issuer's signer, from `dir`/gateway.toml.
fn signer(dir: &Path) -> Result<Signer, TokenError> {
    let file = dir.join("gateway.toml");
    let text = std::fs::read_to_string(&file).map_err(|source| TokenError::Read {
        file: file.clone(),
        source,
    })?;
    let gateway: icr_config::GatewayConfig =
        icr_config::parse_toml(&text, &file).map_err(TokenError::Parse)?;
    match Signer::load(&gateway.auth, dir) {
        Ok(Some(signer)) => Ok(signer),
        Ok(None) => Err(TokenError::NoSigningKey { file }),
        Err(source) => Err(TokenError::Key { file, source }),
    }
}

/// Seconds since the Unix epoch.
fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> MintClaims {
        MintClaims {
            sub: "demo-user".into(),
            name: "Demo User".into(),
            role: "R8000".into(),
            org: "RN3".into(),
            purpose: "directcare".into(),
            nhs_number: None,
        }
    }

    fn demo() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/demo")
    }

    #[test]
    fn the_demo_issuer_mints_a_three_part_token() {
        let token = mint(&demo(), &claims(), 3600).unwrap();
        assert_eq!(token.split('.').count(), 3, "{token}");
    }

    #[test]
    fn a_lifetime_out_of_range_is_refused_before_anything_is_read() {
        for ttl in [0, 59, 86_401] {
            let e = mint(Path::new("/nonexistent"), &claims(), ttl).unwrap_err();
            assert_eq!(e.to_string(), "--ttl must be between 60 and 86400 seconds");
        }
    }

    #[test]
    fn a_directory_without_gateway_toml_is_named_in_the_error() {
        let e = mint(Path::new("/nonexistent"), &claims(), 60).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("cannot read /nonexistent/gateway.toml: "),
            "{e}"
        );
    }

    #[test]
    fn a_configuration_whose_issuers_cannot_sign_says_so() {
        let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/example");
        let e = mint(&example, &claims(), 60).unwrap_err();
        assert!(
            e.to_string().ends_with(
                "gateway.toml: no [[auth.issuer]] has a signing_key: tokens can only be minted for the demo issuer"
            ),
            "{e}"
        );
    }
}
