//! The population-health extract runs a gateway hosts, as the operator
//! API (`/v1/extracts`) sees them: started, watched and cancelled there,
//! run by whoever set them up at start ([`Gateway::use_extract_runs`]: the
//! service, which holds the extract's engine and writers). The gateway
//! only routes and checks the operator; each person a run reads goes
//! through [`Gateway::extract_person`](crate::Gateway::extract_person).

/// What an operator asks to start.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartExtract {
    /// A new run of the extract configured under this name.
    #[serde(default)]
    pub extract: Option<String>,
    /// Or the stopped run with this id, resumed where it stopped.
    #[serde(default)]
    pub resume: Option<String>,
}

/// Why an operator's ask of the extract runs was not done.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ExtractRunsError {
    /// No extract is configured under that name (404).
    #[error("no extract is configured as {0:?}")]
    UnknownExtract(String),
    /// No run has that id (404).
    #[error("no extract run has that id")]
    UnknownRun,
    /// The run (or another of the same extract) is running (409).
    #[error("{0}")]
    Conflict(String),
    /// The ask cannot be read (400).
    #[error("{0}")]
    Invalid(String),
    /// The run could not be started (500, the log says why).
    #[error("{0}")]
    Failed(String),
}

/// The runs a gateway hosts: implemented by the service, which holds the
/// extract's engine. Statuses are JSON documents (run id, extract, state,
/// progress, counts, output directory) with no person's data.
pub trait ExtractRuns: Send + Sync {
    /// Starts a run (or resumes one) on `gateway`; its status.
    fn start(
        &self,
        gateway: crate::Gateway,
        ask: StartExtract,
    ) -> Result<serde_json::Value, ExtractRunsError>;
    /// Every run since the gateway started, newest first.
    fn list(&self) -> serde_json::Value;
    /// One run's status.
    fn status(&self, run: &str) -> Result<serde_json::Value, ExtractRunsError>;
    /// Asks a run to stop at its next checkpoint (it can be resumed); its
    /// status.
    fn cancel(&self, run: &str) -> Result<serde_json::Value, ExtractRunsError>;
    /// Adds the runs' families to `/metrics` (no person's data).
    fn render_metrics(&self, out: &mut String);
}
