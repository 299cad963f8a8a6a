//! The request's round trip, as [`RoundTrip`] plans it: a `batch`, a wave
//! of searches chained on the NHS number, a Patient search with
//! `_revinclude`, or the Patient search alone (its searches follow with its
//! id). Each hands back the Patient search's answer and where each planned
//! search starts; reading them is the caller's.

use futures::StreamExt;
use icr_adapter_sdk::SourceError;
use icr_adapter_sdk::fhir_search::FHIR_JSON;
use icr_model::NhsNumber;
use tokio::time::Instant;
use url::Url;

use super::{FhirR4Source, First, PATIENT_SEARCH, Start, Who, patient_failure};
use crate::map::RecordType;
use crate::page::{Page, http_failure, read_revinclude};
use crate::plan::{Planned, RoundTrip};

/// The name of the batch request in errors.
const BATCH: &str = "batch of searches";

/// What a request's round trip brought.
pub(super) struct Answered {
    /// The Patient search's answer.
    pub(super) patient: PatientAnswer,
    /// Where each planned search starts, in plan order; `None`: each is
    /// asked with the Patient's id.
    pub(super) starts: Option<Vec<Start>>,
    /// What the record should say about how it was read.
    pub(super) note: Option<String>,
}

/// The Patient search's answer.
pub(super) enum PatientAnswer {
    /// As sent.
    Body(First),
    /// Already read.
    Read(Result<Page, SourceError>),
}

impl FhirR4Source {
    /// The request's round trip as `how` plans it: the Patient search's
    /// answer, and where each planned search starts.
    pub(super) async fn round_trip(
        &self,
        how: RoundTrip,
        searches: &[Planned],
        nhs: NhsNumber,
        deadline: Instant,
        wire: &mut usize,
    ) -> Result<Answered, SourceError> {
        match how {
            RoundTrip::PatientFirst => Ok(self.patient_first(nhs, deadline, wire).await),
            RoundTrip::Chained => Ok(self.chained(searches, nhs, deadline, wire).await),
            RoundTrip::Batch => self.batch(searches, nhs, deadline, wire).await,
            RoundTrip::RevInclude => Ok(self.revinclude(searches, nhs, deadline, wire).await),
        }
    }

    /// The Patient search alone; the searches follow with its id.
    async fn patient_first(&self, nhs: NhsNumber, deadline: Instant, wire: &mut usize) -> Answered {
        Answered {
            patient: PatientAnswer::Body(self.get_patient(nhs, deadline, wire).await),
            starts: None,
            note: None,
        }
    }

    /// The Patient search and every search chained on the NHS number,
    /// sent at once.
    async fn chained(
        &self,
        searches: &[Planned],
        nhs: NhsNumber,
        deadline: Instant,
        wire: &mut usize,
    ) -> Answered {
        let mut patient_bytes = 0;
        let patient = self.get_patient(nhs, deadline, &mut patient_bytes);
        let sections = futures::stream::iter(searches.iter().copied())
            .map(|p| async move {
                let what = format!("{} search", p.ty.name());
                let mut bytes = 0;
                let url = self.search_url(p, Who::Nhs(nhs), None);
                let answer = self
                    .fhir
                    .get(url, &what, deadline, &mut bytes, |status, body| {
                        http_failure(status, &what, body)
                    })
                    .await;
                (answer, bytes)
            })
            .buffered(self.options.max_concurrent_searches)
            .collect::<Vec<_>>();
        let (patient, sections) = futures::join!(patient, sections);
        *wire += patient_bytes + sections.iter().map(|(_, b)| b).sum::<usize>();
        Answered {
            patient: PatientAnswer::Body(patient),
            starts: Some(sections.into_iter().map(|(a, _)| Start::Read(a)).collect()),
            note: None,
        }
    }

    /// One `POST [base]` of a batch of the Patient search and every search
    /// chained on the NHS number. A server that refuses the batch itself
    /// (405, 501), or answers it with more than the body limit, is asked
    /// Patient first instead, and a note says so.
    async fn batch(
        &self,
        searches: &[Planned],
        nhs: NhsNumber,
        deadline: Instant,
        wire: &mut usize,
    ) -> Result<Answered, SourceError> {
        let base = self.fhir.base().as_str();
        let relative = |url: Url| {
            url.as_str()
                .strip_prefix(base)
                .map_or_else(|| url.to_string(), str::to_string)
        };
        let urls: Vec<String> = std::iter::once(self.patient_url(nhs))
            .chain(
                searches
                    .iter()
                    .map(|p| self.search_url(*p, Who::Nhs(nhs), None)),
            )
            .map(relative)
            .collect();
        let http = self.fhir.http();
        // `POST [base]`: the base without its closing `/`.
        let mut target = self.fhir.base().clone();
        let path = target.path().trim_end_matches('/').to_string();
        target.set_path(&path);
        let post = http
            .client()
            .post(target)
            .header("accept", FHIR_JSON)
            .header("content-type", FHIR_JSON)
            .body(crate::batch::request(&urls));
        let why = match http.send(post, deadline, BATCH).await {
            Err(SourceError::TooLarge { limit }) => {
                format!("the source's answer to the batch request was over the {limit} byte limit")
            }
            Err(e) => return Err(e),
            Ok(response) if matches!(response.status, 405 | 501) => {
                *wire += response.body.len();
                format!(
                    "the source refused the batch request (HTTP {})",
                    response.status
                )
            }
            Ok(response) => return self.read_batch(response, searches, urls.len(), wire),
        };
        let mut answered = self.patient_first(nhs, deadline, wire).await;
        answered.note = Some(format!("{why}; this record was read Patient search first"));
        Ok(answered)
    }

    /// The round trip a batch's answer brought.
    fn read_batch(
        &self,
        response: icr_adapter_sdk::http::HttpResponse,
        searches: &[Planned],
        asked: usize,
        wire: &mut usize,
    ) -> Result<Answered, SourceError> {
        *wire += response.body.len();
        if !response.is_success() {
            return Err(http_failure(response.status, BATCH, &response.body));
        }
        let mut answers = crate::batch::read_response(&response.body, asked)?.into_iter();
        let patient = answers
            .next()
            .unwrap_or_else(|| Err(SourceError::Malformed("the batch response is empty".into())))
            .and_then(|a| a.into_result(patient_failure));
        let starts =
            searches
                .iter()
                .zip(answers)
                .map(|(p, answer)| {
                    let what = format!("{} search", p.ty.name());
                    Start::Read(answer.and_then(|a| {
                        a.into_result(|status, body| http_failure(status, &what, body))
                    }))
                })
                .collect();
        Ok(Answered {
            patient: PatientAnswer::Body(patient),
            starts: Some(starts),
            note: None,
        })
    }

    /// One Patient search bringing every planned type along
    /// (`_revinclude`). An answer over the body limit is asked again
    /// Patient first, and a note says so. An answer with more pages, with
    /// the server's own issues in it, or with more of a type than
    /// `page_size` × `max_pages`, is not split: each type is then searched
    /// with the Patient's id, so that bounds, truncation and failures are
    /// reported per section exactly as the other plans report them.
    async fn revinclude(
        &self,
        searches: &[Planned],
        nhs: NhsNumber,
        deadline: Instant,
        wire: &mut usize,
    ) -> Answered {
        let mut url = self.patient_url(nhs);
        {
            let mut q = url.query_pairs_mut();
            for p in searches {
                q.append_pair("_revinclude", &format!("{}:patient", p.ty.name()));
            }
            for include in searches.iter().filter_map(|p| p.include) {
                q.append_pair("_include:iterate", include);
            }
        }
        let answer = match self
            .fhir
            .get(url, PATIENT_SEARCH, deadline, wire, patient_failure)
            .await
        {
            Err(SourceError::TooLarge { limit }) => {
                let mut answered = self.patient_first(nhs, deadline, wire).await;
                answered.note = Some(format!(
                    "the source's answer to the Patient search with _revinclude was over the {limit} byte limit; this record was read Patient search first"
                ));
                return answered;
            }
            answer => answer,
        };
        let types: Vec<RecordType> = searches.iter().map(|p| p.ty).collect();
        let read = answer.and_then(|body| {
            read_revinclude(&body, &self.page_context(RecordType::Patient), &types)
        });
        // What the other plans would read at most of one type.
        let bound = self.options.page_size as usize * self.options.max_pages as usize;
        match read {
            Ok((patient, pages))
                if patient.next.is_none()
                    && patient.reported.is_empty()
                    && pages
                        .iter()
                        .all(|p| p.found.len() + p.unreadable as usize <= bound) =>
            {
                Answered {
                    patient: PatientAnswer::Read(Ok(patient)),
                    starts: Some(pages.into_iter().map(Start::Page).collect()),
                    note: None,
                }
            }
            Ok((mut patient, _)) => {
                patient.next = None;
                patient.reported.clear();
                Answered {
                    patient: PatientAnswer::Read(Ok(patient)),
                    starts: None,
                    note: None,
                }
            }
            Err(e) => Answered {
                patient: PatientAnswer::Read(Err(e)),
                starts: None,
                note: None,
            },
        }
    }
}
