//! Which searches one request runs: the record types of each wanted
//! section, as the registration's options and the server's
//! CapabilityStatement allow, each asked most recent first where the server
//! can sort; and how they reach the server ([`round_trip`]): in one batch,
//! one wave of chained searches, one Patient search with `_revinclude`, or
//! the Patient search first. Pure: no I/O.

use icr_adapter_sdk::Mismatch;
use icr_model::{IssueKind, Section, SectionSet, SourceIssue};

use crate::capability::Capability;
use crate::map::RecordType;
use crate::options::{FhirR4Options, SearchPlan, Searches};

/// One search to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Planned {
    /// The type searched.
    pub ty: RecordType,
    /// The date parameter the search is sorted by, most recent first
    /// (`_sort=-{param}`), when it is.
    pub sort: Option<&'static str>,
    /// How the type's current items (active medications, allergies,
    /// problems, alerts) are found when a search is cut short, so that
    /// they are never the ones left out; `None` for types without them.
    pub current: Option<CurrentItems>,
    /// The `_include` of the Medications the type's resources refer to
    /// (`MedicationStatement:medication`), when the options ask for them
    /// and the statement does not list the type's includes without it.
    pub include: Option<&'static str>,
}

/// The search for a type's current items.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CurrentItems {
    /// Search with this parameter and value (`status=active`, …).
    Ask(&'static str, &'static str),
    /// The server's statement names the type's parameters without this
    /// one: it cannot be asked.
    Undeclared(&'static str),
}

/// The searches for one request, and notes on what is not asked.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// The searches, in section order.
    pub searches: Vec<Planned>,
    /// What is not asked because the server does not offer it (notes: no
    /// data the server holds is lost by not asking).
    pub notes: Vec<SourceIssue>,
}

/// The types searched for `section`, as the options choose, before `skip`
/// and the server's statement are applied. Demographics come from the
/// Patient search itself.
pub fn types_for(section: Section, options: &FhirR4Options) -> Vec<RecordType> {
    use RecordType as T;
    match section {
        Section::Demographics => Vec::new(),
        Section::Contacts => vec![T::RelatedPerson],
        Section::CareTeam => vec![T::CareTeam],
        Section::Medications => {
            let mut v = Vec::new();
            if options.use_medication_statement {
                v.push(T::MedicationStatement);
            }
            if options.use_medication_request {
                v.push(T::MedicationRequest);
            }
            v
        }
        Section::Allergies => vec![T::AllergyIntolerance],
        Section::Conditions => vec![T::Condition],
        Section::Results => vec![T::Observation, T::DiagnosticReport],
        Section::Documents => vec![T::DocumentReference, T::CarePlan],
        Section::Procedures => vec![T::Procedure, T::Immunization],
        Section::Referrals => vec![T::ServiceRequest],
        Section::Appointments => vec![T::Appointment, T::Encounter],
        Section::Alerts => vec![T::Flag],
    }
}

/// Whether the server is taken to search `ty`: always when the options
/// say `searches = "all"` or no statement has been read.
fn offered(ty: RecordType, options: &FhirR4Options, capability: Option<&Capability>) -> bool {
    match (options.searches, capability) {
        (Searches::Capability, Some(c)) => c.searches(ty),
        _ => true,
    }
}

/// The statement to plan by: none with `searches = "all"`.
fn statement<'a>(
    options: &FhirR4Options,
    capability: Option<&'a Capability>,
) -> Option<&'a Capability> {
    match options.searches {
        Searches::Capability => capability,
        Searches::All => None,
    }
}

/// The searches for `wanted`. A type in `skip` is never searched; a type
/// the server's statement leaves out is not searched, and the section says
/// so in a note.
pub fn plan(wanted: SectionSet, options: &FhirR4Options, capability: Option<&Capability>) -> Plan {
    let capability = statement(options, capability);
    let mut out = Plan::default();
    for section in wanted.iter() {
        let types: Vec<RecordType> = types_for(section, options)
            .into_iter()
            .filter(|t| !options.skips(*t))
            .collect();
        let (asked, not_offered): (Vec<RecordType>, Vec<RecordType>) = types
            .into_iter()
            .partition(|t| offered(*t, options, capability));
        if !not_offered.is_empty() {
            let names: Vec<&str> = not_offered.iter().map(|t| t.name()).collect();
            let message = if asked.is_empty() {
                format!(
                    "this source does not offer {} searches, so {section} is not asked of it",
                    names.join(" or ")
                )
            } else {
                format!("this source does not offer {} searches", names.join(" or "))
            };
            out.notes.push(SourceIssue {
                kind: IssueKind::Note,
                section: Some(section),
                message,
            });
        }
        out.searches.extend(asked.into_iter().map(|ty| {
            Planned {
                ty,
                sort: sort_for(ty, options, capability),
                current: ty.current_items().map(|(param, value)| {
                    if capability.is_some_and(|c| c.takes(ty, param) == Some(false)) {
                        CurrentItems::Undeclared(param)
                    } else {
                        CurrentItems::Ask(param, value)
                    }
                }),
                include: medication_include(ty)
                    .filter(|_| options.include_medications)
                    .filter(|i| capability.is_none_or(|c| c.includes(ty, i) != Some(false))),
            }
        }));
    }
    out
}

/// The `_include` of the Medications that `ty`'s resources refer to.
fn medication_include(ty: RecordType) -> Option<&'static str> {
    match ty {
        RecordType::MedicationStatement => Some("MedicationStatement:medication"),
        RecordType::MedicationRequest => Some("MedicationRequest:medication"),
        _ => None,
    }
}

/// The date parameter to sort `ty` by: as the options say, else when the
/// statement declares `_sort` and does not leave out the type's date
/// parameter.
fn sort_for(
    ty: RecordType,
    options: &FhirR4Options,
    capability: Option<&Capability>,
) -> Option<&'static str> {
    let param = ty.date_param()?;
    let sorts = match options.sort {
        Some(sort) => sort,
        None => capability.is_some_and(|c| c.sorts() && c.takes(ty, param) != Some(false)),
    };
    sorts.then_some(param)
}

/// How one request's searches reach the server, as chosen for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RoundTrip {
    /// One `POST [base]` of a `batch` Bundle.
    Batch,
    /// One wave of GETs chained on `patient.identifier`.
    Chained,
    /// One Patient search with `_revinclude`.
    RevInclude,
    /// The Patient search, then the searches with its id.
    PatientFirst,
}

impl RoundTrip {
    /// How a record is read, for the operator: `records are read in one
    /// batch of every search (search_plan "batch")`.
    pub fn describe(self) -> &'static str {
        match self {
            RoundTrip::Batch => {
                "records are read in one batch of every search (search_plan \"batch\")"
            }
            RoundTrip::Chained => {
                "records are read in one wave of searches chained on the NHS number (search_plan \"chained\")"
            }
            RoundTrip::RevInclude => {
                "records are read in one Patient search with _revinclude (search_plan \"revinclude\")"
            }
            RoundTrip::PatientFirst => {
                "records are read Patient search first, then the searches by its id (search_plan \"patient-first\")"
            }
        }
    }
}

/// The round trip for `searches`: the registration's `search_plan` when it
/// names one, else the cheapest the statement allows (see
/// [`SearchPlan::Auto`]). A request with no search beside the Patient's is
/// always one Patient search.
pub fn round_trip(
    searches: &[Planned],
    options: &FhirR4Options,
    capability: Option<&Capability>,
) -> RoundTrip {
    if searches.is_empty() {
        return RoundTrip::PatientFirst;
    }
    let capability = statement(options, capability);
    match options.search_plan {
        SearchPlan::Batch => RoundTrip::Batch,
        SearchPlan::Chained => RoundTrip::Chained,
        SearchPlan::RevInclude => RoundTrip::RevInclude,
        SearchPlan::PatientFirst => RoundTrip::PatientFirst,
        SearchPlan::Auto => {
            let chains = options.chains
                && capability.is_none_or(|c| {
                    c.takes(RecordType::Patient, "identifier") != Some(false)
                        && searches.iter().all(|p| c.may_chain(p.ty))
                });
            match capability {
                Some(c) if c.batches() => RoundTrip::Batch,
                _ if chains => RoundTrip::Chained,
                Some(c) if searches.iter().all(|p| c.rev_includes(p.ty)) => RoundTrip::RevInclude,
                _ => RoundTrip::PatientFirst,
            }
        }
    }
}

/// What the registration offers that the server's statement does not
/// declare, per section: the types it would search, and the Patient search
/// for demographics (which every section needs).
pub fn mismatches(
    offered: SectionSet,
    options: &FhirR4Options,
    capability: &Capability,
) -> Vec<Mismatch> {
    let mut out = Vec::new();
    for section in offered.iter() {
        let types: Vec<RecordType> = match section {
            Section::Demographics => vec![RecordType::Patient],
            s => types_for(s, options)
                .into_iter()
                .filter(|t| !options.skips(*t))
                .collect(),
        };
        let undeclared: Vec<String> = types
            .iter()
            .filter(|t| !capability.searches(**t))
            .map(|t| t.name().to_string())
            .collect();
        if !undeclared.is_empty() {
            out.push(Mismatch {
                section,
                whole_section: undeclared.len() == types.len(),
                undeclared,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn capability(json: serde_json::Value) -> Capability {
        Capability::read(json.to_string().as_bytes()).unwrap()
    }

    fn without_appointment() -> Capability {
        capability(
            serde_json::json!({"resourceType": "CapabilityStatement", "rest": [{"mode": "server",
            "searchParam": [{"name": "_sort"}],
            "resource": [
                {"type": "Patient", "interaction": [{"code": "search-type"}]},
                {"type": "Encounter", "interaction": [{"code": "search-type"}], "searchParam": [{"name": "patient"}, {"name": "date"}]},
                {"type": "Condition", "interaction": [{"code": "search-type"}], "searchParam": [{"name": "patient"}, {"name": "recorded-date"}]},
                {"type": "MedicationStatement", "interaction": [{"code": "search-type"}], "searchParam": [{"name": "patient"}]}
            ]}]}),
        )
    }

    fn sections(s: &str) -> SectionSet {
        SectionSet::parse_list(s).unwrap()
    }

    #[test]
    fn before_any_statement_every_type_is_searched_unsorted() {
        let o = FhirR4Options::default();
        let p = plan(sections("appointments,conditions"), &o, None);
        let types: Vec<&str> = p.searches.iter().map(|s| s.ty.name()).collect();
        assert_eq!(types, ["Condition", "Appointment", "Encounter"]);
        assert!(p.searches.iter().all(|s| s.sort.is_none()));
        assert_eq!(
            p.searches[0].current,
            Some(CurrentItems::Ask("clinical-status", "active"))
        );
        assert!(p.notes.is_empty());
    }

    #[test]
    fn the_statement_drops_what_the_server_does_not_offer_with_a_note() {
        let o = FhirR4Options::default();
        let c = without_appointment();
        let p = plan(
            sections("appointments,conditions,alerts,medications"),
            &o,
            Some(&c),
        );
        let searches: Vec<(&str, Option<&str>)> =
            p.searches.iter().map(|s| (s.ty.name(), s.sort)).collect();
        assert_eq!(
            searches,
            [
                ("MedicationStatement", None),
                ("Condition", Some("recorded-date")),
                ("Encounter", Some("date")),
            ]
        );
        // The statement names MedicationStatement's parameters without `status`.
        assert_eq!(
            p.searches[0].current,
            Some(CurrentItems::Undeclared("status"))
        );
        let notes: Vec<(Option<Section>, &str)> = p
            .notes
            .iter()
            .map(|n| (n.section, n.message.as_str()))
            .collect();
        assert_eq!(
            notes,
            [
                (
                    Some(Section::Medications),
                    "this source does not offer MedicationRequest searches"
                ),
                (
                    Some(Section::Appointments),
                    "this source does not offer Appointment searches"
                ),
                (
                    Some(Section::Alerts),
                    "this source does not offer Flag searches, so alerts is not asked of it"
                ),
            ]
        );
        assert!(p.notes.iter().all(|n| !n.loses_data()));
    }

    #[test]
    fn options_override_the_statement() {
        let c = without_appointment();
        let all = FhirR4Options {
            searches: Searches::All,
            skip: vec!["Encounter".into()],
            sort: Some(false),
            ..FhirR4Options::default()
        };
        let p = plan(sections("appointments"), &all, Some(&c));
        let types: Vec<(&str, Option<&str>)> =
            p.searches.iter().map(|s| (s.ty.name(), s.sort)).collect();
        assert_eq!(types, [("Appointment", None)]);
        assert!(p.notes.is_empty());
        let sorted = FhirR4Options {
            sort: Some(true),
            ..FhirR4Options::default()
        };
        let p = plan(sections("medications,referrals"), &sorted, None);
        let sorts: Vec<Option<&str>> = p.searches.iter().map(|s| s.sort).collect();
        assert_eq!(
            sorts,
            [Some("effective"), Some("authoredon"), Some("authored")]
        );
    }

    #[test]
    fn mismatches_name_every_undeclared_type_per_section() {
        let o = FhirR4Options::default();
        let c = without_appointment();
        let m = mismatches(
            sections("demographics,appointments,alerts,conditions"),
            &o,
            &c,
        );
        assert_eq!(
            m,
            [
                Mismatch {
                    section: Section::Appointments,
                    undeclared: vec!["Appointment".into()],
                    whole_section: false
                },
                Mismatch {
                    section: Section::Alerts,
                    undeclared: vec!["Flag".into()],
                    whole_section: true
                },
            ]
        );
    }

    #[test]
    fn the_round_trip_is_the_registrations_or_the_cheapest_declared() {
        let full = capability(
            serde_json::json!({"resourceType": "CapabilityStatement", "rest": [{
            "interaction": [{"code": "batch"}],
            "resource": [
                {"type": "Patient", "searchRevInclude": ["Condition:patient", "Flag:patient"]},
                {"type": "Condition", "searchParam": [{"name": "patient", "type": "reference"}]},
                {"type": "Flag"}
            ]}]}),
        );
        let no_batch = capability(
            serde_json::json!({"resourceType": "CapabilityStatement", "rest": [{
            "resource": [
                {"type": "Patient", "searchRevInclude": ["Condition:patient"]},
                {"type": "Condition", "searchParam": [{"name": "patient", "type": "reference"}]},
                {"type": "Flag", "searchParam": [{"name": "patient", "type": "token"}]}
            ]}]}),
        );
        let with = |search_plan, chains| FhirR4Options {
            search_plan,
            chains,
            ..FhirR4Options::default()
        };
        let how = |o: &FhirR4Options, c: Option<&Capability>, s: &str| {
            let p = plan(sections(s), o, c);
            round_trip(&p.searches, o, c)
        };
        let auto = with(SearchPlan::Auto, false);
        let chains = with(SearchPlan::Auto, true);
        assert_eq!(
            how(&auto, Some(&full), "conditions,alerts"),
            RoundTrip::Batch
        );
        assert_eq!(
            how(&chains, Some(&full), "conditions,alerts"),
            RoundTrip::Batch
        );
        assert_eq!(
            how(&auto, Some(&no_batch), "conditions"),
            RoundTrip::RevInclude
        );
        assert_eq!(
            how(&chains, Some(&no_batch), "conditions"),
            RoundTrip::Chained
        );
        // Flag's patient parameter is not a reference, and it is not
        // revincluded: neither one chain nor one Patient search covers it.
        assert_eq!(
            how(&chains, Some(&no_batch), "conditions,alerts"),
            RoundTrip::PatientFirst
        );
        assert_eq!(how(&auto, None, "conditions"), RoundTrip::PatientFirst);
        assert_eq!(how(&chains, None, "conditions"), RoundTrip::Chained);
        let all = FhirR4Options {
            searches: Searches::All,
            ..auto.clone()
        };
        assert_eq!(
            how(&all, Some(&full), "conditions"),
            RoundTrip::PatientFirst
        );
        assert_eq!(
            RoundTrip::Batch.describe(),
            "records are read in one batch of every search (search_plan \"batch\")"
        );
        // Named plans are taken as they are, whatever the statement says.
        for (named, expected) in [
            (SearchPlan::Batch, RoundTrip::Batch),
            (SearchPlan::Chained, RoundTrip::Chained),
            (SearchPlan::RevInclude, RoundTrip::RevInclude),
            (SearchPlan::PatientFirst, RoundTrip::PatientFirst),
        ] {
            assert_eq!(how(&with(named, false), None, "conditions"), expected);
            assert_eq!(
                how(&with(named, false), Some(&full), "demographics"),
                RoundTrip::PatientFirst
            );
        }
    }

    #[test]
    fn medications_are_included_unless_the_statement_or_the_options_say_otherwise() {
        let listed = capability(
            serde_json::json!({"resourceType": "CapabilityStatement", "rest": [{
            "resource": [
                {"type": "MedicationStatement", "searchInclude": ["MedicationStatement:source"]},
                {"type": "MedicationRequest"}
            ]}]}),
        );
        let includes = |o: &FhirR4Options, c: Option<&Capability>| -> Vec<Option<&str>> {
            plan(sections("medications,alerts"), o, c)
                .searches
                .iter()
                .map(|p| p.include)
                .collect()
        };
        let o = FhirR4Options::default();
        assert_eq!(
            includes(&o, None),
            [
                Some("MedicationStatement:medication"),
                Some("MedicationRequest:medication"),
                None
            ]
        );
        assert_eq!(
            includes(&o, Some(&listed)),
            [None, Some("MedicationRequest:medication")]
        );
        let off = FhirR4Options {
            include_medications: false,
            ..o
        };
        assert_eq!(includes(&off, None), [None, None, None]);
    }
}
