//! Properties of token verification, and the fuzzing entry points under
//! `cargo test` (random bytes and mutated valid tokens), so CI exercises
//! them without a fuzzer: signed tokens with any times are accepted
//! exactly when the rules on `exp`, `nbf`, `iat` and the lifetime say so,
//! with the refusal the first broken rule names; an ECDSA token's twin is
//! the same token.

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use icr_auth::{
    AuthConfig, AuthError, IssuerConfig, KeyConfig, Verifier, fuzz_authorization, fuzz_claims,
};
use jsonwebtoken::{Algorithm, EncodingKey};
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{Value, json};

const NOW: u64 = 1_800_000_000;
const SKEW: u64 = 60;
const MAX_LIFETIME: u64 = 24 * 60 * 60;
const ISS: &str = "https://login.trust.example";

fn keys_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/keys"))
}

fn verifier() -> Verifier {
    let config = AuthConfig {
        issuer: vec![IssuerConfig {
            iss: ISS.into(),
            audience: "icr-gateway".into(),
            key: vec![KeyConfig {
                kid: "trust-es-1".into(),
                alg: "ES256".into(),
                pem: "es256.pub.pem".into(),
            }],
            jwks: None,
            signing_key: None,
        }],
        clock_skew_s: SKEW,
        max_token_lifetime_s: MAX_LIFETIME,
        ..AuthConfig::default()
    };
    Verifier::load(&config, keys_dir()).unwrap()
}

/// The claims as signed by `key` (a PEM in `tests/keys`) with kid
/// `trust-es-1`.
fn signed(claims: &Value, key: &str) -> String {
    let pem = std::fs::read(keys_dir().join(key)).unwrap();
    let key = EncodingKey::from_ec_pem(&pem).unwrap();
    let b64 = |v: &Value| URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap());
    let header = json!({"alg": "ES256", "typ": "JWT", "kid": "trust-es-1"});
    let message = format!("{}.{}", b64(&header), b64(claims));
    let sig = jsonwebtoken::crypto::sign(message.as_bytes(), &key, Algorithm::ES256).unwrap();
    format!("{message}.{sig}")
}

/// Times around [`NOW`], the skew and the maximum lifetime, as offsets.
fn offset() -> impl Strategy<Value = i64> {
    prop_oneof![
        -200i64..200,
        select(vec![
            -(MAX_LIFETIME as i64) - 61,
            -(MAX_LIFETIME as i64),
            -61,
            -60,
            -59,
            59,
            60,
            61,
            MAX_LIFETIME as i64 - 1,
            MAX_LIFETIME as i64,
            MAX_LIFETIME as i64 + 1,
            MAX_LIFETIME as i64 + 61,
        ]),
        -(3 * MAX_LIFETIME as i64)..(3 * MAX_LIFETIME as i64),
    ]
}

fn at(offset: i64) -> u64 {
    NOW.checked_add_signed(offset).unwrap()
}

/// What the rules say of a token with these times, checked at [`NOW`].
fn expected(exp: u64, nbf: Option<u64>, iat: Option<u64>) -> Result<(), AuthError> {
    if exp + SKEW < NOW {
        return Err(AuthError::Expired);
    }
    if nbf.is_some_and(|t| t > NOW + SKEW) {
        return Err(AuthError::NotYetValid);
    }
    if iat.is_some_and(|t| t > NOW + SKEW) {
        return Err(AuthError::IssuedInFuture);
    }
    if exp.saturating_sub(iat.unwrap_or(NOW)) > MAX_LIFETIME {
        return Err(AuthError::LifetimeTooLong {
            max_s: MAX_LIFETIME,
        });
    }
    Ok(())
}

/// An input with a few of its bytes changed, inserted or removed.
fn mutate(mut bytes: Vec<u8>, edits: &[(prop::sample::Index, u8, u8)]) -> Vec<u8> {
    for (at, byte, how) in edits {
        if bytes.is_empty() {
            bytes.push(*byte);
            continue;
        }
        let i = at.index(bytes.len());
        match how % 3 {
            0 => bytes[i] = *byte,
            1 => bytes.insert(i, *byte),
            _ => {
                bytes.remove(i);
            }
        }
    }
    bytes
}

fn edits() -> impl Strategy<Value = Vec<(prop::sample::Index, u8, u8)>> {
    proptest::collection::vec(
        (any::<prop::sample::Index>(), any::<u8>(), any::<u8>()),
        1..6,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn a_signed_token_is_accepted_exactly_when_its_times_and_lifetime_are_within_the_rules(
        exp in offset(),
        nbf in proptest::option::of(offset()),
        iat in proptest::option::of(offset()),
        role in select(vec!["R8000", "patient", "R0260"]),
    ) {
        let (exp, nbf, iat) = (at(exp), nbf.map(at), iat.map(at));
        let mut claims = json!({
            "iss": ISS, "aud": "icr-gateway", "sub": "u-1", "role": role, "org": "RN3",
            "nhs_number": "9990000018", "exp": exp,
        });
        if let Some(t) = nbf {
            claims["nbf"] = json!(t);
        }
        if let Some(t) = iat {
            claims["iat"] = json!(t);
        }
        let token = signed(&claims, "es256.key.pem");
        let v = verifier();
        let got = v.verify(&token, NOW).map(|id| {
            assert_eq!(id.expires_at, exp);
            assert_eq!(id.role, role);
        });
        prop_assert_eq!(got, expected(exp, nbf, iat));
        // The same claims through the fuzzing entry point.
        fuzz_claims(claims.to_string().as_bytes());
    }

    #[test]
    fn an_ecdsa_token_and_its_twin_are_one_remembered_token(
        s_flip in any::<bool>(),
        exp in 1i64..3600,
    ) {
        let claims = json!({
            "iss": ISS, "aud": "icr-gateway", "sub": "u-1", "role": "R8000", "org": "RN3",
            "iat": NOW - 1, "exp": at(exp),
        });
        let token = signed(&claims, "es256.key.pem");
        let (message, sig) = token.rsplit_once('.').unwrap();
        let rs = URL_SAFE_NO_PAD.decode(sig).unwrap();
        // n - s, by schoolbook subtraction.
        const N: [u8; 32] = [
            0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
            0xff, 0xff, 0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2,
            0xfc, 0x63, 0x25, 0x51,
        ];
        let mut twin = rs.clone();
        let mut borrow = 0i16;
        for i in (0..32).rev() {
            let d = i16::from(N[i]) - i16::from(rs[32 + i]) - borrow;
            borrow = i16::from(d < 0);
            twin[32 + i] = (d + 256 * borrow) as u8;
        }
        let twin = format!("{message}.{}", URL_SAFE_NO_PAD.encode(&twin));
        let (first, second) = if s_flip { (&twin, &token) } else { (&token, &twin) };
        let v = verifier();
        let a = v.verify(first, NOW).unwrap();
        prop_assert_eq!(v.remembered(), 1);
        let b = v.verify(second, NOW).unwrap();
        prop_assert_eq!(a, b);
        prop_assert_eq!(v.remembered(), 1, "the twin is not another token");
        fuzz_authorization(format!("Bearer {twin}").as_bytes());
    }

    #[test]
    fn authorization_values_random_or_mutated_never_panic_nor_pass(
        random in proptest::collection::vec(any::<u8>(), 0..400),
        scheme in select(vec!["Bearer ", "bearer ", "BEARER  ", "Basic ", "Bearer", ""]),
        changes in edits(),
        exp in 1i64..3600,
    ) {
        fuzz_authorization(&random);
        // Signed for an issuer the fuzzing verifier does not trust: well
        // formed, never accepted.
        let claims = json!({
            "iss": ISS, "aud": "icr-gateway", "sub": "u-1", "role": "R8000", "org": "RN3",
            "exp": at(exp),
        });
        let valid = format!("{scheme}{}", signed(&claims, "es256.key.pem"));
        fuzz_authorization(valid.as_bytes());
        fuzz_authorization(&mutate(valid.into_bytes(), &changes));
    }

    #[test]
    fn claims_random_or_mutated_never_panic_and_keep_the_rules(
        random in proptest::collection::vec(any::<u8>(), 0..400),
        changes in edits(),
        exp in offset(),
        iat in offset(),
        role in select(vec!["R8000", "patient", "R 8000", ""]),
    ) {
        fuzz_claims(&random);
        let claims = json!({
            "sub": "u-1", "role": role, "org": "RN3", "nhs_number": "9990000018",
            "exp": at(exp), "iat": at(iat), "nbf": at(iat), "name": "Dr A", "purpose": "directcare",
        });
        let valid = claims.to_string().into_bytes();
        fuzz_claims(&valid);
        fuzz_claims(&mutate(valid, &changes));
    }
}
