//! Per-source protection around each upstream call: a circuit breaker, a
//! concurrency limit (bulkhead) and retries with jittered backoff, all
//! within the request's deadline. Cache hits never reach this layer; a
//! call that does passes the breaker, takes a bulkhead permit, then tries
//! up to `1 + retries` times.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use icr_adapter_sdk::{Resilience, SourceError};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// First backoff before a retry; each further retry doubles it. The wait is
/// drawn uniformly between half and all of it (jitter), so that many
/// requests retrying a recovering source do not arrive together.
const BACKOFF: Duration = Duration::from_millis(50);

/// A retry is not started unless at least this much of the source's
/// deadline is left after the backoff: an attempt needs time to succeed.
const MIN_ATTEMPT: Duration = Duration::from_millis(100);

/// The breaker's state, as metrics and status messages show it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CircuitState {
    /// Calls go through.
    Closed,
    /// Calls are refused until the open period ends.
    Open,
    /// One probe call is allowed; its outcome closes or reopens the circuit.
    HalfOpen,
}

impl CircuitState {
    /// The state's name in metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            CircuitState::Closed => "closed",
            CircuitState::Open => "open",
            CircuitState::HalfOpen => "half_open",
        }
    }
}

#[derive(Debug)]
enum State {
    Closed {
        failures: u32,
    },
    Open {
        until: Instant,
        failures: u32,
    },
    /// A probe is in flight since `since`; if it never reports (its request
    /// was cancelled), another is allowed after the probe allowance.
    HalfOpen {
        since: Instant,
    },
}

/// Whether a call may go ahead.
#[derive(Debug, PartialEq, Eq)]
enum Admission {
    Call,
    Probe,
    Refused { retry_in: Duration, failures: u32 },
}

/// A circuit breaker over consecutive failures.
#[derive(Debug)]
pub struct Breaker {
    state: Mutex<State>,
    threshold: u32,
    open_for: Duration,
    /// How long a probe may take before another is allowed.
    probe_allowance: Duration,
}

impl Breaker {
    /// Opens after `threshold` consecutive failures, for `open_for`.
    pub fn new(threshold: u32, open_for: Duration, probe_allowance: Duration) -> Self {
        Self {
            state: Mutex::new(State::Closed { failures: 0 }),
            threshold: threshold.max(1),
            open_for,
            probe_allowance,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn admit(&self, now: Instant) -> Admission {
        let mut state = self.lock();
        match *state {
            State::Closed { .. } => Admission::Call,
            State::Open { until, failures } if now < until => Admission::Refused {
                retry_in: until - now,
                failures,
            },
            State::Open { .. } => {
                *state = State::HalfOpen { since: now };
                Admission::Probe
            }
            State::HalfOpen { since } if now.duration_since(since) >= self.probe_allowance => {
                *state = State::HalfOpen { since: now };
                Admission::Probe
            }
            State::HalfOpen { since } => Admission::Refused {
                retry_in: self
                    .probe_allowance
                    .saturating_sub(now.duration_since(since)),
                failures: self.threshold,
            },
        }
    }

    /// Gives back a probe that was not made (no concurrency permit): the
    /// next request may probe at once, since nothing was learnt.
    fn abandon_probe(&self, now: Instant) {
        let mut state = self.lock();
        if let State::HalfOpen { .. } = *state {
            *state = State::Open {
                until: now,
                failures: self.threshold,
            };
        }
    }

    /// Records a call's outcome: `failed` when it counts against the source.
    fn record(&self, failed: bool, now: Instant) {
        let mut state = self.lock();
        *state = match (&*state, failed) {
            (_, false) => State::Closed { failures: 0 },
            (State::Closed { failures }, true) if failures + 1 < self.threshold => State::Closed {
                failures: failures + 1,
            },
            (State::Closed { failures }, true) => State::Open {
                until: now + self.open_for,
                failures: failures + 1,
            },
            (State::Open { failures, .. }, true) => State::Open {
                until: now + self.open_for,
                failures: failures.saturating_add(1),
            },
            (State::HalfOpen { .. }, true) => State::Open {
                until: now + self.open_for,
                failures: self.threshold,
            },
        };
    }

    /// The state now.
    pub fn state(&self, now: Instant) -> CircuitState {
        match *self.lock() {
            State::Closed { .. } => CircuitState::Closed,
            State::Open { until, .. } if now < until => CircuitState::Open,
            State::Open { .. } | State::HalfOpen { .. } => CircuitState::HalfOpen,
        }
    }
}

/// Whether a failure counts against the source's health (opening the
/// circuit). A source that answers "not known", "withheld" or "refused"
/// is healthy; so is one that answers 4xx to a request it dislikes.
pub fn is_failure(e: &SourceError) -> bool {
    match e {
        SourceError::Timeout { .. }
        | SourceError::Unavailable(_)
        | SourceError::TooLarge { .. }
        | SourceError::Malformed(_) => true,
        SourceError::HttpStatus { status, .. } => *status >= 500 || *status == 429,
        SourceError::PatientNotFound
        | SourceError::Refused(_)
        | SourceError::Withheld(_)
        | SourceError::IdentityMismatch(_) => false,
    }
}

/// Whether a failed call may succeed if tried again soon: the source could
/// not be reached, or said it is briefly broken. A 429 is not retried: the
/// source asked callers to slow down, and asking again at once would not.
pub fn is_transient(e: &SourceError) -> bool {
    match e {
        SourceError::Unavailable(_) => true,
        SourceError::HttpStatus { status, .. } => matches!(status, 500 | 502 | 503 | 504),
        _ => false,
    }
}

/// One source's protection: breaker, bulkhead and retry policy, and the
/// counters metrics show.
#[derive(Debug)]
pub struct Guard {
    breaker: Breaker,
    bulkhead: std::sync::Arc<Semaphore>,
    max_concurrent: u32,
    retries: u8,
    /// Upstream calls made (first attempts and retries).
    pub calls: AtomicU64,
    /// Retries made.
    pub retried: AtomicU64,
    /// Calls refused because the circuit was open.
    pub short_circuited: AtomicU64,
    /// Calls refused because the bulkhead was full.
    pub rejected: AtomicU64,
}

impl Guard {
    /// The protection a source's `[resilience]` asks for; `timeout` is the
    /// source's own time limit (a probe gets that long before another).
    pub fn new(r: &Resilience, timeout: Duration) -> Self {
        Self {
            breaker: Breaker::new(
                r.circuit_failures,
                Duration::from_secs(r.circuit_open_s),
                timeout + Duration::from_secs(1),
            ),
            bulkhead: std::sync::Arc::new(Semaphore::new(r.max_concurrent as usize)),
            max_concurrent: r.max_concurrent,
            retries: r.retries,
            calls: AtomicU64::new(0),
            retried: AtomicU64::new(0),
            short_circuited: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
        }
    }

    /// The circuit's state now.
    pub fn circuit(&self) -> CircuitState {
        self.breaker.state(Instant::now())
    }

    /// Calls in flight now.
    pub fn in_flight(&self) -> u32 {
        self.max_concurrent
            .saturating_sub(u32::try_from(self.bulkhead.available_permits()).unwrap_or(u32::MAX))
    }

    fn permit(&self) -> Result<OwnedSemaphorePermit, SourceError> {
        std::sync::Arc::clone(&self.bulkhead)
            .try_acquire_owned()
            .map_err(|_| {
                self.rejected.fetch_add(1, Ordering::Relaxed);
                SourceError::Unavailable(format!(
                    "not asked: {} calls to this source are already in flight (its limit)",
                    self.max_concurrent
                ))
            })
    }

    /// Runs `attempt` under the breaker, the bulkhead and the retry policy,
    /// never past `deadline`.
    pub async fn call<T, F, Fut>(&self, deadline: Instant, mut attempt: F) -> Result<T, SourceError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, SourceError>>,
    {
        let probe = match self.breaker.admit(Instant::now()) {
            Admission::Call => false,
            Admission::Probe => true,
            Admission::Refused { retry_in, failures } => {
                self.short_circuited.fetch_add(1, Ordering::Relaxed);
                return Err(SourceError::Unavailable(format!(
                    "circuit open: not asked after {failures} consecutive failures; next probe in {} s",
                    retry_in.as_secs().max(1)
                )));
            }
        };
        let _permit = match self.permit() {
            Ok(p) => p,
            Err(e) => {
                if probe {
                    // Not a verdict on the source: let the next request probe.
                    self.breaker.abandon_probe(Instant::now());
                }
                return Err(e);
            }
        };
        let mut tries: u8 = 0;
        loop {
            self.calls.fetch_add(1, Ordering::Relaxed);
            let result = attempt().await;
            let now = Instant::now();
            match &result {
                Err(e) if is_transient(e) && tries < self.retries && !probe => {
                    let wait = backoff(tries);
                    if now + wait + MIN_ATTEMPT < deadline {
                        tries += 1;
                        self.retried.fetch_add(1, Ordering::Relaxed);
                        tokio::time::sleep(wait).await;
                        continue;
                    }
                    self.breaker.record(true, now);
                }
                Err(e) => self.breaker.record(is_failure(e), now),
                Ok(_) => self.breaker.record(false, now),
            }
            return result;
        }
    }
}

/// The jittered wait before retry number `tries + 1`: uniform between half
/// and all of `BACKOFF × 2^tries`.
fn backoff(tries: u8) -> Duration {
    let full = BACKOFF * 2u32.saturating_pow(u32::from(tries));
    let half = full / 2;
    let jitter = u64::try_from(half.as_micros()).unwrap_or(u64::MAX);
    half + Duration::from_micros(random() % jitter.max(1))
}

/// A cheap, non-cryptographic random number (SplitMix64 over a counter
/// seeded by the clock): enough to spread retries.
fn random() -> u64 {
    static STATE: AtomicU64 = AtomicU64::new(0);
    if STATE.load(Ordering::Relaxed) == 0 {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64 | 1);
        let _ = STATE.compare_exchange(0, seed, Ordering::Relaxed, Ordering::Relaxed);
    }
    let mut z = STATE
        .fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed)
        .wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests;
