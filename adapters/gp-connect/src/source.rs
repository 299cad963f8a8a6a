//! The network side: one `POST {endpoint}/Patient/$gpc.getstructuredrecord`
//! per fetch, with the Spine headers and the audit token, through the
//! SDK's HTTP client (deadline over the whole exchange, body cap, no
//! redirects); the answer is read by [`read_record`] off the async
//! threads, within the same deadline.

use std::sync::Arc;

use async_trait::async_trait;
use icr_adapter_sdk::http::HttpSource;
use icr_adapter_sdk::{
    BuildError, FetchRequest, RequestContext, SourceAdapter, SourceError, SourceSpec,
};
use icr_fhir_stu3::gpc::{FHIR_JSON, INTERACTION_ID, OPERATION_PATH};
use icr_fhir_stu3::params::{
    AllergiesQuery, ConsultationsQuery, ImmunisationsQuery, MedicationQuery, ProblemsQuery,
};
use icr_fhir_stu3::{Resource, StructuredRequest};
use icr_model::time::OffsetDateTime;
use icr_model::{NhsNumber, Section, SectionSet, SourceMeta, SourceRecord};
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use url::Url;

use crate::answer::{WHAT, status_error};
use crate::jwt::{Consumer, claims};
use crate::options::GpConnectOptions;
use crate::record::{RecordContext, read_record, supported_sections};

/// A GP practice's GP Connect Access Record: Structured endpoint as a source.
pub struct GpConnectSource {
    http: HttpSource,
    url: Url,
    audience: String,
    meta: Arc<SourceMeta>,
    options: GpConnectOptions,
    offered: SectionSet,
}

impl GpConnectSource {
    /// Builds the adapter for a registration whose options have been read:
    /// checks the options and that the registration offers only sections
    /// GP Connect can provide.
    pub fn new(spec: &SourceSpec, options: GpConnectOptions) -> Result<Self, BuildError> {
        let base = spec.base_url();
        let audience = options
            .audience
            .as_ref()
            .unwrap_or(&base)
            .as_str()
            .trim_end_matches('/')
            .to_string();
        let mut url = base.clone();
        url.set_path(&format!("{}{OPERATION_PATH}", base.path()));
        Ok(Self {
            http: HttpSource::new(spec)?,
            url,
            audience,
            meta: spec.meta(),
            options,
            offered: spec.sections,
        })
    }

    /// The URL the operation is posted to.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The request for `wanted` sections of one person, with this source's
    /// options: each clinical area its section needs, and nothing else.
    pub fn request_for(&self, nhs_number: NhsNumber, wanted: SectionSet) -> StructuredRequest {
        let mut r = StructuredRequest::new(nhs_number);
        for s in wanted.iter() {
            match s {
                Section::Allergies => {
                    r.allergies = Some(AllergiesQuery {
                        include_resolved: self.options.include_resolved_allergies,
                    })
                }
                Section::Medications => {
                    r.medication = Some(MedicationQuery {
                        include_prescription_issues: Some(self.options.include_prescription_issues),
                        search_from: None,
                    })
                }
                Section::Conditions => r.problems = Some(ProblemsQuery::default()),
                Section::Appointments => {
                    r.consultations = Some(ConsultationsQuery {
                        period: None,
                        most_recent: Some(self.options.most_recent_consultations),
                    })
                }
                Section::Results => r.investigations = Some(None),
                Section::Procedures => r.immunisations = Some(ImmunisationsQuery::default()),
                Section::Referrals => r.referrals = Some(None),
                Section::Demographics
                | Section::Contacts
                | Section::CareTeam
                | Section::Documents
                | Section::Alerts => {}
            }
        }
        r
    }

    /// The headers GP Connect requires of a consumer, for one request made
    /// at `now` (seconds since the epoch).
    pub fn headers(
        &self,
        context: &RequestContext,
        now: i64,
    ) -> Result<Vec<(&'static str, HeaderValue)>, SourceError> {
        let consumer = Consumer {
            issuer: self.options.issuer.as_str(),
            audience: &self.audience,
            asid: &self.options.consumer_asid,
        };
        let token = icr_fhir_stu3::jwt::token(&claims(context, &consumer, now))
            .map_err(|_| SourceError::Malformed("the audit token cannot be written".into()))?;
        let trace = HeaderValue::from_str(context.trace_id.trim())
            .ok()
            .filter(|_| !context.trace_id.trim().is_empty())
            .unwrap_or_else(|| {
                HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()).unwrap_or(
                    HeaderValue::from_static("00000000-0000-0000-0000-000000000000"),
                )
            });
        let value = |s: &str| {
            HeaderValue::from_str(s).map_err(|_| {
                SourceError::Malformed("a GP Connect header value cannot be written".into())
            })
        };
        Ok(vec![
            ("Ssp-TraceID", trace),
            ("Ssp-From", value(&self.options.consumer_asid)?),
            ("Ssp-To", value(&self.options.provider_asid)?),
            (
                "Ssp-InteractionID",
                HeaderValue::from_static(INTERACTION_ID),
            ),
            (ACCEPT.as_str(), HeaderValue::from_static(FHIR_JSON)),
            (CONTENT_TYPE.as_str(), HeaderValue::from_static(FHIR_JSON)),
            (AUTHORIZATION.as_str(), value(&format!("Bearer {token}"))?),
        ])
    }
}

#[async_trait]
impl SourceAdapter for GpConnectSource {
    async fn fetch(&self, request: &FetchRequest) -> Result<SourceRecord, SourceError> {
        let started = tokio::time::Instant::now();
        let wanted = request
            .sections
            .intersection(self.offered)
            .intersection(supported_sections());
        let body = self.request_for(request.nhs_number, wanted);
        let body = serde_json::to_vec(&Resource::Parameters(body.to_parameters()))
            .map_err(|_| SourceError::Malformed("the request body cannot be written".into()))?;
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let mut post = self.http.client().post(self.url.clone()).body(body);
        for (name, value) in self.headers(&request.context, now)? {
            post = post.header(name, value);
        }
        let response = self.http.send(post, request.deadline, WHAT).await?;
        if !response.is_success() {
            return Err(status_error(response.status, &response.body));
        }
        let meta = Arc::clone(&self.meta);
        let nhs_number = request.nhs_number;
        let include_resolved_allergies = self.options.include_resolved_allergies;
        let include_prescription_issues = self.options.include_prescription_issues;
        let max_entries = self.options.max_entries;
        let read = tokio::task::spawn_blocking(move || {
            let ctx = RecordContext {
                meta: &meta,
                nhs_number,
                wanted,
                include_resolved_allergies,
                include_prescription_issues,
                max_entries,
            };
            read_record(&response.body, &ctx)
        });
        match tokio::time::timeout_at(request.deadline, read).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(SourceError::Malformed(
                "reading the structured record failed".into(),
            )),
            Err(_) => Err(SourceError::Timeout {
                after_ms: started.elapsed().as_millis() as u64,
            }),
        }
    }
}
