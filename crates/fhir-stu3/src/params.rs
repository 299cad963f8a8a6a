//! The `$gpc.getstructuredrecord` request: which clinical areas to return,
//! as a typed value, written as and read from its `Parameters` body. The
//! adapter writes it; the simulator reads and checks it as a provider
//! would, with the Spine error code a provider answers each problem with.

use icr_model::time::Date;
use icr_model::{NhsNumber, PartialDateTime};

use crate::gpc::{NHS_NUMBER_SYSTEM, OPERATION_PROFILE, SpineCode};
use crate::resources::{Parameter, Parameters};
use crate::types::{Identifier, Meta, Period};

/// `includeAllergies` and its part.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AllergiesQuery {
    /// `includeResolvedAllergies` (mandatory): also return ended allergies.
    pub include_resolved: bool,
}

/// `includeMedication` and its parts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MedicationQuery {
    /// `includePrescriptionIssues`: return each prescription issue
    /// (the provider's default, when absent, is `true`).
    pub include_prescription_issues: Option<bool>,
    /// `medicationSearchFromDate`: only medications active on or after.
    pub search_from: Option<Date>,
}

impl MedicationQuery {
    /// Whether issues are to be returned, applying the default.
    pub fn issues_wanted(&self) -> bool {
        self.include_prescription_issues.unwrap_or(true)
    }
}

/// A whole-date period of a search parameter.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DatePeriod {
    /// On or after.
    pub start: Option<Date>,
    /// On or before.
    pub end: Option<Date>,
}

impl DatePeriod {
    /// True when `date` falls in the period (a missing date is in it).
    pub fn contains(&self, date: Option<Date>) -> bool {
        let Some(d) = date else { return true };
        self.start.is_none_or(|s| d >= s) && self.end.is_none_or(|e| d <= e)
    }
}

/// `includeConsultations` and its parts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ConsultationsQuery {
    /// `consultationSearchPeriod`.
    pub period: Option<DatePeriod>,
    /// `includeNumberOfMostRecent`.
    pub most_recent: Option<u32>,
}

/// `includeProblems` and its parts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProblemsQuery {
    /// `filterStatus`: `active` or `inactive`.
    pub status: Option<String>,
    /// `filterSignificance`: `major` or `minor`.
    pub significance: Option<String>,
}

/// `includeImmunisations` and its parts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ImmunisationsQuery {
    /// `includeNotGiven`.
    pub include_not_given: Option<bool>,
    /// `includeStatus`.
    pub include_status: Option<bool>,
}

/// A `$gpc.getstructuredrecord` request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StructuredRequest {
    /// `patientNHSNumber`.
    pub nhs_number: NhsNumber,
    /// `includeAllergies`.
    pub allergies: Option<AllergiesQuery>,
    /// `includeMedication`.
    pub medication: Option<MedicationQuery>,
    /// `includeProblems`.
    pub problems: Option<ProblemsQuery>,
    /// `includeConsultations`.
    pub consultations: Option<ConsultationsQuery>,
    /// `includeImmunisations`.
    pub immunisations: Option<ImmunisationsQuery>,
    /// `includeInvestigations` (with `investigationSearchPeriod`).
    pub investigations: Option<Option<DatePeriod>>,
    /// `includeReferrals` (with `referralSearchPeriod`).
    pub referrals: Option<Option<DatePeriod>>,
    /// `includeUncategorisedData` (with `uncategorisedDataSearchPeriod`).
    pub uncategorised: Option<Option<DatePeriod>>,
    /// `includeDiaryEntries` (with `diaryEntriesSearchDate`).
    pub diary_entries: Option<Option<Date>>,
    /// Top-level parameters this release does not define, by name (only
    /// names of letters and digits are kept). A provider answers them with
    /// a `NOT_IMPLEMENTED` warning, not an error.
    pub unrecognised: Vec<String>,
}

/// Why a request's Parameters were refused, with the Spine code a
/// provider answers with. The message names parameters, never values.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ParamError {
    /// The Spine error code.
    pub code: SpineCode,
    /// What is wrong.
    pub message: String,
}

fn invalid(code: SpineCode, message: impl Into<String>) -> ParamError {
    ParamError {
        code,
        message: message.into(),
    }
}

fn whole_date(s: &str) -> Option<Date> {
    match PartialDateTime::parse(s).ok()? {
        PartialDateTime::Date(d) if s.trim().len() == 10 => Some(d),
        _ => None,
    }
}

fn date_string(d: Date) -> String {
    PartialDateTime::Date(d).to_string()
}

fn part(name: &str) -> Parameter {
    Parameter {
        name: Some(name.to_string()),
        ..Default::default()
    }
}

fn period_part(name: &str, p: &DatePeriod) -> Parameter {
    Parameter {
        value_period: Some(Period {
            start: p.start.map(date_string),
            end: p.end.map(date_string),
        }),
        ..part(name)
    }
}

impl StructuredRequest {
    /// A request for the patient alone (add the areas wanted).
    pub fn new(nhs_number: NhsNumber) -> Self {
        StructuredRequest {
            nhs_number,
            allergies: None,
            medication: None,
            problems: None,
            consultations: None,
            immunisations: None,
            investigations: None,
            referrals: None,
            uncategorised: None,
            diary_entries: None,
            unrecognised: Vec::new(),
        }
    }

    /// The request body.
    pub fn to_parameters(&self) -> Parameters {
        let mut ps = vec![Parameter {
            value_identifier: Some(Identifier::new(NHS_NUMBER_SYSTEM, self.nhs_number.as_str())),
            ..part("patientNHSNumber")
        }];
        if let Some(a) = &self.allergies {
            ps.push(Parameter {
                part: vec![Parameter {
                    value_boolean: Some(a.include_resolved),
                    ..part("includeResolvedAllergies")
                }],
                ..part("includeAllergies")
            });
        }
        if let Some(m) = &self.medication {
            let mut parts = Vec::new();
            if let Some(i) = m.include_prescription_issues {
                parts.push(Parameter {
                    value_boolean: Some(i),
                    ..part("includePrescriptionIssues")
                });
            }
            if let Some(d) = m.search_from {
                parts.push(Parameter {
                    value_date: Some(date_string(d)),
                    ..part("medicationSearchFromDate")
                });
            }
            ps.push(Parameter {
                part: parts,
                ..part("includeMedication")
            });
        }
        if let Some(p) = &self.problems {
            let mut parts = Vec::new();
            if let Some(s) = &p.status {
                parts.push(Parameter {
                    value_code: Some(s.clone()),
                    ..part("filterStatus")
                });
            }
            if let Some(s) = &p.significance {
                parts.push(Parameter {
                    value_code: Some(s.clone()),
                    ..part("filterSignificance")
                });
            }
            ps.push(Parameter {
                part: parts,
                ..part("includeProblems")
            });
        }
        if let Some(c) = &self.consultations {
            let mut parts = Vec::new();
            if let Some(p) = &c.period {
                parts.push(period_part("consultationSearchPeriod", p));
            }
            if let Some(n) = c.most_recent {
                parts.push(Parameter {
                    value_positive_int: Some(n),
                    ..part("includeNumberOfMostRecent")
                });
            }
            ps.push(Parameter {
                part: parts,
                ..part("includeConsultations")
            });
        }
        if let Some(i) = &self.immunisations {
            let mut parts = Vec::new();
            if let Some(b) = i.include_not_given {
                parts.push(Parameter {
                    value_boolean: Some(b),
                    ..part("includeNotGiven")
                });
            }
            if let Some(b) = i.include_status {
                parts.push(Parameter {
                    value_boolean: Some(b),
                    ..part("includeStatus")
                });
            }
            ps.push(Parameter {
                part: parts,
                ..part("includeImmunisations")
            });
        }
        for (name, period_name, value) in [
            (
                "includeUncategorisedData",
                "uncategorisedDataSearchPeriod",
                &self.uncategorised,
            ),
            (
                "includeInvestigations",
                "investigationSearchPeriod",
                &self.investigations,
            ),
            ("includeReferrals", "referralSearchPeriod", &self.referrals),
        ] {
            if let Some(period) = value {
                ps.push(Parameter {
                    part: period.iter().map(|p| period_part(period_name, p)).collect(),
                    ..part(name)
                });
            }
        }
        if let Some(d) = &self.diary_entries {
            ps.push(Parameter {
                part: d
                    .iter()
                    .map(|d| Parameter {
                        value_date: Some(date_string(*d)),
                        ..part("diaryEntriesSearchDate")
                    })
                    .collect(),
                ..part("includeDiaryEntries")
            });
        }
        Parameters {
            meta: Some(Meta {
                profile: vec![OPERATION_PROFILE.to_string()],
                ..Default::default()
            }),
            parameter: ps,
        }
    }

    /// Reads and checks a request body as a GP Connect 1.6 provider does:
    /// the NHS number present and valid, each part parameter known to its
    /// parameter and carrying a value of its type, dates whole, and the
    /// combinations the specification forbids refused.
    pub fn from_parameters(p: &Parameters) -> Result<Self, ParamError> {
        use SpineCode::{InvalidNhsNumber, InvalidParameter, InvalidResource};
        let mut nhs: Option<NhsNumber> = None;
        let mut req = Draft::default();
        let mut seen = std::collections::HashSet::new();
        for param in &p.parameter {
            let Some(name) = param.name.as_deref().map(str::trim) else {
                return Err(invalid(InvalidResource, "a parameter has no name"));
            };
            let known = matches!(
                name,
                "patientNHSNumber"
                    | "includeAllergies"
                    | "includeMedication"
                    | "includeConsultations"
                    | "includeImmunisations"
                    | "includeUncategorisedData"
                    | "includeInvestigations"
                    | "includeReferrals"
                    | "includeDiaryEntries"
            );
            // includeProblems repeats (one per status/significance pair).
            if known && !seen.insert(name.to_string()) {
                return Err(invalid(
                    InvalidParameter,
                    format!("{name} is given more than once"),
                ));
            }
            let parts = Parts::new(name, &param.part)?;
            match name {
                "patientNHSNumber" => {
                    let id = param.value_identifier.as_ref().ok_or_else(|| {
                        invalid(InvalidParameter, "patientNHSNumber has no valueIdentifier")
                    })?;
                    if id.system.as_deref().map(str::trim) != Some(NHS_NUMBER_SYSTEM) {
                        return Err(invalid(
                            SpineCode::InvalidIdentifierSystem,
                            "patientNHSNumber has an identifier system other than the NHS number's",
                        ));
                    }
                    let value = id.value.as_deref().unwrap_or_default();
                    nhs = Some(NhsNumber::parse(value.trim()).map_err(|_| {
                        invalid(
                            InvalidNhsNumber,
                            "patientNHSNumber is not a valid NHS number",
                        )
                    })?);
                }
                "includeAllergies" => {
                    parts.only(&["includeResolvedAllergies"])?;
                    let include_resolved =
                        parts.boolean("includeResolvedAllergies")?.ok_or_else(|| {
                            invalid(
                                InvalidParameter,
                                "includeAllergies is given without includeResolvedAllergies",
                            )
                        })?;
                    req.allergies = Some(AllergiesQuery { include_resolved });
                }
                "includeMedication" => {
                    parts.only(&["includePrescriptionIssues", "medicationSearchFromDate"])?;
                    req.medication = Some(MedicationQuery {
                        include_prescription_issues: parts.boolean("includePrescriptionIssues")?,
                        search_from: parts.date("medicationSearchFromDate")?,
                    });
                }
                "includeProblems" => {
                    parts.only(&["filterStatus", "filterSignificance"])?;
                    let status = parts.code("filterStatus")?;
                    if status
                        .as_deref()
                        .is_some_and(|s| !matches!(s, "active" | "inactive"))
                    {
                        return Err(invalid(
                            InvalidParameter,
                            "filterStatus must be active or inactive",
                        ));
                    }
                    let significance = parts.code("filterSignificance")?;
                    if significance
                        .as_deref()
                        .is_some_and(|s| !matches!(s, "major" | "minor"))
                    {
                        return Err(invalid(
                            InvalidParameter,
                            "filterSignificance must be major or minor",
                        ));
                    }
                    req.problems = Some(ProblemsQuery {
                        status,
                        significance,
                    });
                }
                "includeConsultations" => {
                    parts.only(&["consultationSearchPeriod", "includeNumberOfMostRecent"])?;
                    let period = parts.period("consultationSearchPeriod")?;
                    let most_recent = parts.positive_int("includeNumberOfMostRecent")?;
                    if period.is_some() && most_recent.is_some() {
                        return Err(invalid(
                            InvalidResource,
                            "consultationSearchPeriod and includeNumberOfMostRecent are both given",
                        ));
                    }
                    req.consultations = Some(ConsultationsQuery {
                        period,
                        most_recent,
                    });
                }
                "includeImmunisations" => {
                    parts.only(&["includeNotGiven", "includeStatus"])?;
                    req.immunisations = Some(ImmunisationsQuery {
                        include_not_given: parts.boolean("includeNotGiven")?,
                        include_status: parts.boolean("includeStatus")?,
                    });
                }
                "includeUncategorisedData" => {
                    parts.only(&["uncategorisedDataSearchPeriod"])?;
                    req.uncategorised = Some(parts.period("uncategorisedDataSearchPeriod")?);
                }
                "includeInvestigations" => {
                    parts.only(&["investigationSearchPeriod"])?;
                    req.investigations = Some(parts.period("investigationSearchPeriod")?);
                }
                "includeReferrals" => {
                    parts.only(&["referralSearchPeriod"])?;
                    req.referrals = Some(parts.period("referralSearchPeriod")?);
                }
                "includeDiaryEntries" => {
                    parts.only(&["diaryEntriesSearchDate"])?;
                    req.diary_entries = Some(parts.date("diaryEntriesSearchDate")?);
                }
                other => {
                    if (1..=64).contains(&other.len())
                        && other.bytes().all(|b| b.is_ascii_alphanumeric())
                    {
                        req.unrecognised.push(other.to_string());
                    } else {
                        return Err(invalid(InvalidResource, "a parameter name is not a name"));
                    }
                }
            }
        }
        let nhs_number =
            nhs.ok_or_else(|| invalid(InvalidParameter, "patientNHSNumber is not given"))?;
        let req = StructuredRequest {
            nhs_number,
            allergies: req.allergies,
            medication: req.medication,
            problems: req.problems,
            consultations: req.consultations,
            immunisations: req.immunisations,
            investigations: req.investigations,
            referrals: req.referrals,
            uncategorised: req.uncategorised,
            diary_entries: req.diary_entries,
            unrecognised: req.unrecognised,
        };
        let forbidden_with_consultations = req.consultations.is_some()
            && (req.medication.is_some_and(|m| m.search_from.is_some())
                || req.uncategorised.is_some_and(|p| p.is_some())
                || req
                    .problems
                    .as_ref()
                    .is_some_and(|p| p.status.is_some() || p.significance.is_some())
                || req.referrals.is_some_and(|p| p.is_some())
                || req.diary_entries.is_some_and(|d| d.is_some())
                || req
                    .immunisations
                    .is_some_and(|i| i.include_not_given.is_some() || i.include_status.is_some()));
        let forbidden_with_problems = req.problems.is_some()
            && (req.medication.is_some_and(|m| m.search_from.is_some())
                || req.uncategorised.is_some_and(|p| p.is_some())
                || req.referrals.is_some_and(|p| p.is_some())
                || req.diary_entries.is_some_and(|d| d.is_some())
                || req
                    .immunisations
                    .is_some_and(|i| i.include_not_given.is_some() || i.include_status.is_some()));
        if forbidden_with_consultations || forbidden_with_problems {
            return Err(invalid(
                InvalidParameter,
                "a combination of parameters is included that is not permitted",
            ));
        }
        Ok(req)
    }
}

/// A request being read, before its NHS number is known.
#[derive(Default)]
struct Draft {
    allergies: Option<AllergiesQuery>,
    medication: Option<MedicationQuery>,
    problems: Option<ProblemsQuery>,
    consultations: Option<ConsultationsQuery>,
    immunisations: Option<ImmunisationsQuery>,
    investigations: Option<Option<DatePeriod>>,
    referrals: Option<Option<DatePeriod>>,
    uncategorised: Option<Option<DatePeriod>>,
    diary_entries: Option<Option<Date>>,
    unrecognised: Vec<String>,
}

/// The part parameters of one parameter.
struct Parts<'a> {
    owner: &'a str,
    parts: &'a [Parameter],
}

impl<'a> Parts<'a> {
    fn new(owner: &'a str, parts: &'a [Parameter]) -> Result<Self, ParamError> {
        let mut seen = std::collections::HashSet::new();
        for p in parts {
            let name = p.name.as_deref().map(str::trim).unwrap_or_default();
            if !seen.insert(name) {
                return Err(invalid(
                    SpineCode::InvalidParameter,
                    format!("a part parameter of {owner} is given more than once"),
                ));
            }
        }
        Ok(Parts { owner, parts })
    }

    fn only(&self, allowed: &[&str]) -> Result<(), ParamError> {
        for p in self.parts {
            let name = p.name.as_deref().map(str::trim).unwrap_or_default();
            if !allowed.contains(&name) {
                return Err(invalid(
                    SpineCode::InvalidParameter,
                    format!("{} has a part parameter it does not take", self.owner),
                ));
            }
        }
        Ok(())
    }

    fn get(&self, name: &str) -> Option<&'a Parameter> {
        self.parts
            .iter()
            .find(|p| p.name.as_deref().map(str::trim) == Some(name))
    }

    fn missing(name: &str) -> ParamError {
        invalid(
            SpineCode::InvalidParameter,
            format!("{name} is given without a value of its type"),
        )
    }

    fn boolean(&self, name: &str) -> Result<Option<bool>, ParamError> {
        self.get(name)
            .map(|p| p.value_boolean.ok_or_else(|| Self::missing(name)))
            .transpose()
    }

    fn code(&self, name: &str) -> Result<Option<String>, ParamError> {
        self.get(name)
            .map(|p| {
                p.value_code
                    .as_deref()
                    .map(|c| c.trim().to_string())
                    .filter(|c| !c.is_empty())
                    .ok_or_else(|| Self::missing(name))
            })
            .transpose()
    }

    fn positive_int(&self, name: &str) -> Result<Option<u32>, ParamError> {
        self.get(name)
            .map(|p| {
                p.value_positive_int
                    .filter(|n| *n > 0)
                    .ok_or_else(|| Self::missing(name))
            })
            .transpose()
    }

    fn date(&self, name: &str) -> Result<Option<Date>, ParamError> {
        self.get(name)
            .map(|p| {
                let s = p.value_date.as_deref().ok_or_else(|| Self::missing(name))?;
                whole_date(s).ok_or_else(|| {
                    invalid(
                        SpineCode::InvalidParameter,
                        format!("{name} is not a whole date"),
                    )
                })
            })
            .transpose()
    }

    fn period(&self, name: &str) -> Result<Option<DatePeriod>, ParamError> {
        self.get(name)
            .map(|p| {
                let period = p.value_period.as_ref().ok_or_else(|| Self::missing(name))?;
                let read = |s: &Option<String>| -> Result<Option<Date>, ParamError> {
                    s.as_deref()
                        .map(|s| {
                            whole_date(s).ok_or_else(|| {
                                invalid(
                                    SpineCode::InvalidParameter,
                                    format!("{name} has a date that is not a whole date"),
                                )
                            })
                        })
                        .transpose()
                };
                let out = DatePeriod {
                    start: read(&period.start)?,
                    end: read(&period.end)?,
                };
                if let (Some(s), Some(e)) = (out.start, out.end)
                    && s > e
                {
                    return Err(invalid(
                        SpineCode::InvalidParameter,
                        format!("{name} starts after it ends"),
                    ));
                }
                Ok(out)
            })
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::Resource;

    fn read(json: &str) -> Result<StructuredRequest, ParamError> {
        let (p, _) = crate::lenient::read::<Parameters>("Parameters", json).unwrap();
        StructuredRequest::from_parameters(&p)
    }

    fn with(parts: &str) -> String {
        format!(
            r#"{{"resourceType":"Parameters","parameter":[
            {{"name":"patientNHSNumber","valueIdentifier":{{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9990000018"}}}}{parts}]}}"#
        )
    }

    #[test]
    fn writes_and_reads_every_area() {
        let nhs = NhsNumber::parse("9990000018").unwrap();
        let d = |s: &str| whole_date(s).unwrap();
        let mut r = StructuredRequest::new(nhs);
        r.allergies = Some(AllergiesQuery {
            include_resolved: false,
        });
        r.medication = Some(MedicationQuery {
            include_prescription_issues: Some(false),
            search_from: Some(d("2024-01-31")),
        });
        r.immunisations = Some(ImmunisationsQuery {
            include_not_given: Some(true),
            include_status: None,
        });
        r.investigations = Some(Some(DatePeriod {
            start: Some(d("2020-01-01")),
            end: None,
        }));
        r.referrals = Some(None);
        r.uncategorised = Some(Some(DatePeriod {
            start: None,
            end: Some(d("2025-12-31")),
        }));
        r.diary_entries = Some(Some(d("2030-01-01")));
        let json = serde_json::to_string(&Resource::Parameters(r.to_parameters())).unwrap();
        assert_eq!(read(&json).unwrap(), r);
        let mut r = StructuredRequest::new(nhs);
        r.problems = Some(ProblemsQuery {
            status: Some("active".into()),
            significance: Some("major".into()),
        });
        r.consultations = None;
        let json = serde_json::to_string(&Resource::Parameters(r.to_parameters())).unwrap();
        assert_eq!(read(&json).unwrap(), r);
        let mut r = StructuredRequest::new(nhs);
        r.consultations = Some(ConsultationsQuery {
            period: None,
            most_recent: Some(3),
        });
        let json = serde_json::to_string(&Resource::Parameters(r.to_parameters())).unwrap();
        assert_eq!(read(&json).unwrap(), r);
    }

    #[test]
    fn refuses_what_a_provider_refuses() {
        let cases = [
            ("", SpineCode::InvalidParameter, false),
            (
                r#",{"name":"includeAllergies"}"#,
                SpineCode::InvalidParameter,
                true,
            ),
            (
                r#",{"name":"includeMedication","part":[{"name":"medicationSearchFromDate","valueDate":"2024-01"}]}"#,
                SpineCode::InvalidParameter,
                true,
            ),
            (
                r#",{"name":"includeProblems","part":[{"name":"filterStatus","valueCode":"resolved"}]}"#,
                SpineCode::InvalidParameter,
                true,
            ),
            (
                r#",{"name":"includeConsultations","part":[{"name":"includeNumberOfMostRecent","valuePositiveInt":3},{"name":"consultationSearchPeriod","valuePeriod":{"start":"2020-01-01"}}]}"#,
                SpineCode::InvalidResource,
                true,
            ),
            (
                r#",{"name":"includeConsultations"},{"name":"includeReferrals","part":[{"name":"referralSearchPeriod","valuePeriod":{"start":"2020-01-01"}}]}"#,
                SpineCode::InvalidParameter,
                true,
            ),
            (
                r#",{"name":"includeInvestigations","part":[{"name":"investigationSearchPeriod","valuePeriod":{"start":"2021-01-01","end":"2020-01-01"}}]}"#,
                SpineCode::InvalidParameter,
                true,
            ),
            (
                r#",{"name":"includeReferrals"},{"name":"includeReferrals"}"#,
                SpineCode::InvalidParameter,
                true,
            ),
            (
                r#",{"valueBoolean":true}"#,
                SpineCode::InvalidResource,
                true,
            ),
        ];
        for (parts, code, with_nhs) in cases {
            let json = if with_nhs {
                with(parts)
            } else {
                r#"{"resourceType":"Parameters","parameter":[{"name":"includeProblems"}]}"#.into()
            };
            let e = read(&json).unwrap_err();
            assert_eq!(e.code, code, "{parts}: {e}");
            assert!(!e.message.contains("2020") && !e.message.contains("9990000018"));
        }
        let bad = with("").replace("9990000018", "9990000019");
        assert_eq!(read(&bad).unwrap_err().code, SpineCode::InvalidNhsNumber);
        let system = with("").replace("https://fhir.nhs.uk/Id/nhs-number", "urn:x");
        assert_eq!(
            read(&system).unwrap_err().code,
            SpineCode::InvalidIdentifierSystem
        );
        // Unknown top-level parameters are kept by name, for a warning.
        let r = read(&with(r#",{"name":"includeEverything"}"#)).unwrap();
        assert_eq!(r.unrecognised, ["includeEverything"]);
    }
}
