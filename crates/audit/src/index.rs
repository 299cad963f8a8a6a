//! The log's index by person: for each NHS number, where each of their
//! accesses is — one position per access: a whole `access` entry, or a
//! `begun` one, replaced by its completion's line when that is written
//! (keeping the begun entry's sequence and time, which identify and date
//! the access). Built by one scan of every log file in the
//! background after the log is opened (verifying the chain as it goes;
//! the log serves appends meanwhile, and refuses reads until it is done),
//! extended by the writer after each group commit, so that a read of one
//! person's accesses touches only their own lines.
//!
//! **Cost.** One [`Position`] (32 bytes) per access record that names a
//! person, in a vector per person (up to twice that while a vector grows),
//! plus about 64 bytes per distinct person for the map entry and the
//! vector's allocation: 200,000 accesses to 20,000 people take about
//! 6.4 MB + 1.3 MB. Records of a request refused before it named a valid
//! NHS number are not indexed. Files archived out of the directory stay
//! indexed until the next start; reading one of their records reports the
//! file missing (the page is then marked incomplete).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::RwLock;
use std::sync::atomic::{AtomicBool, Ordering};

use icr_model::NhsNumber;

use crate::chain::{ChainPoint, Sequence};
use crate::files::file_number;
use crate::query::AccessQuery;
use crate::verify::{Problem, ProblemKind, VerifyError, Walk, walk};

/// Where one access record is, and what is needed to select it without
/// reading it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Position {
    /// Its sequence number.
    pub seq: u64,
    /// Its time, in microseconds since the Unix epoch.
    pub time: i64,
    /// The byte offset of its line in its file.
    pub offset: u64,
    /// Its file's number (`audit-NNNNNN.jsonl`).
    pub file: u32,
    /// Its 1-based line in the file.
    pub line: u32,
}

const _: () = assert!(std::mem::size_of::<Position>() == 32);

/// An entry to index: whose, where, and the begun entry it completes, if
/// it is a completion.
pub(crate) type Indexed = (NhsNumber, Position, Option<Sequence>);

/// The positions selected for one page.
pub(crate) struct Selection {
    /// Newest first, at most the page's count.
    pub positions: Vec<Position>,
    /// Matching accesses older than the last selected.
    pub older: u64,
    /// Matching accesses in the whole log (every page).
    pub total: u64,
    /// The first problem found when the index was built, if any.
    pub problem: Option<Problem>,
}

#[derive(Default)]
struct State {
    people: HashMap<NhsNumber, Vec<Position>>,
    entries: u64,
    problem: Option<Problem>,
}

/// The index. Readers take the lock only to copy a page's positions.
#[derive(Default)]
pub(crate) struct Index {
    state: RwLock<State>,
    /// Whether the files there were at open have been scanned.
    ready: AtomicBool,
}

impl Index {
    /// An index still to be built: it takes the writer's new records at
    /// once, and the older ones when [`build`](Self::build) finishes.
    pub(crate) fn building() -> Self {
        Self::default()
    }

    /// Whether the files there were at open have been indexed.
    pub(crate) fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    /// Indexes the records up to `up_to` (the head at open) in `files`
    /// (the log's files at open, in order), adds them before the records
    /// the writer indexed meanwhile, and marks the index ready. Blocking:
    /// run it on its own thread. Never fails: a file that cannot be read
    /// or fails verification is the index's problem, shown with every read.
    pub(crate) fn build(&self, files: &[PathBuf], up_to: Sequence) {
        let built = scan(files, up_to);
        let mut state = self.state.write().unwrap_or_else(|e| e.into_inner());
        for (nhs, mut older) in built.people {
            if let Some(newer) = state.people.remove(&nhs) {
                older.extend(newer);
            }
            older.shrink_to_fit();
            state.people.insert(nhs, older);
        }
        state.entries += built.entries;
        state.problem = built.problem;
        drop(state);
        self.ready.store(true, Ordering::Release);
    }

    /// Adds the positions of entries just written and synced.
    pub(crate) fn add(&self, added: impl IntoIterator<Item = Indexed>) {
        let mut state = self.state.write().unwrap_or_else(|e| e.into_inner());
        for (nhs, p, completes) in added {
            state.add(nhs, p, completes);
        }
    }

    /// Access records indexed.
    pub(crate) fn entries(&self) -> u64 {
        self.state.read().unwrap_or_else(|e| e.into_inner()).entries
    }

    /// The positions of one page of `nhs`'s accesses, newest first.
    pub(crate) fn select(&self, nhs: &NhsNumber, query: &AccessQuery) -> Selection {
        let state = self.state.read().unwrap_or_else(|e| e.into_inner());
        let mut selection = Selection {
            positions: Vec::with_capacity(query.count.min(64)),
            older: 0,
            total: 0,
            problem: state.problem.clone(),
        };
        let Some(all) = state.people.get(nhs) else {
            return selection;
        };
        let before = query.before.map_or(u64::MAX, Sequence::get);
        for p in all.iter().rev() {
            if !query.dates.contains_micros(p.time) {
                continue;
            }
            selection.total += 1;
            if p.seq >= before {
                continue;
            }
            if selection.positions.len() < query.count {
                selection.positions.push(*p);
            } else {
                selection.older += 1;
            }
        }
        selection
    }
}

/// Scans every log file in `files` (in order) for the records up to
/// `up_to`, verifying the chain from the genesis when the first file is
/// `audit-000001.jsonl`, else from the first entry found. A problem (a
/// damaged or altered older file, an unreadable file) is kept, to be shown
/// with every read as the trail being incomplete, and the scan goes on
/// from the next file: entries after the problem in that file are not
/// indexed.
fn scan(files: &[PathBuf], up_to: Sequence) -> State {
    let mut state = State::default();
    let mut rest = files;
    let mut from_genesis = files
        .first()
        .and_then(|p| number_of(p))
        .is_some_and(|n| n == 1);
    while !rest.is_empty() {
        let how = Walk {
            start: from_genesis.then_some(ChainPoint::GENESIS),
            anchors: &[],
            time_tolerance: None,
            live_tail: true,
        };
        let mut current: Option<(PathBuf, u32)> = None;
        let result = walk(
            rest,
            |p: &Path| std::fs::File::open(p),
            &how,
            |at, entry| {
                if entry.seq > up_to {
                    // Written since the log was opened: the writer indexed it.
                    return;
                }
                let Some(nhs) = entry.nhs_number() else {
                    return;
                };
                let file = match &current {
                    Some((p, n)) if p == at.path => *n,
                    // File numbers past u32::MAX (four billion files) are not
                    // indexable; their reads report the record not as indexed.
                    _ => number_of(at.path)
                        .and_then(|n| u32::try_from(n).ok())
                        .unwrap_or(u32::MAX),
                };
                if current.as_ref().is_none_or(|(p, _)| p != at.path) {
                    current = Some((at.path.to_path_buf(), file));
                }
                state.add(
                    nhs,
                    Position {
                        seq: entry.seq.get(),
                        time: entry.time().unix_micros(),
                        offset: at.offset,
                        file,
                        line: u32::try_from(at.line).unwrap_or(u32::MAX),
                    },
                    entry.completes,
                );
            },
        );
        let (problem, next) = match result {
            Ok(_) | Err(VerifyError::NoFiles) => break,
            Err(VerifyError::Failed(failure)) => {
                let failed = rest
                    .iter()
                    .position(|p| *p == failure.problem.file)
                    .unwrap_or(rest.len() - 1);
                // A missing file: nothing of the next one was read yet.
                let next = match failure.problem.kind {
                    ProblemKind::MissingFile { .. } => failed,
                    _ => failed + 1,
                };
                (failure.problem, next)
            }
            Err(VerifyError::Io { path, source }) => {
                let failed = rest
                    .iter()
                    .position(|p| *p == path)
                    .unwrap_or(rest.len() - 1);
                let problem = Problem {
                    file: path,
                    line: 0,
                    kind: ProblemKind::Unreadable {
                        why: source.to_string(),
                    },
                };
                (problem, failed + 1)
            }
        };
        tracing::error!(
            problem = %problem,
            "audit log fails verification: reads of the audit will say it is incomplete; run `icr audit verify` on the directory"
        );
        state.problem.get_or_insert(problem);
        // Always onward: each round reads at least one file.
        rest = &rest[next.max(1)..];
        from_genesis = false;
    }
    state
}

impl State {
    /// Adds an access; or, for a completion, points its begun access at
    /// the completion's line (a completion whose begun entry is not
    /// indexed — in a file archived away — is an access of its own).
    fn add(&mut self, nhs: NhsNumber, p: Position, completes: Option<Sequence>) {
        let list = self.people.entry(nhs).or_default();
        if let Some(begun) = completes {
            // Sorted by sequence: entries are indexed in the log's order.
            if let Ok(i) = list.binary_search_by_key(&begun.get(), |q| q.seq)
                && let Some(q) = list.get_mut(i)
            {
                q.offset = p.offset;
                q.file = p.file;
                q.line = p.line;
                return;
            }
        }
        list.push(p);
        self.entries += 1;
    }
}

fn number_of(p: &Path) -> Option<u64> {
    p.file_name().and_then(|n| n.to_str()).and_then(file_number)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seq: u64, offset: u64) -> Position {
        Position {
            seq,
            time: seq as i64 * 1_000,
            offset,
            file: 1,
            line: seq as u32,
        }
    }

    #[test]
    fn a_completion_moves_its_begun_access_to_its_line_and_adds_no_access() {
        let (a, b) = (
            NhsNumber::parse("9990000018").unwrap(),
            NhsNumber::parse("9990000026").unwrap(),
        );
        let mut state = State::default();
        state.add(a, at(1, 0), None);
        state.add(b, at(2, 100), None);
        state.add(a, at(3, 200), None);
        // 4 completes 1 (same person): access 1 now reads line 4.
        state.add(a, at(4, 300), Some(Sequence::new(1)));
        // 5 completes 2 but names another person: an access of its own.
        state.add(a, at(5, 400), Some(Sequence::new(2)));
        // 6 completes an entry not indexed (archived away): its own too.
        state.add(b, at(6, 500), Some(Sequence::new(0)));
        assert_eq!(state.entries, 5);
        assert_eq!(
            state.people[&a],
            [
                Position {
                    seq: 1,
                    time: 1_000,
                    offset: 300,
                    file: 1,
                    line: 4
                },
                at(3, 200),
                at(5, 400),
            ]
        );
        assert_eq!(state.people[&b], [at(2, 100), at(6, 500)]);
    }
}
