//! Bundles: read lazily (each entry's resource kept as raw JSON until it
//! is dispatched on its `resourceType`), written from typed resources. A
//! Bundle read is scanned once ([`BundleIn::scan`]); while that scan is
//! entered, its entries and resources are read from it, not scanned again.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::lenient::{self, RawJson, ReadError, ReadErrorKind, Scan, Tolerated};
use crate::resources::*;

/// A Bundle as read from a source.
#[derive(Debug)]
pub struct BundleIn<'a> {
    /// `Bundle.resourceType` (or the `resourceType` of whatever was sent).
    pub resource_type: Option<String>,
    /// `Bundle.type`.
    pub type_: Option<String>,
    /// The entries that hold a resource, in order.
    pub entries: Vec<EntryIn<'a>>,
    /// Entries that held no resource, and entries in shapes other than
    /// STU3's (an entry that is itself the resource, a single object where
    /// the array belongs).
    pub tolerated: Tolerated,
    /// The Bundle's text scanned once: [entered](Scan::enter) while the
    /// resources are read, they are read from it instead of being scanned
    /// again. `None` for a text the scan does not take (read as before).
    pub scan: Option<Scan<'a>>,
}

/// One entry of a Bundle being read.
#[derive(Debug, Clone, Copy)]
pub struct EntryIn<'a> {
    /// `Bundle.entry.fullUrl`.
    pub full_url: Option<&'a str>,
    /// The resource, unparsed.
    pub resource: &'a RawValue,
}

impl<'a> EntryIn<'a> {
    /// The resource's `resourceType`, if it has a readable one.
    pub fn resource_type(&self) -> Option<String> {
        peek_resource_type(self.resource)
    }
}

#[derive(Deserialize)]
struct Top<'a> {
    #[serde(rename = "resourceType", default, borrow)]
    resource_type: Option<&'a RawValue>,
    #[serde(rename = "type", default, borrow)]
    type_: Option<&'a RawValue>,
    #[serde(default, borrow)]
    entry: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct EntryTop<'a> {
    #[serde(rename = "fullUrl", default, borrow)]
    full_url: Option<&'a RawValue>,
    #[serde(default, borrow)]
    resource: Option<&'a RawValue>,
    #[serde(rename = "resourceType", default, borrow)]
    resource_type: Option<&'a RawValue>,
}

fn as_str(raw: Option<&RawValue>) -> Option<&str> {
    let text = raw?.get();
    // Only a plain JSON string with no escapes can be borrowed as is.
    let inner = text.strip_prefix('"')?.strip_suffix('"')?;
    (!inner.contains('\\')).then_some(inner)
}

fn as_string(raw: Option<&RawValue>) -> Option<String> {
    lenient::parse::<String>(raw?.get()).ok()
}

fn is_object(raw: &RawValue) -> bool {
    is_object_text(raw.get())
}

fn is_object_text(json: &str) -> bool {
    json.trim_start().starts_with('{')
}

/// Reads a Bundle, tolerantly: an `entry` that is one object rather than
/// an array is read as an array of one, and an entry that is itself a
/// resource (no `resource` element, a `resourceType` of its own) is read as
/// that resource. Fails only when the text is not a JSON object.
pub fn read_bundle(json: &str) -> Result<BundleIn<'_>, ReadError> {
    if !is_object_text(json) {
        return Err(ReadError {
            what: "Bundle".into(),
            kind: ReadErrorKind::Structure,
            line: 0,
            column: 0,
        });
    }
    let scan = Scan::of(json);
    let _current = scan.as_ref().map(Scan::enter);
    let top: Top<'_> = lenient::parse(json).map_err(|e| ReadError::from_json("Bundle", &e))?;
    let mut tolerated = Tolerated::default();
    let raw_entries: Vec<&RawValue> = match top.entry {
        None => Vec::new(),
        Some(raw) if raw.get().trim_start().starts_with('[') => {
            lenient::parse(raw.get()).map_err(|e| ReadError::from_json("Bundle", &e))?
        }
        Some(raw) if is_object(raw) => {
            tolerated.coerced += 1;
            vec![raw]
        }
        Some(_) => {
            tolerated.dropped += 1;
            Vec::new()
        }
    };
    let mut entries = Vec::with_capacity(raw_entries.len());
    for raw in raw_entries {
        if !is_object(raw) {
            tolerated.dropped += 1;
            continue;
        }
        let Ok(e) = lenient::parse::<EntryTop<'_>>(raw.get()) else {
            tolerated.dropped += 1;
            continue;
        };
        let resource = match (e.resource, e.resource_type) {
            (Some(r), _) if is_object(r) => r,
            (None, Some(_)) => {
                tolerated.coerced += 1;
                raw
            }
            _ => {
                tolerated.dropped += 1;
                continue;
            }
        };
        entries.push(EntryIn {
            full_url: as_str(e.full_url).map(str::trim).filter(|s| !s.is_empty()),
            resource,
        });
    }
    Ok(BundleIn {
        resource_type: as_string(top.resource_type),
        type_: as_string(top.type_),
        entries,
        tolerated,
        scan,
    })
}

/// The `resourceType` of a raw resource, or `None` if it has no readable one.
pub fn peek_resource_type(raw: &RawValue) -> Option<String> {
    #[derive(Deserialize)]
    struct Peek<'a> {
        #[serde(rename = "resourceType", default, borrow)]
        resource_type: Option<&'a RawValue>,
    }
    let peek: Peek<'_> = lenient::parse(raw.get()).ok()?;
    let t = as_string(peek.resource_type)?;
    let t = t.trim();
    (!t.is_empty() && t.len() <= 64 && t.bytes().all(|b| b.is_ascii_alphanumeric()))
        .then(|| t.to_string())
}

/// Reads a resource of type `T` from a raw resource (see
/// [`read`](crate::lenient::read)).
pub fn read_resource<T: crate::lenient::Element>(
    what: &str,
    raw: &RawValue,
) -> Result<(T, Tolerated), ReadError> {
    if !is_object(raw) {
        return Err(ReadError {
            what: what.to_string(),
            kind: ReadErrorKind::Structure,
            line: 0,
            column: 0,
        });
    }
    crate::lenient::read(what, raw.get())
}

/// Any resource the simulator and the tests write.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "resourceType")]
#[allow(clippy::large_enum_variant)]
pub enum Resource {
    /// A Patient.
    Patient(Patient),
    /// An Organization.
    Organization(Organization),
    /// A Practitioner.
    Practitioner(Practitioner),
    /// A PractitionerRole.
    PractitionerRole(PractitionerRole),
    /// A Location.
    Location(Location),
    /// A List.
    List(List),
    /// An AllergyIntolerance.
    AllergyIntolerance(AllergyIntolerance),
    /// A Condition.
    Condition(Condition),
    /// A Medication.
    Medication(Medication),
    /// A MedicationStatement.
    MedicationStatement(MedicationStatement),
    /// A MedicationRequest.
    MedicationRequest(MedicationRequest),
    /// An Encounter.
    Encounter(Encounter),
    /// An Observation.
    Observation(Observation),
    /// A DiagnosticReport.
    DiagnosticReport(DiagnosticReport),
    /// A ProcedureRequest.
    ProcedureRequest(ProcedureRequest),
    /// A Specimen.
    Specimen(Specimen),
    /// An Immunization.
    Immunization(Immunization),
    /// A ReferralRequest.
    ReferralRequest(ReferralRequest),
    /// An OperationOutcome.
    OperationOutcome(OperationOutcome),
    /// A Parameters.
    Parameters(Parameters),
}

impl Resource {
    /// The resource as raw JSON (to put in `List.contained`).
    pub fn to_raw(&self) -> Option<RawJson> {
        RawJson::of(self)
    }
}

/// A Bundle as written.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Bundle {
    /// Always `Bundle`.
    #[serde(rename = "resourceType")]
    pub resource_type: &'static str,
    /// `Bundle.id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `Bundle.meta`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meta: Option<crate::types::Meta>,
    /// `Bundle.type`.
    #[serde(rename = "type")]
    pub type_: &'static str,
    /// `Bundle.entry`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub entry: Vec<BundleEntry>,
}

/// One entry of a Bundle as written.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BundleEntry {
    /// `Bundle.entry.fullUrl`.
    #[serde(rename = "fullUrl", skip_serializing_if = "Option::is_none")]
    pub full_url: Option<String>,
    /// `Bundle.entry.resource`.
    pub resource: Resource,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_entries_in_every_shape_the_examples_use() {
        let json = r#"{"resourceType":"Bundle","type":"collection","entry":[
            {"fullUrl":"urn:uuid:1","resource":{"resourceType":"Patient","id":"p"}},
            {"resourceType":"ProcedureRequest","id":"inline"},
            {"search":{}},
            7
        ]}"#;
        let b = read_bundle(json).unwrap();
        assert_eq!(b.resource_type.as_deref(), Some("Bundle"));
        assert_eq!(b.type_.as_deref(), Some("collection"));
        assert_eq!(b.entries.len(), 2);
        assert_eq!(b.entries[0].full_url, Some("urn:uuid:1"));
        assert_eq!(b.entries[0].resource_type().as_deref(), Some("Patient"));
        assert_eq!(
            b.entries[1].resource_type().as_deref(),
            Some("ProcedureRequest")
        );
        assert_eq!(
            b.tolerated,
            Tolerated {
                coerced: 1,
                dropped: 2
            }
        );

        let single = read_bundle(
            r#"{"resourceType":"Bundle","entry":{"resource":{"resourceType":"List"}}}"#,
        )
        .unwrap();
        assert_eq!(single.entries.len(), 1);
        assert_eq!(single.tolerated.coerced, 1);
    }

    #[test]
    fn refuses_what_is_not_an_object() {
        assert!(read_bundle("[]").is_err());
        assert!(read_bundle("not json").is_err());
        let e = read_bundle(r#"{"resourceType":"Bundle","entry":[{"resource":"#).unwrap_err();
        assert_eq!(e.kind, ReadErrorKind::Truncated);
    }

    #[test]
    fn peeks_only_plain_type_names() {
        let raw: Box<RawValue> = serde_json::from_str(r#"{"resourceType":"List"}"#).unwrap();
        assert_eq!(peek_resource_type(&raw).as_deref(), Some("List"));
        let raw: Box<RawValue> = serde_json::from_str(r#"{"resourceType":"<script>"}"#).unwrap();
        assert_eq!(peek_resource_type(&raw), None);
        let raw: Box<RawValue> = serde_json::from_str(r#"{"resourceType":3}"#).unwrap();
        assert_eq!(peek_resource_type(&raw), None);
    }
}
