//! Verifying tokens, and minting them for the demo.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Mutex;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use icr_model::{NhsNumber, OdsCode};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::config::{AuthConfig, KeyError, LoadedKey, load_keys};

/// Who is asking, as their verified token says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// The issuer that vouches for them.
    pub issuer: String,
    /// Their user id.
    pub sub: String,
    /// Their name (the `sub` when the token gives none).
    pub name: String,
    /// Their national RBAC job role code, or `patient`.
    pub role: String,
    /// The organisation the request comes from.
    pub org: OdsCode,
    /// Why they are asking (default `directcare`).
    pub purpose: String,
    /// For a patient: their own NHS number.
    pub nhs_number: Option<NhsNumber>,
    /// When the token expires (seconds since the Unix epoch).
    pub expires_at: u64,
}

/// Why a request was not authenticated. The message never echoes the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No `Authorization` header.
    #[error("no Authorization header: send Authorization: Bearer <JWT>")]
    Missing,
    /// The header is not `Bearer <token>`.
    #[error("the Authorization header is not \"Bearer <JWT>\"")]
    NotBearer,
    /// The token is longer than allowed.
    #[error("the token is longer than {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The token is not a well-formed JWT.
    #[error("the token is not a well-formed JWT: {0}")]
    Malformed(&'static str),
    /// The algorithm is refused (none, HMAC, anything but RS256/ES256, or
    /// not the one the key is for).
    #[error(
        "algorithm {0} is refused: only RS256 and ES256 signed by a trusted issuer's key are accepted"
    )]
    Algorithm(String),
    /// The issuer is not trusted.
    #[error("the token's issuer is not trusted")]
    UnknownIssuer,
    /// No trusted key matches the token's `kid`.
    #[error("no trusted key matches the token's key id")]
    UnknownKey,
    /// The signature does not verify.
    #[error("the token's signature does not verify")]
    Signature,
    /// The token is not meant for this gateway.
    #[error("the token's audience is not this gateway")]
    Audience,
    /// The token has expired.
    #[error("the token has expired")]
    Expired,
    /// The token is not valid yet.
    #[error("the token is not valid yet (nbf)")]
    NotYetValid,
    /// The token is valid for longer than the configured maximum.
    #[error("the token is valid for longer than {max_s} seconds (exp minus iat)")]
    LifetimeTooLong {
        /// The maximum, in seconds.
        max_s: u64,
    },
    /// The token says it was issued in the future (iat).
    #[error("the token was issued in the future (iat)")]
    IssuedInFuture,
    /// The header marks extensions critical (`crit`) that are not understood.
    #[error(
        "the token's header marks extensions critical (crit) that this gateway does not understand"
    )]
    CriticalHeader,
    /// A claim is missing or unusable.
    #[error("claim {name}: {why}")]
    Claim {
        /// The claim.
        name: &'static str,
        /// What is wrong with it.
        why: &'static str,
    },
}

impl AuthError {
    /// A short machine-readable reason code.
    pub fn reason(&self) -> &'static str {
        match self {
            AuthError::Missing => "missing_token",
            AuthError::NotBearer => "not_bearer",
            AuthError::TooLarge { .. } => "token_too_large",
            AuthError::Malformed(_) => "malformed_token",
            AuthError::Algorithm(_) => "algorithm_refused",
            AuthError::UnknownIssuer => "unknown_issuer",
            AuthError::UnknownKey => "unknown_key",
            AuthError::Signature => "bad_signature",
            AuthError::Audience => "wrong_audience",
            AuthError::Expired => "expired",
            AuthError::NotYetValid => "not_yet_valid",
            AuthError::LifetimeTooLong { .. } => "lifetime_too_long",
            AuthError::IssuedInFuture => "issued_in_future",
            AuthError::CriticalHeader => "unknown_crit",
            AuthError::Claim { .. } => "bad_claim",
        }
    }
}

struct Issuer {
    iss: String,
    audience: String,
    keys: Vec<LoadedKey>,
}

/// Verifies bearer tokens against the trusted issuers' keys.
pub struct Verifier {
    issuers: Vec<Issuer>,
    skew: u64,
    max_bytes: usize,
    max_lifetime: u64,
    verified: Mutex<Verified>,
}

/// Most tokens remembered as verified; a portal sends one user's token
/// with each of their requests, so this covers that many active users.
pub const VERIFIED_CAPACITY: usize = 10_000;

/// Tokens whose signature and claims were verified, by their SHA-256, with
/// the identity they carry: a token seen again skips the signature check
/// (an ES256 verification was an eighth of a warm request's time) and only
/// its expiry is checked again. Only verified tokens enter, so a caller
/// cannot fill it with forged ones; it belongs to one set of keys (a
/// reloaded configuration builds a new verifier) and is bounded.
#[derive(Default)]
struct Verified {
    by_digest: HashMap<[u8; 32], Identity>,
}

impl Verified {
    fn get(&self, digest: &[u8; 32]) -> Option<Identity> {
        self.by_digest.get(digest).cloned()
    }

    fn insert(&mut self, digest: [u8; 32], identity: Identity, now: u64, skew: u64) {
        if self.by_digest.len() >= VERIFIED_CAPACITY {
            self.by_digest
                .retain(|_, i| i.expires_at.saturating_add(skew) >= now);
        }
        if self.by_digest.len() >= VERIFIED_CAPACITY {
            // Still full of live tokens: start again rather than grow.
            self.by_digest.clear();
        }
        self.by_digest.insert(digest, identity);
    }

    fn remove(&mut self, digest: &[u8; 32]) {
        self.by_digest.remove(digest);
    }
}

/// P-256's group order n, big-endian.
pub(crate) const P256_N: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
];

/// (n - 1) / 2: an `s` above it is in high-S form.
pub(crate) const P256_HALF_N: [u8; 32] = [
    0x7f, 0xff, 0xff, 0xff, 0x80, 0x00, 0x00, 0x00, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xde, 0x73, 0x7d, 0x56, 0xd3, 0x8b, 0xcf, 0x42, 0x79, 0xdc, 0xe5, 0x61, 0x7e, 0x31, 0x92, 0xa8,
];

/// The key a token is remembered by. ECDSA signatures are malleable: if
/// (r, s) signs a message, so does (r, n - s), so an ES256 token has a
/// twin with the same header and claims that verifies as well. Both are
/// accepted (RFC 7518 does not ask for low-S, and common signers give
/// high-S half the time), so both must be one token to the memo: the key
/// is the SHA-256 of the header and payload as sent and the signature
/// with `s` in low-S form. A 64-byte signature (r ‖ s, ES256's form) in
/// canonical base64url with 0 < s < n is normalised; any other signature
/// is keyed as sent, and fails verification if it was ever malleated.
pub(crate) fn memo_key(token: &str) -> [u8; 32] {
    let mut hash = Sha256::new();
    let Some((message, signature)) = token.rsplit_once('.') else {
        hash.update(b"raw:");
        hash.update(token.as_bytes());
        return hash.finalize().into();
    };
    hash.update(message.as_bytes());
    match URL_SAFE_NO_PAD
        .decode(signature)
        .ok()
        .and_then(|raw| <[u8; 64]>::try_from(raw).ok())
    {
        Some(mut rs) => {
            low_s(&mut rs);
            hash.update(b".ecdsa:");
            hash.update(rs);
        }
        None => {
            hash.update(b".raw:");
            hash.update(signature.as_bytes());
        }
    }
    hash.finalize().into()
}

/// Puts a P-256 signature r ‖ s in low-S form: an `s` above (n - 1) / 2
/// and below n becomes n - s. Out-of-range values are left alone.
pub(crate) fn low_s(rs: &mut [u8; 64]) {
    let mut s = [0u8; 32];
    s.copy_from_slice(&rs[32..]);
    if s <= P256_HALF_N || s >= P256_N {
        return;
    }
    rs[32..].copy_from_slice(&n_minus(&s));
}

/// n - s, for s <= n (big-endian): the `s` of an ECDSA signature's twin.
pub(crate) fn n_minus(s: &[u8; 32]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut borrow = 0u16;
    for i in (0..32).rev() {
        let take = u16::from(s[i]) + borrow;
        let from = u16::from(P256_N[i]);
        let (digit, next) = if from >= take {
            (from - take, 0)
        } else {
            (from + 256 - take, 1)
        };
        // digit < 256 in both arms.
        out[i] = digit as u8;
        borrow = next;
    }
    out
}

#[derive(Deserialize)]
struct RawHeader {
    #[serde(default)]
    alg: Option<String>,
    #[serde(default)]
    kid: Option<String>,
    /// Whether the header has `crit` at all (any value, even `null`).
    #[serde(default, deserialize_with = "present")]
    crit: bool,
}

/// True for any value: for header parameters whose presence is what counts.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    serde::de::IgnoredAny::deserialize(d).map(|_| true)
}

#[derive(Deserialize)]
struct PeekIssuer {
    #[serde(default)]
    iss: Option<String>,
}

/// The claims of a token, as sent.
#[derive(Clone, Debug, Deserialize)]
pub(crate) struct Claims {
    #[serde(default)]
    sub: Option<String>,
    #[serde(default)]
    pub(crate) exp: Option<u64>,
    #[serde(default)]
    pub(crate) iat: Option<u64>,
    #[serde(default)]
    pub(crate) nbf: Option<u64>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    org: Option<String>,
    #[serde(default)]
    purpose: Option<String>,
    #[serde(default)]
    nhs_number: Option<String>,
}

/// Reads a token's header (the first, base64url, part): its algorithm,
/// which must be RS256 or ES256, and its key id; a header with `crit` is
/// refused. Pure: nothing is trusted yet.
pub(crate) fn read_header(part: &str) -> Result<(String, Option<String>), AuthError> {
    let header: RawHeader = decode_part(part, "the header is not base64url JSON")?;
    let alg = header.alg.unwrap_or_default();
    if !matches!(alg.as_str(), "RS256" | "ES256") {
        return Err(AuthError::Algorithm(if alg.is_empty() {
            "(none given)".into()
        } else {
            alg.chars().take(16).collect()
        }));
    }
    // RFC 7515 §4.1.11: extensions listed in crit must be understood,
    // and this verifier understands none; an empty list is not allowed.
    if header.crit {
        return Err(AuthError::CriticalHeader);
    }
    Ok((alg, header.kid))
}

fn decode_part<T: serde::de::DeserializeOwned>(
    part: &str,
    what: &'static str,
) -> Result<T, AuthError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part.trim_end_matches('='))
        .map_err(|_| AuthError::Malformed(what))?;
    serde_json::from_slice(&bytes).map_err(|_| AuthError::Malformed(what))
}

impl Verifier {
    /// The trusted issuers, as (`iss`, audience), for discovery documents.
    pub fn issuers(&self) -> impl Iterator<Item = (&str, &str)> {
        self.issuers
            .iter()
            .map(|i| (i.iss.as_str(), i.audience.as_str()))
    }

    /// Loads the issuers' keys from files relative to `dir`.
    pub fn load(config: &AuthConfig, dir: &Path) -> Result<Self, KeyError> {
        if config.issuer.is_empty() {
            return Err(KeyError {
                key: "auth.issuer".into(),
                message: "no trusted issuer: every request needs a token, so at least one [[auth.issuer]] is required".into(),
            });
        }
        if config.clock_skew_s > 300 {
            return Err(KeyError {
                key: "auth.clock_skew_s".into(),
                message: "at most 300 seconds".into(),
            });
        }
        if !(60..=604_800).contains(&config.max_token_lifetime_s) {
            return Err(KeyError {
                key: "auth.max_token_lifetime_s".into(),
                message: "between 60 and 604800 seconds".into(),
            });
        }
        if !(512..=65_536).contains(&config.max_token_bytes) {
            return Err(KeyError {
                key: "auth.max_token_bytes".into(),
                message: "between 512 and 65536".into(),
            });
        }
        let mut issuers = Vec::new();
        let mut kids = HashSet::new();
        for (i, c) in config.issuer.iter().enumerate() {
            let keys = load_keys(i, c, dir)?;
            for k in &keys {
                if !kids.insert(k.kid.clone()) {
                    return Err(KeyError {
                        key: format!("auth.issuer[{i}]"),
                        message: format!(
                            "key id {:?} is used twice; key ids must be unique",
                            k.kid
                        ),
                    });
                }
            }
            issuers.push(Issuer {
                iss: c.iss.clone(),
                audience: c.audience.clone(),
                keys,
            });
        }
        Ok(Self {
            issuers,
            skew: config.clock_skew_s,
            max_bytes: config.max_token_bytes,
            max_lifetime: config.max_token_lifetime_s,
            verified: Mutex::default(),
        })
    }

    /// A verifier of keys already loaded, as `(iss, audience, keys)`, with
    /// `config`'s bounds (its issuer list is not read): for the fuzzing
    /// entry points, which have no files.
    pub(crate) fn from_loaded(
        config: &AuthConfig,
        issuers: Vec<(String, String, Vec<LoadedKey>)>,
    ) -> Self {
        Self {
            issuers: issuers
                .into_iter()
                .map(|(iss, audience, keys)| Issuer {
                    iss,
                    audience,
                    keys,
                })
                .collect(),
            skew: config.clock_skew_s,
            max_bytes: config.max_token_bytes,
            max_lifetime: config.max_token_lifetime_s,
            verified: Mutex::default(),
        }
    }

    /// The clock skew tolerated and the longest lifetime accepted, in
    /// seconds.
    pub(crate) fn time_bounds(&self) -> (u64, u64) {
        (self.skew, self.max_lifetime)
    }

    /// How many verified tokens are remembered now.
    pub fn remembered(&self) -> usize {
        self.verified.lock().map_or(0, |v| v.by_digest.len())
    }

    /// Verifies the value of an `Authorization` header at time `now`
    /// (seconds since the Unix epoch).
    pub fn verify_header(
        &self,
        authorization: Option<&str>,
        now: u64,
    ) -> Result<Identity, AuthError> {
        let value = authorization.ok_or(AuthError::Missing)?;
        // RFC 7235 §2.1: the scheme name is case-insensitive and is
        // followed by one or more spaces.
        let (scheme, token) = value.split_once(' ').ok_or(AuthError::NotBearer)?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(AuthError::NotBearer);
        }
        self.verify(token.trim(), now)
    }

    /// Verifies a token at time `now` (seconds since the Unix epoch). A
    /// token verified before is recognised by its SHA-256 (its ECDSA
    /// signature taken in low-S form, see [`memo_key`]) and only its expiry
    /// is checked again.
    pub fn verify(&self, token: &str, now: u64) -> Result<Identity, AuthError> {
        if token.len() > self.max_bytes {
            return Err(AuthError::TooLarge {
                limit: self.max_bytes,
            });
        }
        let digest = memo_key(token);
        let known = self
            .verified
            .lock()
            .map_or(None, |verified| verified.get(&digest));
        if let Some(identity) = known {
            if identity.expires_at.saturating_add(self.skew) < now {
                if let Ok(mut verified) = self.verified.lock() {
                    verified.remove(&digest);
                }
                return Err(AuthError::Expired);
            }
            return Ok(identity);
        }
        let identity = self.verify_signed(token, now)?;
        if let Ok(mut verified) = self.verified.lock() {
            verified.insert(digest, identity.clone(), now, self.skew);
        }
        Ok(identity)
    }

    /// Checks the signature and every claim of `token` at time `now`.
    fn verify_signed(&self, token: &str, now: u64) -> Result<Identity, AuthError> {
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(_sig), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(AuthError::Malformed("expected three dot-separated parts"));
        };
        let (alg, kid) = read_header(header)?;
        // The issuer named in the (not yet verified) payload only chooses
        // which keys to try; nothing is trusted until the signature is.
        let peek: PeekIssuer = decode_part(payload, "the payload is not base64url JSON")?;
        let issuer = self
            .issuers
            .iter()
            .find(|i| Some(&i.iss) == peek.iss.as_ref())
            .ok_or(AuthError::UnknownIssuer)?;
        let key = match &kid {
            Some(kid) => issuer.keys.iter().find(|k| &k.kid == kid),
            None if issuer.keys.len() == 1 => issuer.keys.first(),
            None => None,
        }
        .ok_or(AuthError::UnknownKey)?;
        let alg_of_key = match key.alg {
            Algorithm::RS256 => "RS256",
            _ => "ES256",
        };
        if alg != alg_of_key {
            return Err(AuthError::Algorithm(alg));
        }
        let mut validation = Validation::new(key.alg);
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.set_audience(&[&issuer.audience]);
        validation.set_issuer(&[&issuer.iss]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let data =
            jsonwebtoken::decode::<Claims>(token, &key.key, &validation).map_err(|e| {
                match e.kind() {
                    ErrorKind::InvalidSignature => AuthError::Signature,
                    ErrorKind::InvalidAudience => AuthError::Audience,
                    ErrorKind::InvalidIssuer => AuthError::UnknownIssuer,
                    ErrorKind::InvalidAlgorithm => AuthError::Algorithm(alg.clone()),
                    ErrorKind::MissingRequiredClaim(c) => AuthError::Claim {
                        name: match c.as_str() {
                            "exp" => "exp",
                            "iss" => "iss",
                            "aud" => "aud",
                            _ => "sub",
                        },
                        why: "missing",
                    },
                    ErrorKind::Json(_) | ErrorKind::InvalidClaimFormat(_) => AuthError::Malformed(
                        "the claims are not what a token of this gateway carries",
                    ),
                    _ => AuthError::Malformed("the token cannot be decoded"),
                }
            })?;
        self.check_claims(&issuer.iss, data.claims, now)
    }

    /// Checks the claims of a token whose signature, `iss` and `aud` have
    /// verified, at time `now`: the times (`exp`, `nbf`, `iat`, lifetime)
    /// with the clock skew, then the claims the ICR uses. Pure.
    pub(crate) fn check_claims(
        &self,
        iss: &str,
        c: Claims,
        now: u64,
    ) -> Result<Identity, AuthError> {
        let exp = c.exp.ok_or(AuthError::Claim {
            name: "exp",
            why: "missing",
        })?;
        let sub = c.sub.ok_or(AuthError::Claim {
            name: "sub",
            why: "missing",
        })?;
        if exp.saturating_add(self.skew) < now {
            return Err(AuthError::Expired);
        }
        if c.nbf.is_some_and(|nbf| nbf > now.saturating_add(self.skew)) {
            return Err(AuthError::NotYetValid);
        }
        if c.iat.is_some_and(|iat| iat > now.saturating_add(self.skew)) {
            return Err(AuthError::IssuedInFuture);
        }
        // The lifetime the issuer gave; for a token without iat (optional
        // in RFC 7519), the lifetime it has left.
        if exp.saturating_sub(c.iat.unwrap_or(now)) > self.max_lifetime {
            return Err(AuthError::LifetimeTooLong {
                max_s: self.max_lifetime,
            });
        }
        let bounded = |s: &str, max: usize| {
            !s.trim().is_empty() && s.len() <= max && !s.chars().any(char::is_control)
        };
        if !bounded(&sub, 256) {
            return Err(AuthError::Claim {
                name: "sub",
                why: "empty, too long or with control characters",
            });
        }
        let role = c.role.ok_or(AuthError::Claim {
            name: "role",
            why: "missing",
        })?;
        if role.is_empty()
            || role.len() > 32
            || !role
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_')
        {
            return Err(AuthError::Claim {
                name: "role",
                why: "not a role code",
            });
        }
        let org = c.org.ok_or(AuthError::Claim {
            name: "org",
            why: "missing",
        })?;
        let org = OdsCode::parse(&org).map_err(|_| AuthError::Claim {
            name: "org",
            why: "not an ODS code",
        })?;
        let name = match c.name {
            Some(n) if bounded(&n, 256) => n,
            Some(_) => {
                return Err(AuthError::Claim {
                    name: "name",
                    why: "empty, too long or with control characters",
                });
            }
            None => sub.clone(),
        };
        let purpose = match c.purpose {
            Some(p) if bounded(&p, 64) => p,
            Some(_) => {
                return Err(AuthError::Claim {
                    name: "purpose",
                    why: "empty, too long or with control characters",
                });
            }
            None => "directcare".to_string(),
        };
        let nhs_number = c
            .nhs_number
            .map(|n| {
                NhsNumber::parse(&n).map_err(|_| AuthError::Claim {
                    name: "nhs_number",
                    why: "not a valid NHS number",
                })
            })
            .transpose()?;
        if role == "patient" && nhs_number.is_none() {
            return Err(AuthError::Claim {
                name: "nhs_number",
                why: "a patient's token carries their own NHS number",
            });
        }
        Ok(Identity {
            issuer: iss.to_owned(),
            sub,
            name,
            role,
            org,
            purpose,
            nhs_number,
            expires_at: exp,
        })
    }
}

/// What a minted token says.
#[derive(Clone, Debug, Serialize)]
pub struct MintClaims {
    /// User id.
    pub sub: String,
    /// Name.
    pub name: String,
    /// RBAC job role code, or `patient`.
    pub role: String,
    /// ODS code of the organisation.
    pub org: String,
    /// Purpose of use.
    pub purpose: String,
    /// A patient's own NHS number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nhs_number: Option<String>,
}

#[derive(Serialize)]
struct FullClaims<'a> {
    iss: &'a str,
    aud: &'a str,
    iat: u64,
    nbf: u64,
    exp: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    nonce: Option<&'a str>,
    #[serde(flatten)]
    claims: &'a MintClaims,
}

/// Mints tokens with a configured signing key: for the demo issuer and
/// tests only.
pub struct Signer {
    iss: String,
    aud: String,
    kid: String,
    alg: Algorithm,
    key: EncodingKey,
}

impl Signer {
    /// The signer of the first issuer that has a `signing_key`, if any; it
    /// signs as that issuer's first key (same kid and algorithm).
    pub fn load(config: &AuthConfig, dir: &Path) -> Result<Option<Self>, KeyError> {
        let Some((i, issuer)) = config
            .issuer
            .iter()
            .enumerate()
            .find(|(_, i)| i.signing_key.is_some())
        else {
            return Ok(None);
        };
        let at = format!("auth.issuer[{i}].signing_key");
        let first = issuer.key.first().ok_or_else(|| KeyError {
            key: at.clone(),
            message: "a signing key needs a [[auth.issuer.key]] (its kid and alg) to sign as"
                .into(),
        })?;
        let alg = crate::config::parse_alg(&first.alg).ok_or_else(|| KeyError {
            key: at.clone(),
            message: "RS256 or ES256 only".into(),
        })?;
        let path = dir.join(issuer.signing_key.as_deref().unwrap_or(Path::new("")));
        let pem = std::fs::read(&path).map_err(|e| KeyError {
            key: at.clone(),
            message: format!("cannot read {}: {e}", path.display()),
        })?;
        let key = match alg {
            Algorithm::RS256 => EncodingKey::from_rsa_pem(&pem),
            _ => EncodingKey::from_ec_pem(&pem),
        }
        .map_err(|e| KeyError {
            key: at,
            message: format!(
                "{} is not a PKCS#8 {} private key: {e}",
                path.display(),
                first.alg
            ),
        })?;
        Ok(Some(Self {
            iss: issuer.iss.clone(),
            aud: issuer.audience.clone(),
            kid: first.kid.clone(),
            alg,
            key,
        }))
    }

    /// A token for `claims`, valid from `now` for `ttl_s` seconds.
    pub fn mint(&self, claims: &MintClaims, now: u64, ttl_s: u64) -> Result<String, String> {
        self.mint_with(claims, None, now, ttl_s)
    }

    /// As [`Signer::mint`], an OpenID Connect ID token carrying `nonce`
    /// (the demo's identity provider).
    pub fn mint_id_token(
        &self,
        claims: &MintClaims,
        nonce: &str,
        now: u64,
        ttl_s: u64,
    ) -> Result<String, String> {
        self.mint_with(claims, Some(nonce), now, ttl_s)
    }

    fn mint_with(
        &self,
        claims: &MintClaims,
        nonce: Option<&str>,
        now: u64,
        ttl_s: u64,
    ) -> Result<String, String> {
        let mut header = Header::new(self.alg);
        header.kid = Some(self.kid.clone());
        let full = FullClaims {
            iss: &self.iss,
            aud: &self.aud,
            iat: now,
            nbf: now,
            exp: now + ttl_s,
            nonce,
            claims,
        };
        jsonwebtoken::encode(&header, &full, &self.key).map_err(|e| e.to_string())
    }

    /// The issuer it signs as (`iss`).
    pub fn issuer(&self) -> &str {
        &self.iss
    }

    /// The audience its tokens carry (`aud`).
    pub fn audience(&self) -> &str {
        &self.aud
    }

    /// Its public key as a JWKS document (for the demo's identity
    /// provider's `jwks_uri`).
    pub fn jwks(&self) -> Result<String, String> {
        let mut jwk = jsonwebtoken::jwk::Jwk::from_encoding_key(&self.key, self.alg)
            .map_err(|e| e.to_string())?;
        jwk.common.key_id = Some(self.kid.clone());
        jwk.common.public_key_use = Some(jsonwebtoken::jwk::PublicKeyUse::Signature);
        let set = jsonwebtoken::jwk::JwkSet { keys: vec![jwk] };
        serde_json::to_string(&set).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_s(s: [u8; 32]) -> [u8; 64] {
        let mut rs = [7u8; 64];
        rs[32..].copy_from_slice(&s);
        rs
    }

    fn plus(mut x: [u8; 32], one: u8) -> [u8; 32] {
        for b in x.iter_mut().rev() {
            let (v, carry) = b.overflowing_add(one);
            *b = v;
            if !carry {
                break;
            }
        }
        x
    }

    #[test]
    fn low_s_maps_the_upper_half_onto_the_lower_and_leaves_the_rest() {
        // (n - 1) / 2 is low already; (n + 1) / 2 is its twin's s.
        let mut rs = with_s(P256_HALF_N);
        low_s(&mut rs);
        assert_eq!(rs, with_s(P256_HALF_N));
        let mut rs = with_s(plus(P256_HALF_N, 1));
        low_s(&mut rs);
        assert_eq!(rs, with_s(P256_HALF_N), "n - (n + 1) / 2 = (n - 1) / 2");
        // n - 1 becomes 1; r is never touched.
        let mut n_minus_1 = P256_N;
        n_minus_1[31] -= 1;
        let mut rs = with_s(n_minus_1);
        low_s(&mut rs);
        assert_eq!(rs, with_s(plus([0; 32], 1)));
        // Not valid signatures: left as they are, to fail verification.
        for s in [[0u8; 32], P256_N, plus(P256_N, 1), [0xff; 32]] {
            let mut rs = with_s(s);
            low_s(&mut rs);
            assert_eq!(rs, with_s(s));
        }
    }

    #[test]
    fn only_the_ecdsa_twin_shares_a_memo_key() {
        let sig = |rs: &[u8; 64]| URL_SAFE_NO_PAD.encode(rs);
        let low = with_s(plus([0; 32], 5));
        let mut n_minus_5 = P256_N;
        n_minus_5[31] -= 5;
        let high = with_s(n_minus_5);
        let key = |s: &str| memo_key(&format!("h.p.{s}"));
        assert_eq!(key(&sig(&low)), key(&sig(&high)));
        // Another payload, another signature, or a signature that is not
        // canonical base64url (trailing bits set) is another token.
        assert_ne!(memo_key(&format!("h.q.{}", sig(&low))), key(&sig(&low)));
        assert_ne!(key(&sig(&with_s(plus([0; 32], 6)))), key(&sig(&low)));
        // s = 5 ends in bits 01 then four zero bits: 'Q'; 'R' decodes to
        // the same bytes only for a lenient decoder.
        let mut loose = sig(&low);
        assert_eq!(loose.pop(), Some('Q'));
        loose.push('R');
        assert_ne!(key(&loose), key(&sig(&low)));
        // Not three parts, or not ES256-sized: keyed as sent.
        assert_ne!(memo_key("abc"), memo_key("abd"));
        assert_ne!(key("AAAA"), key("AAAB"));
    }
}
