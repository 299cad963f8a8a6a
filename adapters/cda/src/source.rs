//! The network side: the registry search (paged, on the registry's own
//! server), then the listed documents, fetched concurrently under a bound
//! and read as they arrive.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use async_trait::async_trait;
use futures::StreamExt;
use icr_adapter_sdk::fhir_search::{End, FhirClient, Next, PageFailed, Search};
use icr_adapter_sdk::outcome;
use icr_adapter_sdk::{
    BuildError, FetchRequest, SourceAdapter, SourceError, SourceSpec, quoting_source,
};
use icr_fhir::NHS_NUMBER_SYSTEM;
use icr_model::{
    Entry, IssueKind, Item, NhsNumber, Section, SectionSet, SourceIssue, SourceMeta, SourceRecord,
};
use tokio::time::Instant;
use url::Url;

use crate::cda::{self, ReadLimits};
use crate::map::{IdentityProblem, Mapped, Origin, check_identity, map_document};
use crate::options::CdaOptions;
use crate::registry::{Listed, RegistryContext, RegistryPage, read_registry};

/// The media types asked of a document server.
const CDA_ACCEPT: &str = "application/hl7-v3+xml, text/xml;q=0.9, application/xml;q=0.8";

/// A document registry and its CDA documents, as a source.
pub struct CdaSource {
    fhir: FhirClient,
    meta: Arc<SourceMeta>,
    options: CdaOptions,
    offered: SectionSet,
    limits: ReadLimits,
}

/// The sections a `cda` source can provide.
pub fn provided() -> SectionSet {
    crate::KIND.offers.sections()
}

impl CdaSource {
    /// Builds the adapter for a registration its kind has checked
    /// ([`KIND`](crate::KIND)).
    pub fn new(spec: &SourceSpec, options: CdaOptions) -> Result<Self, BuildError> {
        let limits = ReadLimits {
            max_text_chars: options.max_text_chars,
            ..ReadLimits::default()
        };
        Ok(Self {
            fhir: FhirClient::new(spec)?,
            meta: spec.meta(),
            options,
            offered: spec.sections,
            limits,
        })
    }

    fn search_url(&self, nhs: NhsNumber) -> Url {
        let mut url = self.fhir.url("DocumentReference");
        url.query_pairs_mut()
            .append_pair(
                "patient.identifier",
                &format!("{NHS_NUMBER_SYSTEM}|{}", nhs.as_str()),
            )
            .append_pair("_count", &self.options.page_size.to_string());
        url
    }

    /// Reads the registry's pages; errors on the first page fail the fetch.
    async fn list(
        &self,
        nhs: NhsNumber,
        deadline: Instant,
        record: &mut SourceRecord,
        tally: &mut Tally,
    ) -> Result<Vec<Listed>, SourceError> {
        let what = "registry search";
        let ctx = RegistryContext {
            origins: self.fhir.origins(),
            nhs_number: nhs,
        };
        let mut listed: Vec<Listed> = Vec::new();
        let want = self.options.max_documents;
        let search = Search {
            what,
            max_pages: self.options.max_registry_pages,
            deadline,
        };
        let end = self
            .fhir
            .pages(
                search,
                self.search_url(nhs),
                &mut record.wire_bytes,
                |page_no, status, body| {
                    if page_no == 1 && status == 404 && crate::registry::is_not_found_outcome(body)
                    {
                        SourceError::PatientNotFound
                    } else {
                        outcome::status_error(status, body, what)
                    }
                },
                |page_no, body| {
                    let page = read_registry(body, &ctx)?;
                    if page_no == 1 && page.patient_not_found {
                        return Err(SourceError::PatientNotFound);
                    }
                    Ok(match tally.take_page(page, &mut listed) {
                        None => Next::Last,
                        // Enough listed: what the next pages hold is not read.
                        Some(_) if listed.len() >= want => Next::Enough,
                        Some(next) => Next::Link(next),
                    })
                },
            )
            .await;
        match end {
            Ok(End::Last) => {}
            Ok(End::Enough) => tally.more_listed = true,
            Ok(End::MorePages(_)) => tally.more_pages = true,
            Ok(End::Elsewhere) => tally.foreign_next = true,
            // A first page that failed fails the fetch; a later one loses
            // what was not read, and says so.
            Err(PageFailed { page: 1, error }) => return Err(error),
            Err(PageFailed { page, error }) => tally.registry_failed(page, error),
        }
        Ok(listed)
    }

    /// Fetches and reads one document.
    async fn document(&self, listed: &Listed, nhs: NhsNumber, deadline: Instant) -> Outcome {
        let what = "CDA document";
        let response = match self
            .fhir
            .http()
            .get(listed.url.clone(), CDA_ACCEPT, deadline, what)
            .await
        {
            Ok(r) => r,
            Err(e) => return Outcome::FetchFailed(e),
        };
        let bytes = response.body.len();
        if !response.is_success() {
            return Outcome::FetchFailed(outcome::status_error(
                response.status,
                &response.body,
                what,
            ));
        }
        // The document server saying, in a 200, that it failed.
        if let Some(said) = outcome::Outcome::read(&response.body) {
            return Outcome::FetchFailed(SourceError::Refused(quoting_source(
                format!(
                    "{what}: the document server answered with an OperationOutcome instead of a CDA document ({})",
                    said.summary()
                ),
                &said.said(),
            )));
        }
        let doc = match cda::read(&response.body, &self.limits) {
            Ok(d) => d,
            Err(e) => return Outcome::Unreadable(e.to_string(), bytes),
        };
        drop(response);
        if let Err(problem) = check_identity(&doc, nhs, listed.vouched) {
            return Outcome::Refused(problem, bytes);
        }
        let url = listed.url.to_string();
        let mapped = map_document(
            &doc,
            &Origin {
                url: &url,
                size: Some(bytes as u64),
                listed: Some(listed),
            },
        );
        Outcome::Read {
            mapped: Box::new(mapped),
            restricted: doc.is_restricted(),
            bytes,
            text_truncated: doc.text_truncated,
            sections_skipped: doc.sections_skipped,
            bad_dates: doc.bad_dates,
        }
    }

    /// The record id of a document: the registry's id, else its URL path.
    fn local_id(listed: &Listed) -> String {
        match &listed.id {
            Some(id) => format!("DocumentReference/{id}"),
            None => listed.url.path().to_string(),
        }
    }
}

/// What became of one listed document.
enum Outcome {
    Read {
        mapped: Box<Mapped>,
        /// The document's confidentiality asks for more than normal care.
        restricted: bool,
        bytes: usize,
        text_truncated: bool,
        sections_skipped: usize,
        bad_dates: u32,
    },
    FetchFailed(SourceError),
    Unreadable(String, usize),
    Refused(IdentityProblem, usize),
}

/// Counts of everything not shown, turned into issues at the end.
#[derive(Default)]
struct Tally {
    unreadable_entries: usize,
    first_entry_error: Option<String>,
    not_cda: usize,
    no_url: usize,
    foreign_url: usize,
    other_patient: usize,
    inactive: usize,
    /// What the registry reported in error OperationOutcome entries, by
    /// page.
    reported: Vec<outcome::Outcome>,
    /// The page of the registry's search that failed, and how.
    registry_error: Option<(u32, SourceError)>,
    more_listed: bool,
    more_pages: bool,
    foreign_next: bool,
    duplicates: usize,
    /// Position in the list of each document URL listed.
    by_url: HashMap<Url, usize>,
    over_limit: usize,
    fetch_failed: Vec<SourceError>,
    unreadable: usize,
    first_unreadable: Option<String>,
    refused: Vec<IdentityProblem>,
    truncated_text: usize,
    sections_skipped: usize,
    bad_dates: usize,
    read: usize,
}

impl Tally {
    fn registry_failed(&mut self, page_no: u32, e: SourceError) {
        self.registry_error = Some((page_no, e));
    }

    /// Why the source failed, when it did and nothing could be read: the
    /// most telling of a failed registry page, the errors the registry
    /// reported, documents that could not be fetched or read, and
    /// registry entries that could not be read. `None` when nothing
    /// failed (nothing was listed, or only what the gateway leaves out).
    fn failure(&self, listed_any: bool) -> Option<SourceError> {
        let mut errors: Vec<SourceError> = Vec::new();
        if let Some((_, e)) = &self.registry_error {
            errors.push(e.clone());
        }
        if !self.reported.is_empty() {
            let all = outcome::Outcome {
                issues: self
                    .reported
                    .iter()
                    .flat_map(|o| o.issues.iter().cloned())
                    .collect(),
            };
            errors.push(SourceError::Refused(quoting_source(
                format!(
                    "registry search: the registry reported an error{} ({})",
                    if listed_any {
                        ""
                    } else {
                        " and listed nothing"
                    },
                    all.summary()
                ),
                &all.said(),
            )));
        }
        errors.extend(self.fetch_failed.iter().cloned());
        if self.unreadable > 0 {
            errors.push(SourceError::Malformed(format!(
                "CDA document: {}",
                self.first_unreadable.as_deref().unwrap_or("unreadable")
            )));
        }
        if self.unreadable_entries > 0 {
            errors.push(SourceError::Malformed(format!(
                "registry search: {}",
                self.first_entry_error
                    .as_deref()
                    .unwrap_or("an entry is unreadable")
            )));
        }
        SourceError::most_telling(errors)
    }

    /// Adds a page's documents to `listed` (once per URL); returns its
    /// `next` link.
    fn take_page(&mut self, page: RegistryPage, listed: &mut Vec<Listed>) -> Option<String> {
        self.unreadable_entries += page.unreadable as usize;
        if self.first_entry_error.is_none() {
            self.first_entry_error = page.first_error;
        }
        self.not_cda += page.not_cda as usize;
        self.no_url += page.no_url as usize;
        self.foreign_url += page.foreign_url as usize;
        self.other_patient += page.other_patient as usize;
        self.inactive += page.inactive as usize;
        self.reported.extend(page.reported);
        for l in page.listed {
            match self.by_url.get(&l.url).and_then(|i| listed.get_mut(*i)) {
                Some(x) => {
                    // One entry naming the person by NHS number vouches
                    // for the document, whichever came first.
                    x.vouched |= l.vouched;
                    self.duplicates += 1;
                }
                None => {
                    self.by_url.insert(l.url.clone(), listed.len());
                    listed.push(l);
                }
            }
        }
        page.next
    }

    fn issues(&self, section: Section, max_documents: usize, max_text: usize) -> Vec<SourceIssue> {
        let mut out = Vec::new();
        let mut issue = |kind: IssueKind, message: String| {
            out.push(SourceIssue {
                kind,
                section: Some(section),
                message,
            });
        };
        if let Some((page_no, e)) = &self.registry_error {
            issue(
                IssueKind::SectionFailed,
                format!(
                    "the registry search failed at page {page_no}; documents listed on earlier pages were read: {e}"
                ),
            );
        }
        for r in &self.reported {
            issue(
                IssueKind::SectionFailed,
                quoting_source(
                    format!(
                        "the registry reported a problem with the search ({})",
                        r.summary()
                    ),
                    &r.said(),
                ),
            );
        }
        if self.more_listed {
            issue(
                IssueKind::Truncated,
                format!(
                    "the registry lists more than {}; the {max_documents} most recent of those listed on the pages read were fetched and the rest were not",
                    documents(max_documents)
                ),
            );
        } else if self.over_limit > 0 {
            issue(
                IssueKind::Truncated,
                format!(
                    "the registry lists {}; the {max_documents} most recent were read and the other {} not fetched",
                    documents(self.over_limit + max_documents),
                    self.over_limit
                ),
            );
        } else if self.more_pages {
            issue(
                IssueKind::Truncated,
                "the registry has more pages than are read; the documents on them were not fetched"
                    .into(),
            );
        }
        if self.foreign_next {
            issue(
                IssueKind::Truncated,
                "the registry's next page is on another server and was not read".into(),
            );
        }
        if self.unreadable_entries > 0 {
            issue(
                IssueKind::Unreadable,
                format!(
                    "{} could not be read and {} left out (first: {})",
                    entries(self.unreadable_entries),
                    were(self.unreadable_entries),
                    self.first_entry_error.as_deref().unwrap_or("unknown")
                ),
            );
        }
        if self.not_cda > 0 {
            issue(
                IssueKind::Unreadable,
                format!(
                    "{} {} not for a CDA document and {} not read",
                    entries(self.not_cda),
                    are(self.not_cda),
                    were(self.not_cda)
                ),
            );
        }
        if self.no_url > 0 {
            issue(
                IssueKind::Unreadable,
                format!(
                    "{} with no document URL {} not read",
                    entries(self.no_url),
                    were(self.no_url)
                ),
            );
        }
        if self.foreign_url > 0 {
            issue(
                IssueKind::Unreadable,
                format!(
                    "{} {} at another server; {} not fetched",
                    entries(self.foreign_url),
                    if self.foreign_url == 1 {
                        "points"
                    } else {
                        "point"
                    },
                    if self.foreign_url == 1 {
                        "its document was"
                    } else {
                        "their documents were"
                    }
                ),
            );
        }
        if self.other_patient > 0 {
            issue(
                IssueKind::Note,
                format!(
                    "{} about another patient {} left out",
                    entries(self.other_patient),
                    were(self.other_patient)
                ),
            );
        }
        if self.inactive > 0 {
            issue(
                IssueKind::Note,
                format!(
                    "{} superseded or entered in error {} left out",
                    entries(self.inactive),
                    were(self.inactive)
                ),
            );
        }
        if self.duplicates > 0 {
            issue(
                IssueKind::Note,
                format!(
                    "{} {} a document already listed; each document was read once",
                    entries(self.duplicates),
                    if self.duplicates == 1 {
                        "repeats"
                    } else {
                        "repeat"
                    }
                ),
            );
        }
        if let Some(first) = self.fetch_failed.first() {
            issue(
                IssueKind::Unreadable,
                format!(
                    "{} could not be fetched and {} left out (first: {first})",
                    documents(self.fetch_failed.len()),
                    were(self.fetch_failed.len())
                ),
            );
        }
        if self.unreadable > 0 {
            issue(
                IssueKind::Unreadable,
                format!(
                    "{} could not be read and {} left out (first: {})",
                    documents(self.unreadable),
                    were(self.unreadable),
                    self.first_unreadable.as_deref().unwrap_or("unknown")
                ),
            );
        }
        let mut problems = self.refused.clone();
        problems.sort_by_key(|p| *p as u8);
        problems.dedup();
        for p in problems {
            let n = self.refused.iter().filter(|x| **x == p).count();
            issue(
                IssueKind::Unreadable,
                format!("{} {} refused: {p}", documents(n), were(n)),
            );
        }
        if self.truncated_text > 0 {
            issue(
                IssueKind::Note,
                format!(
                    "the text of {} was cut at {max_text} characters",
                    documents(self.truncated_text)
                ),
            );
        }
        if self.sections_skipped > 0 {
            issue(
                IssueKind::Note,
                format!(
                    "{} over the limit per document {} left out of the text",
                    counted(self.sections_skipped, "section", "sections"),
                    were(self.sections_skipped)
                ),
            );
        }
        if self.bad_dates > 0 {
            issue(
                IssueKind::Note,
                format!(
                    "{} in CDA documents could not be read and {} left out",
                    counted(self.bad_dates, "date", "dates"),
                    were(self.bad_dates)
                ),
            );
        }
        out
    }
}

/// `n` things, singular or plural.
fn counted(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn entries(n: usize) -> String {
    counted(n, "registry entry", "registry entries")
}

fn documents(n: usize) -> String {
    counted(n, "CDA document", "CDA documents")
}

fn were(n: usize) -> &'static str {
    if n == 1 { "was" } else { "were" }
}

fn are(n: usize) -> &'static str {
    if n == 1 { "is" } else { "are" }
}

/// Newest first by the registry's date; undated last, in registry order.
fn newest_first(listed: &mut [Listed]) {
    listed.sort_by(|a, b| match (&a.date, &b.date) {
        (Some(x), Some(y)) => y.cmp(x),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => std::cmp::Ordering::Equal,
    });
}

#[async_trait]
impl SourceAdapter for CdaSource {
    async fn fetch(&self, request: &FetchRequest) -> Result<SourceRecord, SourceError> {
        let wanted = request.sections.intersection(self.offered);
        let want_documents = wanted.contains(Section::Documents);
        let want_encounters = wanted.contains(Section::Appointments);
        if !want_documents && !want_encounters {
            return Ok(SourceRecord::default());
        }
        let deadline = icr_adapter_sdk::soft_deadline(request.deadline);
        let nhs = request.nhs_number;
        let mut record = SourceRecord::default();
        let mut tally = Tally::default();
        let mut listed = self.list(nhs, deadline, &mut record, &mut tally).await?;
        let max = self.options.max_documents;
        if listed.len() > max {
            newest_first(&mut listed);
            tally.over_limit = listed.len() - max;
            listed.truncate(max);
        }
        let listed = &listed;
        let fetches: Vec<_> = listed
            .iter()
            .enumerate()
            .map(|(i, l)| async move { (i, self.document(l, nhs, deadline).await) })
            .collect();
        let mut done: Vec<(usize, Outcome)> = futures::stream::iter(fetches)
            .buffer_unordered(self.options.max_concurrent_fetches)
            .collect()
            .await;
        done.sort_by_key(|(i, _)| *i);
        let mut seen: HashSet<String> = HashSet::new();
        for (i, outcome) in done {
            let Some(l) = listed.get(i) else { continue };
            match outcome {
                Outcome::Read {
                    mapped,
                    restricted,
                    bytes,
                    text_truncated,
                    sections_skipped,
                    bad_dates,
                } => {
                    record.wire_bytes += bytes;
                    tally.read += 1;
                    tally.truncated_text += usize::from(text_truncated);
                    tally.sections_skipped += sections_skipped;
                    tally.bad_dates += bad_dates as usize;
                    let local = Self::local_id(l);
                    if !seen.insert(local.clone()) {
                        continue;
                    }
                    let Mapped {
                        document,
                        encounter,
                        ..
                    } = *mapped;
                    if want_documents
                        && let Ok(mut p) = self.meta.provenance(&local, l.last_updated)
                    {
                        p.restricted = restricted;
                        record.items.push(Item {
                            entry: Entry::Document(document),
                            provenance: p,
                        });
                    }
                    if want_encounters
                        && let Some(a) = encounter
                        && let Ok(mut p) = self
                            .meta
                            .provenance(&format!("{local}#encounter"), l.last_updated)
                    {
                        p.restricted = restricted;
                        record.items.push(Item {
                            entry: Entry::Appointment(a),
                            provenance: p,
                        });
                    }
                }
                Outcome::FetchFailed(e) => tally.fetch_failed.push(e),
                Outcome::Unreadable(e, bytes) => {
                    record.wire_bytes += bytes;
                    tally.unreadable += 1;
                    tally.first_unreadable.get_or_insert(e);
                }
                Outcome::Refused(p, bytes) => {
                    record.wire_bytes += bytes;
                    tally.refused.push(p);
                }
            }
        }
        // The wrong-patient guard: a registry listing another person's
        // documents, or a document about someone else (or several people),
        // means the source mixes people; nothing from it is shown.
        let foreign_documents = tally
            .refused
            .iter()
            .filter(|p| {
                matches!(
                    p,
                    IdentityProblem::OtherPatient | IdentityProblem::SeveralPatients
                )
            })
            .count();
        if tally.other_patient > 0 || foreign_documents > 0 {
            return Err(SourceError::IdentityMismatch(format!(
                "{} registry entr{} and {foreign_documents} document(s) are about another patient; nothing from this source is shown",
                tally.other_patient,
                if tally.other_patient == 1 { "y" } else { "ies" }
            )));
        }
        // Nothing read, and the registry or the documents failed: the
        // source failed, and must not look like a source with nothing to
        // say.
        if tally.read == 0
            && let Some(e) = tally.failure(!listed.is_empty())
        {
            return Err(e);
        }
        let section = if want_documents {
            Section::Documents
        } else {
            Section::Appointments
        };
        record.issues = tally.issues(section, max, self.options.max_text_chars);
        Ok(record)
    }
}
