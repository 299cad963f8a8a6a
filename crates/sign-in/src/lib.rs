//! Sign-in for the browser viewer: the gateway as an OpenID Connect
//! relying party (authorization code with PKCE, [`RelyingParty`]), the
//! sessions that follow ([`Sessions`]: a random id in a `Secure; HttpOnly;
//! SameSite=Strict` cookie, everything else held here, bounded), the CSRF
//! token of every form, and — for the demonstration only — a small
//! identity provider inside the gateway ([`DemoIdp`]) at which a visitor
//! picks one of the demo's people.
//!
//! Its place in the request flow: before it. A session's ID token is the
//! bearer credential of every page's record access, verified by
//! `icr_auth` like any API call's token and audited the same way.

mod config;
mod demo_idp;
mod oidc;
mod session;

pub use config::{OidcConfig, ViewerConfig};
pub use demo_idp::{AuthorizeRequest, DEMO_IDP_COOKIE, DemoIdp, DemoUser, IdpError};
pub use oidc::{LaunchContext, Provider, RelyingParty, SignInError, SignedIn};
pub use session::{
    COOKIE, Session, SessionError, Sessions, User, clear_cookie, cookie_value, session_cookie,
    set_cookie,
};

/// 32 random bytes, base64url without padding (43 characters): session
/// ids, CSRF tokens, authorization codes.
pub fn random_token() -> String {
    openidconnect::CsrfToken::new_random_len(32)
        .secret()
        .clone()
}
