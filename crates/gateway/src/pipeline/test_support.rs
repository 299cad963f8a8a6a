//! Small builders for the pipeline's unit tests: registered sources and
//! source answers about synthetic people (NHS numbers 999 xxx xxxx).

use std::sync::Arc;

use icr_adapter_sdk::Routing;
use icr_model::{
    NhsNumber, OdsCode, PartialDateTime, PatientRecord, SectionSet, SourceId, SourceMeta,
    SourceRecord,
};

use super::plan::Registered;

/// A registered source as planning sees it.
pub(crate) struct Reg {
    pub routing: Routing,
    pub sections: SectionSet,
    pub ods: OdsCode,
    pub located: bool,
}

impl Registered for Reg {
    fn routing(&self) -> Routing {
        self.routing
    }
    fn sections(&self) -> SectionSet {
        self.sections
    }
    fn ods_code(&self) -> &OdsCode {
        &self.ods
    }
    fn located(&self) -> bool {
        self.located
    }
}

/// A source of `ods` routed so, offering `sections` (a comma list).
pub(crate) fn reg(routing: Routing, sections: &str, ods: &str) -> Reg {
    Reg {
        routing,
        sections: SectionSet::parse_list(sections).unwrap(),
        ods: OdsCode::parse(ods).unwrap(),
        located: false,
    }
}

/// Sections from a comma list.
pub(crate) fn sections(list: &str) -> SectionSet {
    SectionSet::parse_list(list).unwrap()
}

/// An answer whose demographics hold this NHS number, date of birth and
/// registered practice (each if given).
pub(crate) fn answer(
    nhs: Option<&str>,
    birth: Option<&str>,
    practice: Option<&str>,
) -> SourceRecord {
    let meta = Arc::new(SourceMeta {
        id: SourceId::parse("test-source").unwrap(),
        organisation: "Test".into(),
        ods_code: OdsCode::parse("RX1").unwrap(),
        system: "test".into(),
    });
    let mut record = SourceRecord::default();
    let mut patient = PatientRecord {
        demographics: Default::default(),
        provenance: meta.provenance("p1", None).unwrap(),
    };
    patient.demographics.nhs_number = nhs.map(|n| NhsNumber::parse(n).unwrap());
    patient.demographics.birth_date = birth.map(|b| PartialDateTime::parse(b).unwrap());
    patient.demographics.registered_practice = practice.map(|p| OdsCode::parse(p).unwrap());
    record.patient = Some(patient);
    record
}

/// A registered source answering with `answer` after `delay` (or failing
/// with `error`), counting its calls.
pub(crate) struct Fake {
    pub answer: Result<SourceRecord, icr_adapter_sdk::SourceError>,
    pub delay: std::time::Duration,
    pub calls: std::sync::atomic::AtomicUsize,
}

#[async_trait::async_trait]
impl icr_adapter_sdk::SourceAdapter for Fake {
    async fn fetch(
        &self,
        _: &icr_adapter_sdk::FetchRequest,
    ) -> Result<SourceRecord, icr_adapter_sdk::SourceError> {
        self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        tokio::time::sleep(self.delay).await;
        self.answer.clone()
    }
}

/// A registered source (id, ODS code, routing, sections) whose adapter is
/// `fake`.
pub(crate) fn source(
    id: &str,
    ods: &str,
    routing: Routing,
    sections: &str,
    fake: Arc<Fake>,
) -> Arc<crate::sources::Source> {
    let list: Vec<String> = sections.split(',').map(|s| format!("{s:?}")).collect();
    let mut spec: icr_adapter_sdk::SourceSpec = icr_config::parse_toml(
        &format!(
            "id = \"{id}\"\norganisation = \"Organisation {id}\"\nods_code = \"{ods}\"\nkind = \"fake\"\nendpoint = \"http://127.0.0.1:1/\"\nsections = [{}]\ntimeout_ms = 2000\ncache_ttl_s = 0\n",
            list.join(",")
        ),
        std::path::Path::new("test.toml"),
    )
    .unwrap();
    spec.routing = routing;
    Arc::new(crate::sources::Source::new(spec, fake))
}

/// A fake answering with `answer` at once.
pub(crate) fn fake(answer: Result<SourceRecord, icr_adapter_sdk::SourceError>) -> Arc<Fake> {
    Arc::new(Fake {
        answer,
        delay: std::time::Duration::ZERO,
        calls: Default::default(),
    })
}

/// A source's report with this status (and nothing else of note).
pub(crate) fn source_report(status: icr_model::SourceStatus) -> super::report::SourceReport {
    super::report::SourceReport {
        source: SourceId::parse("s").unwrap(),
        organisation: "O".into(),
        ods_code: OdsCode::parse("RX1").unwrap(),
        kind: "k".into(),
        status,
        latency_ms: 0,
        items: 0,
        cached: false,
        fetched_at: None,
        message: None,
        issues: Vec::new(),
    }
}
