//! A read CDA document (and the registry entry that listed it) in the
//! unified model, and the identity check that decides whether it may be
//! shown for the person asked for. Pure: no I/O.

use icr_model::{
    Appointment, AppointmentKind, AppointmentStatus, Attachment, Document, DocumentStatus,
    NhsNumber,
};

use crate::cda::{Body, ClinicalDocument, Encounter};
use crate::registry::Listed;

/// The code system of HL7 v3 ActCode (`encompassingEncounter/code` values
/// such as `AMB`, `EMER`, `HH`), which say the setting of an encounter.
const ACT_CODE: &str = "http://terminology.hl7.org/CodeSystem/v3-ActCode";

/// Media type given to a CDA document when the registry gives none.
pub const CDA_MEDIA_TYPE: &str = "application/hl7-v3+xml";

/// Where a document came from: its URL and what the registry said of it.
#[derive(Clone, Copy, Debug)]
pub struct Origin<'a> {
    /// The URL the document was fetched from.
    pub url: &'a str,
    /// Bytes received.
    pub size: Option<u64>,
    /// The registry entry, when there was one.
    pub listed: Option<&'a Listed>,
}

/// A CDA document in the model.
#[derive(Clone, Debug, PartialEq)]
pub struct Mapped {
    /// The `documents` item, with the plain-text rendition as its `text`.
    pub document: Document,
    /// The encounter the document reports, as an `appointments` item of
    /// kind encounter.
    pub encounter: Option<Appointment>,
}

/// Maps a document. Header values win over the registry's; the registry
/// fills what the header lacks.
pub fn map_document(doc: &ClinicalDocument, origin: &Origin<'_>) -> Mapped {
    let listed = origin.listed;
    let mut content = vec![Attachment {
        content_type: Some(
            listed
                .and_then(|l| l.content_type.clone())
                .unwrap_or_else(|| CDA_MEDIA_TYPE.to_string()),
        ),
        url: Some(origin.url.to_string()),
        title: None,
        size: origin.size.or(listed.and_then(|l| l.size)),
        inline_content_omitted: false,
    }];
    if let Body::NonXml(body) = &doc.body {
        content.push(Attachment {
            content_type: body.media_type.clone(),
            url: body.reference.as_deref().and_then(http_url),
            title: None,
            size: body.size,
            inline_content_omitted: body.inline,
        });
    }
    let document = Document {
        doc_type: doc
            .code
            .clone()
            .or_else(|| listed.and_then(|l| l.doc_type.clone()))
            .unwrap_or_default(),
        category: Vec::new(),
        title: doc
            .title
            .clone()
            .or_else(|| listed.and_then(|l| l.description.clone())),
        status: Some(DocumentStatus::Current),
        date: doc.effective_time.or(listed.and_then(|l| l.date)),
        authors: doc.authors.iter().filter_map(|a| a.display()).collect(),
        content,
        text: doc.text.clone(),
        care_plan: None,
    };
    Mapped {
        document,
        encounter: doc.encounter.as_ref().and_then(encounter),
    }
}

/// A reference to non-XML content, kept only as an absolute `http(s)` URL
/// (a relative one means nothing to a reader, and no other scheme is shown).
fn http_url(reference: &str) -> Option<String> {
    let u = url::Url::parse(reference.trim()).ok()?;
    matches!(u.scheme(), "http" | "https").then(|| u.to_string())
}

/// The encounter as an appointments item, when it says when or what.
pub fn encounter(e: &Encounter) -> Option<Appointment> {
    if e.start.is_none() && e.code.is_none() {
        return None;
    }
    let (class, service_type) = match &e.code {
        Some(c) if c.codings.iter().any(|x| x.system.uri() == ACT_CODE) => {
            (Some(c.clone()), vec![])
        }
        Some(c) => (None, vec![c.clone()]),
        None => (None, vec![]),
    };
    let mut participants: Vec<String> = Vec::new();
    for p in e.responsible.iter().chain(&e.participants) {
        if !participants.contains(p) {
            participants.push(p.clone());
        }
    }
    Some(Appointment {
        kind: Some(AppointmentKind::Encounter),
        status: e.end.map(|_| AppointmentStatus::Finished),
        class,
        service_type,
        description: None,
        start: e.start,
        end: e.end,
        location: e.location.clone(),
        participants,
        reasons: Vec::new(),
    })
}

/// Why a document may not be shown for the person asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IdentityProblem {
    /// The document's NHS number is another person's.
    #[error("the document is about another patient (its NHS number is not the one asked for)")]
    OtherPatient,
    /// The document's NHS number is not a valid NHS number.
    #[error("the document's NHS number is not valid")]
    InvalidNhsNumber,
    /// The document has several `recordTarget`s.
    #[error("the document names more than one patient")]
    SeveralPatients,
    /// No NHS number in the document, and the registry did not name the
    /// person either.
    #[error("the document carries no NHS number and the registry did not confirm the patient")]
    Unconfirmed,
}

/// How a document was matched to the person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Identity {
    /// The document's own NHS number is the one asked for.
    Confirmed,
    /// The document carries no NHS number; the registry entry named the
    /// person by NHS number.
    Vouched,
}

/// Decides whether `doc` may be shown as `asked`'s. Every NHS number the
/// document gives (`recordTarget/patientRole/id` with root
/// [`NHS_NUMBER_OID`](crate::cda::NHS_NUMBER_OID)) must be `asked`; a
/// document with none is accepted only when `vouched` (the registry entry
/// names `asked` by NHS number).
pub fn check_identity(
    doc: &ClinicalDocument,
    asked: NhsNumber,
    vouched: bool,
) -> Result<Identity, IdentityProblem> {
    if doc.record_targets > 1 {
        return Err(IdentityProblem::SeveralPatients);
    }
    let mut found = false;
    for written in doc.nhs_number_ids() {
        let number =
            NhsNumber::parse_formatted(written).map_err(|_| IdentityProblem::InvalidNhsNumber)?;
        if number != asked {
            return Err(IdentityProblem::OtherPatient);
        }
        found = true;
    }
    match (found, vouched) {
        (true, _) => Ok(Identity::Confirmed),
        (false, true) => Ok(Identity::Vouched),
        (false, false) => Err(IdentityProblem::Unconfirmed),
    }
}
