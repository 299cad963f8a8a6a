//! The population-health extract's files, written from pseudonymised
//! records: FHIR Bulk Data style NDJSON and OMOP CDM 5.4 tables as Parquet.
//!
//! In the extract's flow this is the sink: the run (`crates/extract`) feeds
//! it one [`PseudonymisedRecord`] per person, in cohort order, after
//! `crates/pseudonymise` has made it name nobody; nothing here ever sees an
//! identifier. [`Writers`] lays out `DIR/`:
//!
//! - `fhir/<ResourceType>.ndjson`: one FHIR R4 resource per line
//!   ([`fhir`]: the Patient and a resource per item, ids and references
//!   by pseudonym, each holder's source id and ODS code as an identifier);
//! - `omop/<table>.parquet`: person, visit_occurrence,
//!   condition_occurrence, drug_exposure, measurement,
//!   procedure_occurrence, observation ([`omop`]: source codes as
//!   `*_source_value`, every `*_concept_id` 0, since no vocabulary mapping
//!   is available).
//!
//! **Resumable and deterministic.** Every line (NDJSON, and each OMOP row
//! as a JSON array in an intermediate `omop/<table>.rows` file) is
//! appended as it is made; [`Writers::checkpoint`] flushes and fsyncs
//! them and returns each file's length ([`Offsets`]); after a stop,
//! [`Writers::resume`] truncates each file back to those lengths, dropping
//! whatever was written after the checkpoint. The Parquet files are
//! written only by [`Writers::finish`], from the row files (then removed),
//! a bounded row group at a time. So a run stopped and resumed writes the
//! same bytes as one that was not, and the same records always give the
//! same bytes: no timestamps, a fixed `created_by`.
//!
//! **Bounded.** A line is as long as one item of one record; the writers
//! buffer a few kilobytes per file; Parquet holds one row group
//! ([`parquet_table::ROW_GROUP_ROWS`] rows) in memory.

#![warn(missing_docs)]

pub mod fhir;
pub mod omop;
pub mod parquet_table;

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use icr_pseudonymise::PseudonymisedRecord;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::fhir::RESOURCE_TYPES;
use crate::omop::Table;

/// The kind of a FHIR NDJSON file in a [`FileEntry`].
pub const KIND_FHIR: &str = "fhir-ndjson";
/// The kind of an OMOP Parquet file in a [`FileEntry`].
pub const KIND_OMOP: &str = "omop-parquet";

/// How far each file had been written at a checkpoint.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Offsets {
    /// By the file's path relative to the output folder.
    pub files: BTreeMap<String, FileOffset>,
}

/// One file's length and line count at a checkpoint.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileOffset {
    /// Bytes.
    pub bytes: u64,
    /// Lines (resources or rows).
    pub lines: u64,
}

/// One file the extract wrote, for the manifest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Relative to the output folder, `/`-separated.
    pub path: String,
    /// [`KIND_FHIR`] or [`KIND_OMOP`].
    pub kind: String,
    /// Resources (NDJSON lines) or table rows.
    pub rows: u64,
    /// Size.
    pub bytes: u64,
    /// SHA-256 of the file, lower-case hex.
    pub sha256: String,
}

/// One append-only line file.
struct Appender {
    rel: String,
    out: BufWriter<File>,
    at: FileOffset,
}

impl Appender {
    fn append(&mut self, line: &[u8]) -> io::Result<()> {
        self.out.write_all(line)?;
        self.out.write_all(b"\n")?;
        self.at.bytes += line.len() as u64 + 1;
        self.at.lines += 1;
        Ok(())
    }
}

/// The extract's writers over one output folder.
pub struct Writers {
    dir: PathBuf,
    /// The NDJSON files, in [`RESOURCE_TYPES`] order.
    fhir: Vec<Appender>,
    /// The OMOP row files, in [`Table::ALL`] order.
    rows: Vec<Appender>,
}

fn fhir_path(ty: &str) -> String {
    format!("fhir/{ty}.ndjson")
}

fn rows_path(t: Table) -> String {
    format!("omop/{}.rows", t.name())
}

fn parquet_path(t: Table) -> String {
    format!("omop/{}.parquet", t.name())
}

fn with_path(path: &Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

/// fsyncs a folder, so that files created in it survive a crash.
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| with_path(dir, e))
}

impl Writers {
    /// Starts a new extract in `dir`: creates `fhir/` and `omop/` and every
    /// file empty (truncating any left there).
    pub fn create(dir: impl Into<PathBuf>) -> io::Result<Self> {
        Self::open(dir.into(), &Offsets::default())
    }

    /// Continues an extract in `dir` from a checkpoint: each file is cut
    /// back to its length in `offsets` (a file not named there to empty).
    /// A file shorter than its checkpoint is an error: it was not written
    /// by this run, or was damaged.
    pub fn resume(dir: impl Into<PathBuf>, offsets: &Offsets) -> io::Result<Self> {
        Self::open(dir.into(), offsets)
    }

    fn open(dir: PathBuf, offsets: &Offsets) -> io::Result<Self> {
        for sub in ["fhir", "omop"] {
            let d = dir.join(sub);
            fs::create_dir_all(&d).map_err(|e| with_path(&d, e))?;
            sync_dir(&d)?;
        }
        sync_dir(&dir)?;
        let open = |rel: String| -> io::Result<Appender> {
            let path = dir.join(&rel);
            let at = offsets.files.get(&rel).copied().unwrap_or_default();
            let mut file = OpenOptions::new()
                .create(true)
                .truncate(false)
                .read(true)
                .write(true)
                .open(&path)
                .map_err(|e| with_path(&path, e))?;
            let len = file.metadata().map_err(|e| with_path(&path, e))?.len();
            if len < at.bytes {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "{} has {len} bytes, fewer than the {} of the checkpoint",
                        path.display(),
                        at.bytes
                    ),
                ));
            }
            file.set_len(at.bytes).map_err(|e| with_path(&path, e))?;
            file.seek(SeekFrom::End(0))?;
            file.sync_all().map_err(|e| with_path(&path, e))?;
            Ok(Appender {
                rel,
                out: BufWriter::new(file),
                at,
            })
        };
        let fhir = RESOURCE_TYPES
            .iter()
            .map(|t| open(fhir_path(t)))
            .collect::<io::Result<_>>()?;
        let rows = Table::ALL
            .iter()
            .map(|t| open(rows_path(*t)))
            .collect::<io::Result<_>>()?;
        Ok(Self { dir, fhir, rows })
    }

    /// Appends one person's resources and rows. After an error the files
    /// may hold part of the person: resume from the last checkpoint.
    pub fn write(&mut self, r: &PseudonymisedRecord) -> io::Result<()> {
        let mut line = Vec::new();
        for resource in fhir::resources(r) {
            let ty = fhir::resource_type(&resource);
            let Some(i) = RESOURCE_TYPES.iter().position(|t| *t == ty) else {
                return Err(io::Error::other(format!("no NDJSON file for {ty}")));
            };
            line.clear();
            serde_json::to_writer(&mut line, &resource)?;
            self.fhir[i].append(&line)?;
        }
        for row in omop::rows(r) {
            line.clear();
            serde_json::to_writer(&mut line, &row.cells)?;
            self.rows[row.table.index()].append(&line)?;
        }
        Ok(())
    }

    /// Flushes and fsyncs every file; returns how far each has been written.
    pub fn checkpoint(&mut self) -> io::Result<Offsets> {
        let mut offsets = Offsets::default();
        for a in self.fhir.iter_mut().chain(self.rows.iter_mut()) {
            a.out.flush()?;
            a.out.get_ref().sync_data()?;
            offsets.files.insert(a.rel.clone(), a.at);
        }
        Ok(offsets)
    }

    /// Ends the extract: writes each OMOP table as Parquet from its row
    /// file (then removed), removes NDJSON files no resource went to, and
    /// lists every file, sorted by path.
    pub fn finish(mut self) -> io::Result<Vec<FileEntry>> {
        self.checkpoint()?;
        let mut entries = Vec::new();
        for a in &self.fhir {
            let path = self.dir.join(&a.rel);
            if a.at.lines == 0 {
                fs::remove_file(&path).map_err(|e| with_path(&path, e))?;
                continue;
            }
            entries.push(entry(&path, &a.rel, KIND_FHIR, a.at.lines)?);
        }
        for (t, a) in Table::ALL.iter().zip(&self.rows) {
            let rel = parquet_path(*t);
            let out = self.dir.join(&rel);
            let n = parquet_table::write(*t, &self.dir.join(&a.rel), &out)?;
            entries.push(entry(&out, &rel, KIND_OMOP, n)?);
        }
        // Only once every table is written: a run stopped while finishing
        // can resume from its last checkpoint and finish again.
        for a in &self.rows {
            let rows = self.dir.join(&a.rel);
            fs::remove_file(&rows).map_err(|e| with_path(&rows, e))?;
        }
        for sub in ["fhir", "omop"] {
            sync_dir(&self.dir.join(sub))?;
        }
        entries.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(entries)
    }
}

/// A file's entry: its size and SHA-256, read back from disk.
fn entry(path: &Path, rel: &str, kind: &str, rows: u64) -> io::Result<FileEntry> {
    let mut f = File::open(path).map_err(|e| with_path(path, e))?;
    let mut digest = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut bytes = 0u64;
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        digest.update(&buf[..n]);
        bytes += n as u64;
    }
    Ok(FileEntry {
        path: rel.to_string(),
        kind: kind.to_string(),
        rows,
        bytes,
        sha256: hex::encode(digest.finalize()),
    })
}
