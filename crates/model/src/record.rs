//! What one source answered for one person, with the provenance of each item.

use std::sync::Arc;

use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};
use time::OffsetDateTime;

use crate::codes::code_enum;
use crate::heap::heap_bytes;
use crate::{Demographics, Entry, OdsCode, RecordId, Section, SourceId};

/// Who a source is: shared by every item from it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct SourceMeta {
    /// The registered source id.
    pub id: SourceId,
    /// The organisation's name, e.g. "Great Western Hospitals NHS Foundation Trust".
    pub organisation: String,
    /// The organisation's ODS code.
    pub ods_code: OdsCode,
    /// The system the record comes from, e.g. "Cerner Millennium (FHIR R4)".
    pub system: String,
}

impl SourceMeta {
    /// The provenance of one record of this source, from the id the source
    /// uses for it.
    pub fn provenance(
        self: &Arc<Self>,
        local_id: &str,
        last_updated: Option<OffsetDateTime>,
    ) -> Result<Provenance, crate::IdError> {
        Ok(Provenance {
            origin: Arc::clone(self),
            record: RecordId::new(self.id.clone(), local_id)?,
            last_updated,
            restricted: false,
        })
    }
}

/// Where one item came from: enough for a reader to know whom to ask to
/// correct it.
#[derive(Clone, PartialEq, Debug)]
pub struct Provenance {
    /// The source and its organisation.
    pub origin: Arc<SourceMeta>,
    /// The source's own id for the record, namespaced by the source.
    pub record: RecordId,
    /// When the source last changed the record, if it says.
    pub last_updated: Option<OffsetDateTime>,
    /// The source labels this record restricted (e.g. FHIR `meta.security`
    /// `R`/`V`): it is shown only to roles cleared for sensitive items.
    pub restricted: bool,
}

impl Serialize for Provenance {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Provenance", 7)?;
        st.serialize_field("source", &self.origin.id)?;
        st.serialize_field("organisation", &self.origin.organisation)?;
        st.serialize_field("ods_code", &self.origin.ods_code)?;
        st.serialize_field("system", &self.origin.system)?;
        st.serialize_field("source_id", &self.record)?;
        st.serialize_field("last_updated", &LastUpdated(self.last_updated))?;
        if self.restricted {
            st.serialize_field("restricted", &true)?;
        } else {
            st.skip_field("restricted")?;
        }
        st.end()
    }
}

struct LastUpdated(Option<OffsetDateTime>);

impl Serialize for LastUpdated {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        crate::date::rfc3339_opt::serialize(&self.0, s)
    }
}

/// One item as one source holds it.
#[derive(Clone, PartialEq, Debug)]
pub struct Item {
    /// The item.
    pub entry: Entry,
    /// Where it came from.
    pub provenance: Provenance,
}

/// The person's demographics as one source holds them.
#[derive(Clone, PartialEq, Debug)]
pub struct PatientRecord {
    /// The demographics.
    pub demographics: Demographics,
    /// Where they came from.
    pub provenance: Provenance,
}

code_enum! {
    /// What kind of problem a source had with part of its answer.
    pub enum IssueKind {
        /// A whole section could not be fetched; its items are missing.
        SectionFailed = "section-failed",
        /// Some records could not be read and are missing.
        Unreadable = "unreadable",
        /// The source had more than the gateway reads; the rest is missing.
        Truncated = "truncated",
        /// The source says it withheld items (e.g. marked confidential).
        Withheld = "withheld",
        /// Something worth telling the reader that loses nothing.
        Note = "note",
    }
}

/// A problem with part of a source's answer. The message names resource
/// types, counts and protocol errors; it may end with the source's own
/// words about a failure, quoted through the adapter SDK's
/// `quoting_source` (bounded, one line), which may carry patient data, and
/// so it goes only to the caller who asked about that person — never to
/// logs, metrics, traces or the audit.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct SourceIssue {
    /// What kind of problem.
    pub kind: IssueKind,
    /// The section affected, if one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub section: Option<Section>,
    /// What went wrong.
    pub message: String,
}

impl SourceIssue {
    /// True when the issue means something the source holds is missing.
    pub fn loses_data(&self) -> bool {
        !matches!(self.kind, IssueKind::Note)
    }
}

/// Everything one source answered for one person.
#[derive(Clone, PartialEq, Debug, Default)]
pub struct SourceRecord {
    /// The source's demographics for the person.
    pub patient: Option<PatientRecord>,
    /// The items, in the order the source gave them.
    pub items: Vec<Item>,
    /// Problems with parts of the answer.
    pub issues: Vec<SourceIssue>,
    /// Bytes the source sent for this answer (reported; the cache weighs
    /// the record by [`SourceRecord::approx_size`]).
    pub wire_bytes: usize,
}

impl SourceRecord {
    /// An estimate of the memory this record holds, for cache weighing: its
    /// items and issues inline, and every string and list they own on the
    /// heap ([`crate::heap`]). The source's identity, shared by every
    /// record from it, is not counted. Measured against the process's
    /// resident memory over the demo population, it errs slightly high; the
    /// bytes received undercounted by about three times.
    pub fn approx_size(&self) -> usize {
        use std::mem::size_of;
        let items: usize = self
            .items
            .iter()
            .map(|i| heap_bytes(&i.entry) + record_id_bytes(&i.provenance))
            .sum();
        let patient = self.patient.as_ref().map_or(0, |p| {
            size_of::<PatientRecord>()
                + heap_bytes(&p.demographics)
                + record_id_bytes(&p.provenance)
        });
        let issues: usize = self.issues.iter().map(heap_bytes).sum();
        size_of::<Self>()
            + self.items.capacity() * size_of::<Item>()
            + items
            + patient
            + self.issues.capacity() * size_of::<SourceIssue>()
            + issues
    }
}

/// The heap block of a record id's local part (an `Arc<str>`: two counts
/// and the text, plus allocator bookkeeping).
fn record_id_bytes(p: &Provenance) -> usize {
    (16 + p.record.local().len()).div_ceil(16) * 16 + 16
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CodeSystem, Coding, Concept, Condition};

    fn item(meta: &Arc<SourceMeta>, n: usize, display: &str) -> Item {
        Item {
            entry: Entry::Condition(Condition {
                code: Concept::coded(Coding::new(CodeSystem::Snomed, "44054006", display)),
                ..Default::default()
            }),
            provenance: meta.provenance(&format!("Condition/{n}"), None).unwrap(),
        }
    }

    #[test]
    fn approx_size_counts_what_each_item_holds() {
        let meta = Arc::new(SourceMeta {
            id: SourceId::parse("gwh").unwrap(),
            organisation: "Great Western Hospitals NHS Foundation Trust".into(),
            ods_code: OdsCode::parse("RN3").unwrap(),
            system: "EPR".into(),
        });
        let empty = SourceRecord::default().approx_size();
        let mut one = SourceRecord::default();
        one.items.push(item(&meta, 1, "Diabetes mellitus type 2"));
        let one_size = one.approx_size();
        assert!(
            one_size >= empty + std::mem::size_of::<Item>() + 3 * 32,
            "{one_size}"
        );
        // A longer display costs more; the shared source identity does not.
        let mut long = SourceRecord::default();
        long.items
            .push(item(&meta, 1, &"Diabetes mellitus type 2 ".repeat(20)));
        assert!(long.approx_size() >= one_size + 480 - 32);
        // Wire bytes no longer weigh the record (a clone's list holds only
        // its items, so compare clones).
        let mut wire = one.clone();
        wire.wire_bytes = 1 << 20;
        assert_eq!(wire.approx_size(), one.clone().approx_size());
    }
}
