//! `icr extract`: a population-health extract run on the gateway, wired
//! from its parts. The run itself is `icr_extract`'s (cohort, shard,
//! opt-outs, checkpoints, manifest); each person is read by
//! [`Gateway::extract_person`] (the same adapters, merge, identity guard
//! and policy, below interactive traffic, audited per person); records are
//! pseudonymised (`icr_pseudonymise`) and written by `icr_extract_output`
//! (FHIR NDJSON, OMOP Parquet); the aggregates are `icr_extract_summary`'s,
//! suppressed by `icr_disclosure`. A run over the whole cohort writes its
//! suppressed summary at once; a shard writes its raw counts
//! (`counts.json`) for [`merge`] to add up and suppress once, over
//! everyone.

use std::io::{IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};

use icr_disclosure::Rules;
use icr_extract::{
    Cohort, CohortSource, Completeness, ExtractConfig, Finished, Job, Manifest, OutputFile,
    PersonOutcome, Progress, Records, RunDate, RunError, RunId, Shard, Sink, Start, Tally,
};
use icr_extract_output::{Offsets, Writers};
use icr_extract_summary::Counts;
use icr_gateway::{ExtractRun, ExtractedPerson, Gateway};
use icr_model::NhsNumber;
use icr_pseudonymise::PseudonymisedRecord;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// The raw, unsuppressed counts a shard leaves for [`merge`].
pub const COUNTS_FILE: &str = "counts.json";
/// The suppressed summary, as CSV and as Markdown.
pub const SUMMARY_CSV: &str = "summary.csv";
/// The suppressed summary as Markdown.
pub const SUMMARY_MD: &str = "summary.md";

/// Why an extract could not run or finish.
#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    /// extract.toml (or a file it names) cannot be used.
    #[error("{0}")]
    Config(#[from] icr_extract::ConfigError),
    /// The cohort cannot be read.
    #[error("{0}")]
    Cohort(#[from] icr_extract::CohortError),
    /// The gateway's policy allows no such extract.
    #[error("{0}")]
    Policy(#[from] icr_gateway::ExtractRunError),
    /// The run stopped (resumable when cancelled or failed on a person).
    #[error("{0}")]
    Run(#[from] RunError),
    /// The shards cannot be merged.
    #[error("{0}")]
    Merge(#[from] icr_extract::MergeError),
    /// The summary could not be made (a suppression the audit of the
    /// tables found recomputable is never published).
    #[error("the summary: {0}")]
    Summary(String),
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// What one run is asked to do.
#[derive(Clone, Debug)]
pub struct RunRequest {
    /// extract.toml.
    pub spec: PathBuf,
    /// The cohort: a file of NHS numbers, or `registered:DIR`.
    pub cohort: String,
    /// Where it writes (a shard in its own directory below).
    pub out: PathBuf,
    /// One shard of the cohort, or all of it.
    pub shard: Option<Shard>,
    /// The run's id; derived from its inputs when absent.
    pub run_id: Option<RunId>,
    /// The date ages are reckoned on; today (UTC) when absent, or the
    /// checkpoint's when resuming.
    pub date: Option<RunDate>,
    /// Continue from the checkpoint in the run's directory; with none,
    /// start afresh in an absent or empty directory, or do nothing when
    /// the run's manifest is there.
    pub resume: bool,
}

/// A job ready to run: what `icr_extract` needs, and the run as the
/// gateway records it.
pub struct Prepared {
    /// The job.
    pub job: Job,
    /// The run as the gateway audits it.
    pub run: ExtractRun,
}

/// Reads the request's specification and cohort and checks them against
/// the gateway's policy. The run writes in `request.out` (a shard in its
/// own directory below).
pub fn prepare(gateway: &Gateway, request: &RunRequest) -> Result<Prepared, ExtractError> {
    prepare_in(gateway, request, false)
}

/// As [`prepare`], for a run that writes in a directory of its own below
/// `request.out`, named by its run id (derived from its inputs when the
/// request gives none): how a gateway hosts runs, so that each run of an
/// extract keeps its files apart and is resumed by its id.
pub fn prepare_own_dir(gateway: &Gateway, request: &RunRequest) -> Result<Prepared, ExtractError> {
    prepare_in(gateway, request, true)
}

fn prepare_in(
    gateway: &Gateway,
    request: &RunRequest,
    own_dir: bool,
) -> Result<Prepared, ExtractError> {
    let config = ExtractConfig::load(&request.spec)?;
    let source: CohortSource = match request.cohort.parse() {
        Ok(s) => s,
        Err(never) => match never {},
    };
    let cohort = Cohort::read(&source, config.max_cohort)?;
    let today = RunDate::new(time::OffsetDateTime::now_utc().date());
    let (out, run_id) = match (own_dir, &request.run_id) {
        (false, id) => (request.out.clone(), id.clone()),
        (true, Some(id)) => (request.out.join(id.as_str()), Some(id.clone())),
        (true, None) => {
            let date = request.date.unwrap_or(today);
            let id = RunId::derived(date, &config, &cohort.hash(&config.key));
            (request.out.join(id.as_str()), Some(id))
        }
    };
    let dir = icr_extract::run_dir(&out, request.shard);
    // A resumed run keeps its date and id unless told otherwise: the
    // checkpoint's, or a finished run's manifest's.
    let recorded = match request.resume {
        true => icr_extract::recorded_identity(&dir)
            .map(|r| (r.date, r.run_id))
            .or_else(|_| Manifest::read(&dir).map(|m| (m.date, m.run_id)))
            .ok(),
        false => None,
    };
    let date = request
        .date
        .or(recorded.as_ref().map(|r| r.0))
        .unwrap_or(today);
    let run_id = run_id.or(recorded.map(|r| r.1));
    let sections = config.spec.sections;
    let purpose = config.purpose.as_str().to_owned();
    let job = Job::new(
        config,
        cohort,
        request.shard,
        date,
        run_id,
        &out,
        request.resume,
    );
    let run = gateway.extract_run(job.run_id().as_str(), &purpose, sections)?;
    Ok(Prepared { job, run })
}

/// Checks an `[[extract]]` of gateway.toml as a run would start it: its
/// specification (the key file, the opt-out list, the area lookup), its
/// cohort, and the policy's `[population_health]`. Says what is wrong.
pub fn check(config: &icr_config::Config, job: &icr_config::ExtractJob) -> Result<(), String> {
    let spec = ExtractConfig::load(&job.spec).map_err(|e| e.to_string())?;
    let source: CohortSource = match job.cohort.parse() {
        Ok(s) => s,
        Err(never) => match never {},
    };
    Cohort::read(&source, spec.max_cohort).map_err(|e| e.to_string())?;
    config
        .policy
        .population_health_allows(spec.spec.sections)
        .map_err(|refusal| refusal.message)?;
    Ok(())
}

/// How a run ended well.
#[derive(Debug)]
pub enum Ran {
    /// It wrote the extract (from the start, or from a checkpoint).
    Written(Manifest),
    /// `--resume` found the run finished already (its manifest, no
    /// checkpoint): nothing was fetched or written.
    AlreadyFinished(Manifest),
}

impl Ran {
    /// The run's manifest.
    pub fn manifest(&self) -> &Manifest {
        match self {
            Ran::Written(m) | Ran::AlreadyFinished(m) => m,
        }
    }
}

/// Runs a prepared job to its end on `gateway`: the files, then the
/// summary (whole cohort) or the raw counts (a shard), then the manifest.
/// A resumed run that finished already does nothing.
pub async fn run(
    gateway: &Gateway,
    prepared: &Prepared,
    cancel: &CancellationToken,
    progress: impl FnMut(&Progress),
) -> Result<Ran, ExtractError> {
    let Prepared { job, run } = prepared;
    let start = job.open::<Offsets, Tallied>()?;
    if let Start::Done(manifest) = start {
        return Ok(Ran::AlreadyFinished(*manifest));
    }
    let dir = job.dir().to_path_buf();
    let io = |source| ExtractError::Io {
        path: dir.clone(),
        source,
    };
    let writers = match start.offsets() {
        Some(offsets) => Writers::resume(&dir, offsets),
        None => Writers::create(&dir),
    }
    .map_err(io)?;
    let records = GatewayRecords {
        gateway: gateway.clone(),
        run: run.clone(),
        reading: TaskTracker::new(),
    };
    let ran = icr_extract::run(&records, Files(writers), start, job, cancel, progress).await;
    // People still being read when the run stopped finish their reading
    // (each bounded by its deadline), so that each access's audit entry is
    // completed before the log can close; they are read again on resume.
    records.reading.close();
    records.reading.wait().await;
    let finished: Finished<Tallied> = ran?;
    let whole = job.identity().shard == Shard::WHOLE;
    let extra = if whole {
        write_summary(&dir, &finished.tally.0, job.config().threshold)?
    } else {
        let text = serde_json::to_vec_pretty(&finished.tally.0)
            .map_err(|e| ExtractError::Summary(e.to_string()))?;
        write_file(&dir, COUNTS_FILE, &text)?;
        vec![describe(&dir, COUNTS_FILE, "counts", 0)?]
    };
    Ok(Ran::Written(icr_extract::complete(job, &finished, extra)?))
}

/// `icr extract run`: the gateway configured in `dir` (its audit log in
/// `audit_dir` instead, when given: a serving gateway holds its own),
/// without a listener, runs `request` with its progress on standard
/// error until it ends or SIGINT/SIGTERM stops it at a checkpoint.
pub async fn run_command(
    dir: &Path,
    audit_dir: Option<PathBuf>,
    request: &RunRequest,
    registry: &icr_adapter_sdk::Registry,
) -> Result<Manifest, crate::ServiceError> {
    let mut config = icr_config::Config::load(dir, registry)?;
    if let Some(d) = audit_dir {
        config.gateway.audit.dir = d;
    }
    run_with_config(&config, request).await
}

/// Runs `request` on a gateway built from `config` (no listener), then
/// closes its audit log: every access of the run written.
pub async fn run_with_config(
    config: &icr_config::Config,
    request: &RunRequest,
) -> Result<Manifest, crate::ServiceError> {
    let gateway = Gateway::new(config)?;
    let result = run_on(&gateway, request).await;
    gateway.close().await;
    Ok(result?)
}

/// Runs `request` on `gateway` with its progress on standard error, until
/// it ends or SIGINT/SIGTERM stops it at a checkpoint; says how it went.
pub async fn run_on(gateway: &Gateway, request: &RunRequest) -> Result<Manifest, ExtractError> {
    let prepared = prepare(gateway, request)?;
    let cancel = CancellationToken::new();
    let signal = cancel_on_signal(&cancel);
    crate::say(&format!(
        "extract run {} of {} people into {}",
        prepared.job.run_id(),
        prepared.job.cohort().len(),
        prepared.job.dir().display()
    ));
    let result = run(gateway, &prepared, &cancel, progress_printer()).await;
    signal.abort();
    let manifest = match result? {
        Ran::Written(m) => m,
        Ran::AlreadyFinished(m) => {
            crate::say(&format!(
                "extract run {} finished already ({}): nothing to do",
                m.run_id,
                prepared
                    .job
                    .dir()
                    .join(icr_extract::MANIFEST_FILE)
                    .display()
            ));
            return Ok(m);
        }
    };
    let c = manifest.counts;
    crate::say(&format!(
        "extract written: {} people extracted ({} incomplete: a source gave no definite answer), {} left out for an objection, {} for the national data opt-out, {} held by no source; manifest {}",
        c.extracted,
        c.incomplete,
        c.objected,
        c.national_opt_out,
        c.not_found,
        prepared
            .job
            .dir()
            .join(icr_extract::MANIFEST_FILE)
            .display()
    ));
    Ok(manifest)
}

/// `icr extract merge`: the shards under `out` as one extract — their
/// counts added up and suppressed once, over everyone (`summary.csv`,
/// `summary.md`), and one manifest listing every shard's files.
pub fn merge(out: &Path) -> Result<Manifest, ExtractError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ExtractError::Io { path, source }
    };
    let dirs = icr_extract::shard_dirs(out).map_err(io(out))?;
    let mut manifests = Vec::new();
    let mut counts = Counts::default();
    for (_, dir) in &dirs {
        manifests.push(Manifest::read(dir).map_err(io(dir))?);
        let file = dir.join(COUNTS_FILE);
        let bytes = std::fs::read(&file).map_err(io(&file))?;
        let shard = Counts::from_json(&bytes)
            .map_err(|e| ExtractError::Summary(format!("{}: {e}", file.display())))?;
        counts.merge(&shard);
    }
    let mut merged = icr_extract::merge_manifests(manifests)?;
    let extra = write_summary(out, &counts, merged.threshold)?;
    merged.files.extend(extra);
    icr_extract::write_json_atomic(out, icr_extract::MANIFEST_FILE, &merged).map_err(io(out))?;
    Ok(merged)
}

/// Writes the suppressed summary in `dir`; its files as the manifest
/// lists them.
fn write_summary(
    dir: &Path,
    counts: &Counts,
    threshold: u64,
) -> Result<Vec<OutputFile>, ExtractError> {
    let rules = Rules::new(threshold).map_err(|e| ExtractError::Summary(e.to_string()))?;
    let report = counts
        .report(&rules)
        .map_err(|e| ExtractError::Summary(e.to_string()))?;
    write_file(dir, SUMMARY_CSV, report.csv().as_bytes())?;
    write_file(dir, SUMMARY_MD, report.markdown().as_bytes())?;
    Ok(vec![
        describe(dir, SUMMARY_CSV, "summary", 0)?,
        describe(dir, SUMMARY_MD, "summary", 0)?,
    ])
}

fn write_file(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), ExtractError> {
    let path = dir.join(name);
    std::fs::write(&path, bytes).map_err(|source| ExtractError::Io { path, source })
}

fn describe(dir: &Path, name: &str, kind: &str, rows: u64) -> Result<OutputFile, ExtractError> {
    OutputFile::describe(dir, name, kind, rows).map_err(|source| ExtractError::Io {
        path: dir.join(name),
        source,
    })
}

/// The gateway as the extract's source of records. Each person is read in
/// a task of its own, which finishes (and completes its audit entry) even
/// when the run stops waiting for it.
struct GatewayRecords {
    gateway: Gateway,
    run: ExtractRun,
    reading: TaskTracker,
}

impl Records for GatewayRecords {
    async fn person(&self, _run: &RunId, _position: u64, nhs: NhsNumber) -> PersonOutcome {
        let (gateway, run) = (self.gateway.clone(), self.run.clone());
        let read = self
            .reading
            .spawn(async move { gateway.extract_person(&run, nhs).await });
        let Ok(person) = read.await else {
            return PersonOutcome::Failed(
                "reading the person's record stopped unexpectedly".into(),
            );
        };
        match person {
            ExtractedPerson::Record { record, unanswered } => PersonOutcome::Record {
                record,
                completeness: Completeness {
                    complete: unanswered.is_empty(),
                    sources_failed: unanswered,
                },
            },
            ExtractedPerson::Objected => PersonOutcome::Objected,
            ExtractedPerson::NotFound => PersonOutcome::NotFound,
            ExtractedPerson::Failed(why) => PersonOutcome::Failed(why),
        }
    }
}

/// The NDJSON and Parquet writers as the run's sink.
struct Files(Writers);

impl Sink for Files {
    type Offsets = Offsets;

    fn write(&mut self, r: &PseudonymisedRecord) -> std::io::Result<()> {
        self.0.write(r)
    }

    fn checkpoint(&mut self) -> std::io::Result<Offsets> {
        self.0.checkpoint()
    }

    fn finish(self) -> std::io::Result<Vec<OutputFile>> {
        Ok(self
            .0
            .finish()?
            .into_iter()
            .map(|f| OutputFile {
                path: f.path,
                kind: f.kind,
                rows: f.rows,
                bytes: f.bytes,
                sha256: f.sha256,
            })
            .collect())
    }
}

/// The summary's counts as the run's tally (kept in checkpoints).
#[derive(Default, Serialize, Deserialize)]
#[serde(transparent)]
struct Tallied(Counts);

impl Tally for Tallied {
    fn add(&mut self, r: &PseudonymisedRecord, complete: bool) {
        self.0.add(r, complete);
    }
}

/// Shows a run's progress on standard error: a bar redrawn in place on a
/// terminal, otherwise a line at every tenth of the way (for logs).
pub fn progress_printer() -> impl FnMut(&Progress) {
    let terminal = std::io::stderr().is_terminal();
    let mut last_tenth = None;
    move |p: &Progress| {
        let line = progress_line(p);
        let mut err = std::io::stderr().lock();
        if terminal {
            let _ = write!(err, "\r{line}\x1b[K");
            if p.done == p.total {
                let _ = writeln!(err);
            }
        } else {
            let tenth = (p.done * 10).checked_div(p.total).unwrap_or(10);
            if last_tenth != Some(tenth) {
                last_tenth = Some(tenth);
                let _ = writeln!(err, "{line}");
            }
        }
    }
}

/// One line of progress: a bar, the counts, the rate and the time left.
pub fn progress_line(p: &Progress) -> String {
    const WIDTH: u64 = 30;
    let filled = (p.done * WIDTH).checked_div(p.total).unwrap_or(WIDTH);
    let bar: String = (0..WIDTH)
        .map(|i| if i < filled { '#' } else { '.' })
        .collect();
    let eta = match p.eta {
        Some(d) if p.done < p.total => {
            let s = d.as_secs();
            format!(", {}:{:02} left", s / 60, s % 60)
        }
        _ => String::new(),
    };
    let rate = p
        .people_per_second
        .map(|r| format!(", {r:.1}/s"))
        .unwrap_or_default();
    let c = &p.counts;
    format!(
        "[{bar}] {}/{} people: {} extracted ({} incomplete), {} objected, {} opted out, {} not found{rate}{eta}",
        p.done, p.total, c.extracted, c.incomplete, c.objected, c.national_opt_out, c.not_found
    )
}

/// Shares a run's cancel token with whoever may stop it (SIGINT, the
/// operator API).
pub fn cancel_on_signal(cancel: &CancellationToken) -> tokio::task::JoinHandle<()> {
    let cancel = cancel.clone();
    tokio::spawn(async move {
        crate::shutdown_signal().await;
        cancel.cancel();
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use icr_extract::RunCounts;

    use super::*;

    #[test]
    fn a_progress_line_shows_the_bar_every_count_the_rate_and_the_time_left() {
        let p = Progress {
            done: 300,
            total: 1200,
            counts: RunCounts {
                in_cohort: 1200,
                in_shard: 1200,
                national_opt_out: 1,
                objected: 2,
                not_found: 3,
                extracted: 294,
                incomplete: 7,
            },
            people_per_second: Some(31.25),
            eta: Some(Duration::from_secs(125)),
        };
        assert_eq!(
            progress_line(&p),
            "[#######.......................] 300/1200 people: 294 extracted (7 incomplete), 2 objected, 1 opted out, 3 not found, 31.2/s, 2:05 left"
        );
        let done = Progress {
            done: 1200,
            eta: Some(Duration::ZERO),
            ..p
        };
        assert!(progress_line(&done).starts_with(&format!("[{}] 1200/1200", "#".repeat(30))));
        assert!(!progress_line(&done).contains("left"));
    }
}
