//! The run: the shard's people in cohort order, a few fetched at once,
//! each pseudonymised, written and tallied in order, with checkpoints.

use std::io;
use std::path::PathBuf;
use std::pin::pin;
use std::time::Instant;

use futures::StreamExt;
use futures::future::{Either, select};
use icr_merge::MergedRecord;
use icr_model::{NhsNumber, SourceId};
use icr_pseudonymise::{PseudonymisedRecord, Pseudonymiser};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio_util::sync::CancellationToken;

use crate::cohort::Shard;
use crate::job::{
    CHECKPOINT_FILE, Checkpoint, Job, MANIFEST_FILE, RunId, Start, sync_dir, write_json_atomic,
};
use crate::manifest::{Manifest, OutputFile};
use crate::progress::{Eta, Progress, RunCounts};

/// What the gateway says of one person of the cohort.
#[derive(Debug)]
pub enum PersonOutcome {
    /// Their merged record as the population-health policy lets the
    /// extract see it.
    Record {
        /// The record (boxed: it is large beside the other outcomes).
        record: Box<MergedRecord>,
        /// Whether every source answered.
        completeness: Completeness,
    },
    /// The objection register says they object: left out, counted.
    Objected,
    /// No source holds a record for them: counted.
    NotFound,
    /// Could not be extracted now (e.g. the audit is unavailable, every
    /// source failed): the run stops, resumably, rather than skipping
    /// them silently. The reason must not hold the NHS number (runs of
    /// ten digits are masked anyway).
    Failed(String),
}

/// Whether a person's record is whole.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Completeness {
    /// True when every source that should hold the person answered.
    pub complete: bool,
    /// The sources that failed for them.
    pub sources_failed: Vec<SourceId>,
}

/// The people's records: the gateway (same adapters, merge, identity
/// guard, population-health policy, objection register, one audit entry
/// per person with the run id, throttled per source).
pub trait Records: Send + Sync {
    /// The outcome for `nhs`, the person at `position` in the whole
    /// cohort (from 0, the same in every shard and on resume: the audit's
    /// request id can be built from it).
    fn person(
        &self,
        run: &RunId,
        position: u64,
        nhs: NhsNumber,
    ) -> impl Future<Output = PersonOutcome> + Send;
}

/// Where pseudonymised records are written (the NDJSON and OMOP writers).
pub trait Sink {
    /// Where each file stands at a checkpoint.
    type Offsets: Serialize + DeserializeOwned;
    /// Writes one person's record.
    fn write(&mut self, r: &PseudonymisedRecord) -> io::Result<()>;
    /// Flushes and fsyncs, and says where each file stands.
    fn checkpoint(&mut self) -> io::Result<Self::Offsets>;
    /// Finishes every file and describes them.
    fn finish(self) -> io::Result<Vec<OutputFile>>;
}

/// The run's aggregates (the summary's raw counts), kept in checkpoints.
/// `icr_extract_summary::Counts` is one; a crate owning neither trait nor
/// type implements it on a `#[serde(transparent)]` newtype.
pub trait Tally: Default + Serialize + DeserializeOwned {
    /// Counts one written record; `complete` as in [`Completeness`].
    fn add(&mut self, r: &PseudonymisedRecord, complete: bool);
}

/// No aggregates.
impl Tally for () {
    fn add(&mut self, _: &PseudonymisedRecord, _: bool) {}
}

/// Why a run stopped.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The output directory or the checkpoint could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What went wrong.
        source: io::Error,
    },
    /// A fresh run was given a directory that holds something.
    #[error("{}: not empty{}", dir.display(), if *checkpoint { "; it holds a checkpoint: add --resume to continue that run" } else { "; a new run needs an empty directory" })]
    Occupied {
        /// The directory.
        dir: PathBuf,
        /// Whether it holds a checkpoint.
        checkpoint: bool,
    },
    /// `--resume` in a directory holding neither a checkpoint nor the
    /// run's manifest, but something else.
    #[error("{}: no checkpoint to resume and no manifest of a finished run, but not empty; a run starts afresh only in an empty directory", dir.display())]
    NothingToResume {
        /// The directory.
        dir: PathBuf,
    },
    /// `--resume` found no checkpoint but another run's manifest.
    #[error("{}: the directory holds another run's finished extract: its {} differ{}; start a new run in an empty directory", file.display(), differs.join(", "), if differs.len() == 1 { "s" } else { "" })]
    AnotherRunFinished {
        /// The manifest.
        file: PathBuf,
        /// What differs.
        differs: Vec<&'static str>,
    },
    /// `--resume` found no checkpoint and a manifest it could not read.
    #[error("{}: not a manifest: {message}", file.display())]
    BadManifest {
        /// The manifest.
        file: PathBuf,
        /// Why.
        message: String,
    },
    /// [`run`] was given [`Start::Done`]: the run finished already.
    #[error("{}: the run finished already (its manifest is there): nothing to do", dir.display())]
    AlreadyFinished {
        /// The directory.
        dir: PathBuf,
    },
    /// The checkpoint could not be read.
    #[error("{}: not a checkpoint: {message}", file.display())]
    BadCheckpoint {
        /// The checkpoint.
        file: PathBuf,
        /// Why.
        message: String,
    },
    /// The checkpoint is of another run.
    #[error("{}: the checkpoint is of another run: its {} differ{}; start a new run in an empty directory, or resume with what it started with", file.display(), differs.join(", "), if differs.len() == 1 { "s" } else { "" })]
    NotTheSameRun {
        /// The checkpoint.
        file: PathBuf,
        /// What differs.
        differs: Vec<&'static str>,
    },
    /// The pseudonymiser could not be set up.
    #[error("{0}")]
    Setup(String),
    /// The sink failed writing a person (the last checkpoint stands).
    #[error("writing person {position} of {total} in shard {shard}: {source}")]
    Sink {
        /// The person's position in the shard, counting from 1.
        position: u64,
        /// People in the shard.
        total: u64,
        /// The shard.
        shard: Shard,
        /// What went wrong.
        source: io::Error,
    },
    /// A person could not be extracted: the run checkpointed and stopped.
    #[error(
        "person {position} of {total} in shard {shard} could not be extracted: {reason}; the run stopped at a checkpoint and can be resumed"
    )]
    Failed {
        /// The person's position in the shard, counting from 1.
        position: u64,
        /// People in the shard.
        total: u64,
        /// The shard.
        shard: Shard,
        /// Why (ten-digit runs masked).
        reason: String,
    },
    /// The run was cancelled: it checkpointed and stopped.
    #[error("cancelled after {done} of {total} people in shard {shard}; the run can be resumed")]
    Cancelled {
        /// People dealt with.
        done: u64,
        /// People in the shard.
        total: u64,
        /// The shard.
        shard: Shard,
    },
}

/// What a finished run gives: its counts, aggregates and files. The
/// checkpoint stays until [`complete`] writes the manifest.
#[derive(Debug)]
pub struct Finished<T> {
    /// The counts.
    pub counts: RunCounts,
    /// The aggregates.
    pub tally: T,
    /// The sink's files.
    pub files: Vec<OutputFile>,
}

/// Runs `job` from `start` (see [`Job::open`]; a [`Start::Done`] is
/// [`RunError::AlreadyFinished`]: callers say so instead), writing to
/// `sink` (created fresh, or resumed from the start's offsets), calling
/// `progress` after
/// each person. People are fetched `people_in_parallel` at a time but
/// written strictly in cohort order. Cancelling `cancel` stops the run
/// between people at a checkpoint. Sink writes and checkpoints are
/// blocking file I/O (buffered; an fsync every `checkpoint_every` people).
pub async fn run<R, S, T>(
    records: &R,
    mut sink: S,
    start: Start<S::Offsets, T>,
    job: &Job,
    cancel: &CancellationToken,
    mut progress: impl FnMut(&Progress),
) -> Result<Finished<T>, RunError>
where
    R: Records,
    S: Sink,
    T: Tally,
{
    let config = job.config();
    let shard = job.identity().shard;
    let pseudonymiser = Pseudonymiser::new(
        &config.key,
        &config.spec,
        job.identity().date.date(),
        config.area_lookup.as_ref(),
    )
    .map_err(|e| RunError::Setup(e.to_string()))?;
    let people: Vec<(u64, NhsNumber)> = job.cohort().positions_in(shard).collect();
    let total = people.len() as u64;
    let mut state = match start {
        Start::Resume(c) => *c,
        Start::Done(_) => {
            return Err(RunError::AlreadyFinished {
                dir: job.dir().to_path_buf(),
            });
        }
        Start::Fresh => {
            let c = Checkpoint {
                identity: job.identity().clone(),
                next_position: 0,
                counts: RunCounts {
                    in_cohort: job.cohort().len() as u64,
                    in_shard: total,
                    ..RunCounts::default()
                },
                tally: T::default(),
                sink: sink_checkpoint(&mut sink, job)?,
            };
            // At once, so that a run stopped before its first checkpoint
            // is resumed rather than refused.
            write_state(&c, job)?;
            c
        }
    };
    let first = usize::try_from(state.next_position).unwrap_or(usize::MAX);
    let eta = Eta::new(Instant::now(), state.next_position);
    let run_id = job.run_id();
    let opt_outs = &config.opt_outs;
    let stream = futures::stream::iter(people.iter().skip(first).copied())
        .map(|(at, nhs)| async move {
            match opt_outs.contains(nhs) {
                true => (nhs, None),
                false => (nhs, Some(records.person(run_id, at, nhs).await)),
            }
        })
        .buffered(config.people_in_parallel);
    let mut stream = pin!(stream);
    let mut cancelled = pin!(cancel.cancelled());
    let mut since_checkpoint = 0;
    loop {
        let next = match cancel.is_cancelled() {
            true => None,
            false => match select(stream.next(), cancelled.as_mut()).await {
                Either::Left((next, _)) => next,
                Either::Right(((), _)) => None,
            },
        };
        let Some((nhs, outcome)) = next else {
            if cancel.is_cancelled() {
                save(&mut state, &mut sink, job)?;
                return Err(RunError::Cancelled {
                    done: state.next_position,
                    total,
                    shard,
                });
            }
            break;
        };
        let position = state.next_position + 1;
        let counts = &mut state.counts;
        match outcome {
            None => counts.national_opt_out += 1,
            Some(PersonOutcome::Objected) => counts.objected += 1,
            Some(PersonOutcome::NotFound) => counts.not_found += 1,
            Some(PersonOutcome::Record {
                record,
                completeness,
            }) => {
                let r = pseudonymiser.pseudonymise(nhs, &record);
                sink.write(&r).map_err(|source| RunError::Sink {
                    position,
                    total,
                    shard,
                    source,
                })?;
                state.tally.add(&r, completeness.complete);
                counts.extracted += 1;
                counts.incomplete += u64::from(!completeness.complete);
            }
            Some(PersonOutcome::Failed(reason)) => {
                save(&mut state, &mut sink, job)?;
                return Err(RunError::Failed {
                    position,
                    total,
                    shard,
                    reason: reason_shown(&reason),
                });
            }
        }
        state.next_position = position;
        progress(&eta.progress(Instant::now(), state.counts));
        since_checkpoint += 1;
        if since_checkpoint >= config.checkpoint_every {
            save(&mut state, &mut sink, job)?;
            since_checkpoint = 0;
        }
    }
    // Checkpointed before finishing, so a crash while finishing resumes
    // with nobody left to fetch.
    if since_checkpoint > 0 {
        save(&mut state, &mut sink, job)?;
    }
    let files = sink.finish().map_err(|e| io_error(job, e))?;
    Ok(Finished {
        counts: state.counts,
        tally: state.tally,
        files,
    })
}

/// Writes the manifest of a finished run, with its files and `extra`
/// files (the summary, counts.json) described by
/// [`OutputFile::describe`], and removes the checkpoint.
pub fn complete<T>(
    job: &Job,
    finished: &Finished<T>,
    extra: Vec<OutputFile>,
) -> Result<Manifest, RunError> {
    let id = job.identity();
    let mut files = finished.files.clone();
    files.extend(extra);
    let manifest = Manifest {
        run_id: id.run_id.clone(),
        date: id.date,
        purpose: id.purpose.clone(),
        spec: job.config().spec.clone(),
        key_id: id.key_id.clone(),
        cohort_hash: id.cohort_hash.clone(),
        threshold: job.config().threshold,
        shards: vec![id.shard],
        counts: finished.counts,
        files,
    };
    write_json_atomic(job.dir(), MANIFEST_FILE, &manifest).map_err(|e| io_error(job, e))?;
    std::fs::remove_file(job.dir().join(CHECKPOINT_FILE))
        .and_then(|()| sync_dir(job.dir()))
        .map_err(|e| io_error(job, e))?;
    Ok(manifest)
}

fn io_error(job: &Job, source: io::Error) -> RunError {
    RunError::Io {
        path: job.dir().to_path_buf(),
        source,
    }
}

fn sink_checkpoint<S: Sink>(sink: &mut S, job: &Job) -> Result<S::Offsets, RunError> {
    sink.checkpoint().map_err(|e| io_error(job, e))
}

/// Checkpoints the sink, then writes the state with its offsets.
fn save<S: Sink, T: Tally>(
    state: &mut Checkpoint<S::Offsets, T>,
    sink: &mut S,
    job: &Job,
) -> Result<(), RunError> {
    state.sink = sink_checkpoint(sink, job)?;
    write_state(state, job)
}

/// Writes the checkpoint file.
fn write_state<O: Serialize, T: Serialize>(
    state: &Checkpoint<O, T>,
    job: &Job,
) -> Result<(), RunError> {
    write_json_atomic(job.dir(), CHECKPOINT_FILE, state).map_err(|e| io_error(job, e))
}

/// The most characters of a failure's reason kept.
const MAX_REASON_CHARS: usize = 300;

/// A failure's reason, shortened to [`MAX_REASON_CHARS`], numbers masked
/// ([`mask_numbers`]).
fn reason_shown(reason: &str) -> String {
    let short: String = reason.chars().take(MAX_REASON_CHARS).collect();
    mask_numbers(&short)
}

/// `text` with every run of ten or more digits (spaces and hyphens between
/// them allowed, as NHS numbers are written) masked.
pub(crate) fn mask_numbers(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(chars.len());
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        // The run from i: digits, separated by single spaces or hyphens.
        let (mut end, mut digits, mut j) = (i, 0, i);
        while j < chars.len() {
            if chars[j].is_ascii_digit() {
                digits += 1;
                end = j + 1;
                j += 1;
            } else if matches!(chars[j], ' ' | '-')
                && chars.get(j + 1).is_some_and(char::is_ascii_digit)
            {
                j += 1;
            } else {
                break;
            }
        }
        if digits >= 10 {
            out.push_str("[number removed]");
        } else {
            out.extend(&chars[i..end]);
        }
        i = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_masked_in_reasons() {
        assert_eq!(
            mask_numbers("source gwh failed: 503"),
            "source gwh failed: 503"
        );
        assert_eq!(
            mask_numbers("no match for 9434765919 at gwh"),
            "no match for [number removed] at gwh"
        );
        assert_eq!(
            mask_numbers("943 476 5919 / 943-476-5919, 2026-12-07"),
            "[number removed] / [number removed], 2026-12-07"
        );
        assert_eq!(mask_numbers("12345678901234"), "[number removed]");
        assert_eq!(mask_numbers("a 123 456 789 b"), "a 123 456 789 b");
        assert_eq!(reason_shown(&"x".repeat(400)).len(), MAX_REASON_CHARS);
        assert_eq!(mask_numbers(&"x".repeat(400)).len(), 400);
    }
}
