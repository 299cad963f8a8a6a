//! Test support, used only as a dev-dependency: where the shared test
//! corpora are, the official FHIR R4 JSON schema as a validator, a
//! throwaway PKI for TLS tests ([`pki`]), and a scripted HTTP server on
//! loopback ([`http`]).
//!
//! The corpora live outside the repository (`../shared/corpora` beside the
//! checkout, read-only in CI). Set `ICR_CORPORA` to point elsewhere.
//! Everything here panics with a clear message when the corpora are
//! missing, since no test can mean anything without them.

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

pub mod http;
pub mod pki;

use serde_json::{Value, json};

/// The shared corpora directory: `$ICR_CORPORA`, else `../shared/corpora`
/// beside the workspace, else `/work/shared/corpora`.
pub fn corpora() -> PathBuf {
    static DIR: LazyLock<PathBuf> = LazyLock::new(|| {
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let candidates = [
            std::env::var_os("ICR_CORPORA").map(PathBuf::from),
            Some(workspace.join("../shared/corpora")),
            Some(PathBuf::from("/work/shared/corpora")),
        ];
        candidates
            .into_iter()
            .flatten()
            .find(|p| p.join("schemas/fhir.r4.schema.json").is_file())
            .unwrap_or_else(|| {
                panic!(
                    "the shared corpora are missing: expected ../shared/corpora beside the \
                     workspace, or set ICR_CORPORA"
                )
            })
    });
    DIR.clone()
}

/// Every file in corpus folder `sub` whose name ends in `.{ext}`, as
/// (file name, bytes), sorted by name.
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

/// The official FHIR R4 JSON schema (draft-06), with one correction: it was
/// generated for FHIR 4.0.0, and R4 systems declare the 4.0.1 technical
/// correction (which changed no structure) as their `fhirVersion`.
pub fn fhir_r4_schema() -> &'static Value {
    static SCHEMA: LazyLock<Value> = LazyLock::new(|| {
        let path = corpora().join("schemas/fhir.r4.schema.json");
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

/// The schema as a validator.
pub fn fhir_r4() -> &'static jsonschema::Validator {
    static VALIDATOR: LazyLock<jsonschema::Validator> = LazyLock::new(|| {
        jsonschema::draft6::new(fhir_r4_schema()).expect("the R4 schema compiles")
    });
    &VALIDATOR
}

/// Why `resource` is not valid R4 (empty when it is). The schema's
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

/// Panics, naming every problem, unless `resource` is valid R4.
pub fn assert_fhir_r4(resource: &Value) {
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
