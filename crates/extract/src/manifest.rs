//! The manifest: what an extract holds and how it was made, and the merge
//! of the shards' manifests into the run's.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use icr_pseudonymise::Spec;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::cohort::Shard;
use crate::config::Purpose;
use crate::job::{MANIFEST_FILE, RunDate, RunId};
use crate::progress::RunCounts;
use crate::run::mask_numbers;

/// One file of the extract.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputFile {
    /// Its path relative to the manifest's directory, `/`-separated.
    pub path: String,
    /// What it is (e.g. `ndjson`, `parquet`, `summary`).
    pub kind: String,
    /// Its rows (records, lines or table rows).
    pub rows: u64,
    /// Its length.
    pub bytes: u64,
    /// SHA-256 of its bytes, 64 hex digits.
    pub sha256: String,
}

impl OutputFile {
    /// Describes the file `dir/path` (length and SHA-256 read from it).
    pub fn describe(dir: &Path, path: &str, kind: &str, rows: u64) -> io::Result<Self> {
        let mut f = File::open(dir.join(path))?;
        let mut h = Sha256::new();
        let mut buf = vec![0; 64 * 1024];
        let mut bytes = 0;
        loop {
            let n = f.read(&mut buf)?;
            if n == 0 {
                break;
            }
            h.update(&buf[..n]);
            bytes += n as u64;
        }
        Ok(Self {
            path: path.into(),
            kind: kind.into(),
            rows,
            bytes,
            sha256: hex::encode(h.finalize()),
        })
    }
}

/// What an extract holds and how it was made: the key by its id only, the
/// cohort by its keyed hash only; no NHS number.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// The run.
    pub run_id: RunId,
    /// The date it was made on.
    pub date: RunDate,
    /// Why.
    pub purpose: Purpose,
    /// The specification, as given.
    pub spec: Spec,
    /// The project key's id.
    pub key_id: String,
    /// The cohort's keyed hash.
    pub cohort_hash: String,
    /// The summary's suppression threshold.
    pub threshold: u64,
    /// The shards it covers (all of them once merged).
    pub shards: Vec<Shard>,
    /// Who was extracted, left out or not found.
    pub counts: RunCounts,
    /// The files.
    pub files: Vec<OutputFile>,
}

impl Manifest {
    /// Reads `dir/manifest.json` (a file that is not a manifest is
    /// `InvalidData`).
    pub fn read(dir: &Path) -> io::Result<Self> {
        Self::parse(&std::fs::read(dir.join(MANIFEST_FILE))?)
    }

    /// Parses a manifest's bytes (`InvalidData` when they are not one;
    /// a quoted value's digits masked).
    pub fn parse(bytes: &[u8]) -> io::Result<Self> {
        serde_json::from_slice(bytes)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, mask_numbers(&e.to_string())))
    }
}

/// The shards' directories under `out` (named by [`Shard::dir_name`]), in
/// shard order; other entries are ignored. [`merge_manifests`] then
/// checks that they are every shard of one run.
pub fn shard_dirs(out: &Path) -> io::Result<Vec<(Shard, PathBuf)>> {
    let mut dirs = Vec::new();
    for entry in std::fs::read_dir(out)? {
        let path = entry?.path();
        let shard = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_prefix("shard-"))
            .and_then(|n| n.split_once("-of-"))
            .and_then(|(i, n)| format!("{i}/{n}").parse::<Shard>().ok())
            .filter(|s| s.dir_name() == path.file_name().unwrap_or_default().to_string_lossy());
        if let Some(shard) = shard.filter(|_| path.is_dir()) {
            dirs.push((shard, path));
        }
    }
    dirs.sort();
    Ok(dirs)
}

/// Why shards' manifests could not be merged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MergeError {
    /// No manifest was given.
    #[error("no shard manifest to merge")]
    Empty,
    /// A manifest is already a merge, or names no shard.
    #[error("manifest {0} is not one shard's")]
    NotOneShard(usize),
    /// A shard's manifest is of another run.
    #[error(
        "shard {shard}'s manifest differs from shard {first}'s in its {field}: they are not one run"
    )]
    Differs {
        /// The shard that differs.
        shard: Shard,
        /// The first shard.
        first: Shard,
        /// What differs.
        field: &'static str,
    },
    /// A shard is there twice.
    #[error("shard {0} is there twice")]
    Twice(Shard),
    /// A shard is missing.
    #[error("shard {index}/{count} is missing")]
    Missing {
        /// Its index.
        index: u32,
        /// The count.
        count: u32,
    },
    /// The shards' counts add up to more than a count can hold (a
    /// manifest that is not one a run wrote).
    #[error("the shards' counts add up to more than a count can hold")]
    Overflow,
    /// The shards' people do not add up to the cohort.
    #[error("the shards hold {held} people but the cohort has {cohort}")]
    CountsDisagree {
        /// People in the shards, summed.
        held: u64,
        /// People in the cohort.
        cohort: u64,
    },
}

/// Merges the manifests of every shard of one run (each shard `0..N` once,
/// the same run id, date, purpose, spec, key, cohort and threshold): the
/// counts are summed (the cohort's is the same in each) and each file's
/// path is prefixed with its shard's directory.
pub fn merge_manifests(mut shards: Vec<Manifest>) -> Result<Manifest, MergeError> {
    for (i, m) in shards.iter().enumerate() {
        if m.shards.len() != 1 {
            return Err(MergeError::NotOneShard(i));
        }
    }
    shards.sort_by_key(|m| m.shards[0]);
    let Some(first) = shards.first() else {
        return Err(MergeError::Empty);
    };
    let f = first.shards[0];
    let mut seen = BTreeSet::new();
    let mut counts = RunCounts {
        in_cohort: first.counts.in_cohort,
        ..RunCounts::default()
    };
    let mut files = Vec::new();
    for m in &shards {
        let s = m.shards[0];
        let differs = |field| MergeError::Differs {
            shard: s,
            first: f,
            field,
        };
        let checks = [
            (m.run_id == first.run_id, "run id"),
            (m.date == first.date, "date"),
            (m.purpose == first.purpose, "purpose"),
            (m.spec == first.spec, "specification"),
            (m.key_id == first.key_id, "project key"),
            (m.cohort_hash == first.cohort_hash, "cohort"),
            (m.threshold == first.threshold, "threshold"),
            (s.count() == f.count(), "shard count"),
            (m.counts.in_cohort == first.counts.in_cohort, "cohort count"),
        ];
        if let Some((_, field)) = checks.iter().find(|(same, _)| !same) {
            return Err(differs(*field));
        }
        if !seen.insert(s.index()) {
            return Err(MergeError::Twice(s));
        }
        let c = &m.counts;
        for (sum, n) in [
            (&mut counts.in_shard, c.in_shard),
            (&mut counts.national_opt_out, c.national_opt_out),
            (&mut counts.objected, c.objected),
            (&mut counts.not_found, c.not_found),
            (&mut counts.extracted, c.extracted),
            (&mut counts.incomplete, c.incomplete),
        ] {
            *sum = sum.checked_add(n).ok_or(MergeError::Overflow)?;
        }
        files.extend(m.files.iter().map(|file| OutputFile {
            path: format!("{}/{}", s.dir_name(), file.path),
            ..file.clone()
        }));
    }
    if let Some(index) = (0..f.count()).find(|i| !seen.contains(i)) {
        return Err(MergeError::Missing {
            index,
            count: f.count(),
        });
    }
    if counts.in_shard != counts.in_cohort {
        return Err(MergeError::CountsDisagree {
            held: counts.in_shard,
            cohort: counts.in_cohort,
        });
    }
    Ok(Manifest {
        shards: shards.iter().map(|m| m.shards[0]).collect(),
        counts,
        files,
        ..first.clone()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(index: u32, count: u32, in_shard: u64) -> Manifest {
        Manifest {
            run_id: "r1".parse().unwrap(),
            date: "2026-12-07".parse().unwrap(),
            purpose: Purpose::try_from("population-health".to_string()).unwrap(),
            spec: Spec::from_toml(
                "sections = [\"conditions\"]\ndate_of_birth = \"age_band\"\npostcode = \"none\"\n",
            )
            .unwrap(),
            key_id: "ece6b2686489a809".into(),
            cohort_hash: "c".repeat(64),
            threshold: 10,
            shards: vec![Shard::new(index, count).unwrap()],
            counts: RunCounts {
                in_cohort: 10,
                in_shard,
                national_opt_out: 1,
                objected: 1,
                not_found: 0,
                extracted: in_shard - 2,
                incomplete: 1,
            },
            files: vec![OutputFile {
                path: "fhir/Patient.ndjson".into(),
                kind: "ndjson".into(),
                rows: in_shard - 2,
                bytes: 100 + u64::from(index),
                sha256: "0".repeat(64),
            }],
        }
    }

    #[test]
    fn merges_shards_in_order() {
        let m = merge_manifests(vec![manifest(1, 2, 6), manifest(0, 2, 4)]).unwrap();
        assert_eq!(
            m.shards,
            [Shard::new(0, 2).unwrap(), Shard::new(1, 2).unwrap()]
        );
        assert_eq!(
            m.counts,
            RunCounts {
                in_cohort: 10,
                in_shard: 10,
                national_opt_out: 2,
                objected: 2,
                not_found: 0,
                extracted: 6,
                incomplete: 2,
            }
        );
        let paths: Vec<_> = m
            .files
            .iter()
            .map(|f| (f.path.as_str(), f.rows, f.bytes))
            .collect();
        assert_eq!(
            paths,
            [
                ("shard-0-of-2/fhir/Patient.ndjson", 2, 100),
                ("shard-1-of-2/fhir/Patient.ndjson", 4, 101)
            ]
        );
        assert_eq!(m.run_id.as_str(), "r1");
        // One shard of one merges to itself with its files prefixed.
        let one = merge_manifests(vec![manifest(0, 1, 10)]).unwrap();
        assert_eq!(one.files[0].path, "shard-0-of-1/fhir/Patient.ndjson");
    }

    #[test]
    fn refuses_what_is_not_one_whole_run() {
        let err = |v: Vec<Manifest>| merge_manifests(v).unwrap_err().to_string();
        assert_eq!(err(vec![]), "no shard manifest to merge");
        assert_eq!(err(vec![manifest(0, 2, 4)]), "shard 1/2 is missing");
        assert_eq!(
            err(vec![manifest(1, 2, 4), manifest(1, 2, 6)]),
            "shard 1/2 is there twice"
        );
        let mut other = manifest(1, 2, 6);
        other.key_id = "0123456789abcdef".into();
        assert_eq!(
            err(vec![manifest(0, 2, 4), other]),
            "shard 1/2's manifest differs from shard 0/2's in its project key: they are not one run"
        );
        let mut other = manifest(1, 2, 6);
        other.run_id = "r2".parse().unwrap();
        assert!(err(vec![manifest(0, 2, 4), other]).contains("in its run id"));
        let mut other = manifest(1, 2, 6);
        other.date = "2026-12-08".parse().unwrap();
        assert!(err(vec![manifest(0, 2, 4), other]).contains("in its date"));
        let mut other = manifest(1, 2, 6);
        other.spec.restricted_items = true;
        assert!(err(vec![manifest(0, 2, 4), other]).contains("in its specification"));
        assert!(err(vec![manifest(0, 2, 4), manifest(1, 3, 6)]).contains("in its shard count"));
        assert_eq!(
            err(vec![manifest(0, 2, 4), manifest(1, 2, 5)]),
            "the shards hold 9 people but the cohort has 10"
        );
        let merged = merge_manifests(vec![manifest(0, 2, 4), manifest(1, 2, 6)]).unwrap();
        assert_eq!(err(vec![merged]), "manifest 0 is not one shard's");
        // Counts no run writes: refused, not a panic or a wrapped sum.
        let mut huge = manifest(1, 2, 6);
        huge.counts.in_shard = u64::MAX;
        assert_eq!(
            err(vec![manifest(0, 2, 4), huge]),
            "the shards' counts add up to more than a count can hold"
        );
    }

    #[test]
    fn finds_shard_directories_and_reads_their_manifests() {
        let out = tempfile::tempdir().unwrap();
        for name in [
            "shard-1-of-2",
            "shard-0-of-2",
            "shard-01-of-2",
            "shard-2-of-2",
            "other",
        ] {
            std::fs::create_dir(out.path().join(name)).unwrap();
        }
        std::fs::write(out.path().join("shard-0-of-3"), "a file").unwrap();
        let dirs = shard_dirs(out.path()).unwrap();
        let found: Vec<String> = dirs
            .iter()
            .map(|(s, d)| format!("{s} {}", d.file_name().unwrap().to_string_lossy()))
            .collect();
        assert_eq!(found, ["0/2 shard-0-of-2", "1/2 shard-1-of-2"]);
        for (shard, dir) in &dirs {
            let m = manifest(shard.index(), 2, 4 + 2 * u64::from(shard.index()));
            crate::write_json_atomic(dir, MANIFEST_FILE, &m).unwrap();
            assert_eq!(Manifest::read(dir).unwrap(), m);
        }
        let read: Vec<Manifest> = dirs
            .iter()
            .map(|(_, d)| Manifest::read(d).unwrap())
            .collect();
        assert_eq!(merge_manifests(read).unwrap().counts.in_shard, 10);
        std::fs::write(out.path().join("other").join(MANIFEST_FILE), "{}").unwrap();
        let err = Manifest::read(&out.path().join("other")).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn round_trips_as_json_and_describes_files() {
        let m = manifest(0, 1, 10);
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(serde_json::from_str::<Manifest>(&json).unwrap(), m);
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.csv"), "abc").unwrap();
        let f = OutputFile::describe(dir.path(), "a.csv", "summary", 1).unwrap();
        assert_eq!(
            (f.bytes, f.sha256.as_str()),
            (
                3,
                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
            )
        );
    }
}
