//! The interface a protocol module implements, and the dispatch from a
//! source's kind to its module.
//!
//! The simulator runs one listener per `[[source]]` of `sim.toml`. What is
//! the same for every protocol is shared (`server`): binding, the accept
//! loop, closing every connection on stop, the faults (latency, error
//! rate, down) and the control API. What differs is a module:
//!
//! - an HTTP protocol implements [`HttpModule`]: a pure function from one
//!   request (method, path, query, headers, body, already read and
//!   bounded) to an [`Answer`] (status, content type, headers, body);
//! - a raw TCP protocol (MLLP) implements [`TcpModule`]: it is handed each
//!   accepted connection and serves it until the peer closes it.
//!
//! Both get the listener's [`SourceCtx`]: the organisations it serves, the
//! population, and [`SourceCtx::draw_fault`] for per-message faults
//! (latency, error rate and the chaos modes of [`crate::chaos`]), and
//! [`SourceCtx::draw_silent`] for the one chaos mode decided per
//! connection. The shared HTTP code applies every chaos mode around an
//! [`HttpModule`]; a [`TcpModule`] applies them itself.
//! [`module`] maps a [`Kind`] to its module; a kind with no module is
//! refused when the configuration is loaded. `crates/sim/README.md` says
//! how to add one.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use tokio::net::TcpStream;

use crate::chaos::Chaos;
use crate::config::Fault;
use crate::org::{Kind, Org};
use crate::population::Population;
use crate::rng::SplitMix64;

/// Largest request body the shared HTTP code reads before calling a module
/// (a SOAP request or a GP Connect `$gpc.getstructuredrecord` Parameters
/// resource is a few kilobytes).
pub const MAX_REQUEST_BODY_BYTES: usize = 256 * 1024;

/// One HTTP request, read in full and bounded, as a module sees it.
#[derive(Debug)]
pub struct HttpRequest<'a> {
    /// `GET`, `POST`, …
    pub method: &'a str,
    /// The path, percent-encoded as sent (e.g. `/fhir/r4/Patient`).
    pub path: &'a str,
    /// The query string without `?`, if any.
    pub query: Option<&'a str>,
    /// The request headers.
    pub headers: &'a http::HeaderMap,
    /// The body (at most [`MAX_REQUEST_BODY_BYTES`]).
    pub body: &'a [u8],
    /// `http://host:port` as the client addressed the listener (from the
    /// `Host` header when it is plausible), for absolute URLs in answers.
    pub origin: &'a str,
}

impl HttpRequest<'_> {
    /// The value of a header, if present and visible ASCII.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// What a module answers to one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// The `Content-Type` of the body.
    pub content_type: String,
    /// Other response headers (`Cache-Control: no-store` is always added).
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Answer {
    /// An answer with a body and no extra headers.
    pub fn new(status: u16, content_type: &str, body: Vec<u8>) -> Self {
        Self {
            status,
            content_type: content_type.to_string(),
            headers: Vec::new(),
            body,
        }
    }

    /// The same answer with one more header.
    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_string(), value.into()));
        self
    }
}

/// A protocol spoken over HTTP. Implementations are pure: no I/O, no
/// clock, no panics on any request; they run on a blocking thread, so
/// rendering a large answer does not stall the listener.
pub trait HttpModule: Send + Sync + 'static {
    /// The base path under which `org` is served on its listener, e.g.
    /// `/fhir/r4`, or `/Y90001/STU3/1/gpconnect/structured/fhir` when
    /// several organisations share a listener and differ by path.
    fn base_path(&self, org: Org) -> String;

    /// Answers one request.
    fn respond(&self, ctx: &SourceCtx, req: &HttpRequest<'_>) -> Answer;

    /// An error answer in the protocol's own form (a FHIR
    /// OperationOutcome, a SOAP Fault, …). The shared code uses it for the
    /// error-rate fault (500), a body too large (413) or too slow (408).
    /// `message` never contains patient data.
    fn error(&self, status: u16, message: &str) -> Answer;
}

/// A boxed future, as [`TcpModule::serve`] returns.
pub type BoxFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A protocol spoken over raw TCP (HL7 v2 over MLLP).
pub trait TcpModule: Send + Sync + 'static {
    /// The URL scheme of the endpoint shown for the listener (`mllp`).
    fn scheme(&self) -> &'static str;

    /// Serves one accepted connection until the peer closes it. The
    /// future is dropped (and the connection closed) when the listener is
    /// stopped. It must bound what it reads (message size, idle time), call
    /// [`SourceCtx::draw_fault`] once per message and honour it (wait the
    /// delay; on `fail`, answer with the protocol's error), and never
    /// panic on any input.
    fn serve(&self, stream: TcpStream, ctx: Arc<SourceCtx>) -> BoxFuture;
}

/// A protocol module.
#[derive(Clone, Copy)]
pub enum Module {
    /// Spoken over HTTP.
    Http(&'static dyn HttpModule),
    /// Spoken over raw TCP.
    Tcp(&'static dyn TcpModule),
}

/// The module that serves `kind`, if one has been written.
///
/// To add a protocol: write `src/{name}.rs` with a unit struct
/// implementing [`HttpModule`] or [`TcpModule`], declare it in `lib.rs`,
/// and add its arm here.
pub fn module(kind: Kind) -> Option<Module> {
    match kind {
        Kind::FhirR4 => Some(Module::Http(&crate::fhir::FhirR4)),
        Kind::Pds => Some(Module::Http(&crate::pds::Pds)),
        Kind::GpConnect => Some(Module::Http(&crate::gpconnect::GpConnect)),
        Kind::Hl7v2 => Some(Module::Tcp(&crate::hl7v2::Mllp)),
        Kind::SoapXml => Some(Module::Http(&crate::soap::Soap)),
        Kind::Cda => Some(Module::Http(&crate::cda::Cda)),
    }
}

/// The kinds that have a module, in [`Kind::ALL`] order.
pub fn simulated_kinds() -> Vec<Kind> {
    Kind::ALL
        .into_iter()
        .filter(|k| module(*k).is_some())
        .collect()
}

/// The faults drawn for one request or message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FaultDraw {
    /// How long to wait before answering.
    pub delay: Duration,
    /// Whether to answer with the protocol's error instead.
    pub fail: bool,
    /// The chaos mode striking this request or message, if one does
    /// (never `silent`, which is drawn per connection with
    /// [`SourceCtx::draw_silent`]). It takes precedence over `fail`.
    pub chaos: Option<Chaos>,
    /// A seed for what the chaos mode generates (garbage bytes).
    pub seed: u64,
}

/// What one listener serves, shared by its connections: its id, kind and
/// organisations, the population, and its current faults.
pub struct SourceCtx {
    id: String,
    kind: Kind,
    orgs: Vec<Org>,
    addr: SocketAddr,
    population: Arc<Population>,
    fault: RwLock<Fault>,
    rng: Mutex<SplitMix64>,
    fhir_search: crate::fhir::FhirSearch,
}

impl SourceCtx {
    /// A context for a listener `id` of `kind` serving `orgs` at `addr`,
    /// healthy. `seed` seeds the fault draws. Modules' tests build one
    /// directly (no socket is opened).
    pub fn new(
        id: &str,
        kind: Kind,
        orgs: Vec<Org>,
        addr: SocketAddr,
        population: Arc<Population>,
        seed: u64,
    ) -> Self {
        Self {
            id: id.to_string(),
            kind,
            orgs,
            addr,
            population,
            fault: RwLock::new(Fault::default()),
            rng: Mutex::new(SplitMix64::new(seed)),
            fhir_search: crate::fhir::FhirSearch::default(),
        }
    }

    /// The same context, taking what `search` lets a FHIR R4 server take.
    pub fn with_fhir_search(mut self, search: crate::fhir::FhirSearch) -> Self {
        self.fhir_search = search;
        self
    }

    /// What a FHIR R4 server on this listener takes beyond plain searches.
    pub fn fhir_search(&self) -> crate::fhir::FhirSearch {
        self.fhir_search
    }

    /// The listener's id (a control API name).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The protocol.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// The organisations served, in configuration order.
    pub fn orgs(&self) -> &[Org] {
        &self.orgs
    }

    /// Whether the listener serves `org`.
    pub fn serves(&self, org: Org) -> bool {
        self.orgs.contains(&org)
    }

    /// The served organisation with this ODS code (any case).
    pub fn org_by_ods(&self, ods: &str) -> Option<Org> {
        self.orgs
            .iter()
            .copied()
            .find(|o| o.ods_code().eq_ignore_ascii_case(ods))
    }

    /// The population.
    pub fn population(&self) -> &Population {
        &self.population
    }

    /// The address the listener is bound to (kept while it is down).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The current faults.
    pub fn fault(&self) -> Fault {
        self.fault
            .read()
            .map(|f| f.clone())
            .unwrap_or_else(|e| e.into_inner().clone())
    }

    /// Replaces the faults.
    pub(crate) fn set_fault(&self, fault: Fault) {
        match self.fault.write() {
            Ok(mut f) => *f = fault,
            Err(e) => *e.into_inner() = fault,
        }
    }

    /// Draws the faults for one request or message: the latency to add and
    /// whether to fail it (with probability `error_rate`).
    pub fn draw_fault(&self) -> FaultDraw {
        let fault = self.fault();
        let mut rng = match self.rng.lock() {
            Ok(r) => r,
            Err(e) => e.into_inner(),
        };
        let delay = fault.latency_ms.map_or(0, |l| l.sample(&mut rng));
        let fail = fault.error_rate > 0.0 && rng.next_f64() < fault.error_rate;
        let chaos = match fault.chaos {
            None | Some(Chaos::Silent) => None,
            Some(c) => strikes(&mut rng, fault.chaos_rate).then_some(c),
        };
        let seed = if chaos.is_some() { rng.next_u64() } else { 0 };
        FaultDraw {
            delay: Duration::from_millis(delay),
            fail,
            chaos,
            seed,
        }
    }

    /// Draws, for one accepted connection, whether the `silent` chaos mode
    /// takes it (never read from nor written to).
    pub fn draw_silent(&self) -> bool {
        let fault = self.fault();
        if fault.chaos != Some(Chaos::Silent) {
            return false;
        }
        let mut rng = match self.rng.lock() {
            Ok(r) => r,
            Err(e) => e.into_inner(),
        };
        strikes(&mut rng, fault.chaos_rate)
    }
}

/// Whether a chaos mode with this rate strikes; a rate of 1 draws nothing.
fn strikes(rng: &mut SplitMix64, rate: f64) -> bool {
    rate >= 1.0 || (rate > 0.0 && rng.next_f64() < rate)
}

impl std::fmt::Debug for SourceCtx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceCtx")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("orgs", &self.orgs)
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}
