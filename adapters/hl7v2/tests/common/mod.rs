//! Shared test support: answers built segment by segment, with fields
//! placed by their HL7 number so that no test miscounts pipes.

#![allow(dead_code)]

use std::sync::Arc;

use icr_adapter_hl7v2::answer::{Expected, ReadContext};
use icr_hl7v2::Limits;
use icr_hl7v2::dtm::LocalZone;
use icr_model::{NhsNumber, OdsCode, SectionSet, SourceId, SourceMeta};

/// The person every test asks about.
pub fn nhs() -> NhsNumber {
    NhsNumber::parse("9990000018").unwrap()
}

/// Another person, with a valid NHS number in the test range.
pub fn other_nhs() -> NhsNumber {
    NhsNumber::parse("9990000026").unwrap()
}

pub fn meta() -> Arc<SourceMeta> {
    Arc::new(SourceMeta {
        id: SourceId::parse("lab").unwrap(),
        organisation: "Royal Devon Pathology".into(),
        ods_code: OdsCode::parse("RD1").unwrap(),
        system: "WinPath (HL7 v2)".into(),
    })
}

/// One segment with `fields` at their numbers (1-based); gaps are empty.
pub fn seg(id: &str, fields: &[(usize, &str)]) -> String {
    let last = fields.iter().map(|(n, _)| *n).max().unwrap_or(0);
    let mut out = id.to_string();
    for n in 1..=last {
        out.push('|');
        if let Some((_, v)) = fields.iter().find(|(k, _)| *k == n) {
            out.push_str(v);
        }
    }
    out
}

pub const CONTROL_ID: &str = "Q0000000000000000001";
pub const QUERY_TAG: &str = "T0000000000000000001";

/// MSH of an answer with `msh7` as its date/time.
pub fn msh(msh7: &str) -> String {
    format!("MSH|^~\\&|WINPATH|RD1|ICR|ICR|{msh7}||RSP^K11^RSP_K11|A1|P|2.5.1")
}

/// An RSP^K11 answering our query, status `qak2`, with `body` after QPD.
pub fn rsp_with(msh7: &str, msa1: &str, qak2: &str, body: &[String]) -> Vec<u8> {
    rsp_for(CONTROL_ID, QUERY_TAG, msh7, msa1, qak2, body)
}

/// An RSP^K11 answering the query with `control_id` and `query_tag`.
pub fn rsp_for(
    control_id: &str,
    query_tag: &str,
    msh7: &str,
    msa1: &str,
    qak2: &str,
    body: &[String],
) -> Vec<u8> {
    let mut lines = vec![
        msh(msh7),
        seg("MSA", &[(1, msa1), (2, control_id)]),
        seg(
            "QAK",
            &[
                (1, query_tag),
                (2, qak2),
                (3, "ICR_RESULTS^Results for patient^HL70471"),
            ],
        ),
        seg(
            "QPD",
            &[
                (1, "ICR_RESULTS^Results for patient^HL70471"),
                (2, query_tag),
                (3, "9990000018^^^NHS^NH"),
            ],
        ),
    ];
    lines.extend(body.iter().cloned());
    let mut text = lines.join("\r");
    text.push('\r');
    text.into_bytes()
}

/// A successful answer, MSH-7 with an offset of +01:00.
pub fn rsp(body: &[String]) -> Vec<u8> {
    rsp_with("20240501101500+0100", "AA", "OK", body)
}

pub fn pid(nhs: &str) -> String {
    seg(
        "PID",
        &[
            (1, "1"),
            (3, &format!("{nhs}^^^NHS^NH~X123456^^^RD1^MR")),
            (5, "Testperson^Alex"),
            (7, "19800203"),
            (8, "F"),
        ],
    )
}

pub fn expected() -> Expected<'static> {
    Expected {
        control_id: CONTROL_ID,
        query_tag: QUERY_TAG,
        nhs_number: nhs(),
    }
}

pub fn read_context(meta: &Arc<SourceMeta>) -> ReadContext<'_> {
    ReadContext {
        meta,
        local_zone: LocalZone::EuropeLondon,
        limits: Limits::default(),
        sections: SectionSet::all(),
    }
}

/// The registration of an `hl7v2` source at `endpoint`, with extra
/// `[options]` lines.
pub fn spec(endpoint: &str, timeout_ms: u64, options: &str) -> icr_adapter_sdk::SourceSpec {
    toml::from_str(&format!(
        r#"id = "lab"
organisation = "Royal Devon Pathology"
ods_code = "RD1"
kind = "hl7v2"
system = "WinPath (HL7 v2)"
endpoint = "{endpoint}"
sections = ["results"]
timeout_ms = {timeout_ms}
max_body_bytes = 65536

[options]
{options}
"#
    ))
    .unwrap()
}

/// A potassium result for `nhs`: PID, OBR, OBX.
pub fn panel_for(nhs: &str) -> Vec<String> {
    vec![
        pid(nhs),
        seg(
            "OBR",
            &[
                (1, "1"),
                (3, "FL1^WINPATH"),
                (4, "UE^U&E^WINPATH"),
                (25, "F"),
            ],
        ),
        seg(
            "OBX",
            &[
                (1, "1"),
                (2, "NM"),
                (3, "2823-3^Potassium^LN"),
                (5, "4.1"),
                (6, "mmol/L"),
            ],
        ),
    ]
}
