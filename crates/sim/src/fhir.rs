//! The FHIR R4 protocol module (kind `fhir-r4`): what a simulated FHIR R4
//! server answers, as pure functions from a request's method, path, query
//! and body to a status and a JSON body. The HTTP plumbing and the faults
//! live in `server`; every organisation is served at [`BASE_PATH`] on a
//! listener of its own.
//!
//! Beside searches by `patient={id}` (and the Patient search by NHS
//! number), a server may take, as its listener's `fhir_search` says
//! ([`FhirSearch`], all by default) and its CapabilityStatement declares: a
//! `batch` Bundle of searches posted to the base (`rest.interaction`
//! `batch`), searches chained on the NHS number
//! (`patient.identifier=https://fhir.nhs.uk/Id/nhs-number|{nhs}`; R4 has no
//! element declaring chains, so the `patient` parameter's documentation
//! says so), and a Patient search bringing the person's records along
//! (`_revinclude={type}:patient`, declared in the Patient's
//! `searchRevInclude`). `_include={type}:medication` is taken (and
//! declared) on medication searches; it adds nothing, as the simulated
//! medicines are coded in the resources. What a server does not take it
//! refuses: 405 to a batch, 400 to a chain or `_revinclude`.
//!
//! Resources are rendered with `icr_fhir::render`, the same mapping the
//! gateway uses, so there is one model-to-FHIR mapping in the project.

use icr_fhir::RecordType;
use icr_fhir::render::{self, RenderContext};
use icr_fhir::{
    Bundle, BundleEntry, BundleLink, BundleSearch, Identifier, Meta, NHS_NUMBER_SYSTEM,
    ODS_ORGANISATION_SYSTEM, OperationOutcome, OperationOutcomeIssue, Reference, Resource,
};
use icr_model::{Entry, NhsNumber, PartialDateTime, RecordId};
use serde_json::json;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::org::Org;
use crate::population::{Holding, OrgRecord, Population};
use crate::protocol::{Answer, HttpModule, HttpRequest, SourceCtx};

/// The path every simulated server serves under.
pub const BASE_PATH: &str = "/fhir/r4";

/// The media type of every answer.
pub const FHIR_JSON: &str = "application/fhir+json";

/// Page size when the request gives no `_count`.
pub const DEFAULT_COUNT: usize = 50;

/// Largest page size; a larger `_count` is lowered to this.
pub const MAX_COUNT: usize = 500;

/// Most query parameters a request may have.
pub const MAX_PARAMS: usize = 32;

/// Most entries a batch may have.
pub const MAX_BATCH_ENTRIES: usize = 32;

/// What a simulated server takes beyond plain searches (`fhir_search` in
/// `sim.toml`: a list of `"batch"`, `"chained"`, `"revinclude"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FhirSearch {
    /// A `batch` Bundle of searches, `POST [base]`.
    pub batch: bool,
    /// Searches chained on `patient.identifier`.
    pub chained: bool,
    /// `_revinclude={type}:patient` on the Patient search.
    pub revinclude: bool,
}

impl FhirSearch {
    /// Everything: the default.
    pub const ALL: FhirSearch = FhirSearch {
        batch: true,
        chained: true,
        revinclude: true,
    };

    /// Plain searches only.
    pub const NONE: FhirSearch = FhirSearch {
        batch: false,
        chained: false,
        revinclude: false,
    };

    /// From the names in `sim.toml`.
    pub fn parse(names: &[String]) -> Result<Self, String> {
        let mut out = Self::NONE;
        for name in names {
            match name.as_str() {
                "batch" => out.batch = true,
                "chained" => out.chained = true,
                "revinclude" => out.revinclude = true,
                other => {
                    let shown: String = other.chars().take(40).collect();
                    return Err(format!(
                        "{shown:?} is not a FHIR search feature; expected \"batch\", \"chained\" or \"revinclude\""
                    ));
                }
            }
        }
        Ok(out)
    }
}

impl Default for FhirSearch {
    fn default() -> Self {
        Self::ALL
    }
}

/// One request, as [`serve`] takes it.
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    /// `GET`, `POST`, …
    pub method: &'a str,
    /// The path, e.g. `/fhir/r4/Condition`.
    pub path: &'a str,
    /// The query string without `?`, if any.
    pub query: Option<&'a str>,
    /// The body.
    pub body: &'a [u8],
}

/// The resource types that can be searched by `patient`: every record
/// type but the Patient itself.
pub static SEARCH_TYPES: std::sync::LazyLock<Vec<&'static str>> = std::sync::LazyLock::new(|| {
    icr_fhir::RecordType::ALL
        .iter()
        .filter(|t| **t != icr_fhir::RecordType::Patient)
        .map(|t| t.name())
        .collect()
});

/// The FHIR R4 protocol module.
#[derive(Clone, Copy, Debug, Default)]
pub struct FhirR4;

impl HttpModule for FhirR4 {
    fn base_path(&self, _org: Org) -> String {
        BASE_PATH.to_string()
    }

    fn respond(&self, ctx: &SourceCtx, req: &HttpRequest<'_>) -> Answer {
        let Some(org) = ctx.orgs().first().copied() else {
            return not_found();
        };
        let base = format!("{}{BASE_PATH}", req.origin);
        serve(
            ctx.population(),
            org,
            &base,
            ctx.fhir_search(),
            Request {
                method: req.method,
                path: req.path,
                query: req.query,
                body: req.body,
            },
        )
    }

    fn error(&self, status: u16, message: &str) -> Answer {
        let code = match status {
            408 => "timeout",
            413 => "too-costly",
            400..=499 => "invalid",
            _ => "transient",
        };
        outcome(status, code, message)
    }
}

/// A JSON answer in the FHIR media type; a 500 OperationOutcome if the
/// value cannot be written.
fn json_answer(status: u16, value: &impl serde::Serialize) -> Answer {
    match serde_json::to_vec(value) {
        Ok(body) => Answer::new(status, FHIR_JSON, body),
        Err(_) => Answer::new(
            500,
            FHIR_JSON,
            br#"{"resourceType":"OperationOutcome","issue":[{"severity":"fatal","code":"exception","diagnostics":"could not write the answer"}]}"#.to_vec(),
        ),
    }
}

/// An OperationOutcome answer with one error issue. `diagnostics` never
/// contains patient data.
pub fn outcome(status: u16, code: &str, diagnostics: &str) -> Answer {
    let oo = OperationOutcome {
        issue: vec![OperationOutcomeIssue {
            severity: Some(if status >= 500 { "fatal" } else { "error" }.to_string()),
            code: Some(code.to_string()),
            diagnostics: Some(diagnostics.to_string()),
            ..Default::default()
        }],
        ..Default::default()
    };
    json_answer(status, &Resource::OperationOutcome(oo))
}

/// Answers one request without a body to a server of `org` taking
/// everything ([`FhirSearch::ALL`]); see [`serve`].
pub fn respond(
    pop: &Population,
    org: Org,
    base: &str,
    method: &str,
    path: &str,
    query: Option<&str>,
) -> Answer {
    let req = Request {
        method,
        path,
        query,
        body: &[],
    };
    serve(pop, org, base, FhirSearch::ALL, req)
}

/// Answers one request to the server of `org`, taking what `search` lets
/// it. `base` is the absolute base URL the request came to (e.g.
/// `http://127.0.0.1:9101/fhir/r4`), used in links and full URLs.
pub fn serve(
    pop: &Population,
    org: Org,
    base: &str,
    search: FhirSearch,
    req: Request<'_>,
) -> Answer {
    let Some(rest) = req.path.strip_prefix(BASE_PATH) else {
        return not_found();
    };
    if rest.is_empty() || rest == "/" {
        return match req.method {
            "POST" if search.batch => batch(pop, org, base, search, req.body),
            "POST" => outcome(
                405,
                "not-supported",
                "this simulated server does not take batches",
            ),
            _ => not_found(),
        };
    }
    if req.method != "GET" {
        let Some(name) = rest.strip_prefix('/') else {
            return not_found();
        };
        if name == "metadata" || name == "Patient" || SEARCH_TYPES.contains(&name) {
            return outcome(
                405,
                "not-supported",
                "this simulated server only answers GET, and POST of a batch to its base",
            );
        }
        return not_found();
    }
    get(pop, org, base, search, rest, req.query)
}

/// Answers a GET of `rest` (the path after [`BASE_PATH`]).
fn get(
    pop: &Population,
    org: Org,
    base: &str,
    search: FhirSearch,
    rest: &str,
    query: Option<&str>,
) -> Answer {
    let Some(name) = rest.strip_prefix('/') else {
        return not_found();
    };
    let known = name == "metadata" || name == "Patient" || SEARCH_TYPES.contains(&name);
    if !known {
        return not_found();
    }
    if name == "metadata" {
        return json_answer(200, &capability_statement(org, base, search));
    }
    let params = match Params::parse(query.unwrap_or("")) {
        Ok(p) => p,
        Err(msg) => return outcome(400, "invalid", &msg),
    };
    let page = match params.page() {
        Ok(p) => p,
        Err(msg) => return outcome(400, "invalid", &msg),
    };
    if name == "Patient" {
        patient_search(pop, org, base, search, &params, page)
    } else {
        let type_ = SEARCH_TYPES
            .iter()
            .find(|t| **t == name)
            .copied()
            .unwrap_or("Flag");
        resource_search(pop, org, base, search, type_, &params, page)
    }
}

/// A batch Bundle of GET searches, read.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct BatchIn {
    #[serde(default)]
    resource_type: Option<String>,
    #[serde(rename = "type", default)]
    type_: Option<String>,
    #[serde(default)]
    entry: Vec<BatchEntryIn>,
}

#[derive(serde::Deserialize)]
struct BatchEntryIn {
    #[serde(default)]
    request: Option<BatchRequestIn>,
}

#[derive(serde::Deserialize)]
struct BatchRequestIn {
    #[serde(default)]
    method: Option<String>,
    #[serde(default)]
    url: Option<String>,
}

/// Whether a batch entry's URL is relative to the base (`Condition?…`).
fn is_relative(url: &str) -> bool {
    let path = url.split('?').next().unwrap_or(url);
    !path.starts_with('/') && !path.contains(':')
}

/// Answers a `batch` Bundle: each entry, a GET of a URL relative to the
/// base, answered as that GET would be, in a `batch-response` in the same
/// order (a failure as its status and OperationOutcome).
fn batch(pop: &Population, org: Org, base: &str, search: FhirSearch, body: &[u8]) -> Answer {
    let Ok(bundle) = serde_json::from_slice::<BatchIn>(body) else {
        return outcome(400, "invalid", "the body is not a Bundle");
    };
    if bundle.resource_type.as_deref() != Some("Bundle") || bundle.type_.as_deref() != Some("batch")
    {
        return outcome(400, "invalid", "the body is not a Bundle of type batch");
    }
    if bundle.entry.len() > MAX_BATCH_ENTRIES {
        return outcome(
            400,
            "too-costly",
            &format!("a batch may have at most {MAX_BATCH_ENTRIES} entries"),
        );
    }
    let mut out = br#"{"resourceType":"Bundle","type":"batch-response","entry":["#.to_vec();
    for (i, e) in bundle.entry.iter().enumerate() {
        let request = e.request.as_ref();
        let answer = match (
            request.and_then(|r| r.method.as_deref()),
            request.and_then(|r| r.url.as_deref()),
        ) {
            (Some("GET"), Some(url)) if is_relative(url) => {
                let (path, query) = match url.split_once('?') {
                    Some((p, q)) => (p, Some(q)),
                    None => (url, None),
                };
                get(pop, org, base, search, &format!("/{path}"), query)
            }
            (Some("GET"), _) => outcome(
                400,
                "invalid",
                "each entry's request.url must be a search relative to the base",
            ),
            _ => outcome(
                405,
                "not-supported",
                "this simulated server takes only GET searches in a batch",
            ),
        };
        if i > 0 {
            out.push(b',');
        }
        if (200..300).contains(&answer.status) {
            out.extend_from_slice(br#"{"resource":"#);
            out.extend_from_slice(&answer.body);
            out.extend_from_slice(br#","response":{"status":"200 OK"}}"#);
        } else {
            out.extend_from_slice(
                format!(r#"{{"response":{{"status":"{}","outcome":"#, answer.status).as_bytes(),
            );
            out.extend_from_slice(&answer.body);
            out.extend_from_slice(b"}}");
        }
    }
    out.extend_from_slice(b"]}");
    Answer::new(200, FHIR_JSON, out)
}

fn not_found() -> Answer {
    outcome(
        404,
        "not-found",
        &format!(
            "unknown path; this server answers {BASE_PATH}/metadata, {BASE_PATH}/Patient?identifier=..., and {BASE_PATH}/{{type}}?patient=... for {}",
            SEARCH_TYPES.join(", ")
        ),
    )
}

/// The query parameters, decoded.
struct Params(Vec<(String, String)>);

#[derive(Clone, Copy)]
struct Page {
    count: usize,
    offset: usize,
}

impl Params {
    fn parse(query: &str) -> Result<Self, String> {
        let mut out = Vec::new();
        for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
            if out.len() == MAX_PARAMS {
                return Err(format!("too many query parameters (at most {MAX_PARAMS})"));
            }
            out.push((k.into_owned(), v.into_owned()));
        }
        Ok(Self(out))
    }

    /// The one value of `name`; an error if it is given twice.
    fn one(&self, name: &str) -> Result<Option<&str>, String> {
        let mut found = self.0.iter().filter(|(k, _)| k == name).map(|(_, v)| v);
        let first = found.next();
        if found.next().is_some() {
            return Err(format!("{name} is given more than once"));
        }
        Ok(first.map(String::as_str))
    }

    /// Every value of `name`, in order.
    fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn page(&self) -> Result<Page, String> {
        let count = match self.one("_count")? {
            None => DEFAULT_COUNT,
            Some(v) => match v.parse::<usize>() {
                Ok(0) | Err(_) => {
                    return Err(format!(
                        "_count must be a whole number from 1 to {MAX_COUNT}"
                    ));
                }
                Ok(n) => n.min(MAX_COUNT),
            },
        };
        let offset = match self.one("_offset")? {
            None => 0,
            Some(v) => v
                .parse::<usize>()
                .map_err(|_| "_offset must be a whole number, 0 or more".to_string())?,
        };
        Ok(Page { count, offset })
    }
}

fn encode(v: &str) -> String {
    url::form_urlencoded::byte_serialize(v.as_bytes()).collect()
}

fn instant(t: OffsetDateTime) -> Option<String> {
    t.format(&Rfc3339).ok()
}

fn meta(t: OffsetDateTime) -> Option<Meta> {
    Some(Meta {
        last_updated: instant(t),
        ..Default::default()
    })
}

/// A searchset Bundle for one page, with `self` and (when more remain)
/// `next` links: `entries` of search mode `match`, then `included` of mode
/// `include`.
fn searchset(
    total: usize,
    page: Page,
    link_base: &str,
    entries: Vec<(String, Resource)>,
    included: Vec<(String, Resource)>,
) -> Resource {
    let link = |offset: usize, relation: &str| BundleLink {
        relation: Some(relation.to_string()),
        url: Some(format!(
            "{link_base}&_count={}&_offset={offset}",
            page.count
        )),
    };
    let mut links = vec![link(page.offset, "self")];
    if page.offset.saturating_add(page.count) < total {
        links.push(link(page.offset + page.count, "next"));
    }
    Resource::Bundle(Bundle {
        type_: "searchset".to_string(),
        total: Some(total as u64),
        link: links,
        entry: entries
            .into_iter()
            .map(|e| (e, "match"))
            .chain(included.into_iter().map(|e| (e, "include")))
            .map(|((full_url, resource), mode)| BundleEntry {
                full_url: Some(full_url),
                resource,
                search: Some(BundleSearch {
                    mode: Some(mode.to_string()),
                }),
            })
            .collect(),
        ..Default::default()
    })
}

/// The person `identifier` (`{system}|{NHS number}`, or the number
/// alone) names, when `org` holds a record of them.
fn held<'a>(pop: &'a Population, org: Org, identifier: &str) -> Option<(NhsNumber, &'a Holding)> {
    let (system, value) = match identifier.split_once('|') {
        Some((s, v)) => (Some(s), v),
        None => (None, identifier),
    };
    match system {
        Some(s) if !s.is_empty() && s != NHS_NUMBER_SYSTEM => None,
        _ => NhsNumber::parse(value)
            .ok()
            .and_then(|nhs| pop.get(&nhs))
            .and_then(|p| p.holding(org).map(|h| (p.nhs_number, h))),
    }
}

/// The medication `_include`s this server takes.
const INCLUDES: [&str; 2] = [
    "MedicationStatement:medication",
    "MedicationRequest:medication",
];

fn patient_search(
    pop: &Population,
    org: Org,
    base: &str,
    search: FhirSearch,
    params: &Params,
    page: Page,
) -> Answer {
    let identifier = match params.one("identifier") {
        Ok(Some(v)) => v,
        Ok(None) => {
            return outcome(
                400,
                "required",
                &format!("Patient search needs identifier={NHS_NUMBER_SYSTEM}|{{nhs number}}"),
            );
        }
        Err(msg) => return outcome(400, "invalid", &msg),
    };
    // `_revinclude={type}:patient`: the types whose records come along.
    let mut revincluded: Vec<&'static str> = Vec::new();
    for r in params.all("_revinclude") {
        if !search.revinclude {
            return outcome(
                400,
                "not-supported",
                "this server does not take _revinclude",
            );
        }
        let Some(t) = r
            .strip_suffix(":patient")
            .and_then(|t| SEARCH_TYPES.iter().find(|s| **s == t))
        else {
            return outcome(
                400,
                "invalid",
                "_revinclude must be {type}:patient for a type this server searches",
            );
        };
        if !revincluded.contains(t) {
            revincluded.push(t);
        }
    }
    if params
        .all("_include:iterate")
        .chain(params.all("_include"))
        .any(|i| !INCLUDES.contains(&i))
    {
        return outcome(
            400,
            "invalid",
            "this server includes only MedicationStatement:medication and MedicationRequest:medication",
        );
    }
    let found = held(pop, org, identifier);
    let link_base = format!("{base}/Patient?identifier={}", encode(identifier));
    let total = usize::from(found.is_some());
    let found = found.filter(|_| page.offset == 0);
    let entries = found
        .map(|(nhs, h)| {
            (
                format!("{base}/Patient/{}", h.patient_id),
                Resource::Patient(patient_resource(org, nhs, h)),
            )
        })
        .into_iter()
        .collect();
    let included = match found {
        Some((_, h)) => revincluded
            .iter()
            .flat_map(|t| {
                // Each type most recent first, as `_sort` would give it.
                let newest = RecordType::from_name(t).and_then(RecordType::date_param);
                rendered(org, base, h, records(h, t, None, newest.is_some()))
            })
            .collect(),
        None => Vec::new(),
    };
    json_answer(200, &searchset(total, page, &link_base, entries, included))
}

/// `type_`'s records in `holding`: those whose status is `current` when
/// given, most recent first when `newest`, else as held.
fn records<'a>(
    holding: &'a Holding,
    type_: &'a str,
    current: Option<&str>,
    newest: bool,
) -> Vec<&'a OrgRecord> {
    let mut matching: Vec<&OrgRecord> = holding
        .records_of(type_)
        .filter(|r| current.is_none_or(|value| status_code(&r.entry) == Some(value)))
        .collect();
    if newest {
        // Most recent first; records without a date last, in their order.
        matching.sort_by(|a, b| search_date(&b.entry).cmp(&search_date(&a.entry)));
    }
    matching
}

/// `records` rendered as `org`'s resources, with their full URLs.
fn rendered(
    org: Org,
    base: &str,
    holding: &Holding,
    records: Vec<&OrgRecord>,
) -> Vec<(String, Resource)> {
    let patient_ref = format!("Patient/{}", holding.patient_id);
    let source = org.id();
    let resolve = move |rid: &RecordId| -> Option<String> {
        (rid.source().as_str() == source).then(|| rid.local().to_string())
    };
    let ctx = RenderContext {
        patient: &patient_ref,
        resolve: &resolve,
    };
    records
        .into_iter()
        .map(|r| {
            (
                format!("{base}/{}/{}", r.resource_type, r.id),
                resource(r, &ctx),
            )
        })
        .collect()
}

/// The Patient resource `org` serves for a person it holds.
pub fn patient_resource(org: Org, nhs: NhsNumber, h: &Holding) -> icr_fhir::Patient {
    let mut p = render::patient(&h.patient_id, nhs, &h.demographics);
    p.meta = meta(h.last_updated);
    p.managing_organization = Some(Reference {
        type_: Some("Organization".to_string()),
        identifier: Some(Identifier {
            system: Some(ODS_ORGANISATION_SYSTEM.to_string()),
            value: Some(org.ods_code().to_string()),
            ..Default::default()
        }),
        display: Some(org.name().to_string()),
        ..Default::default()
    });
    p
}

/// Whether `s` is a FHIR logical id: `[A-Za-z0-9\-\.]{1,64}`.
fn is_logical_id(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

fn resource_search(
    pop: &Population,
    org: Org,
    base: &str,
    search: FhirSearch,
    type_: &str,
    params: &Params,
    page: Page,
) -> Answer {
    let by_id = params.one("patient");
    let by_nhs = params.one("patient.identifier");
    let (holding, asked) = match (by_id, by_nhs) {
        (Err(msg), _) | (_, Err(msg)) => return outcome(400, "invalid", &msg),
        (Ok(Some(_)), Ok(Some(_))) => {
            return outcome(
                400,
                "invalid",
                "give patient or patient.identifier, not both",
            );
        }
        (Ok(None), Ok(Some(_))) if !search.chained => {
            return outcome(
                400,
                "not-supported",
                "this server does not take chained searches (patient.identifier)",
            );
        }
        (Ok(None), Ok(Some(identifier))) => (
            held(pop, org, identifier).map(|(_, h)| h),
            format!("patient.identifier={}", encode(identifier)),
        ),
        (Ok(Some(reference)), Ok(None)) => {
            // Accept `p123`, `Patient/p123` and an absolute URL ending in it.
            let id = match reference.rsplit_once("Patient/") {
                Some((_, id)) => id,
                None => reference,
            };
            if !is_logical_id(id) {
                return outcome(
                    400,
                    "invalid",
                    "patient must be a Patient logical id: 1 to 64 letters, digits, '-' or '.'",
                );
            }
            (
                pop.by_local_id(org, id).map(|(_, h)| h),
                format!("patient={}", encode(id)),
            )
        }
        (Ok(None), Ok(None)) => {
            return outcome(
                400,
                "required",
                &format!("{type_} search needs patient={{Patient id}}"),
            );
        }
    };
    let record_type = RecordType::from_name(type_);
    let order = match params.one("_sort") {
        Ok(sort) => match Order::parse(record_type, sort) {
            Ok(o) => o,
            Err(msg) => return outcome(400, "invalid", &msg),
        },
        Err(msg) => return outcome(400, "invalid", &msg),
    };
    let current = match record_type.and_then(RecordType::current_items) {
        Some((param, _)) => match params.one(param) {
            Ok(v) => v.map(|v| (param, v)),
            Err(msg) => return outcome(400, "invalid", &msg),
        },
        None => None,
    };
    if params
        .all("_include")
        .any(|i| i.strip_suffix(":medication") != Some(type_) || !INCLUDES.contains(&i))
    {
        return outcome(
            400,
            "invalid",
            "this server includes only MedicationStatement:medication and MedicationRequest:medication, on their own searches",
        );
    }
    let mut link_base = format!("{base}/{type_}?{asked}");
    if let Some((param, value)) = current {
        link_base.push_str(&format!("&{param}={}", encode(value)));
    }
    if let Order::Newest(param) = order {
        link_base.push_str(&format!("&_sort=-{param}"));
    }
    let Some(holding) = holding else {
        return json_answer(200, &searchset(0, page, &link_base, Vec::new(), Vec::new()));
    };
    let matching = records(
        holding,
        type_,
        current.map(|(_, v)| v),
        matches!(order, Order::Newest(_)),
    );
    let total = matching.len();
    let page_of: Vec<&OrgRecord> = matching
        .into_iter()
        .skip(page.offset)
        .take(page.count)
        .collect();
    let entries = rendered(org, base, holding, page_of);
    json_answer(
        200,
        &searchset(total, page, &link_base, entries, Vec::new()),
    )
}

/// The order a search asks for (`_sort`): the server's own, or most recent
/// first by the type's date parameter. Other sorts are refused.
#[derive(Clone, Copy)]
enum Order {
    AsHeld,
    Newest(&'static str),
}

impl Order {
    fn parse(ty: Option<RecordType>, sort: Option<&str>) -> Result<Self, String> {
        let Some(sort) = sort else {
            return Ok(Order::AsHeld);
        };
        match ty.and_then(RecordType::date_param) {
            Some(param) if sort == format!("-{param}") => Ok(Order::Newest(param)),
            Some(param) => Err(format!(
                "this server sorts this search only by -{param} (most recent first)"
            )),
            None => Err("this server does not sort this search".into()),
        }
    }
}

/// The date a sort on the type's date parameter orders by: when a
/// condition or allergy was recorded, else the record's own date.
fn search_date(entry: &Entry) -> Option<&PartialDateTime> {
    match entry {
        Entry::Condition(c) => c.recorded.as_ref().or(c.onset.as_ref()),
        Entry::Allergy(a) => a.recorded.as_ref().or(a.onset.as_ref()),
        e => e.sort_date(),
    }
}

/// The code the current-items search (`status`, `clinical-status`)
/// matches a record by.
fn status_code(entry: &Entry) -> Option<&'static str> {
    match entry {
        Entry::Medication(m) => m.status.map(|s| s.as_code()),
        Entry::Alert(a) => a.status.map(|s| s.as_code()),
        Entry::Allergy(a) => a.clinical_status.map(|s| s.as_code()),
        Entry::Condition(c) => c.clinical_status.map(|s| s.as_code()),
        Entry::Document(d) => d.care_plan.as_ref()?.status.map(|s| s.as_code()),
        _ => None,
    }
}

/// One record rendered as its FHIR resource, with `meta.lastUpdated`.
pub fn resource(r: &OrgRecord, ctx: &RenderContext<'_>) -> Resource {
    let mut res = render::entry(&r.entry, &r.id, ctx);
    let m = meta(r.last_updated);
    match &mut res {
        Resource::Patient(x) => x.meta = m,
        Resource::AllergyIntolerance(x) => x.meta = m,
        Resource::MedicationStatement(x) => x.meta = m,
        Resource::MedicationRequest(x) => x.meta = m,
        Resource::Condition(x) => x.meta = m,
        Resource::Observation(x) => x.meta = m,
        Resource::DiagnosticReport(x) => x.meta = m,
        Resource::DocumentReference(x) => x.meta = m,
        Resource::Procedure(x) => x.meta = m,
        Resource::Encounter(x) => x.meta = m,
        Resource::Appointment(x) => x.meta = m,
        Resource::ServiceRequest(x) => x.meta = m,
        Resource::Flag(x) => x.meta = m,
        Resource::RelatedPerson(x) => x.meta = m,
        Resource::CareTeam(x) => x.meta = m,
        Resource::OperationOutcome(x) => x.meta = m,
        Resource::Provenance(x) => x.meta = m,
        Resource::Bundle(x) => x.meta = m,
        Resource::Immunization(x) => x.meta = m,
        Resource::CarePlan(x) => x.meta = m,
        // Types an entry never renders as (icr-fhir adds some over time).
        #[allow(unreachable_patterns)]
        _ => {}
    }
    res
}

/// A small CapabilityStatement: which searches this server supports, with
/// the parameters it takes (the patient, paging, the type's date for
/// `_sort`, and its current-items status), `_sort` declared, and what
/// `search` lets it take: `batch`, `_revinclude`s, chains (said in the
/// `patient` parameter's documentation, as R4 cannot declare them).
pub fn capability_statement(org: Org, base: &str, search: FhirSearch) -> serde_json::Value {
    let mut patient = json!({
        "type": "Patient",
        "interaction": [{"code": "search-type"}],
        "searchParam": [
            {"name": "identifier", "type": "token", "documentation": format!("{NHS_NUMBER_SYSTEM}|{{NHS number}}")}
        ]
    });
    if search.revinclude {
        let rev: Vec<String> = SEARCH_TYPES
            .iter()
            .map(|t| format!("{t}:patient"))
            .collect();
        patient["searchRevInclude"] = json!(rev);
    }
    let patient_doc = if search.chained {
        format!(
            "The Patient's logical id on this server; or chained on the NHS number: patient.identifier={NHS_NUMBER_SYSTEM}|{{NHS number}}"
        )
    } else {
        "The Patient's logical id on this server".to_string()
    };
    let mut resources = vec![patient];
    resources.extend(SEARCH_TYPES.iter().map(|t| {
        let mut params = vec![
            json!({"name": "patient", "type": "reference", "documentation": patient_doc}),
            json!({"name": "_count", "type": "number", "documentation": format!("Page size, 1 to {MAX_COUNT} (default {DEFAULT_COUNT})")}),
            json!({"name": "_offset", "type": "number", "documentation": "Entries to skip (used in next links)"}),
        ];
        let ty = RecordType::from_name(t);
        if let Some(date) = ty.and_then(RecordType::date_param) {
            params.push(json!({"name": date, "type": "date", "documentation": format!("Sort only: _sort=-{date} gives the most recent first")}));
        }
        if let Some((status, _)) = ty.and_then(RecordType::current_items) {
            params.push(json!({"name": status, "type": "token", "documentation": "Exact code"}));
        }
        let mut resource = json!({
            "type": t,
            "interaction": [{"code": "search-type"}],
            "searchParam": params
        });
        let include = format!("{t}:medication");
        if INCLUDES.contains(&include.as_str()) {
            resource["searchInclude"] = json!([include]);
        }
        resource
    }));
    let interaction = if search.batch {
        json!([{"code": "batch"}])
    } else {
        json!([])
    };
    json!({
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": crate::population::REFERENCE_DATE.to_string(),
        "publisher": org.name(),
        "kind": "instance",
        "software": {"name": "icr-sim", "version": env!("CARGO_PKG_VERSION")},
        "implementation": {
            "description": format!("Simulated FHIR R4 server of {} ({})", org.name(), org.ods_code()),
            "url": base
        },
        "fhirVersion": "4.0.1",
        "format": [FHIR_JSON],
        "rest": [{
            "mode": "server",
            "interaction": interaction,
            "resource": resources,
            "searchParam": [
                {"name": "_sort", "type": "special", "documentation": "-{the type's date parameter}: most recent first"}
            ]
        }]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pop() -> Population {
        Population::generate(1, 40)
    }

    fn get(pop: &Population, org: Org, path: &str, q: Option<&str>) -> (u16, serde_json::Value) {
        let a = respond(pop, org, "http://h:1/fhir/r4", "GET", path, q);
        (a.status, serde_json::from_slice(&a.body).unwrap())
    }

    #[test]
    fn routes_and_errors() {
        let pop = pop();
        assert_eq!(get(&pop, Org::GWH, "/fhir/r4/metadata", None).0, 200);
        for p in [
            "/",
            "/fhir/r4",
            "/fhir/r4/",
            "/fhir/r4/Medication",
            "/fhir/r4/Patient/p1",
            "/fhir/r4x/Patient",
        ] {
            let (s, v) = get(&pop, Org::GWH, p, None);
            assert_eq!(s, 404, "{p}");
            assert_eq!(v["resourceType"], "OperationOutcome");
            assert_eq!(v["issue"][0]["code"], "not-found");
        }
        let a = respond(&pop, Org::GWH, "b", "POST", "/fhir/r4/Condition", None);
        assert_eq!(a.status, 405);
        for q in [
            "",
            "patient=p1&patient=p2",
            "patient=a%20b",
            "patient=p1&_count=0",
            "patient=p1&_count=x",
            "patient=p1&_offset=-1",
        ] {
            let (s, v) = get(&pop, Org::GWH, "/fhir/r4/Condition", Some(q));
            assert_eq!(s, 400, "{q}");
            assert_eq!(v["resourceType"], "OperationOutcome");
        }
        assert_eq!(get(&pop, Org::GWH, "/fhir/r4/Patient", None).0, 400);
    }

    proptest::proptest! {
        #[test]
        fn never_panics_on_any_request(
            path in "(/fhir/r4/)?[A-Za-z/%$._-]{0,40}",
            query in proptest::option::of("[a-z_=&|%0-9A-Fp:/.+ -]{0,80}"),
            method in "(GET|POST|HEAD|PUT)",
        ) {
            let pop = Population::generate(2, 8);
            let a = respond(&pop, Org::RUH, "http://h/fhir/r4", &method, &path, query.as_deref());
            proptest::prop_assert!([200, 400, 404, 405].contains(&a.status));
            let v: serde_json::Value = serde_json::from_slice(&a.body).unwrap();
            proptest::prop_assert!(v["resourceType"].is_string());
        }
    }

    proptest::proptest! {
        #[test]
        fn a_batch_of_any_searches_is_answered_entry_by_entry(
            requests in proptest::collection::vec(
                ("(GET|POST)", "[A-Za-z/:]{0,16}(\\?[a-z_.=&|%0-9A-Z:/-]{0,60})?"),
                0..6,
            ),
        ) {
            let pop = Population::generate(2, 8);
            let entry: Vec<serde_json::Value> = requests
                .iter()
                .map(|(method, url)| json!({"request": {"method": method, "url": url}}))
                .collect();
            let body = json!({"resourceType": "Bundle", "type": "batch", "entry": entry}).to_string();
            let req = Request { method: "POST", path: "/fhir/r4", query: None, body: body.as_bytes() };
            let a = serve(&pop, Org::RUH, "http://h/fhir/r4", FhirSearch::ALL, req);
            proptest::prop_assert_eq!(a.status, 200);
            let v: serde_json::Value = serde_json::from_slice(&a.body).unwrap();
            let entries = v["entry"].as_array().unwrap();
            proptest::prop_assert_eq!(entries.len(), requests.len());
            for e in entries {
                let status = e["response"]["status"].as_str().unwrap();
                proptest::prop_assert!(["200 OK", "400", "404", "405"].contains(&status), "{}", status);
            }
        }
    }

    /// The first GWH patient holding at least three records of `ty`.
    fn holding_with(pop: &Population, ty: &str) -> String {
        pop.iter()
            .filter_map(|p| p.holding(Org::GWH))
            .find(|h| h.records_of(ty).count() >= 3)
            .map(|h| h.patient_id.clone())
            .unwrap()
    }

    #[test]
    fn sorts_most_recent_first_and_finds_current_items_as_its_statement_says() {
        let pop = pop();
        let (_, statement) = get(&pop, Org::GWH, "/fhir/r4/metadata", None);
        assert_eq!(statement["rest"][0]["searchParam"][0]["name"], "_sort");
        let condition = statement["rest"][0]["resource"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["type"] == "Condition")
            .unwrap();
        let names: Vec<&str> = condition["searchParam"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "patient",
                "_count",
                "_offset",
                "recorded-date",
                "clinical-status"
            ]
        );

        let id = holding_with(&pop, "Condition");
        let (status, sorted) = get(
            &pop,
            Org::GWH,
            "/fhir/r4/Condition",
            Some(&format!("patient={id}&_sort=-recorded-date&_count=500")),
        );
        assert_eq!(status, 200);
        let dates: Vec<String> = sorted["entry"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e["resource"]["recordedDate"].as_str().map(str::to_string))
            .collect();
        assert!(dates.len() >= 2, "{dates:?}");
        assert!(
            dates.windows(2).all(|w| w[0][..10] >= w[1][..10]),
            "{dates:?}"
        );
        assert!(
            sorted["link"][0]["url"]
                .as_str()
                .unwrap()
                .contains("&_sort=-recorded-date&"),
            "next links keep the sort"
        );

        let (status, active) = get(
            &pop,
            Org::GWH,
            "/fhir/r4/Condition",
            Some(&format!("patient={id}&clinical-status=active&_count=500")),
        );
        assert_eq!(status, 200);
        for e in active["entry"].as_array().unwrap() {
            assert_eq!(
                e["resource"]["clinicalStatus"]["coding"][0]["code"],
                "active"
            );
        }
        let all = sorted["total"].as_u64().unwrap();
        assert!(active["total"].as_u64().unwrap() <= all);

        for bad in ["_sort=date", "_sort=-date", "_sort=-recorded-date&_sort=x"] {
            let (status, _) = get(
                &pop,
                Org::GWH,
                "/fhir/r4/Condition",
                Some(&format!("patient={id}&{bad}")),
            );
            assert_eq!(status, 400, "{bad}");
        }
    }

    fn call(
        pop: &Population,
        search: FhirSearch,
        method: &str,
        path: &str,
        query: Option<&str>,
        body: &[u8],
    ) -> (u16, serde_json::Value) {
        let req = Request {
            method,
            path,
            query,
            body,
        };
        let a = serve(pop, Org::GWH, "http://h:1/fhir/r4", search, req);
        (a.status, serde_json::from_slice(&a.body).unwrap())
    }

    #[test]
    fn batch_chains_and_revinclude_answer_as_the_plain_searches_do() {
        let pop = pop();
        let p = pop
            .iter()
            .find(|p| {
                p.holding(Org::GWH)
                    .is_some_and(|h| h.records_of("Condition").count() >= 2)
            })
            .unwrap();
        let id = p.holding(Org::GWH).unwrap().patient_id.clone();
        let ident = format!("{NHS_NUMBER_SYSTEM}%7C{}", p.nhs_number.as_str());
        let all = FhirSearch::ALL;
        let by_id = call(
            &pop,
            all,
            "GET",
            "/fhir/r4/Condition",
            Some(&format!("patient={id}&_sort=-recorded-date")),
            b"",
        );
        let chained = call(
            &pop,
            all,
            "GET",
            "/fhir/r4/Condition",
            Some(&format!("patient.identifier={ident}&_sort=-recorded-date")),
            b"",
        );
        assert_eq!(by_id.0, 200);
        assert_eq!(chained.1["entry"], by_id.1["entry"]);
        assert_eq!(chained.1["total"], by_id.1["total"]);

        let batch = json!({"resourceType": "Bundle", "type": "batch", "entry": [
            {"request": {"method": "GET", "url": format!("Patient?identifier={ident}")}},
            {"request": {"method": "GET", "url": format!("Condition?patient.identifier={ident}&_sort=-recorded-date")}},
            {"request": {"method": "GET", "url": "Condition"}},
            {"request": {"method": "DELETE", "url": "Condition"}}
        ]})
        .to_string();
        let (status, answer) = call(&pop, all, "POST", "/fhir/r4", None, batch.as_bytes());
        assert_eq!(status, 200);
        assert_eq!(answer["type"], "batch-response");
        assert_eq!(answer["entry"][0]["response"]["status"], "200 OK");
        assert_eq!(
            answer["entry"][0]["resource"]["entry"][0]["resource"]["id"],
            id.as_str()
        );
        assert_eq!(answer["entry"][1]["resource"]["entry"], by_id.1["entry"]);
        assert_eq!(answer["entry"][2]["response"]["status"], "400");
        assert_eq!(
            answer["entry"][2]["response"]["outcome"]["resourceType"],
            "OperationOutcome"
        );
        assert_eq!(answer["entry"][3]["response"]["status"], "405");

        let (status, rev) = call(
            &pop,
            all,
            "GET",
            "/fhir/r4/Patient",
            Some(&format!(
                "identifier={ident}&_revinclude=Condition:patient&_include:iterate=MedicationStatement:medication"
            )),
            b"",
        );
        assert_eq!(status, 200);
        let entries = rev["entry"].as_array().unwrap();
        assert_eq!(entries[0]["search"]["mode"], "match");
        let included: Vec<&serde_json::Value> =
            entries[1..].iter().map(|e| &e["resource"]).collect();
        let searched: Vec<&serde_json::Value> = by_id.1["entry"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| &e["resource"])
            .collect();
        assert_eq!(
            included, searched,
            "each type most recent first, as _sort gives it"
        );
        assert!(
            entries[1..]
                .iter()
                .all(|e| e["search"]["mode"] == "include")
        );

        // What a server is not configured to take, it refuses, and its
        // statement does not declare.
        let none = FhirSearch::NONE;
        assert_eq!(
            call(&pop, none, "POST", "/fhir/r4", None, batch.as_bytes()).0,
            405
        );
        assert_eq!(
            call(
                &pop,
                none,
                "GET",
                "/fhir/r4/Condition",
                Some(&format!("patient.identifier={ident}")),
                b""
            )
            .0,
            400
        );
        assert_eq!(
            call(
                &pop,
                none,
                "GET",
                "/fhir/r4/Patient",
                Some(&format!("identifier={ident}&_revinclude=Condition:patient")),
                b""
            )
            .0,
            400
        );
        let (_, plain) = call(&pop, none, "GET", "/fhir/r4/metadata", None, b"");
        let (_, full) = call(&pop, all, "GET", "/fhir/r4/metadata", None, b"");
        assert_eq!(plain["rest"][0]["interaction"], json!([]));
        assert_eq!(full["rest"][0]["interaction"], json!([{"code": "batch"}]));
        assert!(
            plain["rest"][0]["resource"][0]
                .get("searchRevInclude")
                .is_none()
        );
        assert_eq!(
            full["rest"][0]["resource"][0]["searchRevInclude"][0],
            "RelatedPerson:patient"
        );
        for bad in [
            "_include=Condition:medication",
            "_include=MedicationStatement:medication",
        ] {
            assert_eq!(
                call(
                    &pop,
                    all,
                    "GET",
                    "/fhir/r4/Condition",
                    Some(&format!("patient={id}&{bad}")),
                    b""
                )
                .0,
                400,
                "{bad}"
            );
        }
        assert_eq!(
            FhirSearch::parse(&["batch".into(), "revinclude".into()]),
            Ok(FhirSearch {
                batch: true,
                chained: false,
                revinclude: true
            })
        );
        assert!(FhirSearch::parse(&["bulk".into()]).is_err());
    }

    #[test]
    fn diagnostics_never_echo_the_query() {
        let pop = pop();
        let a = respond(
            &pop,
            Org::GWH,
            "b",
            "GET",
            "/fhir/r4/Condition",
            Some("patient=9990000018%20x"),
        );
        let text = String::from_utf8(a.body).unwrap();
        assert!(!text.contains("9990000018"));
    }
}
