//! The demonstration's identity provider, inside the gateway at
//! `/demo-idp/`: an authorization endpoint at which a visitor picks one of
//! the demo's people (no password), a token endpoint that checks the code,
//! the client, the redirect URI and the PKCE verifier before it issues an
//! ID token signed with the demo issuer's key, and its keys. It also
//! stands in for an EPR launching the viewer in context (SMART's EHR
//! launch: a `launch` id standing for a patient). Enabled only by
//! `[viewer.oidc] demo = true`; a real deployment has none of it.

use std::collections::HashMap;
use std::sync::Mutex;

use base64::Engine as _;
use icr_auth::{MintClaims, Signer};
use sha2::Digest as _;
use url::Url;

/// How long a code may wait to be exchanged, in seconds.
const CODE_S: u64 = 60;
/// How long an ID token lasts, in seconds.
const TOKEN_S: u64 = 3600;
/// How long the provider remembers who a browser picked, in seconds.
const REMEMBER_S: u64 = 8 * 3600;

/// The provider's own cookie: who this browser picked, so that a later
/// sign-in (an EPR's launch) does not ask again — single sign-on, as a
/// real provider gives.
pub const DEMO_IDP_COOKIE: &str = "icr_demo_idp";
/// Codes and launches held at once, at most.
const MAX_HELD: usize = 1_000;

/// One person a visitor may sign in as.
#[derive(Clone, Copy, Debug)]
pub struct DemoUser {
    /// Its id in the picker (`clinician`).
    pub id: &'static str,
    /// The subject its ID token names (`demo-clinician`): never the NHS
    /// number, since a subject may reach logs.
    pub sub: &'static str,
    /// Their name.
    pub name: &'static str,
    /// Their role code (`R8000`, or `patient`).
    pub role: &'static str,
    /// Their role in words.
    pub role_words: &'static str,
    /// Their organisation's ODS code.
    pub org: &'static str,
    /// Their organisation's name.
    pub org_name: &'static str,
    /// A patient's own NHS number.
    pub nhs_number: Option<&'static str>,
}

/// The demo's people: one of each kind of user the policy knows.
pub const DEMO_USERS: &[DemoUser] = &[
    DemoUser {
        id: "clinician",
        sub: "demo-clinician",
        name: "Dr Demo Clinician",
        role: "R8000",
        role_words: "Clinical Practitioner",
        org: "RN3",
        org_name: "Great Western Hospitals NHS Foundation Trust",
        nhs_number: None,
    },
    DemoUser {
        id: "gp",
        sub: "demo-gp",
        name: "Dr Demo General Practitioner",
        role: "R8000",
        role_words: "Clinical Practitioner",
        org: "Y90001",
        org_name: "Larkspur Medical Centre",
        nhs_number: None,
    },
    DemoUser {
        id: "social-worker",
        sub: "demo-social-worker",
        name: "Demo Social Worker",
        role: "R8014",
        role_words: "Social Worker",
        org: "Y9L01",
        org_name: "Wiltshire Council",
        nhs_number: None,
    },
    DemoUser {
        id: "admin",
        sub: "demo-admin",
        name: "Demo Receptionist",
        role: "R8009",
        role_words: "Receptionist",
        org: "RN3",
        org_name: "Great Western Hospitals NHS Foundation Trust",
        nhs_number: None,
    },
    DemoUser {
        id: "privacy-officer",
        sub: "demo-privacy-officer",
        name: "Demo Privacy Officer",
        role: "R0001",
        role_words: "Privacy Officer",
        org: "RN3",
        org_name: "Great Western Hospitals NHS Foundation Trust",
        nhs_number: None,
    },
    DemoUser {
        id: "patient-9990000050",
        sub: "demo-patient",
        name: "Robert Pennington",
        role: "patient",
        role_words: "Patient",
        org: "X26",
        org_name: "NHS login",
        nhs_number: Some("9990000050"),
    },
];

/// Why the demo provider refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum IdpError {
    /// The authorization request is not one this provider serves.
    #[error("invalid request: {0}")]
    InvalidRequest(&'static str),
    /// No such person to sign in as.
    #[error("pick one of the people listed")]
    UnknownUser,
    /// The code is unknown, used, expired, or its verifier does not match.
    #[error("invalid_grant")]
    InvalidGrant,
    /// The token could not be signed.
    #[error("the token could not be signed: {0}")]
    Signing(String),
}

/// An authorization request as the demo provider checked it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthorizeRequest {
    /// `client_id`.
    pub client_id: String,
    /// `redirect_uri`.
    pub redirect_uri: String,
    /// `state`, returned as given.
    pub state: String,
    /// `nonce`, put in the ID token.
    pub nonce: String,
    /// `code_challenge` (S256).
    pub code_challenge: String,
    /// `scope`.
    pub scope: String,
    /// `launch`, from a SMART EHR launch.
    pub launch: Option<String>,
}

impl AuthorizeRequest {
    /// The request's parameters as hidden form fields (the picker's form
    /// posts them back with the choice).
    pub fn hidden(&self) -> Vec<(&'static str, &str)> {
        let mut out = vec![
            ("response_type", "code"),
            ("client_id", self.client_id.as_str()),
            ("redirect_uri", self.redirect_uri.as_str()),
            ("state", self.state.as_str()),
            ("nonce", self.nonce.as_str()),
            ("code_challenge", self.code_challenge.as_str()),
            ("code_challenge_method", "S256"),
            ("scope", self.scope.as_str()),
        ];
        if let Some(l) = &self.launch {
            out.push(("launch", l.as_str()));
        }
        out
    }
}

struct Grant {
    user: DemoUser,
    request: AuthorizeRequest,
    patient: Option<String>,
    at: u64,
}

/// The demo's identity provider.
pub struct DemoIdp {
    signer: Signer,
    redirect_uri: String,
    codes: Mutex<HashMap<String, Grant>>,
    launches: Mutex<HashMap<String, (String, u64)>>,
    remembered: Mutex<HashMap<String, (&'static str, u64)>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn param<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

impl DemoIdp {
    /// A provider signing with `signer` (its issuer and audience are the
    /// client's), for the one client coming back to `redirect_uri`.
    pub fn new(signer: Signer, redirect_uri: &Url) -> Self {
        Self {
            signer,
            redirect_uri: redirect_uri.to_string(),
            codes: Mutex::new(HashMap::new()),
            launches: Mutex::new(HashMap::new()),
            remembered: Mutex::new(HashMap::new()),
        }
    }

    /// The issuer it signs as.
    pub fn issuer(&self) -> &str {
        self.signer.issuer()
    }

    /// Its keys as a JWKS document.
    pub fn jwks(&self) -> Result<String, IdpError> {
        self.signer.jwks().map_err(IdpError::Signing)
    }

    /// The people a visitor may pick.
    pub fn users(&self) -> &'static [DemoUser] {
        DEMO_USERS
    }

    /// Checks an authorization request's parameters: the one client, its
    /// one redirect URI, the code flow, PKCE with S256, a state and nonce.
    pub fn authorize(&self, pairs: &[(String, String)]) -> Result<AuthorizeRequest, IdpError> {
        let get = |k: &'static str| param(pairs, k).ok_or(IdpError::InvalidRequest(k));
        if get("response_type")? != "code" {
            return Err(IdpError::InvalidRequest("response_type must be code"));
        }
        if get("client_id")? != self.signer.audience() {
            return Err(IdpError::InvalidRequest("unknown client_id"));
        }
        if get("redirect_uri")? != self.redirect_uri {
            return Err(IdpError::InvalidRequest("redirect_uri is not registered"));
        }
        if get("code_challenge_method")? != "S256" {
            return Err(IdpError::InvalidRequest("PKCE with S256 is required"));
        }
        let scope = get("scope")?;
        if !scope.split(' ').any(|s| s == "openid") {
            return Err(IdpError::InvalidRequest("scope must include openid"));
        }
        Ok(AuthorizeRequest {
            client_id: get("client_id")?.to_owned(),
            redirect_uri: get("redirect_uri")?.to_owned(),
            state: get("state")?.to_owned(),
            nonce: get("nonce")?.to_owned(),
            code_challenge: get("code_challenge")?.to_owned(),
            scope: scope.to_owned(),
            launch: param(pairs, "launch").map(str::to_owned),
        })
    }

    /// The visitor picked `user` for `request`: where to send the browser
    /// back to, with a one-time code.
    pub fn grant(&self, request: AuthorizeRequest, user: &str, now: u64) -> Result<Url, IdpError> {
        let user = *DEMO_USERS
            .iter()
            .find(|u| u.id == user)
            .ok_or(IdpError::UnknownUser)?;
        let patient = match &request.launch {
            Some(l) => Some(
                lock(&self.launches)
                    .get(l)
                    .filter(|(_, at)| now.saturating_sub(*at) < TOKEN_S)
                    .map(|(nhs, _)| nhs.clone())
                    .ok_or(IdpError::InvalidRequest("unknown or expired launch"))?,
            ),
            None => None,
        };
        let mut url = Url::parse(&request.redirect_uri)
            .map_err(|_| IdpError::InvalidRequest("redirect_uri"))?;
        let code = crate::random_token();
        url.query_pairs_mut()
            .append_pair("code", &code)
            .append_pair("state", &request.state);
        let mut codes = lock(&self.codes);
        if codes.len() >= MAX_HELD {
            codes.retain(|_, g| now.saturating_sub(g.at) < CODE_S);
        }
        if codes.len() >= MAX_HELD {
            return Err(IdpError::InvalidRequest("too many sign-ins under way"));
        }
        codes.insert(
            code,
            Grant {
                user,
                request,
                patient,
                at: now,
            },
        );
        Ok(url)
    }

    /// The token endpoint: a form with `grant_type`, `code`,
    /// `redirect_uri`, `client_id` and `code_verifier`; the token response
    /// as JSON. A code is used once.
    pub fn token(&self, form: &[(String, String)], now: u64) -> Result<String, IdpError> {
        if param(form, "grant_type") != Some("authorization_code") {
            return Err(IdpError::InvalidRequest("grant_type"));
        }
        let code = param(form, "code").ok_or(IdpError::InvalidGrant)?;
        let grant = lock(&self.codes)
            .remove(code)
            .filter(|g| now.saturating_sub(g.at) < CODE_S)
            .ok_or(IdpError::InvalidGrant)?;
        let verifier = param(form, "code_verifier").ok_or(IdpError::InvalidGrant)?;
        let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(sha2::Sha256::digest(verifier.as_bytes()));
        if challenge != grant.request.code_challenge
            || param(form, "redirect_uri") != Some(grant.request.redirect_uri.as_str())
            || param(form, "client_id").is_some_and(|c| c != grant.request.client_id)
        {
            return Err(IdpError::InvalidGrant);
        }
        let user = grant.user;
        let claims = MintClaims {
            sub: user.sub.into(),
            name: user.name.into(),
            role: user.role.into(),
            org: user.org.into(),
            purpose: "directcare".into(),
            nhs_number: user.nhs_number.map(str::to_owned),
        };
        let id_token = self
            .signer
            .mint_id_token(&claims, &grant.request.nonce, now, TOKEN_S)
            .map_err(IdpError::Signing)?;
        let mut body = serde_json::json!({
            "access_token": crate::random_token(),
            "token_type": "Bearer",
            "expires_in": TOKEN_S,
            "id_token": id_token,
            "scope": grant.request.scope,
        });
        if let Some(p) = grant.patient {
            body["patient"] = serde_json::Value::String(p);
        }
        Ok(body.to_string())
    }

    /// Remembers that this browser picked `user`: the id for its cookie.
    pub fn remember(&self, user: &str, now: u64) -> Option<String> {
        let user = DEMO_USERS.iter().find(|u| u.id == user)?.id;
        let id = crate::random_token();
        let mut remembered = lock(&self.remembered);
        if remembered.len() >= MAX_HELD {
            remembered.retain(|_, (_, at)| now.saturating_sub(*at) < REMEMBER_S);
            if remembered.len() >= MAX_HELD {
                remembered.clear();
            }
        }
        remembered.insert(id.clone(), (user, now));
        Some(id)
    }

    /// Who the browser with cookie `id` picked, if it is remembered.
    pub fn remembered(&self, id: &str, now: u64) -> Option<&'static str> {
        lock(&self.remembered)
            .get(id)
            .filter(|(_, at)| now.saturating_sub(*at) < REMEMBER_S)
            .map(|(user, _)| *user)
    }

    /// Forgets the browser with cookie `id` (the viewer's sign-out).
    pub fn forget(&self, id: &str) {
        lock(&self.remembered).remove(id);
    }

    /// A launch id standing for `nhs` in an EPR's launch of the viewer.
    pub fn launch(&self, nhs: &str, now: u64) -> String {
        let id = crate::random_token();
        let mut launches = lock(&self.launches);
        if launches.len() >= MAX_HELD {
            launches.retain(|_, (_, at)| now.saturating_sub(*at) < TOKEN_S);
            if launches.len() >= MAX_HELD {
                launches.clear();
            }
        }
        launches.insert(id.clone(), (nhs.to_owned(), now));
        id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idp() -> DemoIdp {
        let dir = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../config/demo"));
        let text = std::fs::read_to_string(dir.join("gateway.toml")).unwrap();
        let table: toml::Table = toml::from_str(&text).unwrap();
        let auth: icr_auth::AuthConfig = table["auth"].clone().try_into().unwrap();
        let signer = Signer::load(&auth, dir).unwrap().unwrap();
        DemoIdp::new(
            signer,
            &Url::parse("http://127.0.0.1:8080/callback").unwrap(),
        )
    }

    fn request(verifier: &str) -> Vec<(String, String)> {
        let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(sha2::Sha256::digest(verifier.as_bytes()));
        [
            ("response_type", "code"),
            ("client_id", "icr-gateway"),
            ("redirect_uri", "http://127.0.0.1:8080/callback"),
            ("state", "s1"),
            ("nonce", "n1"),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
            ("scope", "openid profile"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    /// The code in the provider's answer to the browser.
    fn code_of(back: &Url) -> String {
        back.query_pairs()
            .find(|(k, _)| k == "code")
            .map(|(_, v)| v.into_owned())
            .unwrap()
    }

    /// The token request for `code` with `verifier`.
    fn token_form(code: &str, verifier: &str) -> Vec<(String, String)> {
        [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", "http://127.0.0.1:8080/callback"),
            ("code_verifier", verifier),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    fn with(mut pairs: Vec<(String, String)>, key: &str, value: &str) -> Vec<(String, String)> {
        pairs.retain(|(k, _)| k != key);
        pairs.push((key.into(), value.into()));
        pairs
    }

    #[test]
    fn only_its_client_its_redirect_the_code_flow_and_pkce_s256_are_served() {
        let idp = idp();
        let good = request("v".repeat(43).as_str());
        assert!(idp.authorize(&good).is_ok());
        for (key, value, problem) in [
            ("client_id", "someone-else", "unknown client_id"),
            (
                "redirect_uri",
                "http://evil.example/callback",
                "redirect_uri is not registered",
            ),
            ("response_type", "token", "response_type must be code"),
            (
                "code_challenge_method",
                "plain",
                "PKCE with S256 is required",
            ),
            ("scope", "profile", "scope must include openid"),
        ] {
            assert_eq!(
                idp.authorize(&with(good.clone(), key, value)),
                Err(IdpError::InvalidRequest(problem)),
                "{key}={value}"
            );
        }
        let no_state: Vec<_> = good.iter().filter(|(k, _)| k != "state").cloned().collect();
        assert_eq!(
            idp.authorize(&no_state),
            Err(IdpError::InvalidRequest("state"))
        );
    }

    #[test]
    fn a_code_is_exchanged_once_with_its_verifier_for_an_id_token_with_the_nonce() {
        let idp = idp();
        let verifier = "a-verifier-of-forty-three-characters-or-more";
        let req = idp.authorize(&request(verifier)).unwrap();
        assert_eq!(
            idp.grant(req.clone(), "nobody", 100),
            Err(IdpError::UnknownUser)
        );
        let back = idp.grant(req, "clinician", 100).unwrap();
        assert_eq!(back.path(), "/callback");
        let code = code_of(&back);
        assert!(back.query_pairs().any(|(k, v)| k == "state" && v == "s1"));
        let form = |verifier: &str| token_form(&code, verifier);
        // A wrong verifier spends the code: it cannot be tried again.
        assert_eq!(idp.token(&form("wrong"), 101), Err(IdpError::InvalidGrant));
        assert_eq!(idp.token(&form(verifier), 101), Err(IdpError::InvalidGrant));

        let req = idp.authorize(&request(verifier)).unwrap();
        let back = idp.grant(req, "clinician", 200).unwrap();
        let code2 = code_of(&back);
        let form2 = token_form(&code2, verifier);
        // Too late: a code lives 60 s.
        assert_eq!(idp.token(&form2, 260), Err(IdpError::InvalidGrant));

        let req = idp.authorize(&request(verifier)).unwrap();
        let back = idp.grant(req, "clinician", 300).unwrap();
        let code3 = code_of(&back);
        let form3 = token_form(&code3, verifier);
        let body: serde_json::Value =
            serde_json::from_str(&idp.token(&form3, 301).unwrap()).unwrap();
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["expires_in"], 3600);
        let id_token = body["id_token"].as_str().unwrap();
        let payload = id_token.split('.').nth(1).unwrap();
        let claims: serde_json::Value = serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(payload)
                .unwrap(),
        )
        .unwrap();
        assert_eq!(claims["nonce"], "n1");
        assert_eq!(claims["aud"], "icr-gateway");
        assert_eq!(claims["iss"], "https://login.icr-demo.example");
        assert_eq!(claims["role"], "R8000");
        assert_eq!(claims["org"], "RN3");
        assert_eq!(claims["exp"], 301 + 3600);
        assert!(body.get("patient").is_none(), "no launch, no patient");
    }

    #[test]
    fn a_launch_puts_its_patient_in_the_token_response_and_an_unknown_launch_is_refused() {
        let idp = idp();
        let verifier = "a-verifier-of-forty-three-characters-or-more";
        let launch = idp.launch("9990000050", 100);
        let req = idp
            .authorize(&with(request(verifier), "launch", &launch))
            .unwrap();
        let back = idp.grant(req, "clinician", 100).unwrap();
        let code = code_of(&back);
        let form = token_form(&code, verifier);
        let body: serde_json::Value =
            serde_json::from_str(&idp.token(&form, 101).unwrap()).unwrap();
        assert_eq!(body["patient"], "9990000050");
        let req = idp
            .authorize(&with(request(verifier), "launch", "made-up"))
            .unwrap();
        assert_eq!(
            idp.grant(req, "clinician", 100),
            Err(IdpError::InvalidRequest("unknown or expired launch"))
        );
    }

    #[test]
    fn no_demo_subject_holds_an_nhs_number() {
        // The subject is logged at sign-in; the patient's is "demo-patient".
        for u in DEMO_USERS {
            assert!(u.sub.starts_with("demo-"), "{}", u.sub);
            assert!(!u.sub.bytes().any(|b| b.is_ascii_digit()), "{}", u.sub);
        }
    }

    #[test]
    fn the_keys_are_published_as_a_jwks_with_the_kid_tokens_name() {
        let jwks: serde_json::Value = serde_json::from_str(&idp().jwks().unwrap()).unwrap();
        assert_eq!(jwks["keys"][0]["kid"], "icr-demo-1");
        assert_eq!(jwks["keys"][0]["kty"], "EC");
        assert_eq!(jwks["keys"][0]["use"], "sig");
        assert!(jwks["keys"][0].get("d").is_none(), "never the private part");
    }
}
