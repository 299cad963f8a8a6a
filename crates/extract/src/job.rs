//! One extract run's identity and its output directory: the run id and
//! date, the job, checkpoints (written atomically) and the start of a
//! fresh or resumed run.

use std::fmt;
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use icr_model::time::{Date, Month};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

use crate::cohort::{Cohort, Shard, parse_string};
use crate::config::{ExtractConfig, Purpose, checked_token, spec_hash};
use crate::manifest::Manifest;
use crate::progress::RunCounts;
use crate::run::{RunError, mask_numbers};

/// The checkpoint's file name in the run's directory.
pub const CHECKPOINT_FILE: &str = "checkpoint.json";
/// The manifest's file name.
pub const MANIFEST_FILE: &str = "manifest.json";

/// A run's id: 1 to 64 of `a-z 0-9 -` (what the gateway's audit takes).
/// Every shard of one run has the same id; it goes in each person's audit
/// entry.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RunId(String);

impl RunId {
    /// The id given to a run when none is: `extract-<date>-` and 12 hex
    /// digits of a hash of what makes the run (purpose, spec, key id,
    /// cohort), so running the same thing again, or another shard of it,
    /// gets the same id.
    pub fn derived(date: RunDate, config: &ExtractConfig, cohort_hash: &str) -> Self {
        let mut h = Sha256::new();
        for part in [
            config.purpose.as_str(),
            &config.spec_hash(),
            config.key.key_id(),
            cohort_hash,
        ] {
            h.update(part.as_bytes());
            h.update(b"\0");
        }
        Self(format!(
            "extract-{date}-{}",
            &hex::encode(h.finalize())[..12]
        ))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for RunId {
    type Error = String;

    fn try_from(s: String) -> Result<Self, String> {
        checked_token(s, "run id").map(Self)
    }
}

impl FromStr for RunId {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Self::try_from(s.to_string())
    }
}

impl From<RunId> for String {
    fn from(id: RunId) -> String {
        id.0
    }
}

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The run's date, `YYYY-MM-DD`: fixed when the run starts and recorded,
/// so ages are reckoned on one day however long the run takes, and a
/// resumed run uses the day it started.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct RunDate(Date);

impl RunDate {
    /// The run date of a calendar date.
    pub fn new(date: Date) -> Self {
        Self(date)
    }

    /// The calendar date.
    pub fn date(self) -> Date {
        self.0
    }
}

impl fmt::Display for RunDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.0;
        write!(
            f,
            "{:04}-{:02}-{:02}",
            d.year(),
            u8::from(d.month()),
            d.day()
        )
    }
}

impl FromStr for RunDate {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let err = || "a run date is YYYY-MM-DD".to_string();
        let parts: Vec<&str> = s.split('-').collect();
        let [y, m, d] = parts.as_slice() else {
            return Err(err());
        };
        let digits = |t: &str, n: usize| t.len() == n && t.bytes().all(|b| b.is_ascii_digit());
        if !(digits(y, 4) && digits(m, 2) && digits(d, 2)) {
            return Err(err());
        }
        let (y, m, d) = (
            y.parse().map_err(|_| err())?,
            m.parse::<u8>().map_err(|_| err())?,
            d.parse().map_err(|_| err())?,
        );
        let month = Month::try_from(m).map_err(|_| err())?;
        Date::from_calendar_date(y, month, d)
            .map(Self)
            .map_err(|_| err())
    }
}

impl Serialize for RunDate {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for RunDate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        parse_string(d)
    }
}

/// What makes a run the same run: a checkpoint is resumed only when all of
/// it matches, so that a resumed run writes what an uninterrupted one
/// would have. Hashes of people are keyed (see [`Cohort::hash`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Identity {
    /// The run id.
    pub run_id: RunId,
    /// The run date.
    pub date: RunDate,
    /// The purpose.
    pub purpose: Purpose,
    /// [`ExtractConfig::spec_hash`].
    pub spec_hash: String,
    /// The project key's id.
    pub key_id: String,
    /// [`Cohort::hash`].
    pub cohort_hash: String,
    /// [`OptOuts::hash_within`] the cohort.
    ///
    /// [`OptOuts::hash_within`]: crate::OptOuts::hash_within
    pub opt_out_hash: String,
    /// The area lookup file's hash, when one is used.
    pub area_lookup_hash: Option<String>,
    /// The shard.
    pub shard: Shard,
}

impl Identity {
    /// The names of the parts that differ from `other`'s.
    pub fn differences(&self, other: &Identity) -> Vec<&'static str> {
        let mut d = Vec::new();
        let mut check = |same: bool, name| {
            if !same {
                d.push(name);
            }
        };
        check(self.run_id == other.run_id, "run id");
        check(self.date == other.date, "date");
        check(self.purpose == other.purpose, "purpose");
        check(self.spec_hash == other.spec_hash, "specification");
        check(self.key_id == other.key_id, "project key");
        check(self.cohort_hash == other.cohort_hash, "cohort");
        check(
            self.opt_out_hash == other.opt_out_hash,
            "national opt-out list",
        );
        check(
            self.area_lookup_hash == other.area_lookup_hash,
            "area lookup",
        );
        check(self.shard == other.shard, "shard");
        d
    }
}

/// A run to do: the configuration, the cohort, the shard, the date and
/// the directory the run writes in.
#[derive(Debug)]
pub struct Job {
    config: ExtractConfig,
    cohort: Cohort,
    identity: Identity,
    dir: PathBuf,
    resume: bool,
}

impl Job {
    /// A job. `run_id` defaults to [`RunId::derived`]; `out` is the
    /// output directory given: a sharded run writes in its
    /// [`Shard::dir_name`] below it, the whole cohort (shard `None`) in
    /// `out` itself.
    pub fn new(
        config: ExtractConfig,
        cohort: Cohort,
        shard: Option<Shard>,
        date: RunDate,
        run_id: Option<RunId>,
        out: &Path,
        resume: bool,
    ) -> Self {
        let cohort_hash = cohort.hash(&config.key);
        let identity = Identity {
            run_id: run_id.unwrap_or_else(|| RunId::derived(date, &config, &cohort_hash)),
            date,
            purpose: config.purpose.clone(),
            spec_hash: config.spec_hash(),
            key_id: config.key.key_id().to_string(),
            cohort_hash,
            opt_out_hash: config.opt_outs.hash_within(&config.key, &cohort),
            area_lookup_hash: config.area_lookup_hash.clone(),
            shard: shard.unwrap_or(Shard::WHOLE),
        };
        let dir = run_dir(out, shard);
        Self {
            config,
            cohort,
            identity,
            dir,
            resume,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &ExtractConfig {
        &self.config
    }

    /// The cohort.
    pub fn cohort(&self) -> &Cohort {
        &self.cohort
    }

    /// What makes this run this run.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// The run id.
    pub fn run_id(&self) -> &RunId {
        &self.identity.run_id
    }

    /// The directory this run writes in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Prepares the directory and reads the checkpoint to resume from.
    /// A fresh run refuses a directory holding anything (a checkpoint
    /// says `--resume`). A resumed run continues from the checkpoint when
    /// there is one (refusing one of another run, naming what differs);
    /// with none, it is [`Start::Done`] when the directory holds this
    /// run's manifest (the run finished: nothing to do; another run's
    /// manifest is refused), and starts [`Start::Fresh`] when the
    /// directory is absent or empty, so that `--resume` can always be
    /// passed (a retried Kubernetes pod). The sink is then created fresh,
    /// or resumed from [`Start::offsets`].
    pub fn open<O: DeserializeOwned, T: DeserializeOwned>(&self) -> Result<Start<O, T>, RunError> {
        let dir = &self.dir;
        let file = dir.join(CHECKPOINT_FILE);
        if !self.resume {
            return match self.empty_dir()? {
                true => Ok(Start::Fresh),
                false => Err(RunError::Occupied {
                    dir: dir.clone(),
                    checkpoint: file.exists(),
                }),
            };
        }
        let bytes = match std::fs::read(&file) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return self.finished_or_fresh(),
            Err(source) => return Err(RunError::Io { path: file, source }),
        };
        let in_shard = self.cohort.shard(self.identity.shard).len() as u64;
        parse_checkpoint(&bytes, &file, &self.identity, in_shard)
            .map(|c| Start::Resume(Box::new(c)))
    }

    /// `--resume` with no checkpoint: done when the directory holds this
    /// run's manifest, fresh when it is absent or empty, else refused.
    fn finished_or_fresh<O, T>(&self) -> Result<Start<O, T>, RunError> {
        let dir = &self.dir;
        let file = dir.join(MANIFEST_FILE);
        match Manifest::read(dir) {
            Ok(m) => {
                let differs = self.manifest_differences(&m);
                return match differs.is_empty() {
                    true => Ok(Start::Done(Box::new(m))),
                    false => Err(RunError::AnotherRunFinished { file, differs }),
                };
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(RunError::BadManifest {
                    file,
                    message: e.to_string(),
                });
            }
        }
        match self.empty_dir()? {
            true => Ok(Start::Fresh),
            false => Err(RunError::NothingToResume { dir: dir.clone() }),
        }
    }

    /// Creates the run's directory when it is absent; true when it is
    /// (then) empty.
    fn empty_dir(&self) -> Result<bool, RunError> {
        let dir = &self.dir;
        let io = |e| RunError::Io {
            path: dir.clone(),
            source: e,
        };
        match std::fs::read_dir(dir) {
            Ok(mut entries) => Ok(entries.next().is_none()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                std::fs::create_dir_all(dir).map_err(io)?;
                Ok(true)
            }
            Err(e) => Err(io(e)),
        }
    }

    /// The parts of this run a finished run's manifest records that
    /// differ from it (the manifest keeps no opt-out or area lookup hash).
    fn manifest_differences(&self, m: &Manifest) -> Vec<&'static str> {
        let id = &self.identity;
        [
            (m.run_id == id.run_id, "run id"),
            (m.date == id.date, "date"),
            (m.purpose == id.purpose, "purpose"),
            (spec_hash(&m.spec) == id.spec_hash, "specification"),
            (m.key_id == id.key_id, "project key"),
            (m.cohort_hash == id.cohort_hash, "cohort"),
            (m.threshold == self.config.threshold, "threshold"),
            (m.shards == [id.shard], "shard"),
        ]
        .into_iter()
        .filter(|(same, _)| !same)
        .map(|(_, name)| name)
        .collect()
    }
}

/// The directory a run writes in: `out` for the whole cohort (shard
/// `None`), `out/shard-I-of-N` for a shard.
pub fn run_dir(out: &Path, shard: Option<Shard>) -> PathBuf {
    match shard {
        Some(s) => out.join(s.dir_name()),
        None => out.to_path_buf(),
    }
}

/// The identity recorded in the checkpoint in `dir`: a resumed run given
/// no date (or run id) takes it from here, so that resuming on another
/// day is not refused and ages stay reckoned on the day the run started.
pub fn recorded_identity(dir: &Path) -> Result<Identity, RunError> {
    read_identity(dir).map(|(_, identity)| identity)
}

/// The checkpoint's bytes and its identity.
fn read_identity(dir: &Path) -> Result<(Vec<u8>, Identity), RunError> {
    let file = dir.join(CHECKPOINT_FILE);
    let bytes = match std::fs::read(&file) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(RunError::NothingToResume { dir: dir.into() });
        }
        Err(source) => return Err(RunError::Io { path: file, source }),
    };
    let identity = identity_of(&bytes, &file)?;
    Ok((bytes, identity))
}

/// The identity of a checkpoint's bytes, read first on its own so that
/// another run's checkpoint is named as such even when its sink or tally
/// would not parse.
fn identity_of(bytes: &[u8], file: &Path) -> Result<Identity, RunError> {
    #[derive(Deserialize)]
    struct Head {
        identity: Identity,
    }
    serde_json::from_slice::<Head>(bytes)
        .map(|head| head.identity)
        .map_err(|e| bad_checkpoint(file, &e.to_string()))
}

/// A checkpoint that is not one; a quoted value's digits masked.
fn bad_checkpoint(file: &Path, message: &str) -> RunError {
    RunError::BadCheckpoint {
        file: file.to_path_buf(),
        message: mask_numbers(message),
    }
}

/// Reads the bytes of the checkpoint `file` of the run `identity`, whose
/// shard holds `in_shard` people: refused when it is another run's (naming
/// what differs), does not parse, or its counts disagree with its
/// position. Pure: the entry point of `fuzz_checkpoint`.
pub(crate) fn parse_checkpoint<O: DeserializeOwned, T: DeserializeOwned>(
    bytes: &[u8],
    file: &Path,
    identity: &Identity,
    in_shard: u64,
) -> Result<Checkpoint<O, T>, RunError> {
    let differs = identity.differences(&identity_of(bytes, file)?);
    if !differs.is_empty() {
        return Err(RunError::NotTheSameRun {
            file: file.to_path_buf(),
            differs,
        });
    }
    let c: Checkpoint<O, T> =
        serde_json::from_slice(bytes).map_err(|e| bad_checkpoint(file, &e.to_string()))?;
    if c.counts.done() != c.next_position
        || c.next_position > in_shard
        || c.counts.in_shard != in_shard
    {
        return Err(bad_checkpoint(
            file,
            "its counts do not agree with its position",
        ));
    }
    Ok(c)
}

/// How a run starts.
#[derive(Debug)]
pub enum Start<O, T> {
    /// From the beginning, in an empty directory.
    Fresh,
    /// From a checkpoint of the same run.
    Resume(Box<Checkpoint<O, T>>),
    /// Not at all: `--resume` found no checkpoint and this run's manifest,
    /// so the run finished already.
    Done(Box<Manifest>),
}

impl<O, T> Start<O, T> {
    /// The sink's offsets to resume from (none for a fresh run).
    pub fn offsets(&self) -> Option<&O> {
        match self {
            Start::Fresh | Start::Done(_) => None,
            Start::Resume(c) => Some(&c.sink),
        }
    }
}

/// A run's state at a checkpoint: everything written before
/// `next_position` (in the shard's cohort order) is in the sink up to its
/// offsets and counted in `counts` and `tally`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint<O, T> {
    /// Which run.
    pub identity: Identity,
    /// The first person of the shard not yet dealt with.
    pub next_position: u64,
    /// The counts so far.
    pub counts: RunCounts,
    /// The aggregates so far.
    pub tally: T,
    /// The sink's offsets.
    pub sink: O,
}

/// Writes `value` as pretty JSON with sorted keys to `dir/name`
/// atomically: a temporary file written and fsynced, renamed over the
/// name, and the directory fsynced, so a crash leaves the old file or the
/// new one, never a mix.
pub fn write_json_atomic<V: Serialize>(dir: &Path, name: &str, value: &V) -> io::Result<()> {
    // Through a Value: its maps are sorted by key.
    let value = serde_json::to_value(value).map_err(io::Error::other)?;
    let mut text = serde_json::to_string_pretty(&value).map_err(io::Error::other)?;
    text.push('\n');
    let tmp = dir.join(format!(".{name}.tmp"));
    let mut f = File::create(&tmp)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, dir.join(name))?;
    sync_dir(dir)
}

/// Makes a rename or removal in `dir` durable.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_and_dates_parse() {
        for ok in ["a", "extract-2026-12-07-abc", "9-"] {
            assert_eq!(ok.parse::<RunId>().unwrap().as_str(), ok);
        }
        for bad in [
            "",
            ".hidden",
            "a/b",
            "a b",
            "é",
            "R1",
            "r_1",
            "r.1",
            &"x".repeat(65),
        ] {
            assert_eq!(
                bad.parse::<RunId>().unwrap_err(),
                "a run id is 1 to 64 of a-z, 0-9 and '-'",
                "{bad}"
            );
        }
        let d: RunDate = "2026-12-07".parse().unwrap();
        assert_eq!(d.to_string(), "2026-12-07");
        assert_eq!(serde_json::to_string(&d).unwrap(), "\"2026-12-07\"");
        assert_eq!(
            serde_json::from_str::<RunDate>("\"2026-12-07\"").unwrap(),
            d
        );
        for bad in [
            "2026-12-7",
            "2026-13-01",
            "2026-02-30",
            "26-12-07",
            "2026-12-07x",
            "+026-12-07",
            "",
        ] {
            assert_eq!(
                bad.parse::<RunDate>().unwrap_err(),
                "a run date is YYYY-MM-DD",
                "{bad}"
            );
        }
        assert!(serde_json::from_str::<RunId>("\"a/b\"").is_err());
    }

    /// Counts that wrap round to the checkpoint's position (no run writes
    /// them) are refused, not accepted or a panic.
    #[test]
    fn a_checkpoint_whose_counts_overflow_is_refused() {
        let h = "a".repeat(64);
        let identity = serde_json::json!({
            "run_id": "r1", "date": "2026-12-01", "purpose": "p", "spec_hash": h,
            "key_id": "k", "cohort_hash": h, "opt_out_hash": h,
            "area_lookup_hash": null, "shard": "0/1",
        });
        let id: Identity = serde_json::from_value(identity.clone()).unwrap();
        let checkpoint = |national_opt_out: u64, objected: u64| {
            serde_json::json!({
                "identity": identity, "next_position": 3, "tally": null, "sink": null,
                "counts": {"in_cohort": 100, "in_shard": 100, "national_opt_out": national_opt_out,
                           "objected": objected, "not_found": 0, "extracted": 0, "incomplete": 0},
            })
            .to_string()
        };
        let file = Path::new("d/checkpoint.json");
        let read = |text: String| {
            parse_checkpoint::<(), ()>(text.as_bytes(), file, &id, 100).map(|c| c.next_position)
        };
        assert_eq!(read(checkpoint(1, 2)).unwrap(), 3);
        assert_eq!(
            read(checkpoint(u64::MAX, 4)).unwrap_err().to_string(),
            "d/checkpoint.json: not a checkpoint: its counts do not agree with its position"
        );
    }

    #[test]
    fn atomic_json_has_sorted_keys_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        #[derive(Serialize)]
        struct V {
            zebra: u8,
            apple: [u8; 1],
        }
        write_json_atomic(
            dir.path(),
            "v.json",
            &V {
                zebra: 1,
                apple: [2],
            },
        )
        .unwrap();
        write_json_atomic(
            dir.path(),
            "v.json",
            &V {
                zebra: 3,
                apple: [4],
            },
        )
        .unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join("v.json")).unwrap(),
            "{\n  \"apple\": [\n    4\n  ],\n  \"zebra\": 3\n}\n"
        );
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["v.json"]);
    }
}
