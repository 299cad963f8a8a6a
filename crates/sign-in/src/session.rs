//! Sessions: the browser holds only a random id in a cookie; what the id
//! stands for — the ID token that is the caller's credential on every
//! page, the CSRF token of its forms, and break-glass reasons given — is
//! held here, in memory, bounded, and ends when unused for the idle time
//! or when the token expires, whichever is first. Times are given (Unix
//! seconds), so the rules are tested without a clock.

use std::collections::HashMap;
use std::sync::Mutex;

use icr_model::NhsNumber;

use crate::random_token;

/// The cookie's name.
pub const COOKIE: &str = "icr_session";

/// Break-glass reasons one session may hold (one per person).
const MAX_BREAK_GLASS: usize = 32;

/// Who a session is for, as the page header shows them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    /// Their name.
    pub name: String,
    /// Their role code (`R8000`, or `patient`).
    pub role: String,
    /// Their organisation's ODS code.
    pub org: String,
    /// A patient's own NHS number (never in the cookie).
    pub nhs_number: Option<NhsNumber>,
}

/// One signed-in session.
#[derive(Clone, Debug)]
pub struct Session {
    /// The ID token, sent as the bearer credential of every page's access.
    pub token: String,
    /// Who it is for.
    pub user: User,
    /// The token put in every form, checked on every POST.
    pub csrf: String,
    /// When the token expires (Unix seconds): the session ends then.
    pub expires_at: u64,
    last_seen: u64,
    break_glass: Vec<(NhsNumber, String)>,
}

impl Session {
    /// A new session for `user` with `token`, expiring with it.
    pub fn new(token: String, user: User, expires_at: u64, now: u64) -> Self {
        Self {
            token,
            user,
            csrf: random_token(),
            expires_at,
            last_seen: now,
            break_glass: Vec::new(),
        }
    }

    /// The break-glass reason given for `nhs` in this session, if any.
    pub fn break_glass(&self, nhs: NhsNumber) -> Option<&str> {
        self.break_glass
            .iter()
            .find(|(n, _)| *n == nhs)
            .map(|(_, r)| r.as_str())
    }

    /// Whether `given` is this session's CSRF token (compared in constant
    /// time).
    pub fn csrf_matches(&self, given: &str) -> bool {
        constant_time_eq(self.csrf.as_bytes(), given.as_bytes())
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Why a session could not be begun.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    /// As many sessions as allowed are live.
    #[error("too many people are signed in; try again later")]
    Full,
}

/// The live sessions, by id.
pub struct Sessions {
    idle_s: u64,
    max: usize,
    live: Mutex<HashMap<String, Session>>,
}

impl Sessions {
    /// An empty table: sessions end after `idle_s` unused; at most `max`.
    pub fn new(idle_s: u64, max: usize) -> Self {
        Self {
            idle_s,
            max,
            live: Mutex::new(HashMap::new()),
        }
    }

    fn live(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        // A panic elsewhere while holding the lock leaves a table that is
        // still consistent (every change is one insert or remove).
        self.live.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Begins `session`; its id, for the cookie.
    pub fn begin(&self, session: Session, now: u64) -> Result<String, SessionError> {
        let mut live = self.live();
        if live.len() >= self.max {
            let idle = self.idle_s;
            live.retain(|_, s| s.expires_at > now && now.saturating_sub(s.last_seen) < idle);
        }
        if live.len() >= self.max {
            return Err(SessionError::Full);
        }
        let id = random_token();
        live.insert(id.clone(), session);
        Ok(id)
    }

    /// The session `id` stands for, if it is live; using it keeps it so.
    pub fn get(&self, id: &str, now: u64) -> Option<Session> {
        let mut live = self.live();
        let s = live.get_mut(id)?;
        if s.expires_at <= now || now.saturating_sub(s.last_seen) >= self.idle_s {
            live.remove(id);
            return None;
        }
        s.last_seen = now;
        Some(s.clone())
    }

    /// Records a break-glass reason for `nhs` in session `id` (the oldest
    /// is forgotten past the bound). False when the session is gone.
    pub fn break_glass(&self, id: &str, nhs: NhsNumber, reason: &str) -> bool {
        let mut live = self.live();
        let Some(s) = live.get_mut(id) else {
            return false;
        };
        s.break_glass.retain(|(n, _)| *n != nhs);
        if s.break_glass.len() >= MAX_BREAK_GLASS {
            s.break_glass.remove(0);
        }
        s.break_glass.push((nhs, reason.to_owned()));
        true
    }

    /// Ends session `id`.
    pub fn end(&self, id: &str) {
        self.live().remove(id);
    }

    /// Sessions held now (live or not yet swept).
    pub fn len(&self) -> usize {
        self.live().len()
    }

    /// Whether none is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The session id in a `Cookie` header, if there is one.
pub fn session_cookie(header: &str) -> Option<&str> {
    cookie_value(header, COOKIE)
}

/// The value of cookie `name` in a `Cookie` header, if it is there.
pub fn cookie_value<'h>(header: &'h str, name: &str) -> Option<&'h str> {
    header
        .split(';')
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The `Set-Cookie` value holding session `id`: only over HTTPS (or
/// loopback), never to script, never on a request from another site.
pub fn set_cookie(id: &str) -> String {
    format!("{COOKIE}={id}; Path=/; Secure; HttpOnly; SameSite=Strict")
}

/// The `Set-Cookie` value that removes the session cookie.
pub fn clear_cookie() -> String {
    format!("{COOKIE}=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user() -> User {
        User {
            name: "Dr Demo".into(),
            role: "R8000".into(),
            org: "RN3".into(),
            nhs_number: None,
        }
    }

    #[test]
    fn a_session_ends_when_idle_or_when_its_token_expires_whichever_is_first() {
        let s = Sessions::new(900, 10);
        let id = s
            .begin(Session::new("t".into(), user(), 10_000, 1_000), 1_000)
            .unwrap();
        assert!(s.get(&id, 1_899).is_some(), "used within the idle time");
        assert!(s.get(&id, 2_798).is_some(), "each use keeps it");
        assert!(s.get(&id, 3_698).is_none(), "unused for 900 s: ended");
        let id = s
            .begin(Session::new("t".into(), user(), 5_000, 4_500), 4_500)
            .unwrap();
        assert!(s.get(&id, 4_999).is_some());
        assert!(s.get(&id, 5_000).is_none(), "the token expired");
        assert!(s.get("not-an-id", 4_600).is_none());
    }

    #[test]
    fn the_table_is_bounded_and_sweeps_ended_sessions_before_refusing() {
        let s = Sessions::new(900, 2);
        let a = s
            .begin(Session::new("a".into(), user(), 10_000, 0), 0)
            .unwrap();
        s.begin(Session::new("b".into(), user(), 100, 0), 0)
            .unwrap();
        assert_eq!(
            s.begin(Session::new("c".into(), user(), 10_000, 50), 50)
                .unwrap_err(),
            SessionError::Full
        );
        // b has expired by 200: swept to make room.
        let c = s
            .begin(Session::new("c".into(), user(), 10_000, 200), 200)
            .unwrap();
        assert_ne!(a, c);
        assert_eq!(s.len(), 2);
        s.end(&a);
        assert!(s.get(&a, 201).is_none());
    }

    #[test]
    fn ids_and_csrf_tokens_are_random_and_long_and_csrf_compares_exactly() {
        let s = Sessions::new(900, 10);
        let session = Session::new("t".into(), user(), 10_000, 0);
        let csrf = session.csrf.clone();
        assert_eq!(csrf.len(), 43, "32 random bytes, base64url");
        assert!(session.csrf_matches(&csrf));
        assert!(!session.csrf_matches(&csrf[1..]));
        assert!(!session.csrf_matches(""));
        let a = s.begin(session.clone(), 0).unwrap();
        let b = s.begin(session, 0).unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
    }

    #[test]
    fn break_glass_reasons_are_kept_per_person_and_bounded() {
        let s = Sessions::new(900, 10);
        let id = s
            .begin(Session::new("t".into(), user(), 10_000, 0), 0)
            .unwrap();
        let p = NhsNumber::parse("9990000050").unwrap();
        assert!(s.break_glass(&id, p, "Unconscious in ED, no GP record"));
        assert_eq!(
            s.get(&id, 1).unwrap().break_glass(p),
            Some("Unconscious in ED, no GP record")
        );
        assert!(!s.break_glass("gone", p, "x"));
    }

    #[test]
    fn the_cookie_is_found_among_others_and_set_with_every_protection() {
        assert_eq!(session_cookie("a=1; icr_session=abc; b=2"), Some("abc"));
        assert_eq!(session_cookie("icr_sessionx=abc"), None);
        assert_eq!(session_cookie(""), None);
        assert_eq!(
            set_cookie("abc"),
            "icr_session=abc; Path=/; Secure; HttpOnly; SameSite=Strict"
        );
        assert!(clear_cookie().ends_with("Max-Age=0"));
    }
}
