//! The network side: one `POST` of the request envelope through the SDK's
//! shared HTTP client, under the request's deadline and the source's body
//! cap; the answer is read by [`read_answer`].

use std::sync::Arc;

use async_trait::async_trait;
use icr_adapter_sdk::http::HttpSource;
use icr_adapter_sdk::{BuildError, FetchRequest, SourceAdapter, SourceError, SourceSpec};
use icr_model::{SectionSet, SourceMeta, SourceRecord};
use url::Url;

use crate::answer::{Expected, ReadLimits, WHAT, read_answer};
use crate::options::SoapXmlOptions;
use crate::request::{PersonSummaryRequest, write_request};

/// The media type of SOAP 1.1 requests.
pub const CONTENT_TYPE: &str = "text/xml; charset=utf-8";

/// A council's person-summary service as a source.
pub struct SoapXmlSource {
    http: HttpSource,
    endpoint: Url,
    meta: Arc<SourceMeta>,
    soap_action: String,
    limits: ReadLimits,
    offered: SectionSet,
}

impl SoapXmlSource {
    /// Builds the adapter for a registration its kind has checked
    /// ([`KIND`](crate::KIND)).
    pub fn new(spec: &SourceSpec, options: SoapXmlOptions) -> Result<Self, BuildError> {
        let mut endpoint = spec.endpoint.clone();
        endpoint.set_fragment(None);
        Ok(Self {
            http: HttpSource::new(spec)?,
            endpoint,
            meta: spec.meta(),
            soap_action: format!("\"{}\"", options.soap_action.trim()),
            limits: options.limits(),
            offered: spec.sections,
        })
    }
}

#[async_trait]
impl SourceAdapter for SoapXmlSource {
    async fn fetch(&self, request: &FetchRequest) -> Result<SourceRecord, SourceError> {
        let wanted = request.sections.intersection(self.offered);
        if wanted.is_empty() {
            return Ok(SourceRecord::default());
        }
        let body = write_request(&PersonSummaryRequest {
            nhs_number: request.nhs_number,
            context: &request.context,
            sections: wanted,
        })
        .map_err(|_| {
            SourceError::Unavailable(format!("{WHAT}: the request could not be written"))
        })?;
        let post = self
            .http
            .client()
            .post(self.endpoint.clone())
            .header("content-type", CONTENT_TYPE)
            .header("soapaction", self.soap_action.as_str())
            .header("accept", "text/xml")
            .body(body);
        let response = self.http.send(post, request.deadline, WHAT).await?;
        let expected = Expected {
            nhs_number: request.nhs_number,
            correlation_id: &request.context.trace_id,
            sections: wanted,
        };
        read_answer(
            response.status,
            &response.body,
            &expected,
            &self.limits,
            &self.meta,
        )
    }
}
