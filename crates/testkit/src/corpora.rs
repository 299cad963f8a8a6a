//! Where the outside test corpora are, and what a test does when they are
//! not there.
//!
//! The corpora are data written by others (see `tools/corpora/README.md`)
//! and live outside the repository. They are looked for in this order:
//!
//! 1. `$ICR_CORPORA`: when set (and not empty), the only place looked;
//! 2. `../shared/corpora` beside the workspace (this project's machines, CI);
//! 3. `.corpora/` in the workspace, where `bash tools/corpora/fetch.sh`
//!    writes them (ignored by git).
//!
//! The first of these folders that exists is the corpora folder; each corpus
//! is then a folder or file in it ([`Corpus`]). A test that reads a corpus
//! begins with [`require_corpora!`](crate::require_corpora): when a corpus it
//! needs is missing, the test says so on the terminal, with where it looked
//! and how to fetch the corpora, and returns (a loud skip); under `CI=true`
//! it fails instead, since CI must never pass by reading nothing.

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{LazyLock, Mutex};

/// How a reader fetches the corpora, said with every skip and failure.
pub const FETCH_HINT: &str = "fetch them with `bash tools/corpora/fetch.sh` \
     (into .corpora/ in the workspace), or set ICR_CORPORA to a folder holding them";

/// One corpus of the outside test material: a folder (or a file) in the
/// corpora folder.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Corpus {
    /// UK Core R4 example resources, JSON (`fhir-r4-ukcore/`).
    UkCore,
    /// GP Connect Access Record: Structured examples, STU3 JSON
    /// (`gpconnect-stu3/`).
    GpConnect,
    /// HL7 v2 messages (`hl7v2/`).
    Hl7v2,
    /// HL7 C-CDA examples (`cda/ccda-examples/`).
    CcdaExamples,
    /// CDA documents from the FHIR-Converter samples
    /// (`cda/converter-samples/`).
    CdaConverterSamples,
    /// The official FHIR R4 JSON schema (`schemas/fhir.r4.schema.json`).
    R4Schema,
    /// The official FHIR STU3 JSON schema (`schemas/fhir.stu3.schema.json`).
    Stu3Schema,
}

impl Corpus {
    /// Every corpus.
    pub const ALL: [Corpus; 7] = [
        Corpus::UkCore,
        Corpus::GpConnect,
        Corpus::Hl7v2,
        Corpus::CcdaExamples,
        Corpus::CdaConverterSamples,
        Corpus::R4Schema,
        Corpus::Stu3Schema,
    ];

    /// Where the corpus is, relative to the corpora folder.
    pub const fn relative_path(self) -> &'static str {
        match self {
            Corpus::UkCore => "fhir-r4-ukcore",
            Corpus::GpConnect => "gpconnect-stu3",
            Corpus::Hl7v2 => "hl7v2",
            Corpus::CcdaExamples => "cda/ccda-examples",
            Corpus::CdaConverterSamples => "cda/converter-samples",
            Corpus::R4Schema => "schemas/fhir.r4.schema.json",
            Corpus::Stu3Schema => "schemas/fhir.stu3.schema.json",
        }
    }

    fn is_file(self) -> bool {
        matches!(self, Corpus::R4Schema | Corpus::Stu3Schema)
    }
}

/// The result of looking for the corpora folder, once per test binary.
struct Lookup {
    /// The corpora folder, when one of the places looked exists.
    root: Option<PathBuf>,
    /// Every place looked, in order, for the messages.
    looked: Vec<String>,
}

/// The workspace root (two levels above this crate).
pub fn workspace() -> PathBuf {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    crate_dir
        .parent()
        .and_then(Path::parent)
        .map_or_else(|| crate_dir.join("../.."), Path::to_path_buf)
}

/// The places looked for the corpora folder, in order: `$ICR_CORPORA` alone
/// when it is set, else `../shared/corpora` beside the workspace and
/// `.corpora/` in it.
pub fn candidate_folders() -> Vec<PathBuf> {
    if let Some(dir) = std::env::var_os("ICR_CORPORA").filter(|d| !d.is_empty()) {
        return vec![PathBuf::from(dir)];
    }
    let workspace = workspace();
    let beside = workspace.parent().map_or_else(
        || workspace.join("../shared/corpora"),
        |p| p.join("shared/corpora"),
    );
    vec![beside, workspace.join(".corpora")]
}

impl Lookup {
    /// Looks in `candidates`, in order; `from_env` says they came from
    /// `ICR_CORPORA`.
    fn new(candidates: Vec<PathBuf>, from_env: bool) -> Lookup {
        let looked = candidates
            .iter()
            .map(|p| {
                if from_env {
                    format!("{} (ICR_CORPORA)", p.display())
                } else {
                    p.display().to_string()
                }
            })
            .collect();
        let root = candidates.into_iter().find(|p| p.is_dir());
        Lookup { root, looked }
    }

    fn find(&self, corpus: Corpus) -> Option<PathBuf> {
        let path = self.root.as_ref()?.join(corpus.relative_path());
        let present = if corpus.is_file() {
            path.is_file()
        } else {
            path.is_dir()
        };
        present.then_some(path)
    }

    fn why_missing(&self, needed: &[Corpus]) -> Option<String> {
        let Some(root) = &self.root else {
            return Some(format!(
                "the test corpora were not found (looked in {})",
                self.looked.join(", ")
            ));
        };
        let missing: Vec<&str> = needed
            .iter()
            .filter(|c| self.find(**c).is_none())
            .map(|c| c.relative_path())
            .collect();
        (!missing.is_empty()).then(|| {
            format!(
                "the test corpora folder {} lacks {}",
                root.display(),
                missing.join(", ")
            )
        })
    }
}

fn lookup() -> &'static Lookup {
    static LOOKUP: LazyLock<Lookup> = LazyLock::new(|| {
        let from_env = std::env::var_os("ICR_CORPORA").is_some_and(|d| !d.is_empty());
        Lookup::new(candidate_folders(), from_env)
    });
    &LOOKUP
}

/// The corpora folder, if one was found.
pub fn find_corpora() -> Option<&'static Path> {
    lookup().root.as_deref()
}

/// Where `corpus` is, if it is there.
pub fn find_corpus(corpus: Corpus) -> Option<PathBuf> {
    lookup().find(corpus)
}

/// Why the corpora `needed` cannot be read, or `None` when they all can.
pub fn why_missing(needed: &[Corpus]) -> Option<String> {
    lookup().why_missing(needed)
}

/// Whether this run must fail rather than skip: `CI` is `true` (or `1`).
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

/// True when every corpus in `needed` is there. Otherwise says loudly on the
/// terminal that the running test was skipped, why, and how to fetch the
/// corpora, and returns false; under `CI=true` it panics instead. What
/// [`require_corpora!`](crate::require_corpora) calls.
pub fn corpora_present_or_skip(needed: &[Corpus]) -> bool {
    present_or_say(needed, None)
}

/// Like [`corpora_present_or_skip`], for a check that is only part of a
/// test (`part` names it, e.g. "the official-schema check"): the rest of
/// the test goes on.
pub fn corpora_present_or_skip_part(needed: &[Corpus], part: &str) -> bool {
    present_or_say(needed, Some(part))
}

/// The message is written to the process's stderr directly, not through
/// the test harness's capture, so that a skip shows in a plain `cargo test`;
/// once per test and part.
fn present_or_say(needed: &[Corpus], part: Option<&str>) -> bool {
    let Some(reason) = why_missing(needed) else {
        return true;
    };
    let current = std::thread::current();
    let test = current.name().unwrap_or("a test");
    assert!(
        !in_ci(),
        "{test}: {reason}; {FETCH_HINT}. Under CI=true a missing corpus fails the run."
    );
    static SAID: LazyLock<Mutex<HashSet<String>>> = LazyLock::new(Default::default);
    let first_time = SAID
        .lock()
        .map(|mut said| said.insert(format!("{test}\u{0}{}", part.unwrap_or_default())))
        .unwrap_or(true);
    if first_time {
        let skipped = match part {
            Some(part) => format!("{part} in {test}"),
            None => test.to_owned(),
        };
        // one write, so that the line is not split by other threads' output
        let line = format!("SKIPPED {skipped}: {reason}; {FETCH_HINT}\n");
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }
    false
}

/// The corpora folder. Panics, saying where it looked and how to fetch
/// the corpora, when there is none: call it after
/// [`require_corpora!`](crate::require_corpora).
pub fn corpora() -> PathBuf {
    match find_corpora() {
        Some(root) => root.to_path_buf(),
        None => panic!("{}; {FETCH_HINT}", why_missing(&[]).unwrap_or_default()),
    }
}

/// Where `corpus` is. Panics, saying why and how to fetch it, when it is
/// not there: call it after [`require_corpora!`](crate::require_corpora).
pub fn corpus_path(corpus: Corpus) -> PathBuf {
    find_corpus(corpus).unwrap_or_else(|| {
        panic!(
            "{}; {FETCH_HINT}",
            why_missing(&[corpus]).unwrap_or_default()
        )
    })
}

/// Skips the rest of the running test, loudly, unless every corpus named
/// is there; under `CI=true` a missing corpus fails the test instead.
///
/// Put it first in every test that reads a corpus:
///
/// ```ignore
/// #[test]
/// fn every_message_tokenizes() {
///     icr_testkit::require_corpora!(Hl7v2);
///     // ...
/// }
/// ```
///
/// In a `proptest!` body, whose closure returns a `Result`, say what to
/// return: `icr_testkit::require_corpora!(Hl7v2; return Ok(()));`.
#[macro_export]
macro_rules! require_corpora {
    ($($corpus:ident),+ ; return $ret:expr) => {
        if !$crate::corpora_present_or_skip(&[$($crate::Corpus::$corpus),+]) {
            return $ret;
        }
    };
    ($($corpus:ident),+ $(,)?) => {
        if !$crate::corpora_present_or_skip(&[$($crate::Corpus::$corpus),+]) {
            return;
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh empty folder under the system's temp folder.
    fn temp_folder(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("icr-testkit-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn the_first_folder_that_exists_is_the_corpora_folder() {
        let second = temp_folder("second");
        let third = temp_folder("third");
        let lookup = Lookup::new(
            vec![second.join("absent"), second.clone(), third.clone()],
            false,
        );
        assert_eq!(lookup.root.as_deref(), Some(second.as_path()));
        let _ = std::fs::remove_dir_all(second);
        let _ = std::fs::remove_dir_all(third);
    }

    #[test]
    fn no_folder_found_names_every_place_looked() {
        let lookup = Lookup::new(
            vec![
                PathBuf::from("/nonexistent/a"),
                PathBuf::from("/nonexistent/b"),
            ],
            false,
        );
        assert_eq!(
            lookup.why_missing(&[Corpus::Hl7v2]).as_deref(),
            Some("the test corpora were not found (looked in /nonexistent/a, /nonexistent/b)")
        );
        let from_env = Lookup::new(vec![PathBuf::from("/nonexistent")], true);
        assert_eq!(
            from_env.why_missing(&[]).as_deref(),
            Some("the test corpora were not found (looked in /nonexistent (ICR_CORPORA))")
        );
    }

    #[test]
    fn a_partly_fetched_folder_names_the_corpora_it_lacks() {
        let root = temp_folder("partial");
        std::fs::create_dir_all(root.join("schemas")).unwrap();
        std::fs::write(root.join("schemas/fhir.r4.schema.json"), "{}").unwrap();
        std::fs::create_dir_all(root.join("hl7v2")).unwrap();
        let lookup = Lookup::new(vec![root.clone()], false);
        assert_eq!(lookup.why_missing(&[Corpus::R4Schema, Corpus::Hl7v2]), None);
        assert_eq!(
            lookup.why_missing(&[Corpus::Hl7v2, Corpus::Stu3Schema, Corpus::CcdaExamples]),
            Some(format!(
                "the test corpora folder {} lacks schemas/fhir.stu3.schema.json, cda/ccda-examples",
                root.display()
            ))
        );
        // a schema is a file: a folder of that name is not the schema
        std::fs::create_dir_all(root.join("schemas/fhir.stu3.schema.json")).unwrap();
        assert!(lookup.find(Corpus::Stu3Schema).is_none());
        let _ = std::fs::remove_dir_all(root);
    }
}
