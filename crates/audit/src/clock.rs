//! Where the log reads the time of day: the system clock in production, a
//! clock the test controls in tests (one that is stepped back, say).

use crate::record::Timestamp;

/// A source of the wall-clock time. The writer reads it once per group
/// commit and stamps each entry with the later of it and the previous
/// entry's time, so that entries' times never go backwards.
pub trait Clock: Send + Sync + 'static {
    /// The time now.
    fn now(&self) -> Timestamp;
}

/// The system's wall clock ([`Timestamp::now`]).
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}
