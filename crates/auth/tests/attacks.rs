//! The JWT attack suite: every way a token can be wrong is refused with its
//! reason; the right tokens are accepted.

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use icr_auth::{AuthConfig, AuthError, Verifier};
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::{Value, json};

const NOW: u64 = 1_800_000_000;
const ISS: &str = "https://login.trust.example";
const ISS_RSA: &str = "https://sso.council.example";

fn keys_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/keys"))
}

fn config() -> AuthConfig {
    toml::from_str(&format!(
        r#"
clock_skew_s = 60
max_token_bytes = 4096

[[issuer]]
iss = "{ISS}"
audience = "icr-gateway"
[[issuer.key]]
kid = "trust-es-1"
alg = "ES256"
pem = "es256.pub.pem"

[[issuer]]
iss = "{ISS_RSA}"
audience = "icr-gateway"
[[issuer.key]]
kid = "council-rs-1"
alg = "RS256"
pem = "rs256.pub.pem"
"#
    ))
    .unwrap()
}

fn verifier() -> Verifier {
    Verifier::load(&config(), keys_dir()).unwrap()
}

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
}

fn key(file: &str) -> (EncodingKey, Algorithm) {
    let pem = std::fs::read(keys_dir().join(file)).unwrap();
    if file.starts_with("rs256") {
        (EncodingKey::from_rsa_pem(&pem).unwrap(), Algorithm::RS256)
    } else {
        (EncodingKey::from_ec_pem(&pem).unwrap(), Algorithm::ES256)
    }
}

/// A token with exactly this header and these claims, signed with `file`.
fn signed(header: Value, claims: Value, file: &str) -> String {
    let (k, alg) = key(file);
    let message = format!("{}.{}", b64(&header), b64(&claims));
    let sig = jsonwebtoken::crypto::sign(message.as_bytes(), &k, alg).unwrap();
    format!("{message}.{sig}")
}

fn claims() -> Value {
    json!({
        "iss": ISS, "aud": "icr-gateway", "sub": "u-1234", "name": "Dr Ann Example",
        "role": "R8000", "org": "RN3", "purpose": "directcare",
        "iat": NOW - 10, "nbf": NOW - 10, "exp": NOW + 600
    })
}

fn es_header() -> Value {
    json!({"alg": "ES256", "typ": "JWT", "kid": "trust-es-1"})
}

fn good() -> String {
    signed(es_header(), claims(), "es256.key.pem")
}

fn with(mut c: Value, key: &str, v: Value) -> Value {
    c[key] = v;
    c
}

fn without(mut c: Value, key: &str) -> Value {
    c.as_object_mut().unwrap().remove(key);
    c
}

#[test]
fn accepted_tokens() {
    let v = verifier();
    let id = v.verify(&good(), NOW).unwrap();
    assert_eq!(id.sub, "u-1234");
    assert_eq!(id.name, "Dr Ann Example");
    assert_eq!(id.role, "R8000");
    assert_eq!(id.org.as_str(), "RN3");
    assert_eq!(id.purpose, "directcare");
    assert_eq!(id.issuer, ISS);
    assert_eq!(id.expires_at, NOW + 600);
    assert_eq!(id.nhs_number, None);
    // Through the header, either case of "Bearer".
    assert!(
        v.verify_header(Some(&format!("Bearer {}", good())), NOW)
            .is_ok()
    );
    assert!(
        v.verify_header(Some(&format!("bearer {}", good())), NOW)
            .is_ok()
    );
    // The scheme name is case-insensitive (RFC 7235 §2.1), and more than
    // one space may follow it.
    for scheme in ["BEARER", "bEaReR", "Bearer  "] {
        assert_eq!(
            v.verify_header(Some(&format!("{scheme} {}", good())), NOW)
                .map(|i| i.sub),
            Ok("u-1234".into()),
            "{scheme:?}"
        );
    }
    // A lifetime of exactly the maximum (24 h by default).
    let day_long = with(claims(), "exp", json!(NOW - 10 + 86_400));
    assert!(
        v.verify(&signed(es_header(), day_long, "es256.key.pem"), NOW)
            .is_ok()
    );
    // Issued in the future, but within the clock skew.
    let early = with(claims(), "iat", json!(NOW + 59));
    assert!(
        v.verify(&signed(es_header(), early, "es256.key.pem"), NOW)
            .is_ok()
    );
    // No iat: the lifetime left (exp minus now) is what is bounded.
    let no_iat = without(claims(), "iat");
    assert!(
        v.verify(&signed(es_header(), no_iat, "es256.key.pem"), NOW)
            .is_ok()
    );
    // RS256 from the second issuer.
    let rs = signed(
        json!({"alg": "RS256", "kid": "council-rs-1"}),
        with(claims(), "iss", json!(ISS_RSA)),
        "rs256.key.pem",
    );
    assert_eq!(v.verify(&rs, NOW).unwrap().issuer, ISS_RSA);
    // No kid: the issuer has one key.
    let no_kid = signed(json!({"alg": "ES256"}), claims(), "es256.key.pem");
    assert!(v.verify(&no_kid, NOW).is_ok());
    // Within the clock skew on both ends.
    let skewed = with(
        with(claims(), "exp", json!(NOW - 59)),
        "nbf",
        json!(NOW + 59),
    );
    assert!(
        v.verify(&signed(es_header(), skewed, "es256.key.pem"), NOW)
            .is_ok()
    );
    // A patient with their own NHS number; defaults for name and purpose.
    let patient = without(
        without(
            with(
                with(claims(), "role", json!("patient")),
                "nhs_number",
                json!("9990000018"),
            ),
            "name",
        ),
        "purpose",
    );
    let id = v
        .verify(&signed(es_header(), patient, "es256.key.pem"), NOW)
        .unwrap();
    assert_eq!(id.nhs_number.unwrap().as_str(), "9990000018");
    assert_eq!(id.name, "u-1234");
    assert_eq!(id.purpose, "directcare");
    // aud as an array containing this gateway.
    let aud_list = with(claims(), "aud", json!(["other", "icr-gateway"]));
    assert!(
        v.verify(&signed(es_header(), aud_list, "es256.key.pem"), NOW)
            .is_ok()
    );
}

/// What is sent (a token, or a raw header value or none) and the refusal.
type Case<'a> = (&'a str, Result<String, Option<&'a str>>, AuthError);

#[test]
fn refused_tokens_each_with_their_reason() {
    let v = verifier();
    let good = good();
    let parts: Vec<&str> = good.split('.').collect();
    let es_pub = std::fs::read(keys_dir().join("es256.pub.pem")).unwrap();
    let hmac_confusion = {
        // The classic: HS256 "signed" with the public key as the secret.
        let message = format!(
            "{}.{}",
            b64(&json!({"alg": "HS256", "kid": "trust-es-1"})),
            b64(&claims())
        );
        let sig = jsonwebtoken::crypto::sign(
            message.as_bytes(),
            &EncodingKey::from_secret(&es_pub),
            Algorithm::HS256,
        )
        .unwrap();
        format!("{message}.{sig}")
    };
    let tampered_payload = format!(
        "{}.{}.{}",
        parts[0],
        b64(&with(claims(), "role", json!("R8013"))),
        parts[2]
    );
    let mut sig = parts[2].as_bytes().to_vec();
    sig[10] = if sig[10] == b'A' { b'B' } else { b'A' };
    let tampered_signature = format!(
        "{}.{}.{}",
        parts[0],
        parts[1],
        String::from_utf8(sig).unwrap()
    );
    let glued = format!("Bearer{good}");
    let cases: Vec<Case<'_>> = vec![
        ("no header", Err(None), AuthError::Missing),
        (
            "basic auth",
            Err(Some("Basic dXNlcjpwYXNz")),
            AuthError::NotBearer,
        ),
        (
            "oversized",
            Ok(format!("{good}{}", "A".repeat(5000))),
            AuthError::TooLarge { limit: 4096 },
        ),
        (
            "two parts",
            Ok(format!("{}.{}", parts[0], parts[1])),
            AuthError::Malformed("expected three dot-separated parts"),
        ),
        (
            "four parts",
            Ok(format!("{good}.x")),
            AuthError::Malformed("expected three dot-separated parts"),
        ),
        (
            "garbage header",
            Ok(format!("!!!.{}.{}", parts[1], parts[2])),
            AuthError::Malformed("the header is not base64url JSON"),
        ),
        (
            "garbage payload",
            Ok(format!("{}.@@@.{}", parts[0], parts[2])),
            AuthError::Malformed("the payload is not base64url JSON"),
        ),
        (
            "alg none",
            Ok(format!(
                "{}.{}.",
                b64(&json!({"alg": "none"})),
                b64(&claims())
            )),
            AuthError::Algorithm("none".into()),
        ),
        (
            "no alg",
            Ok(format!(
                "{}.{}.",
                b64(&json!({"typ": "JWT"})),
                b64(&claims())
            )),
            AuthError::Algorithm("(none given)".into()),
        ),
        (
            "HMAC with the public key",
            Ok(hmac_confusion),
            AuthError::Algorithm("HS256".into()),
        ),
        (
            "PS256",
            Ok(format!(
                "{}.{}.{}",
                b64(&json!({"alg": "PS256", "kid": "trust-es-1"})),
                parts[1],
                parts[2]
            )),
            AuthError::Algorithm("PS256".into()),
        ),
        (
            "RS256 header on an ES256 key",
            Ok(signed(
                json!({"alg": "RS256", "kid": "trust-es-1"}),
                claims(),
                "rs256.key.pem",
            )),
            AuthError::Algorithm("RS256".into()),
        ),
        (
            "unknown kid",
            Ok(signed(
                json!({"alg": "ES256", "kid": "stolen-1"}),
                claims(),
                "es256.key.pem",
            )),
            AuthError::UnknownKey,
        ),
        (
            "unknown issuer",
            Ok(signed(
                es_header(),
                with(claims(), "iss", json!("https://evil.example")),
                "es256.key.pem",
            )),
            AuthError::UnknownIssuer,
        ),
        (
            "no issuer",
            Ok(signed(
                es_header(),
                without(claims(), "iss"),
                "es256.key.pem",
            )),
            AuthError::UnknownIssuer,
        ),
        (
            "tampered payload",
            Ok(tampered_payload),
            AuthError::Signature,
        ),
        (
            "tampered signature",
            Ok(tampered_signature),
            AuthError::Signature,
        ),
        (
            "signed by another key with the right kid",
            Ok(signed(es_header(), claims(), "other.key.pem")),
            AuthError::Signature,
        ),
        (
            "another issuer's kid",
            Ok(signed(
                json!({"alg": "RS256", "kid": "council-rs-1"}),
                claims(),
                "rs256.key.pem",
            )),
            AuthError::UnknownKey,
        ),
        (
            "wrong audience",
            Ok(signed(
                es_header(),
                with(claims(), "aud", json!("another-api")),
                "es256.key.pem",
            )),
            AuthError::Audience,
        ),
        (
            "no audience",
            Ok(signed(
                es_header(),
                without(claims(), "aud"),
                "es256.key.pem",
            )),
            AuthError::Claim {
                name: "aud",
                why: "missing",
            },
        ),
        (
            "expired",
            Ok(signed(
                es_header(),
                with(claims(), "exp", json!(NOW - 61)),
                "es256.key.pem",
            )),
            AuthError::Expired,
        ),
        (
            "no expiry",
            Ok(signed(
                es_header(),
                without(claims(), "exp"),
                "es256.key.pem",
            )),
            AuthError::Claim {
                name: "exp",
                why: "missing",
            },
        ),
        (
            "not yet valid",
            Ok(signed(
                es_header(),
                with(claims(), "nbf", json!(NOW + 61)),
                "es256.key.pem",
            )),
            AuthError::NotYetValid,
        ),
        (
            "no subject",
            Ok(signed(
                es_header(),
                without(claims(), "sub"),
                "es256.key.pem",
            )),
            AuthError::Claim {
                name: "sub",
                why: "missing",
            },
        ),
        (
            "blank subject",
            Ok(signed(
                es_header(),
                with(claims(), "sub", json!("  ")),
                "es256.key.pem",
            )),
            AuthError::Claim {
                name: "sub",
                why: "empty, too long or with control characters",
            },
        ),
        (
            "no role",
            Ok(signed(
                es_header(),
                without(claims(), "role"),
                "es256.key.pem",
            )),
            AuthError::Claim {
                name: "role",
                why: "missing",
            },
        ),
        (
            "odd role",
            Ok(signed(
                es_header(),
                with(claims(), "role", json!("R8000; DROP")),
                "es256.key.pem",
            )),
            AuthError::Claim {
                name: "role",
                why: "not a role code",
            },
        ),
        (
            "no org",
            Ok(signed(
                es_header(),
                without(claims(), "org"),
                "es256.key.pem",
            )),
            AuthError::Claim {
                name: "org",
                why: "missing",
            },
        ),
        (
            "bad org",
            Ok(signed(
                es_header(),
                with(claims(), "org", json!("R N3")),
                "es256.key.pem",
            )),
            AuthError::Claim {
                name: "org",
                why: "not an ODS code",
            },
        ),
        (
            "name with a newline",
            Ok(signed(
                es_header(),
                with(claims(), "name", json!("Dr A\nforged: log line")),
                "es256.key.pem",
            )),
            AuthError::Claim {
                name: "name",
                why: "empty, too long or with control characters",
            },
        ),
        (
            "patient without NHS number",
            Ok(signed(
                es_header(),
                with(claims(), "role", json!("patient")),
                "es256.key.pem",
            )),
            AuthError::Claim {
                name: "nhs_number",
                why: "a patient's token carries their own NHS number",
            },
        ),
        (
            "bad NHS number",
            Ok(signed(
                es_header(),
                with(claims(), "nhs_number", json!("9990000019")),
                "es256.key.pem",
            )),
            AuthError::Claim {
                name: "nhs_number",
                why: "not a valid NHS number",
            },
        ),
        (
            "a lifetime a second over the maximum",
            Ok(signed(
                es_header(),
                with(claims(), "exp", json!(NOW - 10 + 86_401)),
                "es256.key.pem",
            )),
            AuthError::LifetimeTooLong { max_s: 86_400 },
        ),
        (
            "a year-long token issued long ago",
            Ok(signed(
                es_header(),
                with(
                    with(claims(), "iat", json!(NOW - 364 * 86_400)),
                    "exp",
                    json!(NOW + 86_400),
                ),
                "es256.key.pem",
            )),
            AuthError::LifetimeTooLong { max_s: 86_400 },
        ),
        (
            "no iat and more than the maximum left",
            Ok(signed(
                es_header(),
                with(without(claims(), "iat"), "exp", json!(NOW + 86_401)),
                "es256.key.pem",
            )),
            AuthError::LifetimeTooLong { max_s: 86_400 },
        ),
        (
            "issued in the future beyond the clock skew",
            Ok(signed(
                es_header(),
                with(claims(), "iat", json!(NOW + 61)),
                "es256.key.pem",
            )),
            AuthError::IssuedInFuture,
        ),
        (
            "crit naming a registered claim",
            Ok(signed(
                json!({"alg": "ES256", "kid": "trust-es-1", "crit": ["exp"]}),
                claims(),
                "es256.key.pem",
            )),
            AuthError::CriticalHeader,
        ),
        (
            "crit naming an extension (RFC 7797 unencoded payload)",
            Ok(signed(
                json!({"alg": "ES256", "kid": "trust-es-1", "b64": false, "crit": ["b64"]}),
                claims(),
                "es256.key.pem",
            )),
            AuthError::CriticalHeader,
        ),
        (
            "crit empty",
            Ok(signed(
                json!({"alg": "ES256", "kid": "trust-es-1", "crit": []}),
                claims(),
                "es256.key.pem",
            )),
            AuthError::CriticalHeader,
        ),
        (
            "crit null",
            Ok(signed(
                json!({"alg": "ES256", "kid": "trust-es-1", "crit": null}),
                claims(),
                "es256.key.pem",
            )),
            AuthError::CriticalHeader,
        ),
        (
            "scheme glued to the token",
            Err(Some(&glued)),
            AuthError::NotBearer,
        ),
        (
            "string expiry",
            Ok(signed(
                es_header(),
                with(claims(), "exp", json!("tomorrow")),
                "es256.key.pem",
            )),
            AuthError::Malformed("the claims are not what a token of this gateway carries"),
        ),
    ];
    for (what, input, expected) in cases {
        let got = match input {
            Ok(token) => v.verify_header(Some(&format!("Bearer {token}")), NOW),
            Err(header) => v.verify_header(header, NOW),
        };
        assert_eq!(got, Err(expected.clone()), "{what}");
        // Reasons are stable codes; messages never echo the token.
        assert!(!expected.reason().is_empty());
    }
}

#[test]
fn configuration_mistakes_are_named() {
    let load = |text: &str| {
        Verifier::load(&toml::from_str(text).unwrap(), keys_dir())
            .err()
            .map(|e| e.to_string())
    };
    assert_eq!(
        load(""),
        Some("auth.issuer: no trusted issuer: every request needs a token, so at least one [[auth.issuer]] is required".into())
    );
    let issuer = |body: &str| format!("[[issuer]]\niss = \"x\"\naudience = \"a\"\n{body}");
    assert_eq!(
        load(&issuer("")),
        Some("auth.issuer[0]: the issuer has no key: add [[auth.issuer.key]] or jwks".into())
    );
    assert_eq!(
        load(&issuer(
            "[[issuer.key]]\nkid = \"k\"\nalg = \"HS256\"\npem = \"es256.pub.pem\"\n"
        )),
        Some("auth.issuer[0].key[0].alg: \"HS256\" is not allowed: use RS256 or ES256".into())
    );
    let wrong_type = load(&issuer(
        "[[issuer.key]]\nkid = \"k\"\nalg = \"RS256\"\npem = \"es256.pub.pem\"\n",
    ))
    .unwrap();
    assert!(
        wrong_type.starts_with("auth.issuer[0].key[0].pem: "),
        "{wrong_type}"
    );
    assert!(
        wrong_type.contains("is not a RS256 public key in PEM"),
        "{wrong_type}"
    );
    let missing = load(&issuer(
        "[[issuer.key]]\nkid = \"k\"\nalg = \"ES256\"\npem = \"nope.pem\"\n",
    ))
    .unwrap();
    assert!(
        missing.starts_with("auth.issuer[0].key[0].pem: cannot read"),
        "{missing}"
    );
    let twice = "[[issuer.key]]\nkid = \"k\"\nalg = \"ES256\"\npem = \"es256.pub.pem\"\n[[issuer.key]]\nkid = \"k\"\nalg = \"ES256\"\npem = \"other.pub.pem\"\n";
    assert_eq!(
        load(&issuer(twice)),
        Some("auth.issuer[0]: key id \"k\" is used twice; key ids must be unique".into())
    );
    assert_eq!(
        load(&format!("clock_skew_s = 3600\n{}", issuer(""))),
        Some("auth.clock_skew_s: at most 300 seconds".into())
    );
    for lifetime in [0, 59, 604_801] {
        assert_eq!(
            load(&format!(
                "max_token_lifetime_s = {lifetime}\n{}",
                issuer("[[issuer.key]]\nkid = \"k\"\nalg = \"ES256\"\npem = \"es256.pub.pem\"\n")
            )),
            Some("auth.max_token_lifetime_s: between 60 and 604800 seconds".into()),
            "{lifetime}"
        );
    }
}

#[test]
fn a_jwks_file_is_read() {
    let dir = std::env::temp_dir().join(format!("icr-auth-jwks-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // The ES256 test key as a JWK (x and y from the PEM's public point).
    let pem = std::fs::read_to_string(keys_dir().join("es256.pub.pem")).unwrap();
    let der = base64::engine::general_purpose::STANDARD
        .decode(
            pem.lines()
                .filter(|l| !l.starts_with("-----"))
                .collect::<String>(),
        )
        .unwrap();
    let point = &der[der.len() - 65..];
    assert_eq!(point[0], 4, "uncompressed point");
    let jwks = json!({"keys": [{"kty": "EC", "crv": "P-256", "kid": "trust-es-1", "alg": "ES256", "use": "sig",
        "x": URL_SAFE_NO_PAD.encode(&point[1..33]), "y": URL_SAFE_NO_PAD.encode(&point[33..])}]});
    std::fs::write(dir.join("jwks.json"), jwks.to_string()).unwrap();
    let config: AuthConfig = toml::from_str(&format!(
        "[[issuer]]\niss = \"{ISS}\"\naudience = \"icr-gateway\"\njwks = \"jwks.json\"\n"
    ))
    .unwrap();
    let v = Verifier::load(&config, &dir).unwrap();
    assert!(v.verify(&good(), NOW).is_ok());
    assert_eq!(
        v.verify(&signed(es_header(), claims(), "other.key.pem"), NOW),
        Err(AuthError::Signature)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

proptest::proptest! {
    #[test]
    fn arbitrary_headers_never_panic_or_pass(s in "\\PC{0,300}") {
        let v = verifier();
        proptest::prop_assert!(v.verify_header(Some(&s), NOW).is_err());
        proptest::prop_assert!(v.verify(&s, NOW).is_err());
    }
}

#[test]
fn a_token_seen_again_is_still_checked_for_expiry_and_signature() {
    let v = verifier();
    let token = good();
    let first = v.verify(&token, NOW).unwrap();
    // Recognised again: the same identity.
    assert_eq!(v.verify(&token, NOW + 1).unwrap(), first);
    // A remembered token still expires (exp is NOW + 600, skew 60).
    assert_eq!(v.verify(&token, NOW + 661), Err(AuthError::Expired));
    // The same header and claims with another signature are not the
    // remembered token: they are verified, and refused.
    let (message, _) = token.rsplit_once('.').unwrap();
    let forged = format!("{message}.{}", "A".repeat(86));
    assert_eq!(v.verify(&forged, NOW), Err(AuthError::Signature));
    // Nor is a token of the same claims signed with a key not trusted.
    let other = signed(es_header(), claims(), "other.key.pem");
    assert!(v.verify(&other, NOW).is_err());
}

#[test]
fn the_maximum_token_lifetime_is_configurable() {
    let mut config = config();
    config.max_token_lifetime_s = 3_600;
    let v = Verifier::load(&config, keys_dir()).unwrap();
    let hour = with(claims(), "exp", json!(NOW - 10 + 3_600));
    assert!(
        v.verify(&signed(es_header(), hour, "es256.key.pem"), NOW)
            .is_ok()
    );
    let longer = with(claims(), "exp", json!(NOW - 10 + 3_601));
    assert_eq!(
        v.verify(&signed(es_header(), longer, "es256.key.pem"), NOW),
        Err(AuthError::LifetimeTooLong { max_s: 3_600 })
    );
}

/// P-256's group order n, big-endian.
const P256_N: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
];

/// The ECDSA twin of an ES256 token: the same header and claims with the
/// signature (r, s) replaced by (r, n - s), which verifies as well.
fn ecdsa_twin(token: &str) -> String {
    let (message, sig) = token.rsplit_once('.').unwrap();
    let mut raw = URL_SAFE_NO_PAD.decode(sig).unwrap();
    assert_eq!(raw.len(), 64, "r and s, 32 bytes each");
    let mut borrow = 0u16;
    for i in (32..64).rev() {
        let subtrahend = u16::from(raw[i]) + borrow;
        let minuend = u16::from(P256_N[i - 32]);
        (raw[i], borrow) = if minuend >= subtrahend {
            ((minuend - subtrahend) as u8, 0)
        } else {
            ((minuend + 256 - subtrahend) as u8, 1)
        };
    }
    assert_eq!(borrow, 0, "s < n");
    format!("{message}.{}", URL_SAFE_NO_PAD.encode(raw))
}

#[test]
fn the_ecdsa_twin_of_a_remembered_token_is_remembered_as_the_same_token() {
    let token = good();
    let twin = ecdsa_twin(&token);
    assert_ne!(twin, token);
    assert_eq!(ecdsa_twin(&twin), token, "n - (n - s) = s");
    // The twin is a valid signature of the same claims: a verifier that
    // has seen neither accepts either form, as ECDSA (and RFC 7518) do.
    let expected = verifier().verify(&token, NOW).unwrap();
    assert_eq!(verifier().verify(&twin, NOW), Ok(expected.clone()));
    // Whichever form arrives first, the other is the same remembered
    // token: one entry, the same identity, and they expire together.
    for (first, second) in [(&token, &twin), (&twin, &token)] {
        let v = verifier();
        assert_eq!(v.verify(first, NOW), Ok(expected.clone()));
        assert_eq!(v.remembered(), 1);
        assert_eq!(v.verify(second, NOW + 1), Ok(expected.clone()));
        assert_eq!(v.remembered(), 1, "the twin is not a second token");
        assert_eq!(v.verify(second, NOW + 661), Err(AuthError::Expired));
        assert_eq!(v.remembered(), 0, "forgotten in both forms at once");
        assert_eq!(v.verify(first, NOW + 661), Err(AuthError::Expired));
    }
}
