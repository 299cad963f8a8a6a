//! The population-health extract run, as a library: the command
//! (`icr extract`) and the operator API drive it; the gateway supplies
//! each person's record, the output crate writes the files, the summary
//! crate tallies the aggregates.
//!
//! In the extract's flow this crate is the loop around everything else:
//! ```text
//! extract.toml → ExtractConfig (project key, national opt-out list, area lookup, spec)
//! cohort file or registered:DIR → Cohort (distinct NHS numbers, ascending)
//!   → this Shard's people (SHA-256 of the ten digits, first 8 bytes mod N)
//!   → national data opt-outs left out, counted
//!   → Records::person, people_in_parallel at a time, taken strictly in cohort order
//!        Objected / NotFound: counted; Failed: checkpoint and stop (resumable)
//!   → Pseudonymiser::pseudonymise → Sink::write → Tally::add
//!   → every checkpoint_every people: checkpoint.json (atomic)
//!   → Sink::finish, then complete(): manifest.json, checkpoint removed
//! ```
//! - **Config** ([`ExtractConfig`]): `extract.toml`, unknown keys refused,
//!   every error naming the file and key, paths relative to the file. The
//!   project key file must not be readable by others nor writable by group
//!   (group read is allowed, for Kubernetes secrets mounted with
//!   `fsGroup`).
//! - **Lists** ([`lists`]): the cohort, the practices' registered lists
//!   (`registered:DIR`, one `<ODS code>.csv` per practice, NHS number
//!   first) and the national data opt-out list: one NHS number a line,
//!   `#` comments and blank lines skipped; a bad line is named by its
//!   number, never shown. Bounded (`max_cohort`, [`config::MAX_OPT_OUTS`]).
//! - **Identity** ([`Identity`]): run id, date, purpose, spec hash, key id,
//!   area lookup hash, shard, and keyed hashes of the cohort and of the
//!   cohort's people the opt-out list leaves out (over pseudonyms, so a
//!   small cohort's hash cannot be reversed by trying NHS numbers). A run
//!   resumes only from a checkpoint whose identity is the same, so it
//!   writes what an uninterrupted run would have; what differs is named. A
//!   fresh run needs an empty directory and checkpoints at once. A resumed
//!   run with no checkpoint starts afresh in an absent or empty directory
//!   and does nothing when the directory holds its own manifest
//!   ([`Start::Done`]), so `--resume` can always be passed (a retried
//!   Kubernetes pod); another run's manifest is refused.
//! - **The run** ([`run`]): generic over [`Records`] (the gateway),
//!   [`Sink`] (the writers) and [`Tally`] (the summary's counts); the run
//!   date is fixed in the job. Cancelling checkpoints and stops between
//!   people; people in flight then are fetched again on resume (one more
//!   audit entry each). A resumed run writes what an uninterrupted one
//!   would have.
//! - **Manifest** ([`Manifest`], [`merge_manifests`]): files, counts, the
//!   spec, the key's id (never the key); shards merged into one.
//! - **Progress** ([`Progress`], [`Eta`]): a snapshot after each person.
//!
//! No NHS number goes in an error, the manifest or the checkpoint (a
//! failure's reason, and any message of a parser quoting what it read, has
//! every ten-digit run masked); the crate logs nothing.
//!
//! The readers of outside data are pure and fuzzed (`fuzz/`, README
//! there): the lists ([`fuzz_list`]), `extract.toml` ([`fuzz_config`]), the
//! area lookup ([`fuzz_area_lookup`]), `checkpoint.json`
//! ([`fuzz_checkpoint`]) and shards' `manifest.json` and their merge
//! ([`fuzz_manifest`]); `tests/fuzz_seeds.rs` runs the seeds and mutations
//! of them through the same entry points in `cargo test`.
//! The checkpoint holds the tally's raw, unsuppressed counts: it is the
//! key holder's working file, removed by [`complete`], and an abandoned
//! run's directory is not to be published as it stands.

mod cohort;
pub mod config;
mod fuzz;
mod job;
pub mod lists;
mod manifest;
mod progress;
mod run;

pub use cohort::{
    Cohort, CohortError, CohortSource, DEFAULT_MAX_COHORT, MAX_SHARDS, Shard, ShardError,
};
pub use config::{ConfigError, ExtractConfig, OptOuts, Purpose};
pub use job::{
    CHECKPOINT_FILE, Checkpoint, Identity, Job, MANIFEST_FILE, RunDate, RunId, Start,
    recorded_identity, run_dir, write_json_atomic,
};
pub use manifest::{Manifest, MergeError, OutputFile, merge_manifests, shard_dirs};
pub use progress::{Eta, Progress, RunCounts};
pub use run::{
    Completeness, Finished, PersonOutcome, Records, RunError, Sink, Tally, complete, run,
};

/// Any bytes as a list of NHS numbers (the first byte picks the format
/// and the bound): must never panic, stay within its bounds, and never
/// show an NHS number in an error. The entry point for fuzzing.
#[doc(hidden)]
pub fn fuzz_list(data: &[u8]) {
    fuzz::list(data);
}

/// Any text as `extract.toml` (parsed and checked, no file read): must
/// never panic, never show an NHS number in an error, and a spec read
/// hashes the same through JSON. The entry point for fuzzing.
#[doc(hidden)]
pub fn fuzz_config(data: &[u8]) {
    fuzz::config(data);
}

/// Any bytes as an area lookup file: must never panic, never show a line
/// in an error. The entry point for fuzzing.
#[doc(hidden)]
pub fn fuzz_area_lookup(data: &[u8]) {
    fuzz::area_lookup(data);
}

/// Any bytes as `checkpoint.json`, with the sink's offsets `O` and the
/// tally `T`: must never panic; one accepted agrees with its position and
/// reads back as written; errors show no NHS number. The entry point for
/// fuzzing.
#[doc(hidden)]
pub fn fuzz_checkpoint<O, T>(data: &[u8])
where
    O: serde::Serialize + serde::de::DeserializeOwned,
    T: serde::Serialize + serde::de::DeserializeOwned,
{
    fuzz::checkpoint::<O, T>(data);
}

/// Any bytes as shards' `manifest.json` files (split at NUL bytes): each
/// must read back as written, and their merge never panic. The entry
/// point for fuzzing.
#[doc(hidden)]
pub fn fuzz_manifest(data: &[u8]) {
    fuzz::manifest(data);
}
