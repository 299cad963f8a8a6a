//! What reading one person's accesses costs on a big log: streaming every
//! file (`read_for_patient`, how `GET /v1/audit` read before the index)
//! against one page through the index; and what opening the log and
//! building its index cost.
//!
//!     cargo run -p icr-audit --release --example audit-read-bench -- [DIR] [ENTRIES]
//!
//! DIR (default: a new directory under the system temp dir) gets a log of
//! ENTRIES (default 200000) accesses to 1,000 people in turn, in 64 MiB
//! files; the person read has one access in 1,000.

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use icr_audit::{
    AccessQuery, AuditConfig, AuditLog, AuditRecord, Basis, ChainPoint, Decision, Event,
    Interaction, ReasonCode, RequestId, SourceAsked, SourceStatus, Timestamp, User, file_name,
    log_files, read_for_patient, seal,
};
use icr_model::{NhsNumber, OdsCode, Section, SectionSet, SourceId};

fn record(i: u64, nhs: NhsNumber, time: Timestamp) -> AuditRecord {
    let sections: SectionSet = [Section::Allergies, Section::Medications]
        .into_iter()
        .collect();
    AuditRecord {
        time,
        request_id: RequestId::parse(&format!("bench-{i}")).expect("valid id"),
        interaction: Interaction::Record,
        user: Some(User {
            issuer: Some("https://idp.example.nhs.uk".into()),
            sub: format!("user-{}", i % 50),
            name: format!("Dr Bench Clinician {}", i % 50),
            role: "R8000".into(),
            org: OdsCode::parse("RN3").expect("valid ODS code"),
        }),
        calling_system: Some("CN=portal.example.nhs.uk".into()),
        nhs_number: Some(nhs),
        purpose: "directcare".into(),
        break_glass_reason: None,
        basis: Basis::Involved,
        sections_requested: sections,
        sections_released: sections,
        sources: vec![SourceAsked {
            source: SourceId::parse("gwh").expect("valid source id"),
            status: SourceStatus::Ok,
        }],
        items_released: 12,
        items_withheld: 0,
        shown: icr_audit::ReleasedRecords::NONE,
        decision: Decision::Allowed,
        reason: ReasonCode::parse("involved").expect("valid code"),
        http_status: 200,
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let dir = args.next().map(PathBuf::from).unwrap_or_else(|| {
        std::env::temp_dir().join(format!("icr-audit-read-bench-{}", std::process::id()))
    });
    let entries: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(200_000);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("the directory");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).expect("mode");
    }
    let people: Vec<NhsNumber> = (0..)
        .filter_map(|k: u32| NhsNumber::from_first_nine(999_000_001 + k))
        .take(1000)
        .collect();
    let start = Timestamp::now().unix_micros() - (entries as i64) * 1_000_000;

    let took = Instant::now();
    let mut head = ChainPoint::GENESIS;
    let (mut file_no, mut size) = (1u64, 0u64);
    let mut out = std::io::BufWriter::new(
        std::fs::File::create(dir.join(file_name(file_no))).expect("a file"),
    );
    for i in 0..entries {
        let time = Timestamp::from_unix_micros(start + i as i64 * 1_000_000).expect("a time");
        let r = record(i, people[(i % 1000) as usize], time);
        let (line, next) = seal(head, &Event::Access(Box::new(r))).expect("sealed");
        if size + line.len() as u64 > 64 * 1024 * 1024 {
            out.flush().expect("written");
            file_no += 1;
            size = 0;
            out = std::io::BufWriter::new(
                std::fs::File::create(dir.join(file_name(file_no))).expect("a file"),
            );
        }
        out.write_all(&line).expect("written");
        size += line.len() as u64;
        head = next;
    }
    out.flush().expect("written");
    let files = log_files(&dir).expect("listed");
    let bytes: u64 = files
        .iter()
        .map(|f| std::fs::metadata(f).map(|m| m.len()).unwrap_or(0))
        .sum();
    println!(
        "log: {entries} entries, {} files, {:.1} MB, written in {:.2?}",
        files.len(),
        bytes as f64 / 1e6,
        took.elapsed()
    );

    let who = people[0];
    let mut streamed = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        let all = read_for_patient(&files, &who, 1000).expect("read");
        streamed.push(t.elapsed());
        assert_eq!(all.records.len() as u64, entries.div_ceil(1000));
    }
    println!(
        "streaming every file for one person (before): median {:.2?}",
        median(streamed)
    );

    let t = Instant::now();
    let log = AuditLog::open(&AuditConfig::new(&dir)).expect("opened");
    println!("open (resume from the newest file): {:.2?}", t.elapsed());
    while !log.stats().index_ready {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    println!(
        "index built (every file, in the background) {:.2?} after the start: {} accesses",
        t.elapsed(),
        log.stats().indexed
    );
    for (label, count) in [("default page (50)", 50), ("largest page (500)", 500)] {
        let mut paged = Vec::new();
        for _ in 0..20 {
            let t = Instant::now();
            let page = log
                .reader()
                .expect("a permit")
                .page(
                    who,
                    AccessQuery {
                        count,
                        ..AccessQuery::default()
                    },
                )
                .await
                .expect("a page");
            paged.push(t.elapsed());
            assert!(!page.records.is_empty());
        }
        println!(
            "one page through the index, {label}: median {:.2?}",
            median(paged)
        );
    }
    log.close().await.expect("closed");
    let _ = std::fs::remove_dir_all(&dir);
}
