//! Caller authentication: who is asking.
//!
//! Every `/v1` and `/fhir` request carries `Authorization: Bearer <JWT>`.
//! This crate verifies the token against the keys of the trusted issuers
//! named in `gateway.toml` (`[[auth.issuer]]`, PEM files or a JWKS file,
//! RS256 and ES256 only): size, shape, the scheme name in any case,
//! algorithm, no `crit` header (RFC 7515: no extension is understood), key,
//! signature, `iss`, `aud`, `exp`, `nbf` and `iat` with a bounded clock
//! skew, a lifetime within `max_token_lifetime_s`, then the claims the
//! ICR uses — `sub`, `name`, `role` (a national RBAC job role code, or
//! `patient`), `org` (the ODS code of the organisation the request comes
//! from), `purpose`, and for a patient their own `nhs_number`. Every
//! refusal says why, without echoing the token.
//!
//! In the request flow it is the first step; its [`Identity`] feeds the
//! policy, the sources' request context and the audit. Verification is pure
//! given the current time, so it is tested exhaustively
//! (`tests/attacks.rs`); [`Signer`] mints tokens for the demo and the tests.
//! The header and claim checks are pure functions, fuzzed through
//! [`fuzz_authorization`] and [`fuzz_claims`] (`fuzz/`, and
//! `tests/properties.rs` under `cargo test`).

#![warn(missing_docs)]

mod config;
mod fuzz;
mod verify;

pub use config::{AuthConfig, IssuerConfig, KeyConfig, KeyError};
pub use verify::{AuthError, Identity, MintClaims, Signer, Verifier};

/// Any bytes as an `Authorization` header value, verified at a fixed time
/// by a verifier trusting two test keys: must never panic, never accept
/// (the bytes are signed by no one), refuse any scheme but `Bearer` (in
/// any case) as such, and key an ECDSA signature and its twin alike. The
/// entry point for fuzzing.
#[doc(hidden)]
pub fn fuzz_authorization(data: &[u8]) {
    fuzz::authorization(data);
}

/// Any bytes as the claims of a token whose signature verified, checked
/// at three times (a fixed one, its `exp`, its `iat`): must never panic,
/// and whatever is accepted keeps every rule on times and claims. The
/// entry point for fuzzing.
#[doc(hidden)]
pub fn fuzz_claims(data: &[u8]) {
    fuzz::claims(data);
}
