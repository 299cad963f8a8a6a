//! The `[options]` of an `hl7v2` source.

use icr_adapter_sdk::{BuildError, KindOptions, SourceSpec, within};
use icr_hl7v2::dtm::LocalZone;
use serde::Deserialize;

/// Settings of an `hl7v2` source, read from the `[options]` table of its
/// registration. Every field is optional.
///
/// ```toml
/// [options]
/// sending_application = "ICR"        # MSH-3 of the query
/// sending_facility = "ICR"           # MSH-4
/// receiving_application = "WINPATH"  # MSH-5
/// receiving_facility = "RD1"         # MSH-6; default: the source's ODS code
/// processing_id = "P"                # MSH-11: P production, T training, D debugging
/// max_connections = 4                # open connections to the source at most
/// idle_timeout_ms = 30000            # an unused connection is closed after this
/// max_message_bytes = 4194304        # largest answer (MLLP frame) read
/// quantity_limit = 500               # RCP-2: most records the source should send
/// local_time_zone = "Europe/London"  # zone of times sent without an offset
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Hl7v2Options {
    /// MSH-3, the application sending the query. Default `ICR`.
    pub sending_application: String,
    /// MSH-4, the facility sending the query. Default `ICR`.
    pub sending_facility: String,
    /// MSH-5, the application the query is for, as the source expects it.
    /// Default empty.
    pub receiving_application: String,
    /// MSH-6, the facility the query is for. Default: the source's ODS code.
    pub receiving_facility: Option<String>,
    /// MSH-11, the processing id: `P` (production), `T` (training) or `D`
    /// (debugging). Default `P`.
    pub processing_id: ProcessingId,
    /// Connections open to the source at most, 1 to 64; a request that
    /// finds them all busy waits for one within its deadline. Default 4.
    pub max_connections: usize,
    /// How long an unused connection is kept for the next request, in
    /// milliseconds, 0 to 600000 (0: a connection is used once). One idle
    /// longer is never reused, and is closed within twice this. Default
    /// 30000.
    pub idle_timeout_ms: u64,
    /// The largest answer read, in bytes (the MLLP frame's content), 1 KiB
    /// up to the registration's `max_body_bytes`. Default: `max_body_bytes`.
    pub max_message_bytes: Option<usize>,
    /// RCP-2, the most records the source is asked to send, 1 to 10000. A
    /// source that says it holds more is reported as `truncated`.
    /// Default 500.
    pub quantity_limit: u32,
    /// The time zone of the source's times that carry no offset, when MSH-7
    /// has none either: `Europe/London` (GMT/BST) or `UTC`. Default
    /// `Europe/London`.
    pub local_time_zone: TimeZoneName,
}

impl Default for Hl7v2Options {
    fn default() -> Self {
        Self {
            sending_application: "ICR".into(),
            sending_facility: "ICR".into(),
            receiving_application: String::new(),
            receiving_facility: None,
            processing_id: ProcessingId::Production,
            max_connections: 4,
            idle_timeout_ms: 30_000,
            max_message_bytes: None,
            quantity_limit: 500,
            local_time_zone: TimeZoneName::EuropeLondon,
        }
    }
}

/// MSH-11, HL7 table 0103.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub enum ProcessingId {
    /// `P`: production.
    #[serde(rename = "P")]
    Production,
    /// `T`: training.
    #[serde(rename = "T")]
    Training,
    /// `D`: debugging.
    #[serde(rename = "D")]
    Debugging,
}

impl ProcessingId {
    /// The code as sent in MSH-11.
    pub fn code(self) -> &'static str {
        match self {
            ProcessingId::Production => "P",
            ProcessingId::Training => "T",
            ProcessingId::Debugging => "D",
        }
    }
}

/// The time zones a source's local times may be in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub enum TimeZoneName {
    /// UK civil time, GMT and BST.
    #[serde(rename = "Europe/London")]
    EuropeLondon,
    /// Coordinated Universal Time.
    #[serde(rename = "UTC")]
    Utc,
}

impl TimeZoneName {
    /// The zone, for the codec's date reader.
    pub fn zone(self) -> LocalZone {
        match self {
            TimeZoneName::EuropeLondon => LocalZone::EuropeLondon,
            TimeZoneName::Utc => LocalZone::Utc,
        }
    }
}

/// Options checked and completed from the registration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// MSH-3.
    pub sending_application: String,
    /// MSH-4.
    pub sending_facility: String,
    /// MSH-5.
    pub receiving_application: String,
    /// MSH-6.
    pub receiving_facility: String,
    /// MSH-11.
    pub processing_id: ProcessingId,
    /// Connections open at most.
    pub max_connections: usize,
    /// Idle connections are closed after this.
    pub idle_timeout: std::time::Duration,
    /// Largest answer read.
    pub max_message_bytes: usize,
    /// RCP-2.
    pub quantity_limit: u32,
    /// Zone of times without an offset.
    pub local_time_zone: LocalZone,
}

impl Hl7v2Options {
    /// Checks the ranges serde cannot and fills in the defaults that come
    /// from the registration.
    pub fn settings(&self, spec: &SourceSpec) -> Result<Settings, BuildError> {
        for (key, value) in [
            ("sending_application", &self.sending_application),
            ("sending_facility", &self.sending_facility),
            ("receiving_application", &self.receiving_application),
        ]
        .into_iter()
        .chain(
            self.receiving_facility
                .as_ref()
                .map(|v| ("receiving_facility", v)),
        ) {
            if value.chars().count() > 180 || value.chars().any(char::is_control) {
                return Err(BuildError::option(
                    key,
                    "must be at most 180 characters, with no control characters",
                ));
            }
        }
        within("max_connections", self.max_connections, 1..=64)?;
        within("idle_timeout_ms", self.idle_timeout_ms, 0..=600_000)?;
        let max_message_bytes = self.max_message_bytes.unwrap_or(spec.max_body_bytes);
        if !(1024..=spec.max_body_bytes).contains(&max_message_bytes) {
            return Err(BuildError::option(
                "max_message_bytes",
                format!(
                    "must be between 1024 and the registration's max_body_bytes ({})",
                    spec.max_body_bytes
                ),
            ));
        }
        within("quantity_limit", self.quantity_limit, 1..=10_000)?;
        Ok(Settings {
            sending_application: self.sending_application.clone(),
            sending_facility: self.sending_facility.clone(),
            receiving_application: self.receiving_application.clone(),
            receiving_facility: self
                .receiving_facility
                .clone()
                .unwrap_or_else(|| spec.ods_code.to_string()),
            processing_id: self.processing_id,
            max_connections: self.max_connections,
            idle_timeout: std::time::Duration::from_millis(self.idle_timeout_ms),
            max_message_bytes,
            quantity_limit: self.quantity_limit,
            local_time_zone: self.local_time_zone.zone(),
        })
    }
}

impl KindOptions for Hl7v2Options {
    type Checked = Settings;

    fn check(self, spec: &SourceSpec) -> Result<Settings, BuildError> {
        self.settings(spec)
    }
}
