//! The record-location index: which organisations hold records for whom —
//! what a regional patient index or NRL pointers provide — so that sources
//! registered `located = true` need not be asked for a person the index
//! names others for. Pluggable ([`RecordLocator`]): a file read with the
//! configuration ([`FileLocator`]) or an HTTP lookup ([`HttpLocator`]).
//!
//! The index only ever narrows whom to ask when it answers: a person it
//! does not know, or a lookup that fails, is slow or answers what cannot be
//! read, means "unknown" — every source is asked, with a warning when the
//! lookup failed. A failed index never skips a source.

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use icr_adapter_sdk::SourceError;
use icr_adapter_sdk::http::HttpSource;
use icr_config::IndexFile;
use icr_model::{NhsNumber, OdsCode};

/// Why the index could not say (never naming the person).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LocateError {
    /// No answer within the lookup's time limit.
    #[error("no answer within {0} ms")]
    Timeout(u64),
    /// The index could not be reached, or answered with an error.
    #[error("{0}")]
    Failed(String),
    /// The answer could not be read, or was over the size limit.
    #[error("unreadable answer: {0}")]
    Unreadable(String),
}

/// Which organisations hold records for a person: `Ok(Some(holders))` when
/// the index knows the person, `Ok(None)` when it does not (ask everyone).
pub type Located = Result<Option<Vec<OdsCode>>, LocateError>;

/// A record-location index.
pub trait RecordLocator: Send + Sync {
    /// The organisations holding records for `nhs`, as far as it knows.
    fn locate(&self, nhs: NhsNumber) -> BoxFuture<'_, Located>;
}

/// The index as a file (`[holders]`: NHS number → ODS codes), read with
/// the configuration and so re-read on every reload.
pub struct FileLocator(pub Arc<IndexFile>);

impl RecordLocator for FileLocator {
    fn locate(&self, nhs: NhsNumber) -> BoxFuture<'_, Located> {
        let found = self.0.holders.get(&nhs).cloned();
        Box::pin(async move { Ok(found) })
    }
}

/// The index as an HTTP lookup: `GET` the URL with `{nhs}` replaced,
/// bounded in time and body; `200 {"holders": [...]}` names the holders,
/// `404` means the person is unknown, anything else fails.
pub struct HttpLocator {
    http: HttpSource,
    url: String,
    timeout: Duration,
}

impl HttpLocator {
    /// The lookup `config` describes, or why its client cannot be built.
    pub fn new(config: &icr_config::IndexConfig) -> Result<Self, LocateError> {
        let timeout = Duration::from_millis(config.timeout_ms);
        // The SDK's client and bounded read: no redirects, the body limit
        // checked while it arrives, errors described without the URL.
        let http = HttpSource::plain(timeout, config.max_body_bytes)
            .map_err(|e| LocateError::Failed(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self {
            http,
            url: config.url.clone().unwrap_or_default(),
            timeout,
        })
    }

    async fn lookup(&self, nhs: NhsNumber) -> Located {
        let ms = self.timeout.as_millis() as u64;
        // Errors are described without the URL, which carries the NHS number.
        let url = url::Url::parse(&self.url.replace("{nhs}", nhs.as_str()))
            .map_err(|_| LocateError::Failed("the index URL is not a URL".into()))?;
        let deadline = tokio::time::Instant::now() + self.timeout;
        let answer = self
            .http
            .get(
                url,
                "application/json",
                deadline,
                "the record-location index",
            )
            .await
            .map_err(|e| match e {
                SourceError::Timeout { .. } => LocateError::Timeout(ms),
                SourceError::TooLarge { limit } => {
                    LocateError::Unreadable(format!("over the {limit} byte limit"))
                }
                other => LocateError::Failed(other.to_string()),
            })?;
        match answer.status {
            200 => {}
            404 => return Ok(None),
            other => return Err(LocateError::Failed(format!("HTTP {other}"))),
        }
        #[derive(serde::Deserialize)]
        struct Answer {
            holders: Vec<OdsCode>,
        }
        let read: Answer = serde_json::from_slice(&answer.body).map_err(|e| {
            LocateError::Unreadable(format!("not {{\"holders\": [ODS codes]}}: {e}"))
        })?;
        Ok(Some(read.holders))
    }
}

impl RecordLocator for HttpLocator {
    fn locate(&self, nhs: NhsNumber) -> BoxFuture<'_, Located> {
        // The whole lookup (connect, answer, body) by the timeout.
        Box::pin(self.lookup(nhs))
    }
}

pub(crate) fn build(
    config: Option<&icr_config::IndexConfig>,
    file: Option<&Arc<IndexFile>>,
) -> Option<Arc<dyn RecordLocator>> {
    if let Some(file) = file {
        return Some(Arc::new(FileLocator(Arc::clone(file))));
    }
    let config = config.filter(|c| c.url.is_some())?;
    match HttpLocator::new(config) {
        Ok(http) => Some(Arc::new(http)),
        Err(e) => {
            tracing::warn!(error = %e, "the record-location index cannot be used; every source is asked");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_file_names_the_holders_of_those_it_knows_and_no_one_else() {
        let known = NhsNumber::parse("9990000018").unwrap();
        let file = IndexFile {
            holders: [(known, vec![OdsCode::parse("RX1").unwrap()])].into(),
        };
        let index = FileLocator(Arc::new(file));
        let holders = index.locate(known).await.unwrap().unwrap();
        assert_eq!(holders, [OdsCode::parse("RX1").unwrap()]);
        let other = NhsNumber::parse("9990000026").unwrap();
        assert_eq!(index.locate(other).await, Ok(None));
    }
}
