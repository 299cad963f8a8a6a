//! Logs and traces for the `icr` process, set up once before anything is
//! served; every crate's `tracing` events and spans (the request's, each
//! source call's) go through what this sets up.
//!
//! Logs go to stderr: JSON lines with `ICR_LOG_FORMAT=json` (for a log
//! collector), else text, coloured only on a terminal. Traces — a span per
//! request and per source call — are exported over OTLP (HTTP, protobuf)
//! when `OTEL_EXPORTER_OTLP_ENDPOINT` (or
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set, with the other standard
//! `OTEL_` variables; the W3C trace context then goes to HTTP sources.
//! Nothing logged or traced carries patient data.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::Layer as _;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

/// The variables any one of which, set and not empty, turns trace export on.
const EXPORT_VARIABLES: [&str; 2] = [
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
];

/// The service name traces carry when `OTEL_SERVICE_NAME` is not set, and
/// the tracer's name.
const SERVICE_NAME: &str = "icr-gateway";

/// Telemetry in force; [`Telemetry::shutdown`] sends the spans still
/// batched.
#[must_use = "shut it down at exit, or batched spans are lost"]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Sends the spans still batched and stops exporting. Call it outside
    /// any async runtime: the exporter's HTTP client is a blocking one.
    pub fn shutdown(self) -> Result<(), opentelemetry_sdk::error::OTelSdkError> {
        match self.provider {
            Some(provider) => provider.shutdown(),
            None => Ok(()),
        }
    }
}

/// Installs the process's log output and, when the environment asks for
/// it, trace export (see the crate's documentation). A trace exporter that
/// cannot be built is reported on stderr; logging goes on without it.
pub fn init() -> Telemetry {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let logs = if json_logs(std::env::var("ICR_LOG_FORMAT").ok().as_deref()) {
        tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_writer(std::io::stderr)
            .boxed()
    } else {
        use std::io::IsTerminal as _;
        tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_ansi(std::io::stderr().is_terminal())
            .boxed()
    };
    let provider = if export_wanted(|v| std::env::var_os(v)) {
        match opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .build()
        {
            Ok(exporter) => {
                let resource = opentelemetry_sdk::Resource::builder()
                    .with_service_name(service_name(std::env::var("OTEL_SERVICE_NAME").ok()))
                    .build();
                Some(
                    SdkTracerProvider::builder()
                        .with_batch_exporter(exporter)
                        .with_resource(resource)
                        .build(),
                )
            }
            Err(e) => {
                eprintln!("icr: traces will not be exported: {e}");
                None
            }
        }
    } else {
        None
    };
    // Spans reach the exporter whatever the log level (the level filter
    // applies to the log output only); only the gateway's own spans are
    // exported (the request and its source calls), not the libraries'.
    let otel = provider.as_ref().map(|p| {
        opentelemetry::global::set_text_map_propagator(
            opentelemetry_sdk::propagation::TraceContextPropagator::new(),
        );
        tracing_opentelemetry::layer()
            .with_tracer(p.tracer(SERVICE_NAME))
            .with_filter(tracing_subscriber::filter::filter_fn(|m| {
                is_exported(m.target())
            }))
    });
    tracing_subscriber::registry()
        .with(logs.with_filter(filter))
        .with(otel)
        .init();
    Telemetry { provider }
}

/// Whether `ICR_LOG_FORMAT` (its value, if set) asks for JSON lines.
fn json_logs(format: Option<&str>) -> bool {
    format.is_some_and(|f| f.eq_ignore_ascii_case("json"))
}

/// Whether traces are to be exported: an OTLP endpoint variable is set and
/// not empty (`var` reads the environment).
fn export_wanted(var: impl Fn(&str) -> Option<std::ffi::OsString>) -> bool {
    EXPORT_VARIABLES
        .iter()
        .any(|v| var(v).is_some_and(|s| !s.is_empty()))
}

/// The service name traces carry: `OTEL_SERVICE_NAME` (its value, if
/// set), else [`SERVICE_NAME`].
fn service_name(configured: Option<String>) -> String {
    configured.unwrap_or_else(|| SERVICE_NAME.into())
}

/// Whether a span of `target` (its module path) is exported: the
/// gateway's own, not its libraries'.
fn is_exported(target: &str) -> bool {
    target.starts_with("icr")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;

    #[test]
    fn json_logs_only_when_asked_for_in_any_case() {
        assert!(json_logs(Some("json")));
        assert!(json_logs(Some("JSON")));
        assert!(!json_logs(Some("text")));
        assert!(!json_logs(Some("")));
        assert!(!json_logs(None));
    }

    #[test]
    fn traces_are_exported_when_either_endpoint_variable_is_set_and_not_empty() {
        let env = |set: &'static [(&'static str, &'static str)]| {
            move |v: &str| {
                set.iter()
                    .find(|(k, _)| *k == v)
                    .map(|(_, value)| OsString::from(value))
            }
        };
        assert!(!export_wanted(env(&[])));
        assert!(!export_wanted(env(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "")])));
        assert!(!export_wanted(env(&[("OTEL_SERVICE_NAME", "x")])));
        assert!(export_wanted(env(&[(
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "http://127.0.0.1:4318"
        )])));
        assert!(export_wanted(env(&[(
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            "http://127.0.0.1:4318/v1/traces"
        )])));
    }

    #[test]
    fn the_service_name_defaults_to_icr_gateway() {
        assert_eq!(service_name(None), "icr-gateway");
        assert_eq!(service_name(Some("icr-test".into())), "icr-test");
    }

    #[test]
    fn only_the_gateways_own_spans_are_exported() {
        assert!(is_exported("icr_gateway::fanout"));
        assert!(is_exported("icr_adapter_fhir_r4"));
        assert!(!is_exported("hyper::proto"));
        assert!(!is_exported("reqwest::connect"));
    }
}
