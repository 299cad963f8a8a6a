use super::*;

#[test]
fn histograms_are_cumulative_with_sum_and_count() {
    let m = Measurements::default();
    m.request("record", 200, Duration::from_millis(3));
    m.request("record", 200, Duration::from_millis(40));
    m.request("record", 403, Duration::from_secs(60));
    let mut out = String::new();
    m.render(&mut out);
    assert!(out.contains("icr_http_requests_total{route=\"record\",status=\"200\"} 2\n"));
    assert!(out.contains("icr_http_requests_total{route=\"record\",status=\"403\"} 1\n"));
    assert!(
        out.contains(
            "icr_http_request_duration_seconds_bucket{route=\"record\",le=\"0.0025\"} 0\n"
        )
    );
    assert!(
        out.contains("icr_http_request_duration_seconds_bucket{route=\"record\",le=\"0.005\"} 1\n")
    );
    assert!(
        out.contains("icr_http_request_duration_seconds_bucket{route=\"record\",le=\"0.05\"} 2\n")
    );
    assert!(
        out.contains("icr_http_request_duration_seconds_bucket{route=\"record\",le=\"30\"} 2\n")
    );
    assert!(
        out.contains("icr_http_request_duration_seconds_bucket{route=\"record\",le=\"+Inf\"} 3\n")
    );
    assert!(out.contains("icr_http_request_duration_seconds_count{route=\"record\"} 3\n"));
    assert!(out.contains("icr_http_request_duration_seconds_sum{route=\"record\"} 60.043\n"));
}

#[test]
fn added_time_has_sub_millisecond_buckets() {
    let m = Measurements::default();
    m.added(Duration::from_micros(80));
    m.added(Duration::from_micros(600));
    m.added(Duration::from_millis(3));
    let mut out = String::new();
    m.render(&mut out);
    assert!(out.contains("icr_record_added_seconds_bucket{le=\"0.00005\"} 0\n"));
    assert!(out.contains("icr_record_added_seconds_bucket{le=\"0.0001\"} 1\n"));
    assert!(out.contains("icr_record_added_seconds_bucket{le=\"0.00075\"} 2\n"));
    assert!(out.contains("icr_record_added_seconds_bucket{le=\"0.005\"} 3\n"));
    assert!(out.contains("icr_record_added_seconds_count 3\n"));
    assert!(out.contains("icr_record_added_seconds_sum 0.00368\n"));
}

#[test]
fn a_snapshot_renders_every_family_once_in_order() {
    let measurements = Measurements::default();
    let measured = SourceMeasurements::default();
    measured.observe(icr_model::SourceStatus::Timeout, Duration::from_millis(2));
    let snapshot = Snapshot {
        memory: MemorySnapshot {
            index_skips: 4,
            ..Default::default()
        },
        break_glass: 2,
        audit: icr_audit::AuditStats {
            completions_pending: 3,
            ..Default::default()
        },
        paged: (1, 300),
        cache: Some(CacheSnapshot {
            bytes: 10,
            hits: 3,
            misses: 4,
            evictions: 0,
            purged: 1,
            entries: 2,
            views_merged: 6,
            view_hits: 11,
            views: 3,
        }),
        sources: 1,
        reloads: 5,
        reload_failures: 1,
        reload_problem: true,
        shed: 7,
        in_flight: 1,
        measurements: &measurements,
        per_source: vec![SourceSnapshot {
            id: "gp-a",
            measured: &measured,
            calls: 9,
            retries: 1,
            short_circuited: 0,
            rejected: 0,
            in_flight: 1,
            circuit: CircuitState::Open,
            extract_waits: [("interactive", 4), ("circuit_open", 0), ("rate", 2)],
            extract_rate: 2.5,
        }],
    };
    let out = render(&snapshot);
    let families: Vec<&str> = out
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .collect();
    assert_eq!(
        families,
        [
            "icr_break_glass_total counter",
            "icr_audit_appends_total counter",
            "icr_audit_syncs_total counter",
            "icr_audit_rotations_total counter",
            "icr_audit_poisoned gauge",
            "icr_fhir_paged_records gauge",
            "icr_fhir_paged_bytes gauge",
            "icr_audit_torn_tail_recovered_total counter",
            "icr_audit_clock_behind_total counter",
            "icr_audit_completions_pending gauge",
            "icr_audit_completions_failed_total counter",
            "icr_cache_bytes gauge",
            "icr_sources gauge",
            "icr_config_reloads_total counter",
            "icr_config_reload_failures_total counter",
            "icr_config_reload_problem gauge",
            "icr_requests_shed_total counter",
            "icr_requests_in_flight gauge",
            "icr_memory_not_found_remembered_total counter",
            "icr_memory_not_found_skips_total counter",
            "icr_index_skips_total counter",
            "icr_index_failures_total counter",
            "icr_memory_practice_first_wave_total counter",
            "icr_memory_practice_unconfirmed_total counter",
            "icr_memory_purged_total counter",
            "icr_memory_not_found_entries gauge",
            "icr_memory_practice_entries gauge",
            "icr_cache_hits_total counter",
            "icr_cache_misses_total counter",
            "icr_cache_evictions_total counter",
            "icr_cache_purged_total counter",
            "icr_cache_entries gauge",
            "icr_views_merged_total counter",
            "icr_view_hits_total counter",
            "icr_views gauge",
            "icr_audit_write_duration_seconds histogram",
            "icr_record_added_seconds histogram",
            "icr_http_requests_total counter",
            "icr_http_request_duration_seconds histogram",
            "icr_source_outcomes_total counter",
            "icr_source_duration_seconds histogram",
            "icr_source_calls_total counter",
            "icr_source_retries_total counter",
            "icr_source_short_circuited_total counter",
            "icr_source_rejected_total counter",
            "icr_source_in_flight gauge",
            "icr_source_circuit_state gauge",
            "icr_extract_waits_total counter",
            "icr_extract_rate gauge",
        ]
    );
    for line in [
        "# HELP icr_break_glass_total Accesses granted by breaking glass, for privacy-officer review.\n# TYPE icr_break_glass_total counter\nicr_break_glass_total 2\n",
        "icr_fhir_paged_bytes 300\n",
        "icr_audit_completions_pending 3\n",
        "icr_config_reload_problem 1\n",
        "icr_cache_purged_total 1\n",
        "icr_views_merged_total 6\n",
        "icr_view_hits_total 11\n",
        "icr_views 3\n",
        "# HELP icr_index_skips_total Sources not asked because the record-location index names other holders.\n# TYPE icr_index_skips_total counter\nicr_index_skips_total 4\n",
        "icr_source_outcomes_total{source=\"gp-a\",status=\"timeout\"} 1\n",
        "icr_source_duration_seconds_bucket{source=\"gp-a\",le=\"0.0025\"} 1\n",
        "icr_source_calls_total{source=\"gp-a\"} 9\n",
        "icr_source_in_flight{source=\"gp-a\"} 1\n",
        "icr_source_circuit_state{source=\"gp-a\",state=\"closed\"} 0\nicr_source_circuit_state{source=\"gp-a\",state=\"open\"} 1\nicr_source_circuit_state{source=\"gp-a\",state=\"half_open\"} 0\n",
        "icr_extract_waits_total{source=\"gp-a\",reason=\"interactive\"} 4\n",
        "icr_extract_rate{source=\"gp-a\"} 2.5\n",
    ] {
        assert!(out.contains(line), "{line}");
    }
}

#[test]
fn without_a_cache_no_cache_family_is_written() {
    let measurements = Measurements::default();
    let snapshot = Snapshot {
        memory: MemorySnapshot::default(),
        break_glass: 0,
        audit: icr_audit::AuditStats::default(),
        paged: (0, 0),
        cache: None,
        sources: 0,
        reloads: 0,
        reload_failures: 0,
        reload_problem: false,
        shed: 0,
        in_flight: 0,
        measurements: &measurements,
        per_source: Vec::new(),
    };
    let out = render(&snapshot);
    assert!(!out.contains("icr_cache_") && !out.contains("icr_view"));
}
