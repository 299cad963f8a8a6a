//! The extract read back by an independent reader: DuckDB (its Python
//! package, pinned in `tools/extract-readers/`) reads every Parquet table
//! and every NDJSON file, and `read_extract.py` checks that the tables
//! match the NDJSON (ids, people, codes, dates, values).
//!
//! Without the reader installed (`bash tools/extract-readers/install.sh`)
//! the test says loudly that it was skipped; under `CI=true` it fails.

mod common;

use std::path::Path;

use icr_extract_output::KIND_OMOP;
use serde_json::Value;

#[test]
fn duckdb_reads_every_table_and_they_match_the_ndjson() {
    let Some(python) = common::duckdb() else {
        return;
    };
    let dir = common::temp_dir("duckdb");
    let entries = common::write_records(&dir, &common::population(25));

    let read = |dir: &Path| common::read_extract(&python, dir);
    let out = read(&dir);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "DuckDB's read-back found problems:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(summary["errors"], serde_json::json!([]));

    // Every table DuckDB read has the rows the writers counted, and (every
    // sample item being one a table takes) one row per resource it is made from.
    for e in entries.iter().filter(|e| e.kind == KIND_OMOP) {
        let name = e
            .path
            .trim_start_matches("omop/")
            .trim_end_matches(".parquet");
        let t = &summary["tables"][name];
        assert_eq!(t["rows"], e.rows, "{name}");
        let parts = t["parts"].as_u64().unwrap_or(0);
        assert_eq!(
            t["rows"].as_u64().unwrap(),
            t["resources"].as_u64().unwrap() + parts,
            "{name}"
        );
    }
    assert_eq!(summary["tables"]["person"]["rows"], 25);
    // each person's blood pressure: two parts
    assert_eq!(summary["tables"]["measurement"]["parts"], 50);
    assert_eq!(summary["ndjson"]["Patient"], 25);

    // OMOP's types as DuckDB reads them: DATE columns are dates.
    let types = &summary["tables"]["condition_occurrence"]["types"];
    assert_eq!(types["condition_occurrence_id"], "BIGINT");
    assert_eq!(types["person_id"], "BIGINT");
    assert_eq!(types["condition_concept_id"], "INTEGER");
    assert_eq!(types["condition_start_date"], "DATE");
    assert_eq!(
        types["condition_start_datetime"],
        "TIMESTAMP WITH TIME ZONE"
    );
    assert_eq!(types["condition_source_value"], "VARCHAR");
    assert_eq!(
        summary["tables"]["measurement"]["types"]["value_as_number"],
        "DOUBLE"
    );

    // The reader does catch a table that disagrees: one condition's NDJSON
    // onset moved a century.
    let conditions = dir.join("fhir/Condition.ndjson");
    let text = std::fs::read_to_string(&conditions).unwrap();
    let moved = text.replacen(r#""onsetDateTime":"20"#, r#""onsetDateTime":"19"#, 1);
    assert_ne!(moved, text);
    std::fs::write(&conditions, moved).unwrap();
    let out = read(&dir);
    assert!(!out.status.success());
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    let errors = summary["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0]
            .as_str()
            .unwrap()
            .starts_with("condition_occurrence "),
        "{errors:?}"
    );
}
