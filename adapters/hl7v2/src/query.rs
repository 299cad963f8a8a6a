//! The query: QBP^Q11 "results for patient", by NHS number (pure).
//!
//! ```text
//! MSH|^~\&|{sending app}|{sending facility}|{receiving app}|{receiving facility}|{now}||QBP^Q11^QBP_Q11|{control id}|P|2.5.1
//! QPD|ICR_RESULTS^Results for patient^HL70471|{query tag}|{NHS number}^^^NHS^NH
//! RCP|I|{quantity limit}^RD
//! ```

use icr_hl7v2::dtm::format_instant;
use icr_hl7v2::{Delimiters, FieldValue, MessageWriter};
use icr_model::NhsNumber;
use icr_model::time::OffsetDateTime;

use crate::options::Settings;

/// The query name (QPD-1) this adapter defines for "results for patient".
pub const QUERY_NAME: &str = "ICR_RESULTS";
/// The query name's text.
pub const QUERY_TEXT: &str = "Results for patient";
/// The coding system of the query name: HL7 table 0471, query names, whose
/// values each interface agrees.
pub const QUERY_NAME_SYSTEM: &str = "HL70471";
/// The version the query declares (MSH-12).
pub const VERSION: &str = "2.5.1";

/// One query, ready to write.
#[derive(Clone, Debug)]
pub struct Query<'a> {
    /// Who sends it to whom, and how.
    pub settings: &'a Settings,
    /// MSH-10, unique per query; the answer's MSA-2 must echo it.
    pub control_id: &'a str,
    /// QPD-2, unique per query; the answer's QAK-1 must echo it.
    pub query_tag: &'a str,
    /// The person.
    pub nhs_number: NhsNumber,
    /// MSH-7.
    pub now: OffsetDateTime,
}

/// Writes the query as an HL7 v2.5.1 message (segments ended by `\r`).
pub fn write_query(q: &Query<'_>) -> String {
    let s = q.settings;
    let mut w = MessageWriter::new(
        Delimiters::default(),
        &[
            s.sending_application.as_str().into(),
            s.sending_facility.as_str().into(),
            s.receiving_application.as_str().into(),
            s.receiving_facility.as_str().into(),
            format_instant(q.now).into(),
            FieldValue::empty(),
            FieldValue::components(["QBP", "Q11", "QBP_Q11"]),
            q.control_id.into(),
            s.processing_id.code().into(),
            VERSION.into(),
        ],
    );
    let segments: [(&str, Vec<FieldValue>); 2] = [
        (
            "QPD",
            vec![
                FieldValue::components([QUERY_NAME, QUERY_TEXT, QUERY_NAME_SYSTEM]),
                q.query_tag.into(),
                FieldValue::components([q.nhs_number.as_str(), "", "", "NHS", "NH"]),
            ],
        ),
        (
            "RCP",
            vec![
                "I".into(),
                FieldValue::components([q.quantity_limit_text(), "RD".into()]),
            ],
        ),
    ];
    for (id, fields) in &segments {
        // Both ids are valid segment ids.
        let _ = w.segment(id, fields);
    }
    w.finish()
}

impl Query<'_> {
    fn quantity_limit_text(&self) -> String {
        self.settings.quantity_limit.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use icr_hl7v2::dtm::LocalZone;

    #[test]
    fn writes_the_query() {
        let settings = Settings {
            sending_application: "ICR".into(),
            sending_facility: "X26".into(),
            receiving_application: "WIN|PATH".into(),
            receiving_facility: "RD1".into(),
            processing_id: crate::options::ProcessingId::Training,
            max_connections: 1,
            idle_timeout: std::time::Duration::ZERO,
            max_message_bytes: 1024,
            quantity_limit: 250,
            local_time_zone: LocalZone::Utc,
        };
        let q = Query {
            settings: &settings,
            control_id: "C1",
            query_tag: "T1",
            nhs_number: NhsNumber::parse("9990000018").unwrap(),
            now: OffsetDateTime::from_unix_timestamp(1_714_558_500).unwrap(),
        };
        assert_eq!(
            write_query(&q),
            "MSH|^~\\&|ICR|X26|WIN\\F\\PATH|RD1|20240501101500+0000||QBP^Q11^QBP_Q11|C1|T|2.5.1\r\
             QPD|ICR_RESULTS^Results for patient^HL70471|T1|9990000018^^^NHS^NH\r\
             RCP|I|250^RD\r"
        );
    }
}
