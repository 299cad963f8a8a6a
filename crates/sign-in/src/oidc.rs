//! The relying party: OpenID Connect's authorization code flow with PKCE
//! (S256), `state` and `nonce`, through the `openidconnect` crate. Sign-in
//! begins with [`RelyingParty::begin`] (the provider's URL to send the
//! browser to) and ends with [`RelyingParty::finish`] (the code exchanged,
//! the ID token's signature, issuer, audience, expiry and nonce verified).
//! The provider's endpoints and keys come from its discovery document, read
//! at the first sign-in, or are given (the demo's own provider).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreAuthenticationFlow, CoreErrorResponseType,
    CoreGenderClaim, CoreJsonWebKey, CoreJsonWebKeySet, CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm, CoreProviderMetadata, CoreRevocableToken, CoreRevocationErrorResponse,
    CoreTokenIntrospectionResponse, CoreTokenType,
};
use openidconnect::{
    AuthUrl, AuthorizationCode, Client, ClientId, ClientSecret, CsrfToken, EmptyAdditionalClaims,
    EndpointNotSet, EndpointSet, ExtraTokenFields, HttpRequest, HttpResponse, IdTokenFields,
    IssuerUrl, Nonce, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
    StandardErrorResponse, StandardTokenResponse, TokenResponse as _, TokenUrl,
};
use serde::{Deserialize, Serialize};
use url::Url;

use crate::config::OidcConfig;

/// How long a sign-in may take between leaving for the provider and
/// coming back, in seconds.
const PENDING_S: u64 = 600;
/// The largest answer read from the provider.
const MAX_BODY: usize = 256 * 1024;

/// What a SMART launch adds to the token response: the patient in context.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct LaunchContext {
    /// The patient the EHR launched with (an NHS number here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patient: Option<String>,
}

impl ExtraTokenFields for LaunchContext {}

type Fields = IdTokenFields<
    EmptyAdditionalClaims,
    LaunchContext,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;
type TokenResponse = StandardTokenResponse<Fields, CoreTokenType>;
type OidcClient = ClientOf<EndpointSet, EndpointSet>;
/// The client, with or without its authorization and token endpoints.
type ClientOf<HasAuthUrl, HasTokenUrl> = Client<
    EmptyAdditionalClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    TokenResponse,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    HasAuthUrl,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    HasTokenUrl,
    EndpointNotSet,
>;

/// Where the provider's endpoints and keys come from.
#[derive(Clone, Debug)]
pub enum Provider {
    /// Its discovery document, `{issuer}/.well-known/openid-configuration`.
    Discovered,
    /// Given: the demo's own provider, inside this gateway.
    Given {
        /// Its authorization endpoint.
        authorize: Url,
        /// Its token endpoint.
        token: Url,
        /// Its keys, as a JWKS document.
        jwks: String,
    },
}

/// Why a sign-in failed. Shown to the person signing in in words; never
/// holds a token.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    /// The provider could not be reached or answered badly.
    #[error("the identity provider could not be reached: {0}")]
    Provider(String),
    /// The provider's configuration is unusable.
    #[error("the identity provider's configuration is unusable: {0}")]
    Configuration(String),
    /// The browser came back with a `state` this gateway did not send, or
    /// too late.
    #[error("this sign-in was not started here or took too long; start again")]
    UnknownState,
    /// The provider refused (the person cancelled, or was not allowed).
    #[error("the identity provider refused the sign-in: {0}")]
    Refused(String),
    /// The ID token did not verify.
    #[error("the identity provider's answer did not verify: {0}")]
    Unverified(String),
    /// Too many sign-ins are under way.
    #[error("too many sign-ins are under way; try again in a minute")]
    Busy,
}

/// A finished sign-in.
#[derive(Clone, Debug)]
pub struct SignedIn {
    /// The ID token as issued (compact JWS): the caller's credential.
    pub id_token: String,
    /// The patient in context, from a SMART launch.
    pub patient: Option<String>,
}

struct Pending {
    verifier: PkceCodeVerifier,
    nonce: Nonce,
    started: u64,
}

/// The gateway as an OpenID Connect client.
pub struct RelyingParty {
    config: OidcConfig,
    secret: Option<ClientSecret>,
    redirect: RedirectUrl,
    provider: Provider,
    http: reqwest::Client,
    client: Mutex<Option<Arc<OidcClient>>>,
    pending: Mutex<HashMap<String, Pending>>,
    max_pending: usize,
}

impl RelyingParty {
    /// A client of the provider in `config`, coming back to `{public}/callback`.
    pub fn new(
        config: &OidcConfig,
        public: &Url,
        secret: Option<String>,
        provider: Provider,
        max_pending: usize,
    ) -> Result<Self, SignInError> {
        let redirect = public
            .join("callback")
            .map_err(|e| SignInError::Configuration(e.to_string()))
            .and_then(|u| {
                RedirectUrl::new(u.to_string())
                    .map_err(|e| SignInError::Configuration(e.to_string()))
            })?;
        let http = reqwest::Client::builder()
            // Following redirects would let the provider's answers send
            // this gateway anywhere.
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_millis(config.timeout_ms))
            .build()
            .map_err(|e| SignInError::Configuration(e.to_string()))?;
        Ok(Self {
            config: config.clone(),
            secret: secret.map(ClientSecret::new),
            redirect,
            provider,
            http,
            client: Mutex::new(None),
            pending: Mutex::new(HashMap::new()),
            max_pending,
        })
    }

    /// Whether `iss` (a callback's `iss` parameter, RFC 9207) names this
    /// client's provider.
    pub fn is_issuer(&self, iss: &str) -> bool {
        iss == self.config.issuer
    }

    /// The URL to send the browser to, to sign in (with `launch` passed on
    /// from a SMART EHR launch). `now` in Unix seconds.
    pub async fn begin(&self, launch: Option<&str>, now: u64) -> Result<Url, SignInError> {
        let client = self.client().await?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .set_pkce_challenge(challenge);
        for scope in self.config.scopes.iter().filter(|s| *s != "openid") {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        if let Some(launch) = launch {
            request = request
                .add_scope(Scope::new("launch".into()))
                .add_extra_param("launch", launch.to_owned());
        }
        let (url, state, nonce) = request.url();
        let mut pending = lock(&self.pending);
        if pending.len() >= self.max_pending {
            pending.retain(|_, p| now.saturating_sub(p.started) < PENDING_S);
        }
        if pending.len() >= self.max_pending {
            return Err(SignInError::Busy);
        }
        pending.insert(
            state.secret().clone(),
            Pending {
                verifier,
                nonce,
                started: now,
            },
        );
        Ok(url)
    }

    /// The browser came back with `code` and `state`: the code exchanged
    /// (with the PKCE verifier) and the ID token verified.
    pub async fn finish(&self, code: &str, state: &str, now: u64) -> Result<SignedIn, SignInError> {
        let pending = lock(&self.pending)
            .remove(state)
            .filter(|p| now.saturating_sub(p.started) < PENDING_S)
            .ok_or(SignInError::UnknownState)?;
        let client = self.client().await?;
        let http = Http(&self.http);
        let response = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .set_pkce_verifier(pending.verifier)
            .request_async(&http)
            .await
            .map_err(|e| match e {
                openidconnect::RequestTokenError::ServerResponse(r) => {
                    SignInError::Refused(r.error().to_string())
                }
                other => SignInError::Provider(other.to_string()),
            })?;
        let id_token = response
            .id_token()
            .ok_or_else(|| SignInError::Unverified("no ID token".into()))?;
        let verifier = client.id_token_verifier().set_allowed_algs([
            CoreJwsSigningAlgorithm::EcdsaP256Sha256,
            CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
        ]);
        id_token
            .claims(&verifier, &pending.nonce)
            .map_err(|e| SignInError::Unverified(e.to_string()))?;
        Ok(SignedIn {
            id_token: id_token.to_string(),
            patient: response.extra_fields().extra_fields().patient.clone(),
        })
    }

    /// The client, its provider's endpoints and keys read once.
    async fn client(&self) -> Result<Arc<OidcClient>, SignInError> {
        if let Some(c) = lock(&self.client).as_ref() {
            return Ok(c.clone());
        }
        let issuer = IssuerUrl::new(self.config.issuer.clone())
            .map_err(|e| SignInError::Configuration(e.to_string()))?;
        let id = ClientId::new(self.config.client_id.clone());
        let (authorize, token, jwks) = match &self.provider {
            Provider::Given {
                authorize,
                token,
                jwks,
            } => {
                let jwks: CoreJsonWebKeySet = serde_json::from_str(jwks)
                    .map_err(|e| SignInError::Configuration(format!("keys: {e}")))?;
                (
                    AuthUrl::from_url(authorize.clone()),
                    TokenUrl::from_url(token.clone()),
                    jwks,
                )
            }
            Provider::Discovered => {
                let http = Http(&self.http);
                let meta = CoreProviderMetadata::discover_async(issuer.clone(), &http)
                    .await
                    .map_err(|e| SignInError::Provider(e.to_string()))?;
                let token = meta
                    .token_endpoint()
                    .cloned()
                    .ok_or_else(|| SignInError::Configuration("no token endpoint".into()))?;
                (
                    meta.authorization_endpoint().clone(),
                    token,
                    meta.jwks().clone(),
                )
            }
        };
        let mut client = ClientOf::<EndpointNotSet, EndpointNotSet>::new(id, issuer, jwks)
            .set_auth_uri(authorize)
            .set_token_uri(token)
            .set_redirect_uri(self.redirect.clone());
        if let Some(secret) = &self.secret {
            client = client.set_client_secret(secret.clone());
        }
        let client = Arc::new(client);
        *lock(&self.client) = Some(client.clone());
        Ok(client)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Why a call to the provider failed.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The request could not be made or the answer read.
    #[error("{0}")]
    Transport(#[from] reqwest::Error),
    /// The answer was larger than allowed.
    #[error("the answer is larger than {MAX_BODY} bytes")]
    TooLarge,
    /// The answer could not be put together.
    #[error("{0}")]
    Http(#[from] http::Error),
}

/// The HTTP client the `openidconnect` calls go through (a named type,
/// so that its futures are `Send` for every lifetime).
struct Http<'a>(&'a reqwest::Client);

impl<'c> openidconnect::AsyncHttpClient<'c> for Http<'_> {
    type Error = HttpError;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<HttpResponse, HttpError>> + Send + 'c>,
    >;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(send(self.0, request))
    }
}

/// One call to the provider: no redirects followed, time and body bounded.
async fn send(http: &reqwest::Client, request: HttpRequest) -> Result<HttpResponse, HttpError> {
    let (parts, body) = request.into_parts();
    let mut response = http
        .request(parts.method, parts.uri.to_string())
        .headers(parts.headers)
        .body(body)
        .send()
        .await?;
    let mut out = http::Response::builder().status(response.status());
    for (k, v) in response.headers() {
        out = out.header(k, v);
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if bytes.len() + chunk.len() > MAX_BODY {
            return Err(HttpError::TooLarge);
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(out.body(bytes)?)
}
