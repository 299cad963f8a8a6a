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

#![warn(missing_docs)]

mod config;
mod verify;

pub use config::{AuthConfig, IssuerConfig, KeyConfig, KeyError};
pub use verify::{AuthError, Identity, MintClaims, Signer, Verifier};
