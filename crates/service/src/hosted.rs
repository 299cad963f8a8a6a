//! The extract runs a serving gateway hosts for its operators
//! (`/v1/extracts`): the `[[extract]]`s of gateway.toml, each run a task
//! on the gateway's runtime, watched through its latest progress and
//! stopped through its cancel token. Each run writes in its own directory
//! below the extract's `out`, named by its run id (derived from its inputs
//! and date, as `icr extract run` derives it): an extract started again
//! the same day over the same cohort is that run again, refused while its
//! directory holds anything (resumed if it stopped). Runs are remembered
//! (bounded) until the gateway stops; a run stopped by a cancel or a
//! failure is resumed from its checkpoint, also after a restart.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use icr_config::ExtractJob;
use icr_extract::{Progress, RunError, RunId};
use icr_gateway::{ExtractRuns, ExtractRunsError, Gateway, StartExtract};
use tokio_util::sync::CancellationToken;

use crate::extract::{ExtractError, RunRequest, prepare_own_dir, run};

/// The most runs remembered; the oldest finished ones are forgotten first.
const MAX_REMEMBERED: usize = 64;

/// The runs hosted, and the extracts they may be of.
pub struct HostedRuns {
    jobs: Vec<ExtractJob>,
    runs: Mutex<VecDeque<Arc<Hosted>>>,
}

struct Hosted {
    id: String,
    extract: String,
    dir: String,
    cancel: CancellationToken,
    state: Mutex<State>,
}

#[derive(Clone)]
struct State {
    phase: Phase,
    progress: Option<Progress>,
    error: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    Running,
    Cancelling,
    Cancelled,
    Failed,
    Finished,
}

impl Phase {
    fn as_str(self) -> &'static str {
        match self {
            Phase::Running => "running",
            Phase::Cancelling => "cancelling",
            Phase::Cancelled => "cancelled",
            Phase::Failed => "failed",
            Phase::Finished => "finished",
        }
    }

    fn active(self) -> bool {
        matches!(self, Phase::Running | Phase::Cancelling)
    }
}

impl HostedRuns {
    /// Runs of `jobs` (gateway.toml's `[[extract]]`).
    pub fn new(jobs: Vec<ExtractJob>) -> Self {
        Self {
            jobs,
            runs: Mutex::new(VecDeque::new()),
        }
    }

    fn find(&self, id: &str) -> Option<Arc<Hosted>> {
        let runs = self.runs.lock().unwrap_or_else(|e| e.into_inner());
        runs.iter().find(|r| r.id == id).cloned()
    }

    /// The job and request of a new run of `name`, or of resuming `id`
    /// (found among the runs remembered, else in each job's directory).
    fn request(&self, ask: &StartExtract) -> Result<(ExtractJob, RunRequest), ExtractRunsError> {
        let request = |job: &ExtractJob, run_id: Option<RunId>, resume: bool| RunRequest {
            spec: job.spec.clone(),
            cohort: job.cohort.clone(),
            out: job.out.clone(),
            shard: None,
            run_id,
            date: None,
            resume,
        };
        match (&ask.extract, &ask.resume) {
            (Some(name), None) => {
                let job = self
                    .jobs
                    .iter()
                    .find(|j| &j.name == name)
                    .ok_or_else(|| ExtractRunsError::UnknownExtract(name.clone()))?;
                Ok((job.clone(), request(job, None, false)))
            }
            (None, Some(id)) => {
                let run_id: RunId = id.parse().map_err(|_| ExtractRunsError::UnknownRun)?;
                let job = self
                    .jobs
                    .iter()
                    .find(|j| {
                        j.out
                            .join(run_id.as_str())
                            .join(icr_extract::CHECKPOINT_FILE)
                            .exists()
                    })
                    .ok_or(ExtractRunsError::UnknownRun)?;
                Ok((job.clone(), request(job, Some(run_id), true)))
            }
            _ => Err(ExtractRunsError::Invalid(
                "give either \"extract\" (a new run) or \"resume\" (a stopped run)".into(),
            )),
        }
    }

    /// Adds `/metrics` families for the runs: people dealt with by outcome,
    /// and runs by state.
    pub fn render_metrics(&self, out: &mut String) {
        let runs: Vec<Arc<Hosted>> = {
            let runs = self.runs.lock().unwrap_or_else(|e| e.into_inner());
            runs.iter().cloned().collect()
        };
        let _ = writeln!(
            out,
            "# HELP icr_extract_people People of hosted extract runs dealt with so far, by run and outcome.\n# TYPE icr_extract_people gauge"
        );
        for r in &runs {
            let s = r.state();
            let Some(p) = s.progress else { continue };
            let c = p.counts;
            for (outcome, n) in [
                ("extracted", c.extracted),
                ("incomplete", c.incomplete),
                ("objected", c.objected),
                ("national_opt_out", c.national_opt_out),
                ("not_found", c.not_found),
            ] {
                let _ = writeln!(
                    out,
                    "icr_extract_people{{run=\"{}\",outcome=\"{outcome}\"}} {n}",
                    r.id
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP icr_extract_runs Hosted extract runs, by state.\n# TYPE icr_extract_runs gauge"
        );
        for phase in [
            Phase::Running,
            Phase::Cancelling,
            Phase::Cancelled,
            Phase::Failed,
            Phase::Finished,
        ] {
            let n = runs.iter().filter(|r| r.state().phase == phase).count();
            let _ = writeln!(out, "icr_extract_runs{{state=\"{}\"}} {n}", phase.as_str());
        }
    }
}

/// Whether `dir` exists and holds any file.
fn holds_anything(dir: &std::path::Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_some())
}

impl Hosted {
    fn state(&self) -> State {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn update(&self, f: impl FnOnce(&mut State)) {
        f(&mut self.state.lock().unwrap_or_else(|e| e.into_inner()));
    }

    fn status(&self) -> serde_json::Value {
        let s = self.state();
        let mut v = serde_json::json!({
            "run": self.id,
            "extract": self.extract,
            "state": s.phase.as_str(),
            "dir": self.dir,
            "progress": s.progress,
        });
        if let Some(e) = s.error {
            v["error"] = serde_json::Value::String(e);
        }
        v
    }
}

impl ExtractRuns for HostedRuns {
    fn start(
        &self,
        gateway: Gateway,
        ask: StartExtract,
    ) -> Result<serde_json::Value, ExtractRunsError> {
        let (job, request) = self.request(&ask)?;
        let prepared = prepare_own_dir(&gateway, &request)
            .map_err(|e| ExtractRunsError::Failed(e.to_string()))?;
        let id = prepared.job.run_id().as_str().to_owned();
        let hosted = {
            let mut runs = self.runs.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(r) = runs
                .iter()
                .find(|r| r.extract == job.name && r.state().phase.active())
            {
                return Err(ExtractRunsError::Conflict(format!(
                    "run {} of extract {} is running: cancel it or wait for it",
                    r.id, job.name
                )));
            }
            // A new run's id is derived from its inputs: the same extract
            // started again the same day is the same run, whose files
            // are not to be overwritten (nor its status forgotten).
            if !request.resume && holds_anything(prepared.job.dir()) {
                return Err(ExtractRunsError::Conflict(format!(
                    "run {id} has written in its directory already (today's run of extract {}): \
                     resume it if it stopped, or move its directory away to run it again",
                    job.name
                )));
            }
            runs.retain(|r| r.id != id);
            while runs.len() >= MAX_REMEMBERED {
                match runs.iter().rposition(|r| !r.state().phase.active()) {
                    Some(i) => {
                        runs.remove(i);
                    }
                    None => {
                        return Err(ExtractRunsError::Conflict(format!(
                            "{MAX_REMEMBERED} runs are running already"
                        )));
                    }
                }
            }
            let hosted = Arc::new(Hosted {
                id: id.clone(),
                extract: job.name.clone(),
                dir: prepared.job.dir().display().to_string(),
                cancel: CancellationToken::new(),
                state: Mutex::new(State {
                    phase: Phase::Running,
                    progress: None,
                    error: None,
                }),
            });
            runs.push_front(Arc::clone(&hosted));
            hosted
        };
        let task = Arc::clone(&hosted);
        tracing::info!(run = %id, extract = %job.name, "extract run started");
        tokio::spawn(async move {
            let watched = Arc::clone(&task);
            let result = run(&gateway, &prepared, &task.cancel, move |p| {
                watched.update(|s| s.progress = Some(*p));
            })
            .await;
            task.update(|s| match result {
                Ok(_) => s.phase = Phase::Finished,
                Err(ExtractError::Run(RunError::Cancelled { .. })) => s.phase = Phase::Cancelled,
                Err(e) => {
                    s.phase = Phase::Failed;
                    s.error = Some(e.to_string());
                }
            });
            tracing::info!(run = %task.id, state = task.state().phase.as_str(), "extract run ended");
        });
        Ok(hosted.status())
    }

    fn list(&self) -> serde_json::Value {
        let runs = self.runs.lock().unwrap_or_else(|e| e.into_inner());
        serde_json::json!({ "runs": runs.iter().map(|r| r.status()).collect::<Vec<_>>() })
    }

    fn status(&self, run: &str) -> Result<serde_json::Value, ExtractRunsError> {
        self.find(run)
            .map(|r| r.status())
            .ok_or(ExtractRunsError::UnknownRun)
    }

    fn cancel(&self, run: &str) -> Result<serde_json::Value, ExtractRunsError> {
        let r = self.find(run).ok_or(ExtractRunsError::UnknownRun)?;
        r.update(|s| {
            if s.phase == Phase::Running {
                s.phase = Phase::Cancelling;
            }
        });
        r.cancel.cancel();
        Ok(r.status())
    }

    fn render_metrics(&self, out: &mut String) {
        HostedRuns::render_metrics(self, out);
    }
}
