//! The pages of a `$everything` answer longer than one page.
//!
//! The first request assembles the record through the whole pipeline
//! (policy, audit) and renders it; when it holds more matches than the page
//! size, the rendered entries wait here for the `next` links to be
//! followed: in memory only (never on disk), for a few minutes, under a
//! random 128-bit token, for the authenticated caller who asked and no one
//! else. Everything here is bounded: how long a record is kept, how many
//! are kept, and their bytes in all; past a bound the oldest go first, and
//! a page asked of a record no longer here is answered `410 Gone` (the
//! client starts again). Each match keeps the source records it stands
//! for, so that each page's audit entry lists the records on that page.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use icr_audit::{AuditRecord, ReleasedRecords};
use icr_model::{NhsNumber, RecordId};
use serde_json::value::RawValue;

/// A match with the entries included for it (its Provenances), serialised,
/// and the source records it shows.
#[derive(Debug)]
pub struct Group {
    /// The match's entry, then its includes.
    pub entries: Vec<Box<RawValue>>,
    /// The source records the match stands for (its provenance): what a
    /// page holding it shows, for the page's audit.
    pub records: Vec<RecordId>,
}

/// The source records `groups` show, for the audit of the page holding
/// them.
pub(crate) fn shown_by(groups: &[Group]) -> ReleasedRecords {
    ReleasedRecords::of(groups.iter().flat_map(|g| &g.records))
}

/// How much the store may hold.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    /// How long a record's pages may be read after the first.
    pub ttl: Duration,
    /// Records kept at once, at most.
    pub max_records: usize,
    /// Bytes of rendered entries kept in all, at most.
    pub max_bytes: usize,
}

impl Default for Limits {
    /// Five minutes; 256 records; 128 MiB (about 250 of the largest
    /// records seen, and more than a gateway's in-flight requests produce
    /// in five minutes of ordinary use).
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(300),
            max_records: 256,
            max_bytes: 128 * 1024 * 1024,
        }
    }
}

/// Who may read a record's pages: the caller who asked for it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub(crate) struct Owner {
    /// The token's issuer.
    pub issuer: String,
    /// The token's subject.
    pub sub: String,
    /// The caller's job role.
    pub role: String,
    /// The caller's organisation.
    pub org: String,
    /// The calling system's certificate identity, when it presented one.
    pub calling_system: Option<String>,
}

/// A record's rendered entries, waiting to be read page by page.
#[derive(Debug)]
pub(crate) struct Paged {
    /// Who may read them.
    pub owner: Owner,
    /// Whose record.
    pub nhs: NhsNumber,
    /// The release's audit record, the basis of each page read's own.
    pub released: AuditRecord,
    /// The OperationOutcome entries (sources that did not answer in full,
    /// warnings): on the first page.
    pub outcomes: Vec<Box<RawValue>>,
    /// Every match, with its includes, in order.
    pub groups: Vec<Group>,
}

impl Paged {
    /// The bytes the rendered entries take.
    fn bytes(&self) -> usize {
        bytes_of(&self.outcomes, &self.groups)
    }
}

/// The bytes a record's rendered entries take, kept.
pub(crate) fn bytes_of(outcomes: &[Box<RawValue>], groups: &[Group]) -> usize {
    let raw = |r: &RawValue| r.get().len() + 32;
    outcomes.iter().map(|r| raw(r)).sum::<usize>()
        + groups
            .iter()
            .flat_map(|g| &g.entries)
            .map(|r| raw(r))
            .sum::<usize>()
        + 512
}

struct Kept {
    paged: Arc<Paged>,
    expires: Instant,
    bytes: usize,
    seq: u64,
}

#[derive(Default)]
struct State {
    kept: HashMap<String, Kept>,
    bytes: usize,
    seq: u64,
}

impl State {
    fn remove(&mut self, token: &str) {
        if let Some(k) = self.kept.remove(token) {
            self.bytes -= k.bytes;
        }
    }
}

/// The bounded in-memory store of paged records.
pub(crate) struct PageStore {
    limits: Limits,
    state: Mutex<State>,
}

impl PageStore {
    /// An empty store with these limits.
    pub(crate) fn new(limits: Limits) -> Self {
        Self {
            limits,
            state: Mutex::new(State::default()),
        }
    }

    /// Keeps a record's pages; returns its token and the record kept, or
    /// gives the record back when it alone is larger than the whole store
    /// may hold. Expired records go first, then the oldest, until it fits.
    pub(crate) fn insert(
        &self,
        paged: Paged,
        now: Instant,
    ) -> Result<(String, Arc<Paged>), Box<Paged>> {
        let bytes = paged.bytes();
        if !self.keeps(bytes) {
            return Err(Box::new(paged));
        }
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let expired: Vec<String> = state
            .kept
            .iter()
            .filter(|(_, k)| k.expires <= now)
            .map(|(t, _)| t.clone())
            .collect();
        for t in expired {
            state.remove(&t);
        }
        while state.kept.len() >= self.limits.max_records
            || state.bytes + bytes > self.limits.max_bytes
        {
            let Some(oldest) = state
                .kept
                .iter()
                .min_by_key(|(_, k)| k.seq)
                .map(|(t, _)| t.clone())
            else {
                break;
            };
            state.remove(&oldest);
        }
        let token = uuid::Uuid::new_v4().simple().to_string();
        state.seq += 1;
        let seq = state.seq;
        state.bytes += bytes;
        let paged = Arc::new(paged);
        state.kept.insert(
            token.clone(),
            Kept {
                paged: Arc::clone(&paged),
                expires: now + self.limits.ttl,
                bytes,
                seq,
            },
        );
        Ok((token, paged))
    }

    /// Whether a record of `bytes` ([`bytes_of`]) would be kept: what
    /// [`insert`](Self::insert) decides, known before it is asked.
    pub(crate) fn keeps(&self, bytes: usize) -> bool {
        bytes <= self.limits.max_bytes && self.limits.max_records > 0
    }

    /// The record kept under `token`, unless it has expired or was never
    /// kept.
    pub(crate) fn get(&self, token: &str, now: Instant) -> Option<Arc<Paged>> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        match state.kept.get(token) {
            Some(k) if k.expires > now => Some(Arc::clone(&k.paged)),
            Some(_) => {
                state.remove(token);
                None
            }
            None => None,
        }
    }

    /// Records kept now, and their bytes.
    pub(crate) fn usage(&self) -> (usize, usize) {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        (state.kept.len(), state.bytes)
    }
}

/// The FHIR face's state, held by the gateway: the pages waiting to be
/// read.
pub(crate) struct FhirState {
    pub(crate) pages: PageStore,
    /// Whether the listener is TLS (the scheme of the links written).
    pub(crate) tls: bool,
}

impl FhirState {
    /// The state for a gateway built from `config`.
    pub(crate) fn new(config: &icr_config::Config) -> Self {
        Self {
            pages: PageStore::new(Limits::default()),
            tls: config.gateway.tls.is_some(),
        }
    }

    /// Records whose pages are kept now, and their bytes.
    pub(crate) fn pages_kept(&self) -> (usize, usize) {
        self.pages.usage()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paged(entries: usize, size: usize) -> Paged {
        let raw = || RawValue::from_string(format!("\"{}\"", "x".repeat(size))).unwrap();
        Paged {
            owner: Owner {
                issuer: "https://idp.example".into(),
                sub: "dr-a".into(),
                role: "R8000".into(),
                org: "RN3".into(),
                calling_system: None,
            },
            nhs: NhsNumber::parse("9990000018").unwrap(),
            released: icr_audit::AuditRecord {
                time: icr_audit::Timestamp::now(),
                request_id: icr_audit::RequestId::parse("r1").unwrap(),
                interaction: icr_audit::Interaction::FhirEverything,
                user: None,
                calling_system: None,
                nhs_number: None,
                purpose: "directcare".into(),
                break_glass_reason: None,
                basis: icr_audit::Basis::None,
                sections_requested: icr_model::SectionSet::EMPTY,
                sections_released: icr_model::SectionSet::EMPTY,
                sources: Vec::new(),
                items_released: 0,
                items_withheld: 0,
                shown: icr_audit::ReleasedRecords::NONE,
                decision: icr_audit::Decision::Allowed,
                reason: icr_audit::ReasonCode::parse("involved").unwrap(),
                http_status: 200,
            },
            outcomes: Vec::new(),
            groups: (0..entries)
                .map(|_| Group {
                    entries: vec![raw()],
                    records: Vec::new(),
                })
                .collect(),
        }
    }

    fn limits(max_records: usize, max_bytes: usize) -> Limits {
        Limits {
            ttl: Duration::from_secs(300),
            max_records,
            max_bytes,
        }
    }

    #[test]
    fn a_kept_record_is_found_by_its_token_until_it_expires() {
        let store = PageStore::new(limits(10, 1 << 20));
        let t0 = Instant::now();
        let (token, _) = store.insert(paged(3, 10), t0).unwrap();
        assert_eq!(token.len(), 32);
        assert!(token.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(store.get(&token, t0).unwrap().groups.len(), 3);
        assert!(store.get("0".repeat(32).as_str(), t0).is_none());
        let later = t0 + Duration::from_secs(299);
        assert!(store.get(&token, later).is_some());
        assert!(store.get(&token, t0 + Duration::from_secs(300)).is_none());
        assert_eq!(store.usage(), (0, 0), "an expired record is dropped");
    }

    #[test]
    fn tokens_are_unguessable_and_distinct() {
        let store = PageStore::new(limits(1000, 1 << 24));
        let t0 = Instant::now();
        let tokens: std::collections::HashSet<String> = (0..500)
            .map(|_| store.insert(paged(1, 1), t0).unwrap().0)
            .collect();
        assert_eq!(tokens.len(), 500);
    }

    #[test]
    fn the_store_holds_no_more_than_its_bounds_and_drops_the_oldest_first() {
        let one = paged(4, 1000).bytes();
        let store = PageStore::new(limits(3, one * 2 + one / 2));
        let t0 = Instant::now();
        let a = store.insert(paged(4, 1000), t0).unwrap().0;
        let b = store.insert(paged(4, 1000), t0).unwrap().0;
        let c = store.insert(paged(4, 1000), t0).unwrap().0;
        assert!(
            store.get(&a, t0).is_none(),
            "over the byte bound: oldest gone"
        );
        assert!(store.get(&b, t0).is_some() && store.get(&c, t0).is_some());
        let (records, bytes) = store.usage();
        assert_eq!(records, 2);
        assert!(bytes <= one * 2 + one / 2);
        // The record count bound.
        let store = PageStore::new(limits(2, 1 << 24));
        let tokens: Vec<String> = (0..5)
            .map(|_| store.insert(paged(1, 1), t0).unwrap().0)
            .collect();
        assert_eq!(store.usage().0, 2);
        assert!(store.get(&tokens[3], t0).is_some() && store.get(&tokens[4], t0).is_some());
        // A record larger than the whole store is not kept.
        let store = PageStore::new(limits(2, 100));
        assert!(store.insert(paged(4, 1000), t0).is_err());
        assert_eq!(store.usage(), (0, 0));
    }
}
