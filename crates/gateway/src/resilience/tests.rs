use super::*;

fn down() -> SourceError {
    SourceError::Unavailable("connection refused".into())
}

#[tokio::test(start_paused = true)]
async fn the_circuit_opens_after_consecutive_failures_and_a_probe_closes_it() {
    let b = Breaker::new(3, Duration::from_secs(30), Duration::from_secs(4));
    let t0 = Instant::now();
    for _ in 0..2 {
        assert_eq!(b.admit(t0), Admission::Call);
        b.record(true, t0);
    }
    // A success in between resets the count.
    b.record(false, t0);
    for _ in 0..3 {
        assert_eq!(b.admit(t0), Admission::Call);
        b.record(true, t0);
    }
    assert_eq!(b.state(t0), CircuitState::Open);
    assert!(matches!(
        b.admit(t0 + Duration::from_secs(29)),
        Admission::Refused { failures: 3, .. }
    ));
    // After the open period, one probe; others are refused meanwhile.
    let t1 = t0 + Duration::from_secs(30);
    assert_eq!(b.admit(t1), Admission::Probe);
    assert!(matches!(b.admit(t1), Admission::Refused { .. }));
    // A probe that never reports lets another through after its allowance.
    assert_eq!(b.admit(t1 + Duration::from_secs(4)), Admission::Probe);
    // A probe that could not be made is given back at once.
    b.abandon_probe(t1 + Duration::from_secs(4));
    assert_eq!(b.admit(t1 + Duration::from_secs(4)), Admission::Probe);
    // A failed probe reopens; a successful one closes.
    b.record(true, t1 + Duration::from_secs(5));
    assert_eq!(b.state(t1 + Duration::from_secs(6)), CircuitState::Open);
    let t2 = t1 + Duration::from_secs(35);
    assert_eq!(b.admit(t2), Admission::Probe);
    b.record(false, t2);
    assert_eq!(b.state(t2), CircuitState::Closed);
    assert_eq!(b.admit(t2), Admission::Call);
}

#[test]
fn only_availability_failures_count_and_only_transient_ones_are_retried() {
    assert!(is_failure(&down()) && is_transient(&down()));
    assert!(is_failure(&SourceError::Timeout { after_ms: 1 }));
    assert!(!is_transient(&SourceError::Timeout { after_ms: 1 }));
    let status = |status| SourceError::HttpStatus {
        status,
        what: "search".into(),
    };
    assert!(is_transient(&status(503)) && is_transient(&status(500)));
    assert!(!is_transient(&status(429)) && is_failure(&status(429)));
    assert!(!is_transient(&status(501)) && is_failure(&status(501)));
    assert!(!is_failure(&status(404)) && !is_transient(&status(400)));
    assert!(!is_failure(&SourceError::PatientNotFound));
    assert!(!is_failure(&SourceError::Withheld("dissent".into())));
    assert!(is_failure(&SourceError::Malformed("truncated".into())));
    assert!(!is_transient(&SourceError::Malformed("truncated".into())));
}

#[test]
fn backoff_is_jittered_within_its_window_and_grows() {
    for tries in 0..3u8 {
        let full = BACKOFF * 2u32.pow(u32::from(tries));
        for _ in 0..200 {
            let w = backoff(tries);
            assert!(w >= full / 2 && w <= full, "{w:?}");
        }
    }
}

fn resilience(retries: u8, max_concurrent: u32, failures: u32) -> Resilience {
    Resilience {
        retries,
        max_concurrent,
        circuit_failures: failures,
        circuit_open_s: 30,
    }
}

#[tokio::test(start_paused = true)]
async fn transient_failures_are_retried_at_most_twice_within_the_deadline() {
    let g = Guard::new(&resilience(2, 4, 100), Duration::from_secs(3));
    let deadline = Instant::now() + Duration::from_secs(3);
    let n = std::sync::atomic::AtomicU32::new(0);
    let r: Result<(), _> = g
        .call(deadline, || {
            n.fetch_add(1, Ordering::SeqCst);
            async { Err(down()) }
        })
        .await;
    assert_eq!(r, Err(down()));
    assert_eq!(n.load(Ordering::SeqCst), 3, "one call and two retries");
    // Success on the second try.
    let n = std::sync::atomic::AtomicU32::new(0);
    let r = g
        .call(deadline, || {
            let k = n.fetch_add(1, Ordering::SeqCst);
            async move { if k == 0 { Err(down()) } else { Ok(k) } }
        })
        .await;
    assert_eq!(r, Ok(1));
    // Not transient: no retry.
    let n = std::sync::atomic::AtomicU32::new(0);
    let _: Result<(), _> = g
        .call(deadline, || {
            n.fetch_add(1, Ordering::SeqCst);
            async { Err(SourceError::Malformed("x".into())) }
        })
        .await;
    assert_eq!(n.load(Ordering::SeqCst), 1);
    // No room left before the deadline: no retry.
    let n = std::sync::atomic::AtomicU32::new(0);
    let tight = Instant::now() + Duration::from_millis(120);
    let _: Result<(), _> = g
        .call(tight, || {
            n.fetch_add(1, Ordering::SeqCst);
            async { Err(down()) }
        })
        .await;
    assert_eq!(n.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn the_bulkhead_refuses_calls_past_its_limit_and_an_open_circuit_refuses_all() {
    let g = std::sync::Arc::new(Guard::new(&resilience(0, 2, 2), Duration::from_secs(3)));
    let deadline = Instant::now() + Duration::from_secs(60);
    let (release, gate) = tokio::sync::watch::channel(false);
    let mut held = Vec::new();
    for _ in 0..2 {
        let g = std::sync::Arc::clone(&g);
        let gate = gate.clone();
        held.push(tokio::spawn(async move {
            g.call(deadline, || {
                let mut gate = gate.clone();
                async move {
                    let _ = gate.wait_for(|open| *open).await;
                    Ok::<_, SourceError>(())
                }
            })
            .await
        }));
    }
    tokio::task::yield_now().await;
    assert_eq!(g.in_flight(), 2);
    let r: Result<(), _> = g.call(deadline, || async { Ok(()) }).await;
    assert!(
        matches!(&r, Err(SourceError::Unavailable(m)) if m.contains("already in flight")),
        "{r:?}"
    );
    let _ = release.send(true);
    for h in held {
        assert_eq!(h.await.unwrap(), Ok(()));
    }
    assert_eq!(g.in_flight(), 0);
    // Two failures open the circuit; the next call is not made.
    for _ in 0..2 {
        let _: Result<(), _> = g.call(deadline, || async { Err(down()) }).await;
    }
    assert_eq!(g.circuit(), CircuitState::Open);
    let n = std::sync::atomic::AtomicU32::new(0);
    let r: Result<(), _> = g
        .call(deadline, || {
            n.fetch_add(1, Ordering::SeqCst);
            async { Ok(()) }
        })
        .await;
    assert!(
        matches!(&r, Err(SourceError::Unavailable(m)) if m.starts_with("circuit open")),
        "{r:?}"
    );
    assert_eq!(n.load(Ordering::SeqCst), 0);
    // After the open period a probe goes through and closes it.
    tokio::time::advance(Duration::from_secs(31)).await;
    let r: Result<(), _> = g
        .call(deadline + Duration::from_secs(60), || async { Ok(()) })
        .await;
    assert_eq!(r, Ok(()));
    assert_eq!(g.circuit(), CircuitState::Closed);
}
