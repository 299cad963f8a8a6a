//! The network side: one QBP^Q11 query over MLLP per fetch, through the
//! connection pool, under the request's deadline.

use std::sync::Arc;

use async_trait::async_trait;
use icr_adapter_sdk::{BuildError, FetchRequest, SourceAdapter, SourceError, SourceSpec};
use icr_hl7v2::Limits;
use icr_hl7v2::mllp::encode_frame;
use icr_model::time::OffsetDateTime;
use icr_model::{Section, SourceMeta, SourceRecord};
use tokio::time::Instant;

use crate::answer::{Expected, ReadContext, read_answer};
use crate::options::Settings;
use crate::pool::Pool;
use crate::query::{Query, write_query};

/// An HL7 v2 lab or radiology system, queried over MLLP.
pub struct Hl7v2Source {
    meta: Arc<SourceMeta>,
    settings: Settings,
    pool: Pool,
}

impl Hl7v2Source {
    /// Builds the adapter for a registration its kind has checked
    /// ([`KIND`](crate::KIND)), with its settings. The endpoint is
    /// `mllp://host:port` (`tcp://host:port` is accepted as the same
    /// thing); MLLP over TLS is not supported.
    pub fn new(spec: &SourceSpec, settings: Settings) -> Result<Self, BuildError> {
        let (host, port) = endpoint(&spec.endpoint)?;
        Ok(Self {
            meta: spec.meta(),
            pool: Pool::new(host, port, settings.max_connections, settings.idle_timeout),
            settings,
        })
    }

    /// Connections opened to the source so far (for tests and metrics).
    pub fn connections_opened(&self) -> u64 {
        self.pool.opened()
    }

    /// Connections idle in the pool now.
    pub fn connections_idle(&self) -> usize {
        self.pool.idle()
    }

    async fn query(&self, request: &FetchRequest) -> Result<SourceRecord, SourceError> {
        let control_id = new_id();
        let query_tag = new_id();
        let text = write_query(&Query {
            settings: &self.settings,
            control_id: &control_id,
            query_tag: &query_tag,
            nhs_number: request.nhs_number,
            now: OffsetDateTime::now_utc(),
        });
        let frame = encode_frame(text.as_bytes())
            .map_err(|e| SourceError::Malformed(format!("cannot frame the query: {e}")))?;
        let (answer, lease) = self
            .pool
            .exchange(&frame, self.settings.max_message_bytes)
            .await?;
        let ctx = ReadContext {
            meta: &self.meta,
            local_zone: self.settings.local_time_zone,
            limits: Limits {
                max_message_bytes: self.settings.max_message_bytes,
                ..Limits::default()
            },
            sections: request.sections,
        };
        let expected = Expected {
            control_id: &control_id,
            query_tag: &query_tag,
            nhs_number: request.nhs_number,
        };
        let result = read_answer(&answer, &expected, &ctx);
        // Only an answer that is ours and well formed proves the
        // connection in step; after any other outcome it is closed.
        if matches!(result, Ok(_) | Err(SourceError::PatientNotFound)) {
            self.pool.release(lease);
        }
        result
    }
}

#[async_trait]
impl SourceAdapter for Hl7v2Source {
    async fn fetch(&self, request: &FetchRequest) -> Result<SourceRecord, SourceError> {
        if !request.sections.contains(Section::Results) {
            // Labs and radiology hold results only.
            return Ok(SourceRecord::default());
        }
        let started = Instant::now();
        match tokio::time::timeout_at(request.deadline, self.query(request)).await {
            Ok(result) => result,
            Err(_) => Err(SourceError::Timeout {
                after_ms: started.elapsed().as_millis() as u64,
            }),
        }
    }
}

/// A control id or query tag: 20 random hex digits (MSH-10 allows 20
/// characters in v2.5.1).
fn new_id() -> String {
    let mut s = uuid::Uuid::new_v4().simple().to_string();
    s.truncate(20);
    s.make_ascii_uppercase();
    s
}

/// Host and port from an `mllp://host:port` or `tcp://host:port` endpoint
/// whose scheme and host the kind has checked: MLLP needs the port, and
/// nothing else.
fn endpoint(url: &url::Url) -> Result<(String, u16), BuildError> {
    let invalid = |message: &str| BuildError::Option {
        key: "endpoint".into(),
        message: message.into(),
    };
    let host = url
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| invalid(crate::KIND.endpoint.no_host))?;
    let port = url
        .port()
        .ok_or_else(|| invalid("must name a port: mllp://host:port"))?;
    if !matches!(url.path(), "" | "/")
        || url.query().is_some()
        || url.fragment().is_some()
        || !url.username().is_empty()
        || url.password().is_some()
    {
        return Err(invalid(
            "must be only mllp://host:port, with no path, query or credentials",
        ));
    }
    // IPv6 literals come bracketed from the URL; connect wants them bare.
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    Ok((host, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        let check = |s: &str| {
            let url = url::Url::parse(s).unwrap();
            crate::KIND
                .endpoint
                .check(&url)
                .and_then(|_| endpoint(&url))
        };
        let ok = |s: &str| check(s).unwrap();
        assert_eq!(
            ok("mllp://lab.example.nhs.uk:2575"),
            ("lab.example.nhs.uk".into(), 2575)
        );
        assert_eq!(ok("tcp://127.0.0.1:6661/"), ("127.0.0.1".into(), 6661));
        assert_eq!(ok("mllp://[::1]:2575"), ("::1".into(), 2575));
        for bad in [
            "http://lab:2575",
            "mllps://lab:2575",
            "mllp://lab",
            "mllp://lab:2575/path",
            "mllp://lab:2575?x=1",
            "mllp://user:pw@lab:2575",
        ] {
            assert!(check(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ids_are_twenty_hex_digits() {
        let a = new_id();
        assert_eq!(a.len(), 20);
        assert!(a.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(a, new_id());
    }
}
