//! The run end to end over a fake gateway and a file sink: order under
//! parallelism, objectors and opt-outs left out and counted, shards,
//! cancel and resume equal to an uninterrupted run, refusals, failures.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{File, OpenOptions};
use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use icr_extract::{
    CHECKPOINT_FILE, Cohort, Completeness, ExtractConfig, Finished, Job, MANIFEST_FILE, Manifest,
    OutputFile, PersonOutcome, Progress, Records, RunCounts, RunDate, RunError, RunId, Shard, Sink,
    Start, Tally, complete, merge_manifests, recorded_identity, run,
};
use icr_merge::{MergedItem, MergedPatient, MergedRecord};
use icr_model::*;
use icr_pseudonymise::{ProjectKey, Pseudonym, PseudonymisedRecord};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

// ---------------------------------------------------------------- people

fn people(n: usize) -> Vec<NhsNumber> {
    (999_100_000..)
        .filter_map(NhsNumber::from_first_nine)
        .take(n)
        .collect()
}

/// A stable small number from an NHS number, to vary the fakes.
fn seed(nhs: NhsNumber) -> u64 {
    nhs.as_str().parse::<u64>().unwrap() / 10
}

fn is_opted_out(nhs: NhsNumber) -> bool {
    seed(nhs).is_multiple_of(7)
}
fn objects(nhs: NhsNumber) -> bool {
    seed(nhs) % 5 == 1
}
fn not_found(nhs: NhsNumber) -> bool {
    seed(nhs) % 11 == 2
}
fn incomplete(nhs: NhsNumber) -> bool {
    seed(nhs) % 4 == 3
}

/// A synthetic merged record: demographics and one or two conditions.
fn record(nhs: NhsNumber) -> MergedRecord {
    let src = Arc::new(SourceMeta {
        id: SourceId::parse("gp").unwrap(),
        organisation: "Practice".into(),
        ods_code: OdsCode::parse("J83001").unwrap(),
        system: "GP".into(),
    });
    let s = seed(nhs);
    let day = |y, m, d| {
        PartialDateTime::Date(
            time::Date::from_calendar_date(y, time::Month::try_from(m).unwrap(), d).unwrap(),
        )
    };
    let mut conditions = vec![MergedItem {
        entry: Entry::Condition(Condition {
            code: Concept::coded(Coding::new(CodeSystem::Snomed, "44054006", "Diabetes")),
            onset: Some(day(2020, 1 + (s % 12) as u8, 1)),
            ..Default::default()
        }),
        provenance: vec![src.provenance(&format!("Condition/{s}"), None).unwrap()],
        conflicts: Vec::new(),
    }];
    if s.is_multiple_of(2) {
        conditions.push(MergedItem {
            entry: Entry::Condition(Condition {
                code: Concept::coded(Coding::new(CodeSystem::Snomed, "38341003", "Hypertension")),
                ..Default::default()
            }),
            provenance: vec![src.provenance(&format!("Condition/{s}-2"), None).unwrap()],
            conflicts: Vec::new(),
        });
    }
    MergedRecord {
        patient: Some(MergedPatient {
            demographics: Demographics {
                nhs_number: Some(nhs),
                names: vec![HumanName {
                    family: Some("Smith".into()),
                    ..Default::default()
                }],
                birth_date: Some(day(1930 + (s % 80) as i32, 1 + (s % 12) as u8, 3)),
                gender: Some(Gender::Female),
                ..Default::default()
            },
            provenance: vec![src.provenance("Patient/1", None).unwrap()],
        }),
        sections: BTreeMap::from([(Section::Conditions, conditions)]),
        warnings: Vec::new(),
    }
}

// ---------------------------------------------------------------- fakes

/// The fake gateway: yields a varying number of times before answering,
/// so people finish out of order; counts how many are in flight; can
/// cancel the run, or fail, at a given call.
#[derive(Default)]
struct Gateway {
    calls: AtomicUsize,
    in_flight: AtomicUsize,
    most_in_flight: AtomicUsize,
    cancel_at: Option<(usize, CancellationToken)>,
    fail: Option<NhsNumber>,
    seen: Mutex<Vec<NhsNumber>>,
    positions: Mutex<Vec<u64>>,
}

impl Records for Gateway {
    async fn person(&self, run: &RunId, position: u64, nhs: NhsNumber) -> PersonOutcome {
        assert!(run.as_str().starts_with("extract-"), "{run}");
        self.positions.lock().unwrap().push(position);
        let call = self.calls.fetch_add(1, Ordering::SeqCst);
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.most_in_flight.fetch_max(now, Ordering::SeqCst);
        self.seen.lock().unwrap().push(nhs);
        for _ in 0..(seed(nhs) * 7919 % 13) {
            tokio::task::yield_now().await;
        }
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        if let Some((at, token)) = &self.cancel_at
            && call == *at
        {
            token.cancel();
        }
        if self.fail == Some(nhs) {
            return PersonOutcome::Failed(format!(
                "every source failed for {nhs} ({})",
                nhs.formatted()
            ));
        }
        if objects(nhs) {
            PersonOutcome::Objected
        } else if not_found(nhs) {
            PersonOutcome::NotFound
        } else {
            PersonOutcome::Record {
                record: Box::new(record(nhs)),
                completeness: Completeness {
                    complete: !incomplete(nhs),
                    sources_failed: Vec::new(),
                },
            }
        }
    }
}

/// A sink writing each record as a JSON line to `records.ndjson`.
struct FileSink {
    dir: PathBuf,
    file: File,
    offsets: Offsets,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
struct Offsets {
    bytes: u64,
    rows: u64,
}

impl FileSink {
    fn open(dir: &Path, from: Option<&Offsets>) -> Self {
        let path = dir.join("records.ndjson");
        let mut file = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(false)
            .open(path)
            .unwrap();
        let offsets = from.copied().unwrap_or_default();
        file.set_len(offsets.bytes).unwrap();
        file.seek(SeekFrom::End(0)).unwrap();
        Self {
            dir: dir.into(),
            file,
            offsets,
        }
    }
}

impl Sink for FileSink {
    type Offsets = Offsets;

    fn write(&mut self, r: &PseudonymisedRecord) -> io::Result<()> {
        let mut line = serde_json::to_vec(r)?;
        line.push(b'\n');
        self.file.write_all(&line)?;
        self.offsets.bytes += line.len() as u64;
        self.offsets.rows += 1;
        Ok(())
    }

    fn checkpoint(&mut self) -> io::Result<Offsets> {
        self.file.sync_all()?;
        Ok(self.offsets)
    }

    fn finish(self) -> io::Result<Vec<OutputFile>> {
        Ok(vec![OutputFile::describe(
            &self.dir,
            "records.ndjson",
            "ndjson",
            self.offsets.rows,
        )?])
    }
}

/// A tally of items by section and of incomplete records.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct Items {
    by_section: BTreeMap<String, u64>,
    incomplete: u64,
}

impl Tally for Items {
    fn add(&mut self, r: &PseudonymisedRecord, complete: bool) {
        for i in &r.items {
            let section = serde_json::to_value(i).unwrap()["section"]
                .as_str()
                .unwrap()
                .to_string();
            *self.by_section.entry(section).or_default() += 1;
        }
        self.incomplete += u64::from(!complete);
    }
}

// ---------------------------------------------------------------- set-up

const SPEC: &str = "[pseudonymise]\nsections = [\"demographics\", \"conditions\"]\ndate_of_birth = \"age_band\"\npostcode = \"district\"\n";

/// A directory holding extract.toml, the key and the opt-out list.
struct Setup {
    dir: tempfile::TempDir,
    cohort: Vec<NhsNumber>,
}

impl Setup {
    fn new(n: usize) -> Self {
        let s = Self {
            dir: tempfile::tempdir().unwrap(),
            cohort: people(n),
        };
        s.key(&[0x42; 32]);
        let opt_out: String = s
            .cohort
            .iter()
            .filter(|n| is_opted_out(**n))
            .map(|n| format!("{}\n", n.as_str()))
            .collect();
        std::fs::write(s.dir.path().join("opt-out.txt"), opt_out).unwrap();
        s.config(SPEC);
        s
    }

    fn key(&self, bytes: &[u8]) {
        let path = self.dir.path().join("project.key");
        std::fs::write(&path, bytes).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
    }

    fn config(&self, spec: &str) {
        let run = "[run]\npurpose = \"population-health\"\nkey_file = \"project.key\"\nnational_opt_out = \"opt-out.txt\"\npeople_in_parallel = 4\ncheckpoint_every = 5\n";
        std::fs::write(self.dir.path().join("extract.toml"), format!("{run}{spec}")).unwrap();
    }

    fn out(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn job(&self, out: &str, shard: Option<Shard>, resume: bool) -> Job {
        self.job_of(self.cohort.clone(), out, shard, resume)
    }

    fn job_of(&self, cohort: Vec<NhsNumber>, out: &str, shard: Option<Shard>, resume: bool) -> Job {
        let config = ExtractConfig::load(&self.dir.path().join("extract.toml")).unwrap();
        Job::new(
            config,
            Cohort::from_people(cohort).unwrap(),
            shard,
            date(),
            None,
            &self.out(out),
            resume,
        )
    }
}

fn date() -> RunDate {
    "2026-12-07".parse().unwrap()
}

/// What a run gives, and the progress snapshots it gave.
type Ran = (Result<Finished<Items>, RunError>, Vec<Progress>);

/// Opens `job`'s directory and runs it with `gateway`.
async fn go(job: &Job, gateway: &Gateway, cancel: &CancellationToken) -> Ran {
    let start: Start<Offsets, Items> = match job.open() {
        Ok(s) => s,
        Err(e) => return (Err(e), Vec::new()),
    };
    let sink = FileSink::open(job.dir(), start.offsets());
    let mut seen = Vec::new();
    // The run can be spawned on a multi-threaded runtime.
    let result = send(run(gateway, sink, start, job, cancel, |p| seen.push(*p))).await;
    (result, seen)
}

fn send<F: Future + Send>(f: F) -> F {
    f
}

/// The whole cohort run without a stop, in `plain/`.
async fn uninterrupted(s: &Setup) -> (Job, Finished<Items>) {
    let plain = s.job("plain", None, false);
    let (r, _) = go(&plain, &Gateway::default(), &CancellationToken::new()).await;
    (plain, r.unwrap())
}

fn lines(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("records.ndjson"))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

fn checkpoint(dir: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(dir.join(CHECKPOINT_FILE)).unwrap()).unwrap()
}

/// Every file under `dir`, as bytes.
fn all_files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(all_files(&p));
        } else {
            out.push((p.clone(), std::fs::read(&p).unwrap()));
        }
    }
    out
}

/// No file under `dir` holds any cohort member's NHS number, in either
/// spelling.
fn assert_no_nhs_number(dir: &Path, cohort: &[NhsNumber]) {
    for (path, bytes) in all_files(dir) {
        let text = String::from_utf8_lossy(&bytes);
        for n in cohort {
            assert!(
                !text.contains(n.as_str()),
                "{} holds an NHS number",
                path.display()
            );
            assert!(
                !text.contains(&n.formatted()),
                "{} holds an NHS number",
                path.display()
            );
        }
    }
}

// ---------------------------------------------------------------- tests

#[tokio::test]
async fn extracts_in_cohort_order_leaving_out_objectors_and_opt_outs() {
    let s = Setup::new(120);
    let job = s.job("out", None, false);
    let gateway = Gateway::default();
    let (result, progress) = go(&job, &gateway, &CancellationToken::new()).await;
    let finished = result.unwrap();

    // Written: exactly the people neither opted out, objecting nor
    // unknown, in cohort order, under their pseudonyms.
    let key = ProjectKey::from_bytes(&[0x42; 32]).unwrap();
    let expected: Vec<String> = s
        .cohort
        .iter()
        .filter(|n| !is_opted_out(**n) && !objects(**n) && !not_found(**n))
        .map(|n| Pseudonym::person(&key, *n).to_string())
        .collect();
    let written: Vec<String> = lines(job.dir())
        .iter()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["person"]["person_id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(written, expected);

    let count = |f: &dyn Fn(NhsNumber) -> bool| s.cohort.iter().filter(|n| f(**n)).count() as u64;
    let opted = count(&is_opted_out);
    let objected = count(&|n| !is_opted_out(n) && objects(n));
    let unknown = count(&|n| !is_opted_out(n) && !objects(n) && not_found(n));
    let extracted = expected.len() as u64;
    let partial = count(&|n| !is_opted_out(n) && !objects(n) && !not_found(n) && incomplete(n));
    assert!(opted > 0 && objected > 0 && unknown > 0 && partial > 0);
    let counts = RunCounts {
        in_cohort: 120,
        in_shard: 120,
        national_opt_out: opted,
        objected,
        not_found: unknown,
        extracted,
        incomplete: partial,
    };
    assert_eq!(finished.counts, counts);
    assert_eq!(finished.tally.incomplete, partial);
    // Opted-out people were never asked for.
    let seen = gateway.seen.lock().unwrap().clone();
    assert_eq!(seen.len() as u64, 120 - opted);
    assert!(seen.iter().all(|n| !is_opted_out(*n)));
    // Each asked for with their position in the cohort.
    let positions = gateway.positions.lock().unwrap().clone();
    let cohort_positions: Vec<u64> = seen
        .iter()
        .map(|n| s.cohort.iter().position(|c| c == n).unwrap() as u64)
        .collect();
    assert_eq!(positions, cohort_positions);
    // Fetched in parallel, never more than people_in_parallel at once.
    let most = gateway.most_in_flight.load(Ordering::SeqCst);
    assert!((2..=4).contains(&most), "{most}");
    // A snapshot after each person, the last one complete.
    assert_eq!(progress.len(), 120);
    assert!(progress.windows(2).all(|w| w[1].done == w[0].done + 1));
    let last = progress.last().unwrap();
    assert_eq!((last.done, last.total, last.counts), (120, 120, counts));
    assert_eq!(last.eta.map(|d| d.as_secs()), Some(0));

    // The manifest, the checkpoint gone.
    let manifest = complete(&job, &finished, Vec::new()).unwrap();
    assert!(!job.dir().join(CHECKPOINT_FILE).exists());
    let read: Manifest =
        serde_json::from_slice(&std::fs::read(job.dir().join(MANIFEST_FILE)).unwrap()).unwrap();
    assert_eq!(read, manifest);
    assert_eq!(manifest.counts, counts);
    assert_eq!(manifest.key_id, key.key_id());
    assert_eq!(manifest.shards, [Shard::WHOLE]);
    assert_eq!(manifest.date.to_string(), "2026-12-07");
    assert_eq!(manifest.files.len(), 1);
    assert_eq!(manifest.files[0].rows, extracted);
    assert!(manifest.run_id.as_str().starts_with("extract-2026-12-07-"));
    assert_no_nhs_number(job.dir(), &s.cohort);
    // Resuming a finished run does nothing: it is done, with its manifest.
    match s.job("out", None, true).open::<Offsets, Items>().unwrap() {
        Start::Done(m) => assert_eq!(*m, manifest),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn shards_together_hold_everyone_once() {
    let s = Setup::new(90);
    let whole = s.job("whole", None, false);
    let (r, _) = go(&whole, &Gateway::default(), &CancellationToken::new()).await;
    let whole_counts = r.unwrap().counts;
    let mut manifests = Vec::new();
    let mut written = BTreeSet::new();
    let mut positions = BTreeSet::new();
    for i in 0..3 {
        let job = s.job("sharded", Some(Shard::new(i, 3).unwrap()), false);
        assert_eq!(job.dir(), s.out("sharded").join(format!("shard-{i}-of-3")));
        let gateway = Gateway::default();
        let (r, _) = go(&job, &gateway, &CancellationToken::new()).await;
        for p in gateway.positions.lock().unwrap().iter() {
            assert!(positions.insert(*p), "position {p} in two shards");
        }
        let finished = r.unwrap();
        assert!(finished.counts.in_shard < 90);
        for l in lines(job.dir()) {
            assert!(written.insert(l), "a person is in two shards");
        }
        manifests.push(complete(&job, &finished, Vec::new()).unwrap());
    }
    let all: BTreeSet<String> = lines(whole.dir()).into_iter().collect();
    assert_eq!(written, all);
    // Positions are the whole cohort's: together the shards ask for
    // everyone not opted out, each at one position.
    let asked: BTreeSet<u64> = (0u64..)
        .zip(&s.cohort)
        .filter(|(_, n)| !is_opted_out(**n))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(positions, asked);
    let merged = merge_manifests(manifests).unwrap();
    assert_eq!(merged.counts, whole_counts);
    assert_eq!(merged.shards.len(), 3);
    assert_eq!(merged.files[2].path, "shard-2-of-3/records.ndjson");
    // Every shard of a run has one run id.
    assert_eq!(merged.run_id, whole.run_id().clone());
}

/// A run cancelled half way and resumed writes the same bytes, counts and
/// tally as one never stopped.
#[tokio::test]
async fn cancelled_half_way_and_resumed_equals_uninterrupted() {
    let s = Setup::new(100);
    let (plain, uninterrupted) = uninterrupted(&s).await;

    let job = s.job("stopped", None, false);
    let cancel = CancellationToken::new();
    let stopping = Gateway {
        cancel_at: Some((40, cancel.clone())),
        ..Default::default()
    };
    let (r, _) = go(&job, &stopping, &cancel).await;
    let err = r.unwrap_err();
    let RunError::Cancelled { done, total, .. } = &err else {
        panic!("{err}")
    };
    let (done, total) = (*done, *total);
    assert!(done > 0 && done < 100, "{done}");
    assert_eq!(total, 100);
    assert_eq!(
        err.to_string(),
        format!("cancelled after {done} of 100 people in shard 0/1; the run can be resumed")
    );
    let cp = checkpoint(job.dir());
    assert_eq!(cp["next_position"], done);
    // A resume given no date takes the run's.
    let recorded = recorded_identity(job.dir()).unwrap();
    assert_eq!((recorded.date, &recorded.run_id), (date(), job.run_id()));
    assert_eq!(&recorded, job.identity());
    assert_eq!(cp["identity"]["shard"], "0/1");
    assert_no_nhs_number(job.dir(), &s.cohort);

    // Without --resume the directory is refused.
    let fresh = s
        .job("stopped", None, false)
        .open::<Offsets, Items>()
        .unwrap_err();
    assert!(
        fresh
            .to_string()
            .ends_with("not empty; it holds a checkpoint: add --resume to continue that run"),
        "{fresh}"
    );

    let resumed = s.job("stopped", None, true);
    let (r, progress) = go(&resumed, &Gateway::default(), &CancellationToken::new()).await;
    let finished = r.unwrap();
    assert_eq!(progress.first().unwrap().done, done + 1);
    assert_eq!(finished.counts, uninterrupted.counts);
    assert_eq!(finished.tally, uninterrupted.tally);
    assert_eq!(finished.files, uninterrupted.files);
    assert_eq!(
        std::fs::read(job.dir().join("records.ndjson")).unwrap(),
        std::fs::read(plain.dir().join("records.ndjson")).unwrap()
    );
    let a = complete(&resumed, &finished, Vec::new()).unwrap();
    let b = complete(&plain, &uninterrupted, Vec::new()).unwrap();
    assert_eq!(a, b);
    assert_eq!(
        std::fs::read(job.dir().join(MANIFEST_FILE)).unwrap(),
        std::fs::read(plain.dir().join(MANIFEST_FILE)).unwrap()
    );
}

/// A checkpoint is resumed only by the same run: another spec, key,
/// cohort, opt-out list or date is refused, naming what differs.
#[tokio::test]
async fn another_run_refuses_to_resume() {
    let s = Setup::new(40);
    let job = s.job("out", None, false);
    let cancel = CancellationToken::new();
    let stopping = Gateway {
        cancel_at: Some((10, cancel.clone())),
        ..Default::default()
    };
    assert!(matches!(
        go(&job, &stopping, &cancel).await.0,
        Err(RunError::Cancelled { .. })
    ));
    let refusal = |job: Job| job.open::<Offsets, Items>().unwrap_err().to_string();
    let file = job.dir().join(CHECKPOINT_FILE).display().to_string();
    let differ = |what: &str| {
        format!(
            "{file}: the checkpoint is of another run: its {what}; start a new run in an empty directory, or resume with what it started with"
        )
    };

    // Another cohort.
    let fewer = s.cohort[1..].to_vec();
    assert_eq!(
        refusal(s.job_of(fewer, "out", None, true)),
        differ("run id, cohort differ")
    );
    // Another date.
    let config = ExtractConfig::load(&s.dir.path().join("extract.toml")).unwrap();
    let later = Job::new(
        config,
        Cohort::from_people(s.cohort.clone()).unwrap(),
        None,
        "2026-12-08".parse().unwrap(),
        Some(job.run_id().clone()),
        &s.out("out"),
        true,
    );
    assert_eq!(refusal(later), differ("date differs"));
    // Another spec (the derived run id changes with it).
    s.config(&SPEC.replace("age_band", "month_year"));
    assert_eq!(
        refusal(s.job("out", None, true)),
        differ("run id, specification differ")
    );
    s.config(SPEC);
    // Another key (the opt-out and cohort hashes are keyed, so they too).
    s.key(&[0x43; 32]);
    assert_eq!(
        refusal(s.job("out", None, true)),
        differ("run id, project key, cohort, national opt-out list differ")
    );
    s.key(&[0x42; 32]);
    // Another opt-out list: someone outside the cohort added is no
    // matter, someone in it is.
    let list = std::fs::read_to_string(s.dir.path().join("opt-out.txt")).unwrap();
    let outsider = people(41)[40];
    std::fs::write(
        s.dir.path().join("opt-out.txt"),
        format!("{list}{}\n", outsider.as_str()),
    )
    .unwrap();
    assert!(s.job("out", None, true).open::<Offsets, Items>().is_ok());
    let insider = *s.cohort.iter().find(|n| !is_opted_out(**n)).unwrap();
    std::fs::write(
        s.dir.path().join("opt-out.txt"),
        format!("{list}{}\n", insider.as_str()),
    )
    .unwrap();
    assert_eq!(
        refusal(s.job("out", None, true)),
        differ("national opt-out list differs")
    );
    // Nothing to resume elsewhere: a resume there starts afresh.
    assert!(matches!(
        s.job("elsewhere", None, true).open::<Offsets, Items>(),
        Ok(Start::Fresh)
    ));
}

/// `--resume` can always be passed (a retried Kubernetes pod does): with
/// no checkpoint it starts afresh in an absent or empty directory and
/// writes what a fresh run would; after the run finished it does nothing
/// ([`Start::Done`], which [`run`] refuses to redo); another run's
/// finished extract, a damaged manifest or a directory holding something
/// else is refused, never written over.
#[tokio::test]
async fn resume_starts_afresh_finishes_once_and_never_writes_over_another_run() {
    let s = Setup::new(40);
    let (plain, uninterrupted) = uninterrupted(&s).await;
    let want = complete(&plain, &uninterrupted, Vec::new()).unwrap();

    // No directory, then an empty one: both start afresh.
    for empty in [false, true] {
        let name = format!("resumed-{empty}");
        if empty {
            std::fs::create_dir(s.out(&name)).unwrap();
        }
        let job = s.job(&name, None, true);
        let (r, _) = go(&job, &Gateway::default(), &CancellationToken::new()).await;
        let finished = r.unwrap();
        assert_eq!(finished.counts, uninterrupted.counts);
        assert_eq!(complete(&job, &finished, Vec::new()).unwrap(), want);
        assert_eq!(
            std::fs::read(job.dir().join("records.ndjson")).unwrap(),
            std::fs::read(plain.dir().join("records.ndjson")).unwrap()
        );
    }

    // Finished: done, and done again; nothing is run or written.
    let before = all_files(plain.dir());
    for _ in 0..2 {
        let job = s.job("plain", None, true);
        let start = job.open::<Offsets, Items>().unwrap();
        let Start::Done(m) = &start else {
            panic!("{start:?}")
        };
        assert_eq!(**m, want);
        let gateway = Gateway::default();
        // (The service makes no sink for a finished run; this fake one
        // writes elsewhere.)
        let scratch = s.out("scratch");
        std::fs::create_dir_all(&scratch).unwrap();
        let sink = FileSink::open(&scratch, start.offsets());
        let err = run(
            &gateway,
            sink,
            start,
            &job,
            &CancellationToken::new(),
            |_| {},
        )
        .await
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "{}: the run finished already (its manifest is there): nothing to do",
                job.dir().display()
            )
        );
        assert!(gateway.positions.lock().unwrap().is_empty());
    }
    assert!(
        all_files(plain.dir()) == before,
        "a finished run was written to"
    );

    // Another run's finished extract is refused, naming what differs.
    let manifest = plain.dir().join(MANIFEST_FILE).display().to_string();
    let other = s.job_of(s.cohort[1..].to_vec(), "plain", None, true);
    assert_eq!(
        other.open::<Offsets, Items>().unwrap_err().to_string(),
        format!(
            "{manifest}: the directory holds another run's finished extract: its run id, cohort differ; start a new run in an empty directory"
        )
    );
    let sharded = s.job("plain", Some(Shard::new(0, 1).unwrap()), true);
    assert_eq!(sharded.dir(), s.out("plain").join("shard-0-of-1"));
    // (A shard's directory is its own: absent here, so it starts afresh.)
    assert!(matches!(sharded.open::<Offsets, Items>(), Ok(Start::Fresh)));

    // A damaged manifest, or something else in the directory, is refused.
    std::fs::write(plain.dir().join(MANIFEST_FILE), "{}").unwrap();
    let err = s
        .job("plain", None, true)
        .open::<Offsets, Items>()
        .unwrap_err();
    assert!(matches!(err, RunError::BadManifest { .. }), "{err}");
    assert!(
        err.to_string()
            .starts_with(&format!("{manifest}: not a manifest: missing field")),
        "{err}"
    );
    std::fs::remove_file(plain.dir().join(MANIFEST_FILE)).unwrap();
    let err = s
        .job("plain", None, true)
        .open::<Offsets, Items>()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}: no checkpoint to resume and no manifest of a finished run, but not empty; a run starts afresh only in an empty directory",
            plain.dir().display()
        )
    );
}

/// A run cancelled before its first person has a checkpoint to resume
/// from; a checkpoint whose position and counts disagree, or that is not
/// one, is refused.
#[tokio::test]
async fn checkpoints_start_at_once_and_damaged_ones_are_refused() {
    let s = Setup::new(30);
    let job = s.job("out", None, false);
    let cancel = CancellationToken::new();
    cancel.cancel();
    let err = go(&job, &Gateway::default(), &cancel).await.0.unwrap_err();
    assert_eq!(
        err.to_string(),
        "cancelled after 0 of 30 people in shard 0/1; the run can be resumed"
    );
    let path = job.dir().join(CHECKPOINT_FILE);
    let mut cp = checkpoint(job.dir());
    assert_eq!(cp["next_position"], 0);
    assert_eq!(cp["sink"], serde_json::json!({"bytes": 0, "rows": 0}));
    let resume = || {
        s.job("out", None, true)
            .open::<Offsets, Items>()
            .map(|_| ())
    };
    assert!(resume().is_ok());
    cp["next_position"] = 3.into();
    std::fs::write(&path, cp.to_string()).unwrap();
    let err = resume().unwrap_err().to_string();
    assert_eq!(
        err,
        format!(
            "{}: not a checkpoint: its counts do not agree with its position",
            path.display()
        )
    );
    std::fs::write(&path, "{\"identity\": 1}").unwrap();
    let err = resume().unwrap_err().to_string();
    assert!(
        err.starts_with(&format!(
            "{}: not a checkpoint: invalid type",
            path.display()
        )),
        "{err}"
    );
}

/// A person who cannot be extracted stops the run at a checkpoint that
/// holds everyone before them; the error names their position, never
/// their NHS number; a resumed run then finishes as an uninterrupted one.
#[tokio::test]
async fn a_failed_person_stops_the_run_at_a_checkpoint() {
    let s = Setup::new(60);
    let (plain, uninterrupted) = uninterrupted(&s).await;

    let job = s.job("failed", None, false);
    let (position, victim) = s
        .cohort
        .iter()
        .enumerate()
        .skip(23)
        .find(|(_, n)| !is_opted_out(**n))
        .map(|(i, n)| (i as u64, *n))
        .unwrap();
    let failing = Gateway {
        fail: Some(victim),
        ..Default::default()
    };
    let err = go(&job, &failing, &CancellationToken::new())
        .await
        .0
        .unwrap_err();
    let text = err.to_string();
    assert_eq!(
        text,
        format!(
            "person {} of 60 in shard 0/1 could not be extracted: every source failed for [number removed] ([number removed]); the run stopped at a checkpoint and can be resumed",
            position + 1
        )
    );
    for n in &s.cohort {
        assert!(!text.contains(n.as_str()));
    }
    assert_eq!(checkpoint(job.dir())["next_position"], position);
    let expected_rows = lines(plain.dir()).len();
    assert!(lines(job.dir()).len() < expected_rows);
    assert_no_nhs_number(job.dir(), &s.cohort);

    let resumed = s.job("failed", None, true);
    let finished = go(&resumed, &Gateway::default(), &CancellationToken::new())
        .await
        .0
        .unwrap();
    assert_eq!(finished.counts, uninterrupted.counts);
    assert_eq!(finished.tally, uninterrupted.tally);
    assert_eq!(lines(job.dir()), lines(plain.dir()));
}

/// A sink that fails on its first write.
struct Broken;

impl Sink for Broken {
    type Offsets = ();

    fn write(&mut self, _: &PseudonymisedRecord) -> io::Result<()> {
        Err(io::Error::other("disk full"))
    }

    fn checkpoint(&mut self) -> io::Result<()> {
        Ok(())
    }

    fn finish(self) -> io::Result<Vec<OutputFile>> {
        Ok(Vec::new())
    }
}

/// A sink that cannot write stops the run, naming the person's position;
/// the last checkpoint stands, so the run resumes before them.
#[tokio::test]
async fn a_sink_that_cannot_write_stops_the_run() {
    let s = Setup::new(20);
    let job = s.job("out", None, false);
    let start = job.open::<(), ()>().unwrap();
    let gateway = Gateway::default();
    let err = run(
        &gateway,
        Broken,
        start,
        &job,
        &CancellationToken::new(),
        |_| {},
    )
    .await
    .unwrap_err();
    let first = s
        .cohort
        .iter()
        .position(|n| !is_opted_out(*n) && !objects(*n) && !not_found(*n))
        .unwrap();
    assert_eq!(
        err.to_string(),
        format!("writing person {} of 20 in shard 0/1: disk full", first + 1)
    );
    assert_eq!(checkpoint(job.dir())["next_position"], 0);
}
