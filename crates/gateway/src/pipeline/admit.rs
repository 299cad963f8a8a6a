//! Admit: whether the gateway takes the request on at all. A record
//! request takes one of the in-flight permits (none free: it is shed, 503
//! with `Retry-After`, before anything else), and an access is taken on
//! only while the audit log can record it (a failed log stays failed
//! until restart: refused at once, before anyone's sources are asked).

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::Gateway;
use crate::outcome::Stop;
use crate::sources::Access;

/// One of `in_flight`'s permits, if one is free.
fn take(in_flight: &Arc<Semaphore>) -> Option<OwnedSemaphorePermit> {
    Arc::clone(in_flight).try_acquire_owned().ok()
}

/// Refuses, unaudited, an access that cannot be recorded.
pub(crate) fn recordable(access: &Access, request_id: &str) -> Result<(), Stop> {
    if access.audit.is_poisoned() {
        return Err(Stop::audit_unavailable(request_id.to_owned()));
    }
    Ok(())
}

impl Gateway {
    /// A permit to serve one record request, or `None` when the in-flight
    /// limit is reached (the request is shed: 503 with `Retry-After`).
    pub fn admit(&self) -> Option<OwnedSemaphorePermit> {
        let permit = take(&self.state().in_flight);
        if permit.is_none() {
            self.count_shed();
        }
        permit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_is_admitted_only_while_a_permit_is_free() {
        let in_flight = Arc::new(Semaphore::new(1));
        let first = take(&in_flight);
        assert!(first.is_some());
        assert!(take(&in_flight).is_none());
        drop(first);
        assert!(take(&in_flight).is_some());
    }
}
