//! Progress of a run, for a progress bar, the operator API and metrics:
//! snapshots and a pure rate and ETA estimate (the clock is passed in).

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// What a run has counted so far. `extracted` includes `incomplete`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunCounts {
    /// People in the whole cohort.
    pub in_cohort: u64,
    /// People in this run's shard(s).
    pub in_shard: u64,
    /// Left out: on the national data opt-out list.
    pub national_opt_out: u64,
    /// Left out: the objection register says they object.
    pub objected: u64,
    /// No source holds a record for them.
    pub not_found: u64,
    /// Written to the extract.
    pub extracted: u64,
    /// Written, but some source failed for them (also in `extracted`).
    pub incomplete: u64,
}

impl RunCounts {
    /// People of the shard dealt with so far (saturating: a checkpoint
    /// read back may hold counts no run wrote, and must be refused, not
    /// wrapped into agreeing with its position).
    pub fn done(&self) -> u64 {
        [self.objected, self.not_found, self.extracted]
            .into_iter()
            .fold(self.national_opt_out, u64::saturating_add)
    }
}

/// A snapshot of a run, given to the progress callback after each person.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Progress {
    /// People of the shard dealt with (in cohort order).
    pub done: u64,
    /// People in the shard.
    pub total: u64,
    /// The counts so far.
    pub counts: RunCounts,
    /// People per second since this process started on the run, once
    /// known.
    pub people_per_second: Option<f64>,
    /// Time left at that rate, once known.
    #[serde(serialize_with = "seconds")]
    pub eta: Option<Duration>,
}

fn seconds<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_some(&d.as_secs()),
        None => s.serialize_none(),
    }
}

/// Estimates the rate and time left from the people done since this
/// process started (a resumed run's earlier people do not count towards
/// its rate).
#[derive(Clone, Copy, Debug)]
pub struct Eta {
    started: Instant,
    done_at_start: u64,
}

impl Eta {
    /// Starts estimating at `now`, with `done` people already done.
    pub fn new(now: Instant, done: u64) -> Self {
        Self {
            started: now,
            done_at_start: done,
        }
    }

    /// People per second and time left at `now` with `done` of `total`
    /// done; none before a person is done or any time has passed.
    pub fn estimate(&self, now: Instant, done: u64, total: u64) -> (Option<f64>, Option<Duration>) {
        let elapsed = now.saturating_duration_since(self.started).as_secs_f64();
        let since = done.saturating_sub(self.done_at_start);
        if since == 0 || elapsed <= 0.0 {
            return (None, None);
        }
        let rate = since as f64 / elapsed;
        let left = total.saturating_sub(done) as f64 / rate;
        (Some(rate), Duration::try_from_secs_f64(left).ok())
    }

    /// A snapshot at `now`.
    pub fn progress(&self, now: Instant, counts: RunCounts) -> Progress {
        let (done, total) = (counts.done(), counts.in_shard);
        let (people_per_second, eta) = self.estimate(now, done, total);
        Progress {
            done,
            total,
            counts,
            people_per_second,
            eta,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_and_eta_from_an_injected_clock() {
        let t0 = Instant::now();
        let eta = Eta::new(t0, 0);
        assert_eq!(eta.estimate(t0, 0, 100), (None, None));
        assert_eq!(eta.estimate(t0, 5, 100), (None, None));
        assert_eq!(
            eta.estimate(t0 + Duration::from_secs(10), 0, 100),
            (None, None)
        );
        assert_eq!(
            eta.estimate(t0 + Duration::from_secs(10), 20, 100),
            (Some(2.0), Some(Duration::from_secs(40)))
        );
        assert_eq!(
            eta.estimate(t0 + Duration::from_secs(10), 100, 100),
            (Some(10.0), Some(Duration::ZERO))
        );
        // A clock going backwards gives nothing rather than nonsense.
        let later = Eta::new(t0 + Duration::from_secs(5), 0);
        assert_eq!(later.estimate(t0, 3, 100), (None, None));
    }

    #[test]
    fn a_resumed_run_counts_only_its_own_people() {
        let t0 = Instant::now();
        let eta = Eta::new(t0, 60);
        assert_eq!(
            eta.estimate(t0 + Duration::from_secs(4), 70, 100),
            (Some(2.5), Some(Duration::from_secs(12)))
        );
        let counts = RunCounts {
            in_cohort: 300,
            in_shard: 100,
            national_opt_out: 1,
            objected: 2,
            not_found: 3,
            extracted: 64,
            incomplete: 5,
        };
        let p = eta.progress(t0 + Duration::from_secs(4), counts);
        assert_eq!((p.done, p.total), (70, 100));
        assert_eq!(p.eta, Some(Duration::from_secs(12)));
        assert_eq!(
            serde_json::to_value(p).unwrap()["eta"],
            serde_json::json!(12)
        );
    }
}
