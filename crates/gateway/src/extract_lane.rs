//! The extract's lane to one source: how a population-health extract's
//! calls yield to clinical care. Interactive requests never wait for it;
//! an extract call is admitted only when
//!
//! 1. the source's circuit is not open (an extract does not pile onto a
//!    failing source: it pauses, and the source recovers for clinicians);
//! 2. no interactive call to the source is in flight (interactive first);
//! 3. fewer than `[extract] concurrency` extract calls are in flight;
//! 4. the rate allows: a token bucket at the current rate, which starts at
//!    `[extract] rate_per_s`, halves whenever an extract call is slower
//!    than `slow_ms` or fails, and creeps back by a tenth of the limit per
//!    good answer (additive increase, multiplicative decrease).
//!
//! The wait for 1 and 2 is bounded ([`MAX_WAIT`]): after it the call goes
//! anyway. The wait for an open circuit is bounded per outage, not per
//! call: once the lane has paused [`MAX_WAIT`] for one outage, its calls go
//! at once (and fail fast while the circuit stays open) until the circuit
//! closes again, so a source that stays down marks its part of each record
//! unanswered rather than slowing the whole extract to a crawl.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use icr_adapter_sdk::ExtractLimits;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use crate::resilience::CircuitState;

/// Whose call to a source this is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Traffic {
    /// A person's record asked for by a caller (the API or the viewer):
    /// never waits for an extract.
    Interactive,
    /// A population-health extract's: through the source's [`Lane`], never
    /// through the cache.
    Extract,
}

/// The longest an extract call waits for interactive traffic to pass or
/// for the source's circuit to close, before going anyway.
pub(crate) const MAX_WAIT: Duration = Duration::from_secs(10);

/// How often a waiting extract call looks again.
const POLL: Duration = Duration::from_millis(50);

/// The slowest the rate ever gets (calls per second).
const MIN_RATE: f64 = 0.2;

/// One source's lane for extract calls.
pub(crate) struct Lane {
    limit: f64,
    slow: Duration,
    interactive: AtomicU32,
    passed: Notify,
    permits: std::sync::Arc<Semaphore>,
    bucket: Mutex<Bucket>,
    /// Since when the lane has waited for the current outage (the circuit
    /// open), if it has.
    outage: Mutex<Option<Instant>>,
    /// Waits, by why: interactive traffic, the circuit, the rate.
    pub(crate) waits: [AtomicU64; 3],
}

/// Why an extract call waited (the index into [`Lane::waits`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WaitedFor {
    Interactive = 0,
    Circuit = 1,
    Rate = 2,
}

impl WaitedFor {
    /// Every reason, in index order, with its metric label.
    pub(crate) const ALL: [(WaitedFor, &'static str); 3] = [
        (WaitedFor::Interactive, "interactive"),
        (WaitedFor::Circuit, "circuit_open"),
        (WaitedFor::Rate, "rate"),
    ];
}

struct Bucket {
    rate: f64,
    tokens: f64,
    at: Instant,
}

/// An interactive call in flight to the source; extract calls wait until
/// none is.
pub(crate) struct Interactive<'a>(&'a Lane);

impl Drop for Interactive<'_> {
    fn drop(&mut self) {
        if self.0.interactive.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.passed.notify_waiters();
        }
    }
}

impl Lane {
    /// A lane under `limits`, for a source whose timeout is `timeout_ms`.
    pub(crate) fn new(limits: &ExtractLimits, timeout_ms: u64) -> Self {
        let limit = f64::from(limits.rate_per_s.max(1));
        Self {
            limit,
            slow: Duration::from_millis(limits.slow_ms.unwrap_or(timeout_ms / 2).max(1)),
            interactive: AtomicU32::new(0),
            passed: Notify::new(),
            permits: std::sync::Arc::new(Semaphore::new(limits.concurrency.max(1) as usize)),
            bucket: Mutex::new(Bucket {
                rate: limit,
                tokens: 1.0,
                at: Instant::now(),
            }),
            outage: Mutex::new(None),
            waits: Default::default(),
        }
    }

    /// Marks an interactive call in flight until the guard is dropped.
    pub(crate) fn interactive(&self) -> Interactive<'_> {
        self.interactive.fetch_add(1, Ordering::AcqRel);
        Interactive(self)
    }

    /// The extract's current rate to the source, in calls per second.
    pub(crate) fn rate(&self) -> f64 {
        self.bucket.lock().map_or(MIN_RATE, |b| b.rate)
    }

    /// Waits until an extract call may go (see the module's rules), and
    /// returns its permit; `circuit` reads the source's circuit now.
    pub(crate) async fn admit(
        &self,
        circuit: impl Fn() -> CircuitState,
    ) -> Option<OwnedSemaphorePermit> {
        let until = Instant::now() + MAX_WAIT;
        loop {
            let now = Instant::now();
            if now >= until {
                break;
            }
            if circuit() == CircuitState::Open {
                if self.outage_waited(now) >= MAX_WAIT {
                    break;
                }
                self.waited(WaitedFor::Circuit);
                tokio::time::sleep(POLL * 5).await;
                continue;
            }
            self.outage_over();
            if self.interactive.load(Ordering::Acquire) > 0 {
                self.waited(WaitedFor::Interactive);
                let passed = self.passed.notified();
                let _ = tokio::time::timeout(POLL, passed).await;
                continue;
            }
            break;
        }
        // The semaphore is never closed, so this is always a permit.
        let permit = std::sync::Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .ok();
        loop {
            let wait = self.take_token(Instant::now());
            if wait.is_zero() {
                return permit;
            }
            self.waited(WaitedFor::Rate);
            tokio::time::sleep(wait).await;
        }
    }

    /// How long the lane has waited for the current outage, counting from
    /// `now` when it is a new one.
    fn outage_waited(&self, now: Instant) -> Duration {
        let Ok(mut outage) = self.outage.lock() else {
            return MAX_WAIT;
        };
        now.saturating_duration_since(*outage.get_or_insert(now))
    }

    /// The circuit is not open: the next outage is waited for afresh.
    fn outage_over(&self) {
        if let Ok(mut outage) = self.outage.lock() {
            *outage = None;
        }
    }

    /// Learns from an extract call's answer: slow or failed halves the
    /// rate, a good answer adds a tenth of the limit back.
    pub(crate) fn observed(&self, elapsed: Duration, failed: bool) {
        let Ok(mut b) = self.bucket.lock() else {
            return;
        };
        b.rate = if failed || elapsed > self.slow {
            (b.rate / 2.0).max(MIN_RATE)
        } else {
            (b.rate + self.limit / 10.0).min(self.limit)
        };
    }

    /// Takes a token if there is one (zero), or says how long until there
    /// will be.
    fn take_token(&self, now: Instant) -> Duration {
        let Ok(mut b) = self.bucket.lock() else {
            return Duration::ZERO;
        };
        let elapsed = now.saturating_duration_since(b.at).as_secs_f64();
        b.tokens = (b.tokens + elapsed * b.rate).min(1.0);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Duration::ZERO
        } else {
            Duration::from_secs_f64((1.0 - b.tokens) / b.rate)
        }
    }

    /// Waits so far, by why, with their metric labels.
    pub(crate) fn waits_by_reason(&self) -> [(&'static str, u64); 3] {
        WaitedFor::ALL.map(|(why, label)| (label, self.waits[why as usize].load(Ordering::Relaxed)))
    }

    fn waited(&self, why: WaitedFor) {
        self.waits[why as usize].fetch_add(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lane(rate: u32, concurrency: u32) -> Lane {
        let limits = ExtractLimits {
            rate_per_s: rate,
            concurrency,
            slow_ms: Some(100),
        };
        Lane::new(&limits, 1000)
    }

    #[tokio::test(start_paused = true)]
    async fn an_extract_call_waits_while_an_interactive_call_is_in_flight() {
        let lane = std::sync::Arc::new(lane(100, 2));
        let guard = lane.interactive();
        let l = std::sync::Arc::clone(&lane);
        let extract = tokio::spawn(async move {
            let _p = l.admit(|| CircuitState::Closed).await;
            Instant::now()
        });
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(
            !extract.is_finished(),
            "went while interactive traffic was in flight"
        );
        let released = Instant::now();
        drop(guard);
        let admitted = extract.await.unwrap();
        assert!(admitted >= released);
        assert!(lane.waits[WaitedFor::Interactive as usize].load(Ordering::Relaxed) > 0);
    }

    #[tokio::test(start_paused = true)]
    async fn an_open_circuit_pauses_the_extract_once_per_outage_for_at_most_the_bounded_wait() {
        let lane = lane(100, 2);
        let started = Instant::now();
        drop(lane.admit(|| CircuitState::Open).await);
        assert!(started.elapsed() >= MAX_WAIT);
        assert!(started.elapsed() < MAX_WAIT + Duration::from_secs(1));
        assert!(lane.waits[WaitedFor::Circuit as usize].load(Ordering::Relaxed) > 0);
        // The same outage: the next calls go at once.
        let again = Instant::now();
        drop(lane.admit(|| CircuitState::Open).await);
        assert!(again.elapsed() < Duration::from_millis(100));
        // Once the circuit has closed, the next outage is waited for again.
        drop(lane.admit(|| CircuitState::Closed).await);
        let next = Instant::now();
        drop(lane.admit(|| CircuitState::Open).await);
        assert!(next.elapsed() >= MAX_WAIT);
    }

    #[tokio::test(start_paused = true)]
    async fn the_rate_limits_calls_and_slow_answers_halve_it() {
        let lane = lane(10, 64);
        let started = Instant::now();
        for _ in 0..11 {
            drop(lane.admit(|| CircuitState::Closed).await);
        }
        // One token at once, then one every 100 ms.
        assert_eq!(started.elapsed(), Duration::from_millis(1000));
        lane.observed(Duration::from_millis(150), false);
        assert_eq!(lane.rate(), 5.0);
        lane.observed(Duration::from_millis(10), true);
        assert_eq!(lane.rate(), 2.5);
        for _ in 0..100 {
            lane.observed(Duration::from_millis(10), false);
        }
        assert_eq!(lane.rate(), 10.0);
        for _ in 0..100 {
            lane.observed(Duration::from_millis(500), false);
        }
        assert_eq!(lane.rate(), MIN_RATE);
    }

    #[tokio::test(start_paused = true)]
    async fn no_more_extract_calls_are_in_flight_than_the_concurrency() {
        let lane = lane(1000, 2);
        let a = lane.admit(|| CircuitState::Closed).await;
        let _b = lane.admit(|| CircuitState::Closed).await;
        let third =
            tokio::time::timeout(Duration::from_secs(5), lane.admit(|| CircuitState::Closed));
        assert!(
            third.await.is_err(),
            "a third call went past a concurrency of 2"
        );
        drop(a);
        let third =
            tokio::time::timeout(Duration::from_secs(5), lane.admit(|| CircuitState::Closed));
        assert!(third.await.is_ok());
    }
}
