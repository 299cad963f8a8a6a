//! The network side: the request's round trip (a batch, a wave of chained
//! searches, a Patient search with `_revinclude`, or the Patient search
//! then the section searches), then each search's further pages, run
//! concurrently, each page read by [`read_page`] as it arrives. Whatever
//! the round trip, the Patient found with the NHS number is read first and
//! every other answer is checked against it.

use std::collections::HashSet;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use icr_adapter_sdk::fhir_search::{End, FhirClient, Next, PageFailed, Search as Pages};
use icr_adapter_sdk::identity::is_another_nhs_number;
use icr_adapter_sdk::{
    BuildError, FetchRequest, Preparation, SourceAdapter, SourceError, SourceSpec,
};
use icr_fhir::NHS_NUMBER_SYSTEM;
use icr_model::{
    Contact, Entry, IssueKind, Item, NhsNumber, PatientRecord, Section, SectionSet, SourceIssue,
    SourceMeta, SourceRecord,
};
use tokio::time::Instant;
use url::Url;

use crate::capability::Capability;
use crate::map::{Content, RecordType, local_reference};
use crate::options::{FhirR4Options, Searches};
use crate::page::{
    Found, Page, PageContext, Reported, describe, http_failure, is_not_found_outcome, read_page,
};
use crate::plan::{CurrentItems, Planned, plan, round_trip};
use crate::truncated::{Current, Truncation, Why};
use trip::PatientAnswer;

mod trip;

/// A FHIR R4 REST server as a source.
pub struct FhirR4Source {
    fhir: FhirClient,
    meta: Arc<SourceMeta>,
    options: FhirR4Options,
    offered: SectionSet,
    /// What the server's CapabilityStatement declares, once read by
    /// [`SourceAdapter::prepare`]; until then searches are planned from the
    /// registration.
    capability: std::sync::RwLock<Option<Arc<Capability>>>,
}

impl FhirR4Source {
    /// Builds the adapter for a registration its kind has checked
    /// ([`KIND`](crate::KIND)).
    pub fn new(spec: &SourceSpec, options: FhirR4Options) -> Result<Self, BuildError> {
        Ok(Self {
            fhir: FhirClient::new(spec)?,
            meta: spec.meta(),
            options,
            offered: spec.sections,
            capability: std::sync::RwLock::new(None),
        })
    }

    /// The statement read last, if any.
    fn capability(&self) -> Option<Arc<Capability>> {
        match self.capability.read() {
            Ok(c) => c.clone(),
            Err(e) => e.into_inner().clone(),
        }
    }

    fn set_capability(&self, capability: Capability) {
        let capability = Some(Arc::new(capability));
        match self.capability.write() {
            Ok(mut c) => *c = capability,
            Err(e) => *e.into_inner() = capability,
        }
    }

    /// Reads the server's CapabilityStatement and keeps what it declares;
    /// what is learnt, or why nothing was, is said in notes.
    async fn read_capability(&self, deadline: Instant) -> Preparation {
        let what = "CapabilityStatement";
        let answer = self
            .fhir
            .get(
                self.fhir.url("metadata"),
                what,
                deadline,
                &mut 0,
                |status, body| http_failure(status, what, body),
            )
            .await;
        let read = match answer {
            Ok(body) => Capability::read(&body),
            Err(e) => Err(e.to_string()),
        };
        let capability = match read {
            Ok(c) => c,
            Err(why) => {
                let from = if self.capability().is_some() {
                    "the statement read before"
                } else {
                    "the registration"
                };
                return Preparation {
                    notes: vec![format!(
                        "the CapabilityStatement could not be read ({why}); searches are planned from {from}"
                    )],
                    mismatches: Vec::new(),
                };
            }
        };
        let mut needed: Vec<RecordType> = self
            .offered
            .iter()
            .flat_map(|s| crate::plan::types_for(s, &self.options))
            .filter(|t| !self.options.skips(*t))
            .collect();
        needed.dedup();
        let note = format!(
            "CapabilityStatement read: {} of the {} resource types this source's sections need are searchable; _sort {}",
            capability.count_searchable(&needed),
            needed.len(),
            if capability.sorts() {
                "declared"
            } else {
                "not declared"
            }
        );
        let mismatches = crate::plan::mismatches(self.offered, &self.options, &capability);
        let searches = plan(self.offered, &self.options, Some(&capability)).searches;
        let how = round_trip(&searches, &self.options, Some(&capability));
        self.set_capability(capability);
        Preparation {
            notes: vec![note, how.describe().to_string()],
            mismatches,
        }
    }

    fn type_url(&self, ty: RecordType) -> Url {
        self.fhir.url(ty.name())
    }

    fn patient_url(&self, nhs: NhsNumber) -> Url {
        let mut url = self.type_url(RecordType::Patient);
        url.query_pairs_mut().append_pair(
            "identifier",
            &format!("{NHS_NUMBER_SYSTEM}|{}", nhs.as_str()),
        );
        url
    }

    /// The first page of `planned`'s search, sorted as planned, and
    /// narrowed to its current items when `current` is given.
    fn search_url(&self, planned: Planned, who: Who<'_>, current: Option<(&str, &str)>) -> Url {
        let ty = planned.ty;
        let mut url = self.type_url(ty);
        {
            let mut q = url.query_pairs_mut();
            match who {
                Who::Id(id) => q.append_pair("patient", id),
                Who::Nhs(nhs) => q.append_pair(
                    "patient.identifier",
                    &format!("{NHS_NUMBER_SYSTEM}|{}", nhs.as_str()),
                ),
            };
            if let Some((param, value)) = current {
                q.append_pair(param, value);
            }
            if let Some(date) = planned.sort {
                q.append_pair("_sort", &format!("-{date}"));
            }
            q.append_pair("_count", &self.options.page_size.to_string());
            if let Some(include) = planned.include {
                q.append_pair("_include", include);
            }
        }
        url
    }

    fn page_context(&self, searched: RecordType) -> PageContext<'_> {
        PageContext {
            source: &self.meta.id,
            base: Some(self.fhir.base()),
            searched,
        }
    }

    /// `GET` of the Patient search alone: its answer, as a round trip
    /// brings it.
    async fn get_patient(&self, nhs: NhsNumber, deadline: Instant, wire: &mut usize) -> First {
        self.fhir
            .get(
                self.patient_url(nhs),
                PATIENT_SEARCH,
                deadline,
                wire,
                patient_failure,
            )
            .await
    }

    /// The Patient of the Patient search's answer: its id and what it says.
    fn read_patient(&self, answer: First, nhs: NhsNumber) -> Result<(String, Found), SourceError> {
        let body = answer?;
        let page = read_page(&body, &self.page_context(RecordType::Patient))?;
        drop(body);
        the_patient(page, nhs)
    }

    /// Runs one planned search, all its pages. A search cut short (more
    /// pages than `max_pages`, or a next page on another server) then asks
    /// separately for the type's current items, adding those not already
    /// read, and says what was read.
    async fn search(
        &self,
        planned: Planned,
        start: Start,
        patient_id: &str,
        deadline: Instant,
    ) -> Search {
        let mut search = Search::new(planned.ty);
        let (why, total) = match self
            .read_pages(&mut search, start, patient_id, deadline)
            .await
        {
            Ok((None, _)) => return search,
            Ok((Some(why), total)) => (why, total),
            Err((page_no, e)) => {
                search.fail(page_no, e);
                return search;
            }
        };
        let first = search.items.len();
        let current = match planned.current {
            None => Current::NoneToAsk,
            Some(CurrentItems::Undeclared(param)) => Current::Undeclared(param),
            Some(CurrentItems::Ask(param, value)) => {
                let url = self.search_url(planned, Who::Id(patient_id), Some((param, value)));
                let matched_before = search.position;
                match self
                    .read_pages(&mut search, Start::Get(url), patient_id, deadline)
                    .await
                {
                    Ok((None, _)) => Current::All,
                    Ok((Some(_), _)) => Current::Some(search.position - matched_before),
                    Err((_, e)) => Current::Failed(e.to_string()),
                }
            }
        };
        let truncation = Truncation {
            ty: planned.ty,
            read: search.items.len(),
            total,
            first,
            sorted: planned.sort.is_some(),
            why,
            current,
        };
        search.issue(IssueKind::Truncated, truncation.message());
        search
    }

    /// Reads the pages of one search from `start` into `search`,
    /// following `next` links on this server up to `max_pages`. Gives why
    /// it stopped early (`None`: it read the last page) and the first
    /// page's `Bundle.total`; or the page that failed, and why.
    async fn read_pages(
        &self,
        search: &mut Search,
        start: Start,
        patient_id: &str,
        deadline: Instant,
    ) -> Result<(Option<Why>, Option<u64>), (u32, SourceError)> {
        let ty = search.ty;
        let ctx = self.page_context(ty);
        let base = self.fhir.base();
        let mut total = None;
        // A first page the round trip brought is read here; the rest are
        // asked for from its `next` link.
        let first = match start {
            Start::Get(url) => Err(url),
            Start::Read(answer) => Ok(answer
                .and_then(|body| read_page(&body, &ctx))
                .map_err(|e| (1, e))?),
            Start::Page(page) => Ok(page),
        };
        let (url, before) = match first {
            Err(url) => (url, 0),
            Ok(page) => {
                total = page.total;
                match self.next_after(search, page, patient_id) {
                    Ok(url) => (url, 1),
                    Err(end) => return Ok((end, total)),
                }
            }
        };
        let what = format!("{} search", ty.name());
        let pages = Pages {
            what: &what,
            max_pages: self.options.max_pages - before,
            deadline,
        };
        let mut bytes = 0;
        let end = self
            .fhir
            .pages(
                pages,
                url,
                &mut bytes,
                |_, status, body| http_failure(status, &what, body),
                |page_no, body| {
                    let page = read_page(body, &ctx)?;
                    search.pages_read += 1;
                    if page_no + before == 1 {
                        total = page.total;
                    }
                    Ok(match search.take(page, &self.meta, patient_id, base) {
                        Some(next) => Next::Link(next),
                        None => Next::Last,
                    })
                },
            )
            .await;
        search.bytes += bytes;
        match end {
            Ok(End::Last | End::Enough) => Ok((None, total)),
            Ok(End::MorePages(n)) => Ok((Some(Why::MorePages(n + before)), total)),
            Ok(End::Elsewhere) => Ok((Some(Why::Elsewhere), total)),
            Err(PageFailed { page, error }) => Err((page + before, error)),
        }
    }

    /// Takes a first page the round trip brought, and gives the URL of
    /// the next, or why the search ends there (`None`: it was the last).
    fn next_after(
        &self,
        search: &mut Search,
        page: Page,
        patient_id: &str,
    ) -> Result<Url, Option<Why>> {
        search.pages_read += 1;
        let next = search
            .take(page, &self.meta, patient_id, self.fhir.base())
            .ok_or(None)?;
        if self.options.max_pages == 1 {
            return Err(Some(Why::MorePages(1)));
        }
        self.fhir
            .origins()
            .resolve(&next)
            .ok_or(Some(Why::Elsewhere))
    }
}

/// The name of the Patient search in errors.
const PATIENT_SEARCH: &str = "Patient search";

/// The error for an HTTP error answer to the Patient search: 404 with a
/// `not-found` OperationOutcome is the person not known there.
fn patient_failure(status: u16, body: &[u8]) -> SourceError {
    if status == 404 && is_not_found_outcome(body) {
        SourceError::PatientNotFound
    } else {
        http_failure(status, PATIENT_SEARCH, body)
    }
}

/// The one Patient of the Patient search's page: its id and what it says.
/// None is the person not known there; several, or one with another NHS
/// number, fail the source.
fn the_patient(page: Page, nhs: NhsNumber) -> Result<(String, Found), SourceError> {
    let matches = page.found.len() + page.unreadable as usize;
    if matches > 1 {
        return Err(SourceError::Malformed("several patients match".into()));
    }
    let Some(found) = page.found.into_iter().next() else {
        return Err(match page.first_error {
            Some(e) => SourceError::Malformed(format!("the matching Patient cannot be read: {e}")),
            None => SourceError::PatientNotFound,
        });
    };
    // The gateway's guard on every answer, run here at once: the record's
    // demographics are there only when asked for, and nothing else is
    // taken for a Patient who is someone else.
    if let Content::Patient { demographics, .. } = &found.mapped.content
        && is_another_nhs_number(demographics.nhs_number, nhs)
    {
        return Err(SourceError::IdentityMismatch(
            "the matching Patient has a different NHS number".into(),
        ));
    }
    let Some(id) = found.mapped.id.clone() else {
        return Err(SourceError::Malformed(
            "the matching Patient has no id".into(),
        ));
    };
    Ok((id, found))
}

/// A search's first page as a round trip brought it: its body, or why
/// there is none.
type First = Result<Bytes, SourceError>;

/// Who a search asks about.
#[derive(Clone, Copy)]
enum Who<'a> {
    /// The Patient's id on the server (`patient={id}`).
    Id(&'a str),
    /// The NHS number, chained (`patient.identifier=…|{nhs}`).
    Nhs(NhsNumber),
}

/// Where one search starts.
enum Start {
    /// With a GET of this URL.
    Get(Url),
    /// From a first page the round trip brought.
    Read(First),
    /// From a first page the round trip brought, already read.
    Page(Page),
}

/// The result of one search, all pages.
struct Search {
    ty: RecordType,
    items: Vec<Item>,
    issues: Vec<SourceIssue>,
    /// The error that ended the search, and whether any page was read before it.
    error: Option<SourceError>,
    pages_read: u32,
    bytes: usize,
    seen: HashSet<String>,
    position: usize,
    unreadable: u32,
    first_error: Option<String>,
    bad_dates: u32,
    unresolved: u32,
    positional: u32,
    other_patient: u32,
    /// The issues of the server's OperationOutcome entries.
    reported: Vec<Reported>,
}

impl Search {
    fn new(ty: RecordType) -> Self {
        Self {
            ty,
            items: Vec::new(),
            issues: Vec::new(),
            error: None,
            pages_read: 0,
            bytes: 0,
            seen: HashSet::new(),
            position: 0,
            unreadable: 0,
            first_error: None,
            bad_dates: 0,
            unresolved: 0,
            positional: 0,
            other_patient: 0,
            reported: Vec::new(),
        }
    }

    fn issue(&mut self, kind: IssueKind, message: String) {
        self.issues.push(SourceIssue {
            kind,
            section: Some(self.ty.section()),
            message,
        });
    }

    fn fail(&mut self, page_no: u32, e: SourceError) {
        let message = if page_no == 1 {
            format!("{} search failed: {e}", self.ty.name())
        } else {
            format!(
                "{} search failed at page {page_no}; earlier pages were read: {e}",
                self.ty.name()
            )
        };
        self.issue(IssueKind::SectionFailed, message);
        self.error = Some(e);
    }

    /// Takes a page's resources as items; returns its `next` link.
    fn take(
        &mut self,
        page: crate::page::Page,
        meta: &Arc<SourceMeta>,
        patient_id: &str,
        base: &Url,
    ) -> Option<String> {
        self.unreadable += page.unreadable;
        if self.first_error.is_none() {
            self.first_error = page.first_error;
        }
        self.reported.extend(page.reported);
        for found in page.found {
            self.position += 1;
            let mapped = found.mapped;
            self.bad_dates += mapped.bad_dates;
            self.unresolved += u32::from(mapped.unresolved_medication);
            if mapped
                .subject
                .as_deref()
                .is_some_and(|s| is_other_patient(s, patient_id, base))
            {
                self.other_patient += 1;
                continue;
            }
            let Content::Entry(entry) = mapped.content else {
                continue;
            };
            let name = self.ty.name();
            let by_id = mapped.id.as_deref().map(|id| format!("{name}/{id}"));
            let by_url = found
                .full_url
                .as_deref()
                .and_then(|u| icr_adapter_sdk::local_id_from_full_url(u, name));
            let provenance = by_id
                .into_iter()
                .chain(by_url)
                .find_map(|local| {
                    meta.provenance(&local, mapped.last_updated)
                        .ok()
                        .map(|p| (local, p))
                })
                .or_else(|| {
                    self.positional += 1;
                    let local = format!("{name}/#{}", self.position);
                    meta.provenance(&local, mapped.last_updated)
                        .ok()
                        .map(|p| (local, p))
                });
            let Some((local, provenance)) = provenance else {
                continue;
            };
            if self.seen.insert(local) {
                self.items.push(Item { entry, provenance });
            }
        }
        page.next
    }

    /// The issues of the whole search, counted per kind.
    fn finish(mut self) -> (Vec<Item>, Vec<SourceIssue>, Option<SourceError>) {
        let name = self.ty.name();
        if self.unreadable > 0 {
            let first = self.first_error.take().unwrap_or_default();
            let message = format!(
                "{} {name} resource(s) could not be read and were left out (first: {first})",
                self.unreadable
            );
            self.issue(IssueKind::Unreadable, message);
        }
        let (failures, warnings): (Vec<Reported>, Vec<Reported>) =
            std::mem::take(&mut self.reported)
                .into_iter()
                .partition(Reported::is_failure);
        if !failures.is_empty() {
            let message = format!(
                "the source reported a problem with the {name} search: {}",
                describe(&failures)
            );
            self.issue(IssueKind::SectionFailed, message);
        }
        if !warnings.is_empty() {
            let message = format!(
                "the source warned about the {name} search: {}",
                describe(&warnings)
            );
            self.issue(IssueKind::Note, message);
        }
        if self.bad_dates > 0 {
            let message = format!(
                "{} {name} date(s) could not be read and were left out",
                self.bad_dates
            );
            self.issue(IssueKind::Note, message);
        }
        if self.unresolved > 0 {
            let message = format!(
                "{} {name} medication reference(s) could not be resolved to a medicine",
                self.unresolved
            );
            self.issue(IssueKind::Note, message);
        }
        if self.positional > 0 {
            let message = format!(
                "{} {name} resource(s) had no id; positional ids were used",
                self.positional
            );
            self.issue(IssueKind::Note, message);
        }
        // A search that failed before reading any page is a failed search;
        // one that failed later has delivered part of its answer.
        let error = if self.pages_read == 0 {
            self.error
        } else {
            None
        };
        (self.items, self.issues, error)
    }
}

/// True when `subject` clearly names a Patient other than `patient_id`.
fn is_other_patient(subject: &str, patient_id: &str, base: &Url) -> bool {
    let local = local_reference(Some(base), subject);
    match local.rsplit_once("Patient/") {
        Some((prefix, id)) if prefix.is_empty() || prefix.ends_with('/') => {
            !id.is_empty() && !id.contains('/') && id != patient_id
        }
        _ => false,
    }
}

#[async_trait]
impl SourceAdapter for FhirR4Source {
    async fn fetch(&self, request: &FetchRequest) -> Result<SourceRecord, SourceError> {
        let deadline = icr_adapter_sdk::soft_deadline(request.deadline);
        let wanted = request.sections.intersection(self.offered);
        let nhs = request.nhs_number;
        let mut record = SourceRecord::default();
        let capability = self.capability();
        let plan = plan(wanted, &self.options, capability.as_deref());
        let how = round_trip(&plan.searches, &self.options, capability.as_deref());
        let answered = self
            .round_trip(how, &plan.searches, nhs, deadline, &mut record.wire_bytes)
            .await?;
        // The Patient first: not found, or failed, and nothing else the
        // round trip brought is read.
        let (patient_id, found) = match answered.patient {
            PatientAnswer::Body(answer) => self.read_patient(answer, nhs)?,
            PatientAnswer::Read(page) => the_patient(page?, nhs)?,
        };
        let last_updated = found.mapped.last_updated;
        let patient_local = format!("Patient/{patient_id}");
        if found.mapped.bad_dates > 0 && wanted.contains(Section::Demographics) {
            record.issues.push(SourceIssue {
                kind: IssueKind::Note,
                section: Some(Section::Demographics),
                message: format!(
                    "{} Patient date(s) could not be read and were left out",
                    found.mapped.bad_dates
                ),
            });
        }
        if let Content::Patient {
            demographics,
            contacts,
        } = found.mapped.content
        {
            if wanted.contains(Section::Demographics) {
                let provenance = self
                    .meta
                    .provenance(&patient_local, last_updated)
                    .map_err(|_| SourceError::Malformed("the Patient id is not usable".into()))?;
                record.patient = Some(PatientRecord {
                    demographics,
                    provenance,
                });
            }
            if wanted.contains(Section::Contacts) {
                record
                    .items
                    .extend(self.contact_items(&patient_local, last_updated, contacts));
            }
        }

        record.issues.extend(plan.notes);
        record
            .issues
            .extend(answered.note.map(|message| SourceIssue {
                kind: IssueKind::Note,
                section: None,
                message,
            }));
        let plan = plan.searches;
        if plan.is_empty() {
            return Ok(record);
        }
        let patient_id = patient_id.as_str();
        let starts: Vec<Start> = match answered.starts {
            Some(starts) => starts,
            None => plan
                .iter()
                .map(|p| Start::Get(self.search_url(*p, Who::Id(patient_id), None)))
                .collect(),
        };
        let mut done: Vec<(usize, Search)> =
            futures::stream::iter(plan.iter().copied().zip(starts).enumerate())
                .map(|(i, (p, start))| async move {
                    (i, self.search(p, start, patient_id, deadline).await)
                })
                .buffer_unordered(self.options.max_concurrent_searches)
                .collect()
                .await;
        done.sort_by_key(|(i, _)| *i);
        // A search that returned another patient's resources means the
        // source mixes people (or, chained on the NHS number, ignored the
        // chain): nothing from it can be trusted to be theirs.
        let mixed: u32 = done.iter().map(|(_, s)| s.other_patient).sum();
        if mixed > 0 {
            return Err(SourceError::IdentityMismatch(format!(
                "{mixed} resource(s) in the source's answer are about another patient; nothing from it is shown"
            )));
        }
        let mut failures = Vec::new();
        for (_, search) in done {
            record.wire_bytes += search.bytes;
            let (items, issues, error) = search.finish();
            record.items.extend(items);
            record.issues.extend(issues);
            failures.extend(error);
        }
        if failures.len() == plan.len() {
            return Err(SourceError::most_telling(failures)
                .unwrap_or_else(|| SourceError::Malformed("no search was made".into())));
        }
        Ok(record)
    }

    async fn prepare(&self, deadline: Instant) -> Preparation {
        match self.options.searches {
            Searches::All => Preparation {
                notes: vec![
                    "searches = \"all\": the CapabilityStatement is not read; every type of the offered sections is searched".into(),
                ],
                mismatches: Vec::new(),
            },
            Searches::Capability => self.read_capability(deadline).await,
        }
    }
}

impl FhirR4Source {
    fn contact_items(
        &self,
        patient_local: &str,
        last_updated: Option<icr_model::time::OffsetDateTime>,
        contacts: Vec<Contact>,
    ) -> Vec<Item> {
        contacts
            .into_iter()
            .enumerate()
            .filter_map(|(n, c)| {
                let local = format!("{patient_local}#contact-{}", n + 1);
                let provenance = self.meta.provenance(&local, last_updated).ok()?;
                Some(Item {
                    entry: Entry::Contact(c),
                    provenance,
                })
            })
            .collect()
    }
}
