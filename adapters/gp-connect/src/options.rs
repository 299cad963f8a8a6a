//! The `[options]` of a `gp-connect` source.

use icr_adapter_sdk::{BuildError, KindOptions, SourceSpec, within};
use serde::Deserialize;
use url::Url;

/// Settings of a `gp-connect` source, read from the `[options]` table of
/// its registration. Timeouts and the body limit stay in the registration
/// itself (`timeout_ms`, `max_body_bytes`).
///
/// ```toml
/// [options]
/// consumer_asid = "200000000115"     # the gateway's ASID (Ssp-From)
/// provider_asid = "200000000116"     # the practice system's ASID (Ssp-To)
/// issuer = "https://icr.example.nhs.uk/"  # JWT iss: the gateway's Spine endpoint
/// # audience = "https://provider.example.nhs.uk/Y90001/STU3/1"  # JWT aud; default: endpoint
/// include_resolved_allergies = true
/// include_prescription_issues = false
/// most_recent_consultations = 20
/// max_entries = 10000
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GpConnectOptions {
    /// The gateway's Spine accredited system id (ASID), sent as `Ssp-From`:
    /// digits only, as Spine issues them.
    pub consumer_asid: String,
    /// The practice system's ASID, sent as `Ssp-To` (the practice directory
    /// fills it per practice): digits only.
    pub provider_asid: String,
    /// The JWT `iss` claim: the URL of the gateway's Spine endpoint.
    pub issuer: Url,
    /// The JWT `aud` claim: the provider's FHIR service root. Defaults to
    /// the registration's `endpoint`; set it when the endpoint is reached
    /// through the Spine Secure Proxy (`https://proxy/https://provider/…`).
    #[serde(default)]
    pub audience: Option<Url>,
    /// Ask for ended (resolved) allergies too (`includeResolvedAllergies`).
    /// Default true: an ended allergy still matters when prescribing.
    #[serde(default = "yes")]
    pub include_resolved_allergies: bool,
    /// Ask for each prescription issue (`includePrescriptionIssues`); each
    /// becomes a `prescription` medications item beside the medication
    /// statement it was issued under. Default false: the statements (one
    /// per medicine, with its authorisation) are the medication summary.
    #[serde(default)]
    pub include_prescription_issues: bool,
    /// How many of the most recent consultations to ask for
    /// (`includeNumberOfMostRecent`), 1 to 1000. Default 20.
    #[serde(default = "default_most_recent")]
    pub most_recent_consultations: u32,
    /// The most Bundle entries read from one answer, 1 to 100000; beyond
    /// it the rest is reported as truncated. Default 10000.
    #[serde(default = "default_max_entries")]
    pub max_entries: usize,
}

fn yes() -> bool {
    true
}

fn default_most_recent() -> u32 {
    20
}

fn default_max_entries() -> usize {
    10_000
}

impl KindOptions for GpConnectOptions {
    type Checked = Self;

    /// Checks what serde cannot: ASIDs are digits, URLs are http(s),
    /// numbers in range.
    fn check(self, _: &SourceSpec) -> Result<Self, BuildError> {
        for (key, asid) in [
            ("consumer_asid", &self.consumer_asid),
            ("provider_asid", &self.provider_asid),
        ] {
            if !(1..=20).contains(&asid.len()) || !asid.bytes().all(|b| b.is_ascii_digit()) {
                return Err(BuildError::option(key, "must be an ASID: 1 to 20 digits"));
            }
        }
        if !matches!(self.issuer.scheme(), "http" | "https") {
            return Err(BuildError::option("issuer", "must be an http or https URL"));
        }
        if let Some(a) = &self.audience
            && !matches!(a.scheme(), "http" | "https")
        {
            return Err(BuildError::option(
                "audience",
                "must be an http or https URL",
            ));
        }
        within(
            "most_recent_consultations",
            self.most_recent_consultations,
            1..=1000,
        )?;
        within("max_entries", self.max_entries, 1..=100_000)?;
        Ok(self)
    }
}
