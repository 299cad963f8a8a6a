//! What a FHIR R4 server says it supports (`GET [base]/metadata`, its
//! CapabilityStatement), read without I/O and kept to what the adapter's
//! plan needs: which resource types it can search, by which parameters, and
//! whether it sorts.

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
