//! Accesses in two entries: begun (synced while the sources answer), then
//! completed (written with the next group commit, unawaited). Read back as
//! ONE access per request; an access begun whose completion never came is
//! read as one whose outcome was not recorded — never dropped, never shown
//! as refused. Verified, indexed, recovered like any entry.

mod support;

use icr_audit::{
    AccessPage, AccessQuery, AuditConfig, AuditLog, AuditRecord, Logged, LoggedAccess,
    OUTCOME_NOT_RECORDED, Observer, Sequence, audit_event, read_for_patient, verify,
};
use serde_json::{Value, json};
use support::{files, nhs, record, refused, temp_dir};

async fn page(log: &AuditLog, patient: u32) -> AccessPage {
    support::reader(log)
        .await
        .page(nhs(patient), AccessQuery::default())
        .await
        .unwrap()
}

/// Begins `r`'s access and waits for it to be durable; its sequence.
async fn begin(log: &AuditLog, r: &AuditRecord) -> Sequence {
    log.begin(&r.begun().unwrap())
        .unwrap()
        .durable()
        .await
        .unwrap()
}

/// Begins record `i`'s access, waits for it to be durable, and completes
/// it without waiting; the begun entry's sequence.
async fn begin_and_complete(log: &AuditLog, i: u32, patient: u32) -> Sequence {
    let r = record(i, patient);
    let begun = begin(log, &r).await;
    drop(log.complete(&r, begun).unwrap());
    begun
}

fn event_json(access: &LoggedAccess) -> Value {
    let observer = Observer {
        name: "ICR gateway".into(),
        organisation: None,
    };
    serde_json::to_value(icr_fhir::Resource::AuditEvent(audit_event(
        access, &observer,
    )))
    .unwrap()
}

#[tokio::test]
async fn an_access_begun_and_completed_is_read_as_one_whole_access() {
    let dir = temp_dir("two-entries");
    let log = AuditLog::open(&AuditConfig::new(&dir)).unwrap();
    // Patient 1: a refusal in one entry, then an access in two, with
    // patient 2's access begun in between.
    log.append(&refused(0, 1)).await.unwrap();
    let first = begin_and_complete(&log, 1, 1).await;
    let other = begin(&log, &record(2, 2)).await;
    // The completion rides the next group commit: this append follows it.
    log.append(&refused(3, 2)).await.unwrap();
    assert_eq!(log.stats().completions_pending, 0);
    assert_eq!(log.stats().completions_failed, 0);
    assert_eq!((first.get(), other.get()), (2, 4));

    let mine = page(&log, 1).await;
    assert_eq!(mine.total, 2);
    let seqs: Vec<u64> = mine.records.iter().map(|a| a.seq.get()).collect();
    assert_eq!(seqs, [2, 1], "one access per request, by its first entry");
    let whole = mine.records[0].record().unwrap();
    let mut expected = record(1, 1);
    expected.time = whole.time;
    assert_eq!(whole, &expected);

    // Streaming whole files says the same.
    let streamed = read_for_patient(&files(&dir), &nhs(1), 10).unwrap();
    let seqs: Vec<u64> = streamed.records.iter().map(|a| a.seq.get()).collect();
    assert_eq!(seqs, [1, 2]);
    assert_eq!(streamed.records[1].record(), Some(whole));
    assert!(streamed.is_complete());

    log.close().await.unwrap();
    let report = verify(&files(&dir)).unwrap();
    assert_eq!(
        (
            report.entries,
            report.accesses,
            report.begun,
            report.completions
        ),
        (5, 3, 2, 1)
    );
    assert!(
        report.to_string().starts_with(
            "1 file(s), 5 entries (3 accesses, 2 begun (1 with no outcome recorded), 0 recoveries)"
        ),
        "{report}"
    );
}

#[tokio::test]
async fn an_access_begun_whose_completion_never_came_is_shown_as_outcome_not_recorded() {
    let dir = temp_dir("begun-only");
    let log = AuditLog::open(&AuditConfig::new(&dir)).unwrap();
    begin_and_complete(&log, 0, 1).await;
    let mut glass = record(1, 1);
    glass.break_glass_reason = Some("Unconscious in ED".into());
    let begun = glass.begun().unwrap();
    let seq = log.begin(&begun).unwrap().durable().await.unwrap();
    // The process stops before the completion: nothing more is written.
    log.close().await.unwrap();
    drop(log);

    // Reopened, the index is built by scanning the files.
    let log = AuditLog::open(&AuditConfig::new(&dir)).unwrap();
    let p = page(&log, 1).await;
    assert_eq!(p.total, 2);
    assert!(p.is_complete());
    assert_eq!(p.records[0].seq, seq);
    let Logged::OutcomeNotRecorded(shown) = &p.records[0].logged else {
        panic!("{:?}", p.records[0]);
    };
    let mut expected = begun.clone();
    expected.time = shown.time;
    assert_eq!(shown, &expected);
    assert!(p.records[0].record().is_none());
    assert!(p.records[1].record().is_some());
    let streamed = read_for_patient(&files(&dir), &nhs(1), 10).unwrap();
    assert_eq!(streamed.records[1], p.records[0]);

    // As an AuditEvent: valid, no outcome code, said in words and as a
    // detail; no basis, no release, no sources — nothing it does not know.
    let v = event_json(&p.records[0]);
    icr_testkit::assert_fhir_r4(&v);
    assert!(v.get("outcome").is_none(), "{v}");
    assert_eq!(v["outcomeDesc"], OUTCOME_NOT_RECORDED);
    assert_eq!(
        v["entity"][0]["detail"],
        json!([
            {"type": "request-id", "valueString": "req-00000001"},
            {"type": "break-glass-reason", "valueString": "Unconscious in ED"},
            {"type": "sections-requested", "valueString": "medications,allergies,conditions"},
            {"type": "outcome", "valueString": "not-recorded"},
        ])
    );
    assert_eq!(v["purposeOfEvent"][1]["coding"][0]["code"], "BTG");
    assert_eq!(v["agent"][0]["who"]["identifier"]["value"], "user-1");
    log.close().await.unwrap();
    let report = verify(&files(&dir)).unwrap();
    assert_eq!((report.begun, report.completions), (2, 1));
}

#[tokio::test]
async fn a_completion_the_log_cannot_queue_is_refused_at_once_and_not_left_pending() {
    let dir = temp_dir("completion-closed");
    let log = AuditLog::open(&AuditConfig::new(&dir)).unwrap();
    let r = record(0, 1);
    let begun = begin(&log, &r).await;
    log.close().await.unwrap();
    assert!(
        log.complete(&r, begun).is_err(),
        "a closed log queues nothing"
    );
    assert_eq!(log.stats().completions_pending, 0);
    // Incoherent completions are refused at once, and not counted.
    let mut bad = record(1, 1);
    bad.http_status = 42;
    assert!(log.complete(&bad, begun).is_err());
    assert_eq!(log.stats().completions_pending, 0);
}

#[test]
fn a_completion_whose_begun_entry_was_archived_away_is_an_access_of_its_own() {
    use icr_audit::{ChainPoint, Event, file_name, seal, seal_entry};
    use std::io::Write;
    let dir = temp_dir("archived-begun");
    let r = record(0, 1);
    let (begun_line, head) = seal(
        ChainPoint::GENESIS,
        &Event::Begun(Box::new(r.begun().unwrap())),
    )
    .unwrap();
    let (completion, _) = seal_entry(
        head,
        &Event::Access(Box::new(r.clone())),
        Some(Sequence::new(1)),
    )
    .unwrap();
    std::fs::write(dir.join(file_name(1)), &begun_line).unwrap();
    let mut second = std::fs::File::create(dir.join(file_name(2))).unwrap();
    second.write_all(&completion).unwrap();
    drop(second);
    // The whole log: one access, numbered by its begun entry.
    let both = read_for_patient(&files(&dir), &nhs(1), 10).unwrap();
    assert_eq!(
        both.records,
        [LoggedAccess::whole(Sequence::new(1), r.clone())]
    );
    // The first file archived away: the completion alone, under its own
    // number — shown, not dropped.
    std::fs::remove_file(dir.join(file_name(1))).unwrap();
    let alone = read_for_patient(&files(&dir), &nhs(1), 10).unwrap();
    assert_eq!(alone.records, [LoggedAccess::whole(Sequence::new(2), r)]);
    assert!(alone.problem.is_none());
}

#[tokio::test]
async fn a_read_after_flushed_shows_every_completion_queued_before_it() {
    let dir = temp_dir("flushed");
    let log = AuditLog::open(&AuditConfig::new(&dir)).unwrap();
    for i in 0..20 {
        begin_and_complete(&log, i, 1).await;
    }
    log.flushed().await.unwrap();
    assert_eq!(log.stats().completions_pending, 0);
    let p = page(&log, 1).await;
    assert_eq!(p.total, 20);
    assert!(p.records.iter().all(|a| a.record().is_some()), "{p:?}");
    // Writes nothing itself.
    assert_eq!(log.head().seq.get(), 40);
    log.close().await.unwrap();
    assert!(log.flushed().await.is_err(), "closed");
}
