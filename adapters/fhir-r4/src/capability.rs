//! What a FHIR R4 server says it supports (`GET [base]/metadata`, its
//! CapabilityStatement), read without I/O and kept to what the adapter's
//! plan needs: which resource types it can search, by which parameters, and
//! whether it sorts; and what lets one request's searches go in one round
//! trip: the `batch` interaction, the Patient's `searchRevInclude`s, each
//! type's `searchInclude`s and the type of its `patient` parameter.

use std::collections::BTreeMap;

use icr_adapter_sdk::json_error;
use serde::Deserialize;

use crate::map::RecordType;

/// The searches a server declares.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Capability {
    /// Each record type the server lists, with the search parameters it
    /// names for it (`None` when it names none, which says nothing about
    /// which it takes). A type listed with interactions of which none is
    /// `search-type` is not here.
    searchable: BTreeMap<RecordType, Option<Vec<String>>>,
    /// `_sort` is declared, for all types or any one.
    sorts: bool,
    /// `rest.interaction` lists `batch`.
    batch: bool,
    /// The Patient's `searchRevInclude`s (`Condition:patient`, `*`).
    rev_includes: Vec<String>,
    /// Each type's `searchInclude`s (`MedicationStatement:medication`).
    includes: BTreeMap<RecordType, Vec<String>>,
    /// The types whose `patient` parameter is declared with a type other
    /// than `reference`: it cannot carry a chain.
    patient_not_reference: Vec<RecordType>,
}

/// Most resource entries read from one statement; a statement with more is
/// read that far.
const MAX_RESOURCES: usize = 512;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StatementIn {
    #[serde(default)]
    resource_type: Option<String>,
    #[serde(default)]
    rest: Vec<RestIn>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RestIn {
    #[serde(default)]
    mode: Option<String>,
    #[serde(default)]
    resource: Vec<ResourceIn>,
    #[serde(default)]
    search_param: Vec<ParamIn>,
    #[serde(default)]
    interaction: Vec<InteractionIn>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ResourceIn {
    #[serde(rename = "type", default)]
    type_: Option<String>,
    #[serde(default)]
    interaction: Option<Vec<InteractionIn>>,
    #[serde(default)]
    search_param: Vec<ParamIn>,
    #[serde(default)]
    search_include: Vec<String>,
    #[serde(default)]
    search_rev_include: Vec<String>,
}

#[derive(Deserialize)]
struct InteractionIn {
    #[serde(default)]
    code: Option<String>,
}

#[derive(Deserialize)]
struct ParamIn {
    #[serde(default)]
    name: Option<String>,
    #[serde(rename = "type", default)]
    type_: Option<String>,
}

/// Most `searchInclude`s or `searchRevInclude`s read per resource.
const MAX_INCLUDES: usize = 64;

/// The trimmed include names of `list`, bounded in number and length.
fn include_names(list: &[String]) -> impl Iterator<Item = String> + '_ {
    list.iter()
        .take(MAX_INCLUDES)
        .map(|s| s.trim())
        .filter(|s| !s.is_empty() && s.len() <= 128)
        .map(str::to_string)
}

fn names(params: &[ParamIn]) -> Vec<String> {
    params
        .iter()
        .filter_map(|p| p.name.as_deref().map(str::trim))
        .filter(|n| !n.is_empty() && n.len() <= 64)
        .map(str::to_string)
        .collect()
}

impl Capability {
    /// Reads a CapabilityStatement. Only `rest` entries of mode `server`
    /// (or of no mode) count. A type listed without any `interaction` is
    /// taken to be searchable (the statement does not say otherwise); one
    /// whose interactions leave out `search-type` is not. The error says
    /// why the body is not a statement, without quoting it.
    pub fn read(body: &[u8]) -> Result<Self, String> {
        let statement: StatementIn =
            serde_json::from_slice(body).map_err(|e| json_error("CapabilityStatement", &e))?;
        match statement.resource_type.as_deref() {
            Some("CapabilityStatement") => {}
            Some("Conformance") => {
                return Err("the server answers with a DSTU2/STU3 Conformance, not an R4 CapabilityStatement".into());
            }
            _ => return Err("the answer is not a CapabilityStatement".into()),
        }
        let mut out = Capability::default();
        let servers = statement
            .rest
            .iter()
            .filter(|r| r.mode.as_deref().is_none_or(|m| m.trim() == "server"));
        for rest in servers {
            out.sorts |= names(&rest.search_param).iter().any(|n| n == "_sort");
            out.batch |= rest
                .interaction
                .iter()
                .any(|i| i.code.as_deref().map(str::trim) == Some("batch"));
            for resource in rest.resource.iter().take(MAX_RESOURCES) {
                let Some(ty) = resource
                    .type_
                    .as_deref()
                    .and_then(|t| RecordType::from_name(t.trim()))
                else {
                    continue;
                };
                let searches = resource.interaction.as_ref().is_none_or(|i| {
                    i.iter()
                        .any(|x| x.code.as_deref().map(str::trim) == Some("search-type"))
                });
                if !searches {
                    continue;
                }
                if ty == RecordType::Patient {
                    out.rev_includes
                        .extend(include_names(&resource.search_rev_include));
                }
                let includes: Vec<String> = include_names(&resource.search_include).collect();
                if !includes.is_empty() {
                    out.includes.entry(ty).or_default().extend(includes);
                }
                let patient_typed = resource.search_param.iter().any(|p| {
                    p.name.as_deref().map(str::trim) == Some("patient")
                        && p.type_.as_deref().is_some_and(|t| t.trim() != "reference")
                });
                if patient_typed && !out.patient_not_reference.contains(&ty) {
                    out.patient_not_reference.push(ty);
                }
                let params = names(&resource.search_param);
                out.sorts |= params.iter().any(|n| n == "_sort");
                let entry = out.searchable.entry(ty).or_insert(None);
                if !params.is_empty() {
                    entry.get_or_insert_with(Vec::new).extend(params);
                }
            }
        }
        Ok(out)
    }

    /// Whether the server declares searching `ty`.
    pub fn searches(&self, ty: RecordType) -> bool {
        self.searchable.contains_key(&ty)
    }

    /// Whether the server takes search parameter `name` on `ty`: `None`
    /// when it names no parameter for the type (it may take any).
    pub fn takes(&self, ty: RecordType, name: &str) -> Option<bool> {
        self.searchable
            .get(&ty)?
            .as_ref()
            .map(|params| params.iter().any(|p| p == name))
    }

    /// Whether the server declares `_sort`.
    pub fn sorts(&self) -> bool {
        self.sorts
    }

    /// Whether the server declares the `batch` interaction: a Bundle of
    /// searches in one `POST [base]`.
    pub fn batches(&self) -> bool {
        self.batch
    }

    /// Whether a Patient search can bring `ty`'s resources along
    /// (`_revinclude={ty}:patient`, or `*`).
    pub fn rev_includes(&self, ty: RecordType) -> bool {
        let wanted = format!("{}:patient", ty.name());
        self.rev_includes.iter().any(|r| *r == wanted || r == "*")
    }

    /// Whether a search of `ty` takes `_include={include}` (or `*`):
    /// `None` when the statement lists no include for the type, which says
    /// nothing about which it takes.
    pub fn includes(&self, ty: RecordType, include: &str) -> Option<bool> {
        self.includes
            .get(&ty)
            .map(|i| i.iter().any(|r| r == include || r == "*"))
    }

    /// Whether `ty` can be searched by a chain on its `patient` parameter
    /// as far as the statement can say (R4 statements do not declare
    /// chains): the type is searchable, names `patient` (or no parameter
    /// at all) and does not declare it as anything but a reference.
    pub fn may_chain(&self, ty: RecordType) -> bool {
        self.searches(ty)
            && self.takes(ty, "patient") != Some(false)
            && !self.patient_not_reference.contains(&ty)
    }

    /// How many of `types` the server declares searching.
    pub fn count_searchable(&self, types: &[RecordType]) -> usize {
        types.iter().filter(|t| self.searches(**t)).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(v: serde_json::Value) -> Result<Capability, String> {
        Capability::read(v.to_string().as_bytes())
    }

    #[test]
    fn reads_searchable_types_their_parameters_and_sort() {
        let c = read(json!({
            "resourceType": "CapabilityStatement",
            "rest": [
                {"mode": "client", "resource": [{"type": "Flag"}]},
                {"mode": "server",
                 "searchParam": [{"name": "_sort"}, {"name": "_count"}],
                 "resource": [
                    {"type": "Patient", "interaction": [{"code": "read"}, {"code": "search-type"}],
                     "searchParam": [{"name": "identifier"}]},
                    {"type": "Condition", "interaction": [{"code": "search-type"}],
                     "searchParam": [{"name": "patient"}, {"name": "clinical-status"}, {"name": "recorded-date"}]},
                    {"type": "Appointment", "interaction": [{"code": "read"}]},
                    {"type": "Encounter"},
                    {"type": "Binary", "interaction": [{"code": "search-type"}]},
                    {"interaction": [{"code": "search-type"}]}
                 ]}
            ]
        }))
        .unwrap();
        assert!(c.searches(RecordType::Patient));
        assert!(c.searches(RecordType::Condition));
        assert!(!c.searches(RecordType::Appointment), "read only");
        assert!(c.searches(RecordType::Encounter), "no interactions listed");
        assert!(!c.searches(RecordType::Flag), "client mode does not count");
        assert_eq!(
            c.takes(RecordType::Condition, "clinical-status"),
            Some(true)
        );
        assert_eq!(c.takes(RecordType::Condition, "onset-date"), Some(false));
        assert_eq!(c.takes(RecordType::Encounter, "date"), None);
        assert_eq!(c.takes(RecordType::Appointment, "date"), None);
        assert!(c.sorts());
        assert_eq!(
            c.count_searchable(&[RecordType::Appointment, RecordType::Encounter]),
            1
        );
    }

    #[test]
    fn sort_is_declared_per_type_or_not_at_all() {
        let c = read(
            json!({"resourceType": "CapabilityStatement", "rest": [{"resource": [
                {"type": "Observation", "searchParam": [{"name": "_sort"}]}
            ]}]}),
        )
        .unwrap();
        assert!(c.sorts());
        let c = read(
            json!({"resourceType": "CapabilityStatement", "rest": [{"resource": [
                {"type": "Observation", "searchParam": [{"name": "date"}]}
            ]}]}),
        )
        .unwrap();
        assert!(!c.sorts());
    }

    #[test]
    fn reads_what_lets_searches_go_in_one_round_trip() {
        let c = read(json!({
            "resourceType": "CapabilityStatement",
            "rest": [
                {"mode": "client", "interaction": [{"code": "batch"}]},
                {"mode": "server",
                 "interaction": [{"code": "transaction"}, {"code": " batch "}],
                 "resource": [
                    {"type": "Patient", "searchParam": [{"name": "identifier", "type": "token"}],
                     "searchRevInclude": ["Condition:patient", " Flag:patient ", ""]},
                    {"type": "Condition", "searchParam": [{"name": "patient", "type": "reference"}]},
                    {"type": "Flag", "searchParam": [{"name": "patient", "type": "token"}]},
                    {"type": "MedicationStatement", "searchInclude": ["MedicationStatement:medication"]},
                    {"type": "Encounter", "searchParam": [{"name": "subject"}]}
                 ]}
            ]
        }))
        .unwrap();
        assert!(c.batches());
        assert!(c.rev_includes(RecordType::Condition));
        assert!(c.rev_includes(RecordType::Flag));
        assert!(!c.rev_includes(RecordType::Encounter));
        assert_eq!(
            c.includes(
                RecordType::MedicationStatement,
                "MedicationStatement:medication"
            ),
            Some(true)
        );
        assert_eq!(
            c.includes(
                RecordType::MedicationStatement,
                "MedicationStatement:source"
            ),
            Some(false)
        );
        assert_eq!(c.includes(RecordType::Condition, "Condition:subject"), None);
        assert!(c.may_chain(RecordType::Condition));
        assert!(!c.may_chain(RecordType::Flag), "patient is not a reference");
        assert!(
            c.may_chain(RecordType::MedicationStatement),
            "no parameters named"
        );
        assert!(!c.may_chain(RecordType::Encounter), "no patient parameter");
        assert!(!c.may_chain(RecordType::Observation), "not searchable");
        let plain = read(json!({"resourceType": "CapabilityStatement", "rest": [
            {"resource": [{"type": "Patient", "searchRevInclude": ["*"]}]}
        ]}))
        .unwrap();
        assert!(!plain.batches());
        assert!(plain.rev_includes(RecordType::Appointment));
    }

    #[test]
    fn anything_else_is_refused_without_quoting_it() {
        assert_eq!(
            read(json!({"resourceType": "Conformance"})).unwrap_err(),
            "the server answers with a DSTU2/STU3 Conformance, not an R4 CapabilityStatement"
        );
        assert_eq!(
            read(json!({"resourceType": "OperationOutcome"})).unwrap_err(),
            "the answer is not a CapabilityStatement"
        );
        assert_eq!(
            Capability::read(b"<html>Jane Smith</html>").unwrap_err(),
            "CapabilityStatement: invalid JSON at line 1 column 1"
        );
        assert_eq!(
            read(json!({"resourceType": "CapabilityStatement", "rest": "x"})).unwrap_err(),
            "CapabilityStatement: unexpected JSON structure at line 1 column 48"
        );
    }
}
