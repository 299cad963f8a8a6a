//! The bodies of the fuzzing entry points ([`crate::fuzz_authorization`],
//! [`crate::fuzz_claims`]): a verifier of two public test keys (ES256 and
//! RS256, from `tests/keys`, which protect nothing), and the properties
//! every input must keep.

use std::sync::LazyLock;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey};

use crate::config::{AuthConfig, LoadedKey};
use crate::verify::{
    AuthError, Claims, P256_HALF_N, P256_N, Verifier, low_s, memo_key, n_minus, read_header,
};

/// The time the entry points verify at (2027-01-15).
pub(crate) const NOW: u64 = 1_800_000_000;

/// The issuer whose ES256 key the fuzzing verifier trusts.
pub(crate) const ISS_ES: &str = "https://es.fuzz.example";
/// The issuer whose RS256 key the fuzzing verifier trusts.
pub(crate) const ISS_RS: &str = "https://rs.fuzz.example";
/// The audience both issuers' tokens must name.
pub(crate) const AUDIENCE: &str = "icr-gateway";

/// The verifier the entry points use, with the default bounds; `None`
/// only if the embedded keys could not be read.
pub(crate) static VERIFIER: LazyLock<Option<Verifier>> = LazyLock::new(|| {
    let es = DecodingKey::from_ec_pem(include_bytes!("../tests/keys/es256.pub.pem")).ok()?;
    let rs = DecodingKey::from_rsa_pem(include_bytes!("../tests/keys/rs256.pub.pem")).ok()?;
    let key = |kid: &str, alg, key| LoadedKey {
        kid: kid.into(),
        alg,
        key,
    };
    Some(Verifier::from_loaded(
        &AuthConfig::default(),
        vec![
            (
                ISS_ES.into(),
                AUDIENCE.into(),
                vec![key("es-1", Algorithm::ES256, es)],
            ),
            (
                ISS_RS.into(),
                AUDIENCE.into(),
                vec![key("rs-1", Algorithm::RS256, rs)],
            ),
        ],
    ))
});

/// Any bytes as an `Authorization` header value. Panics (for the fuzzer)
/// when a property breaks: nothing unsigned is accepted; a scheme other
/// than `Bearer` (any case) is refused as such; the header reader never
/// panics; an ES256-shaped signature and its twin (r, n - s) share one
/// memo key, and low-S form is stable.
pub(crate) fn authorization(data: &[u8]) {
    let Some(verifier) = VERIFIER.as_ref() else {
        return;
    };
    let text = String::from_utf8_lossy(data);
    let result = verifier.verify_header(Some(&text), NOW);
    assert!(
        result.is_err(),
        "a token no trusted key signed was accepted"
    );
    let bearer = text
        .split_once(' ')
        .is_some_and(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"));
    assert_eq!(
        result == Err(AuthError::NotBearer),
        !bearer,
        "the scheme decides NotBearer, and only it"
    );
    let token = text.split_once(' ').map_or(&*text, |(_, t)| t.trim());
    let _ = read_header(token.split('.').next().unwrap_or_default());
    if let Some((message, sig)) = token.rsplit_once('.')
        && let Some(mut rs) = URL_SAFE_NO_PAD
            .decode(sig)
            .ok()
            .and_then(|raw| <[u8; 64]>::try_from(raw).ok())
    {
        let mut s = [0u8; 32];
        s.copy_from_slice(&rs[32..]);
        if s != [0u8; 32] && s < P256_N {
            let mut twin = rs;
            twin[32..].copy_from_slice(&n_minus(&s));
            let twin_token = format!("{message}.{}", URL_SAFE_NO_PAD.encode(twin));
            assert_eq!(
                memo_key(token),
                memo_key(&twin_token),
                "an ECDSA twin is another token to the memo"
            );
        }
        low_s(&mut rs);
        let once = rs;
        low_s(&mut rs);
        assert_eq!(rs, once, "low-S form is stable");
        let mut s = [0u8; 32];
        s.copy_from_slice(&rs[32..]);
        assert!(s <= P256_HALF_N || s >= P256_N, "s was left high");
    }
}

/// Any bytes as a signed token's claims (its JSON payload), checked at
/// three times: [`NOW`], its `exp` and its `iat`. Panics (for the fuzzer)
/// when an accepted token breaks a rule: expired beyond the skew, not yet
/// valid, issued in the future, a lifetime over the maximum, a role that
/// is not a code, a patient without their NHS number.
pub(crate) fn claims(data: &[u8]) {
    let Some(verifier) = VERIFIER.as_ref() else {
        return;
    };
    let Ok(claims) = serde_json::from_slice::<Claims>(data) else {
        return;
    };
    let (skew, max_lifetime) = verifier.time_bounds();
    let times = [NOW, claims.exp.unwrap_or(0), claims.iat.unwrap_or(0)];
    for now in times {
        let Ok(id) = verifier.check_claims(ISS_ES, claims.clone(), now) else {
            continue;
        };
        let exp = claims.exp.unwrap_or(0);
        assert_eq!(id.expires_at, exp);
        assert!(exp.saturating_add(skew) >= now, "expired accepted");
        let latest = now.saturating_add(skew);
        assert!(claims.nbf.is_none_or(|t| t <= latest), "nbf ignored");
        assert!(claims.iat.is_none_or(|t| t <= latest), "future iat");
        assert!(
            exp.saturating_sub(claims.iat.unwrap_or(now)) <= max_lifetime,
            "lifetime over the maximum accepted"
        );
        assert!(
            !id.role.is_empty()
                && id.role.len() <= 32
                && id
                    .role
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert!(id.role != "patient" || id.nhs_number.is_some());
        assert_eq!(id.issuer, ISS_ES);
    }
}
