//! Synthetic items for tests and benchmarks (not part of the merge logic).

use std::sync::Arc;

use icr_model::{
    CodeSystem, Coding, Concept, Condition, Entry, Item, Medication, MedicationKind,
    MedicationStatus, OdsCode, PartialDateTime, SourceId, SourceMeta, SourceRecord, TestResult,
};

/// A source's identity for synthetic data.
pub fn meta(id: &str) -> Arc<SourceMeta> {
    Arc::new(SourceMeta {
        id: SourceId::parse(id).expect("test source id"),
        organisation: format!("Organisation {id}"),
        ods_code: OdsCode::parse("RN3").expect("test ODS code"),
        system: "test".into(),
    })
}

/// `n` items spread over `sources` sources, where about a third of the
/// facts are held by two sources (so merging has work to do).
pub fn records(n: usize, sources: usize) -> Vec<SourceRecord> {
    let metas: Vec<_> = (0..sources).map(|i| meta(&format!("s{i}"))).collect();
    let mut out: Vec<SourceRecord> = (0..sources).map(|_| SourceRecord::default()).collect();
    let mut made = 0usize;
    let mut fact = 0usize;
    while made < n {
        let holders = if fact.is_multiple_of(3) { 2 } else { 1 };
        for h in 0..holders.min(sources) {
            if made == n {
                break;
            }
            let s = (fact + h) % sources;
            let entry = entry_for(fact);
            let provenance = metas[s]
                .provenance(&format!("Item/{fact}-{h}"), None)
                .expect("test record id");
            out[s].items.push(Item { entry, provenance });
            made += 1;
        }
        fact += 1;
    }
    out
}

fn entry_for(fact: usize) -> Entry {
    let day = (fact % 28) as u8 + 1;
    let month = icr_model::time::Month::try_from((fact / 28 % 12) as u8 + 1)
        .unwrap_or(icr_model::time::Month::May);
    let year = 2000 + (fact / 336 % 25) as i32;
    let date = icr_model::time::Date::from_calendar_date(year, month, day)
        .ok()
        .map(PartialDateTime::Date);
    let code = Concept::coded(Coding::new(
        CodeSystem::Snomed,
        format!("{}", 100_000 + fact),
        format!("Concept {fact}"),
    ));
    match fact % 3 {
        0 => Entry::Condition(Condition {
            code,
            onset: date,
            ..Default::default()
        }),
        1 => Entry::Medication(Medication {
            medication: code,
            kind: Some(MedicationKind::Statement),
            status: Some(MedicationStatus::Active),
            start: date,
            dosage: Some("One tablet daily".into()),
            ..Default::default()
        }),
        _ => Entry::Result(TestResult {
            code,
            effective: date,
            ..Default::default()
        }),
    }
}
