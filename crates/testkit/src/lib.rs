//! Test support, used only as a dev-dependency: where the outside test
//! corpora are and what a test does without them ([`mod@corpora`]), the official
//! FHIR R4 JSON schema as a validator, a throwaway PKI for TLS tests
//! ([`pki`]), a private PostgreSQL cluster ([`postgres`]), the real FHIR clients the gateway's output is read with
//! ([`fhir_clients`]), loopback HTTP and MLLP servers that answer what a
//! test scripts ([`serve`]), and the report of a table-driven test's wrong
//! rows ([`Mismatches`]).
//!
//! The corpora live outside the repository: `$ICR_CORPORA` when set, else
//! `../shared/corpora` beside the checkout, else `.corpora/` in the
//! workspace, where `bash tools/corpora/fetch.sh` puts them. A test that
//! reads them starts with [`require_corpora!`], which skips it loudly when
//! they are missing, and fails it under `CI=true`.

use std::sync::LazyLock;

pub mod corpora;
pub mod fhir_clients;
pub mod pki;
pub mod postgres;
pub mod serve;

pub use corpora::{
    Corpus, FETCH_HINT, corpora, corpora_present_or_skip, corpora_present_or_skip_part,
    corpus_path, find_corpora, find_corpus, in_ci, why_missing,
};

use serde_json::{Value, json};

/// Every file under `dir`, in every subdirectory, by its path relative to
/// `dir`, with its bytes: what a run wrote, to compare with another's.
pub fn files_under(dir: &std::path::Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

/// Every file in corpus folder `sub` whose name ends in `.{ext}`, as
/// (file name, bytes), sorted by name. Panics, saying how to fetch the
/// corpora, when they are missing: call it after [`require_corpora!`].
pub fn corpus_files(sub: &str, ext: &str) -> Vec<(String, Vec<u8>)> {
    let dir = corpora().join(sub);
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == ext))
        .map(|p| {
            let name = p
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("cannot read {name}: {e}"));
            (name, bytes)
        })
        .collect();
    files.sort();
    files
}

/// Like [`corpus_files`], but empty when the corpus is missing: for the
/// statics from which property tests draw inputs, built before a test body
/// can skip. Each such test still starts with [`require_corpora!`].
pub fn corpus_files_if_present(sub: &str, ext: &str) -> Vec<(String, Vec<u8>)> {
    match find_corpora() {
        Some(root) if root.join(sub).is_dir() => corpus_files(sub, ext),
        _ => Vec::new(),
    }
}

/// The official FHIR R4 JSON schema (draft-06), with one correction: it was
/// generated for FHIR 4.0.0, and R4 systems declare the 4.0.1 technical
/// correction (which changed no structure) as their `fhirVersion`.
pub fn fhir_r4_schema() -> &'static Value {
    static SCHEMA: LazyLock<Value> = LazyLock::new(|| {
        let path = corpus_path(Corpus::R4Schema);
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let mut schema: Value = serde_json::from_str(&text).expect("the R4 schema is JSON");
        if let Some(versions) = schema
            .pointer_mut("/definitions/CapabilityStatement/properties/fhirVersion/enum")
            .and_then(Value::as_array_mut)
        {
            versions.push("4.0.1".into());
        }
        schema
    });
    &SCHEMA
}

/// The schema as a validator. Needs the R4 schema: call it after
/// `require_corpora!(R4Schema)`.
pub fn fhir_r4() -> &'static jsonschema::Validator {
    static VALIDATOR: LazyLock<jsonschema::Validator> = LazyLock::new(|| {
        jsonschema::draft6::new(fhir_r4_schema()).expect("the R4 schema compiles")
    });
    &VALIDATOR
}

/// Why `resource` is not valid R4 (empty when it is). Needs the R4 schema:
/// call it after `require_corpora!(R4Schema)`. The schema's
/// top-level `oneOf` only says "no resource type matched", so each failing
/// resource (and each Bundle entry) is checked against its own definition
/// too, to name the offending element.
pub fn fhir_r4_errors(resource: &Value) -> Vec<String> {
    if fhir_r4().is_valid(resource) {
        return Vec::new();
    }
    let mut errors: Vec<String> = fhir_r4()
        .iter_errors(resource)
        .take(5)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    let entries = resource["entry"].as_array().cloned().unwrap_or_default();
    for r in entries.iter().map(|e| &e["resource"]).chain([resource]) {
        let ty = r["resourceType"].as_str().unwrap_or_default();
        let mut schema = fhir_r4_schema().clone();
        schema["oneOf"] = json!([{ "$ref": format!("#/definitions/{ty}") }]);
        if let Ok(v) = jsonschema::draft6::new(&schema) {
            errors.extend(
                v.iter_errors(r)
                    .take(10)
                    .map(|err| format!("{ty} {}: {err} at {}", r["id"], err.instance_path())),
            );
        }
    }
    errors
}

/// Panics, naming every problem, unless `resource` is valid R4. Without the
/// schema (see [`mod@corpora`]) the check is skipped, loudly, and the calling
/// test goes on; under `CI=true` it fails.
pub fn assert_fhir_r4(resource: &Value) {
    if !corpora_present_or_skip_part(&[Corpus::R4Schema], "the official-schema check") {
        return;
    }
    let errors = fhir_r4_errors(resource);
    assert!(
        errors.is_empty(),
        "not valid FHIR R4:\n{}\n{resource:#}",
        errors.join("\n")
    );
}

/// Every provenance entry behind a JSON record view: each item's in every
/// section, then the demographics'. Panics (a failed test) when the view
/// does not have the shape of `docs/record-view.schema.json`.
pub fn view_provenance(view: &Value) -> impl Iterator<Item = &Value> {
    view["sections"]
        .as_object()
        .expect("the view has sections")
        .values()
        .flat_map(|items| items.as_array().expect("a section is a list"))
        .flat_map(|i| i["provenance"].as_array().expect("an item has provenance"))
        .chain(
            view["patient"]["provenance"]
                .as_array()
                .into_iter()
                .flatten(),
        )
}

/// The rows of a table-driven test whose outcome was not the expected
/// one, collected so that one run reports every wrong row (the list of
/// defects), not only the first.
#[derive(Debug, Default)]
pub struct Mismatches(Vec<String>);

impl Mismatches {
    /// Records row `name` as wrong, with what it gave and what was
    /// expected, unless `right`.
    pub fn check(
        &mut self,
        name: &str,
        right: bool,
        got: impl std::fmt::Debug,
        expected: impl std::fmt::Debug,
    ) {
        if !right {
            self.0.push(format!(
                "{name}:\n    got      {got:?}\n    expected {expected:?}"
            ));
        }
    }

    /// Panics listing every wrong row, if any.
    #[track_caller]
    pub fn assert_none(self) {
        assert!(
            self.0.is_empty(),
            "{} row(s) wrong:\n{}",
            self.0.len(),
            self.0.join("\n")
        );
    }
}
