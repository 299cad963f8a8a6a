//! The STU3 resources of a GP Connect structured record, as the GP Connect
//! 1.6 profiles populate them (`CareConnect-GPC-*`), read tolerantly. Only
//! the elements the gateway reads or the simulator writes are here; others
//! are ignored on input.
//!
//! STU3 differs from R4 in shape as well as in names: `AllergyIntolerance`
//! and `Condition` have `assertedDate` and plain-code statuses,
//! `MedicationStatement` has `taken`, `MedicationRequest.requester` is a
//! backbone element with an `agent`, `Encounter.reason` and
//! `Observation.interpretation` differ in cardinality, referrals are
//! `ReferralRequest`, orders are `ProcedureRequest`, and `Immunization` has
//! `notGiven`, `date` and `explanation`.

use crate::lenient::{Element, RawJson, element};
use crate::types::*;

element! {
    /// A person registered at the practice.
    pub struct Patient {
        /// `Patient.id`.
        id: Option<String> = "id",
        /// `Patient.meta`.
        meta: Option<Meta> = "meta",
        /// `Patient.extension` (registration details, …).
        extension: Vec<Extension> = "extension",
        /// `Patient.identifier` (the NHS number).
        identifier: Vec<Identifier> = "identifier",
        /// `Patient.active`.
        active: Option<bool> = "active",
        /// `Patient.name`.
        name: Vec<HumanName> = "name",
        /// `Patient.telecom`.
        telecom: Vec<ContactPoint> = "telecom",
        /// `Patient.gender`.
        gender: Option<String> = "gender",
        /// `Patient.birthDate`.
        birth_date: Option<String> = "birthDate",
        /// `Patient.deceasedBoolean`.
        deceased_boolean: Option<bool> = "deceasedBoolean",
        /// `Patient.deceasedDateTime`.
        deceased_date_time: Option<String> = "deceasedDateTime",
        /// `Patient.address`.
        address: Vec<Address> = "address",
        /// `Patient.contact`.
        contact: Vec<PatientContact> = "contact",
        /// `Patient.generalPractitioner`.
        general_practitioner: Vec<Reference> = "generalPractitioner",
        /// `Patient.managingOrganization`.
        managing_organization: Option<Reference> = "managingOrganization",
    }
}

element! {
    /// A contact party of a patient.
    pub struct PatientContact {
        /// `Patient.contact.relationship`.
        relationship: Vec<CodeableConcept> = "relationship",
        /// `Patient.contact.name`.
        name: Option<HumanName> = "name",
        /// `Patient.contact.telecom`.
        telecom: Vec<ContactPoint> = "telecom",
        /// `Patient.contact.address`.
        address: Option<Address> = "address",
        /// `Patient.contact.gender`.
        gender: Option<String> = "gender",
        /// `Patient.contact.period`.
        period: Option<Period> = "period",
    }
}

element! {
    /// An organisation (the practice, a laboratory, …).
    pub struct Organization {
        /// `Organization.id`.
        id: Option<String> = "id",
        /// `Organization.meta`.
        meta: Option<Meta> = "meta",
        /// `Organization.identifier` (the ODS code).
        identifier: Vec<Identifier> = "identifier",
        /// `Organization.name`.
        name: Option<String> = "name",
        /// `Organization.telecom`.
        telecom: Vec<ContactPoint> = "telecom",
        /// `Organization.address`.
        address: Vec<Address> = "address",
    }
}

element! {
    /// A clinician or other member of staff.
    pub struct Practitioner {
        /// `Practitioner.id`.
        id: Option<String> = "id",
        /// `Practitioner.meta`.
        meta: Option<Meta> = "meta",
        /// `Practitioner.identifier` (SDS user id, …).
        identifier: Vec<Identifier> = "identifier",
        /// `Practitioner.name`.
        name: Vec<HumanName> = "name",
        /// `Practitioner.gender`.
        gender: Option<String> = "gender",
    }
}

element! {
    /// A practitioner's role at an organisation.
    pub struct PractitionerRole {
        /// `PractitionerRole.id`.
        id: Option<String> = "id",
        /// `PractitionerRole.meta`.
        meta: Option<Meta> = "meta",
        /// `PractitionerRole.practitioner`.
        practitioner: Option<Reference> = "practitioner",
        /// `PractitionerRole.organization`.
        organization: Option<Reference> = "organization",
        /// `PractitionerRole.code` (SDS job role name).
        code: Vec<CodeableConcept> = "code",
    }
}

element! {
    /// A place (a surgery, a branch site).
    pub struct Location {
        /// `Location.id`.
        id: Option<String> = "id",
        /// `Location.meta`.
        meta: Option<Meta> = "meta",
        /// `Location.name`.
        name: Option<String> = "name",
    }
}

element! {
    /// A GP Connect list: one per clinical area queried, plus secondary and
    /// consultation-structure lists.
    pub struct List {
        /// `List.id`.
        id: Option<String> = "id",
        /// `List.meta`.
        meta: Option<Meta> = "meta",
        /// `List.extension` (`warningCode`, `clinicalSetting`).
        extension: Vec<Extension> = "extension",
        /// `List.contained` (the ended allergies list holds its
        /// AllergyIntolerances here), kept as raw JSON.
        contained: Vec<RawJson> = "contained",
        /// `List.status`.
        status: Option<String> = "status",
        /// `List.mode`.
        mode: Option<String> = "mode",
        /// `List.title`.
        title: Option<String> = "title",
        /// `List.code`: which clinical area.
        code: Option<CodeableConcept> = "code",
        /// `List.subject`.
        subject: Option<Reference> = "subject",
        /// `List.encounter`.
        encounter: Option<Reference> = "encounter",
        /// `List.date`.
        date: Option<String> = "date",
        /// `List.orderedBy`.
        ordered_by: Option<CodeableConcept> = "orderedBy",
        /// `List.note` (the text of any warnings).
        note: Vec<Annotation> = "note",
        /// `List.entry`.
        entry: Vec<ListEntry> = "entry",
        /// `List.emptyReason`: the list is empty because nothing is recorded.
        empty_reason: Option<CodeableConcept> = "emptyReason",
    }
}

element! {
    /// One entry of a List.
    pub struct ListEntry {
        /// `List.entry.item`.
        item: Option<Reference> = "item",
        /// `List.entry.date`.
        date: Option<String> = "date",
    }
}

element! {
    /// A reaction to an allergen.
    pub struct AllergyReaction {
        /// `AllergyIntolerance.reaction.manifestation`.
        manifestation: Vec<CodeableConcept> = "manifestation",
        /// `AllergyIntolerance.reaction.description`.
        description: Option<String> = "description",
        /// `AllergyIntolerance.reaction.onset`.
        onset: Option<String> = "onset",
        /// `AllergyIntolerance.reaction.severity`.
        severity: Option<String> = "severity",
    }
}

element! {
    /// An allergy or intolerance.
    pub struct AllergyIntolerance {
        /// `AllergyIntolerance.id`.
        id: Option<String> = "id",
        /// `AllergyIntolerance.meta`.
        meta: Option<Meta> = "meta",
        /// `AllergyIntolerance.extension` (`AllergyIntoleranceEnd`, …).
        extension: Vec<Extension> = "extension",
        /// `AllergyIntolerance.identifier`.
        identifier: Vec<Identifier> = "identifier",
        /// `AllergyIntolerance.clinicalStatus` (a code in STU3).
        clinical_status: Option<String> = "clinicalStatus",
        /// `AllergyIntolerance.verificationStatus` (a code in STU3).
        verification_status: Option<String> = "verificationStatus",
        /// `AllergyIntolerance.type`.
        type_: Option<String> = "type",
        /// `AllergyIntolerance.category`.
        category: Vec<String> = "category",
        /// `AllergyIntolerance.criticality`.
        criticality: Option<String> = "criticality",
        /// `AllergyIntolerance.code`.
        code: Option<CodeableConcept> = "code",
        /// `AllergyIntolerance.patient`.
        patient: Option<Reference> = "patient",
        /// `AllergyIntolerance.onsetDateTime`.
        onset_date_time: Option<String> = "onsetDateTime",
        /// `AllergyIntolerance.onsetPeriod`.
        onset_period: Option<Period> = "onsetPeriod",
        /// `AllergyIntolerance.assertedDate`: when it was recorded.
        asserted_date: Option<String> = "assertedDate",
        /// `AllergyIntolerance.recorder`.
        recorder: Option<Reference> = "recorder",
        /// `AllergyIntolerance.asserter`.
        asserter: Option<Reference> = "asserter",
        /// `AllergyIntolerance.note`.
        note: Vec<Annotation> = "note",
        /// `AllergyIntolerance.reaction`.
        reaction: Vec<AllergyReaction> = "reaction",
    }
}

element! {
    /// A problem (GP Connect ProblemHeader) or other condition.
    pub struct Condition {
        /// `Condition.id`.
        id: Option<String> = "id",
        /// `Condition.meta`.
        meta: Option<Meta> = "meta",
        /// `Condition.extension` (problem significance, related content, …).
        extension: Vec<Extension> = "extension",
        /// `Condition.identifier`.
        identifier: Vec<Identifier> = "identifier",
        /// `Condition.clinicalStatus` (a code in STU3).
        clinical_status: Option<String> = "clinicalStatus",
        /// `Condition.verificationStatus` (a code in STU3).
        verification_status: Option<String> = "verificationStatus",
        /// `Condition.category`.
        category: Vec<CodeableConcept> = "category",
        /// `Condition.severity`.
        severity: Option<CodeableConcept> = "severity",
        /// `Condition.code`.
        code: Option<CodeableConcept> = "code",
        /// `Condition.subject`.
        subject: Option<Reference> = "subject",
        /// `Condition.context`.
        context: Option<Reference> = "context",
        /// `Condition.onsetDateTime`.
        onset_date_time: Option<String> = "onsetDateTime",
        /// `Condition.onsetPeriod`.
        onset_period: Option<Period> = "onsetPeriod",
        /// `Condition.abatementDateTime`.
        abatement_date_time: Option<String> = "abatementDateTime",
        /// `Condition.abatementPeriod`.
        abatement_period: Option<Period> = "abatementPeriod",
        /// `Condition.assertedDate`: when it was recorded.
        asserted_date: Option<String> = "assertedDate",
        /// `Condition.asserter`.
        asserter: Option<Reference> = "asserter",
        /// `Condition.note`.
        note: Vec<Annotation> = "note",
    }
}

element! {
    /// A medicine.
    pub struct Medication {
        /// `Medication.id`.
        id: Option<String> = "id",
        /// `Medication.meta`.
        meta: Option<Meta> = "meta",
        /// `Medication.code` (dm+d).
        code: Option<CodeableConcept> = "code",
    }
}

element! {
    /// A medication the patient takes or took: GP Connect's medication
    /// summary item, with its authorisation (`basedOn`) as a plan
    /// MedicationRequest.
    pub struct MedicationStatement {
        /// `MedicationStatement.id`.
        id: Option<String> = "id",
        /// `MedicationStatement.meta`.
        meta: Option<Meta> = "meta",
        /// `MedicationStatement.extension` (last issue date, prescribing agency).
        extension: Vec<Extension> = "extension",
        /// `MedicationStatement.identifier`.
        identifier: Vec<Identifier> = "identifier",
        /// `MedicationStatement.basedOn`.
        based_on: Vec<Reference> = "basedOn",
        /// `MedicationStatement.context`.
        context: Option<Reference> = "context",
        /// `MedicationStatement.status`.
        status: Option<String> = "status",
        /// `MedicationStatement.medicationCodeableConcept`.
        medication_codeable_concept: Option<CodeableConcept> = "medicationCodeableConcept",
        /// `MedicationStatement.medicationReference`.
        medication_reference: Option<Reference> = "medicationReference",
        /// `MedicationStatement.effectiveDateTime`.
        effective_date_time: Option<String> = "effectiveDateTime",
        /// `MedicationStatement.effectivePeriod`.
        effective_period: Option<Period> = "effectivePeriod",
        /// `MedicationStatement.dateAsserted`.
        date_asserted: Option<String> = "dateAsserted",
        /// `MedicationStatement.informationSource`.
        information_source: Option<Reference> = "informationSource",
        /// `MedicationStatement.subject`.
        subject: Option<Reference> = "subject",
        /// `MedicationStatement.taken` (`y`, `n`, `unk`, `na`).
        taken: Option<String> = "taken",
        /// `MedicationStatement.reasonCode`.
        reason_code: Vec<CodeableConcept> = "reasonCode",
        /// `MedicationStatement.reasonReference`.
        reason_reference: Vec<Reference> = "reasonReference",
        /// `MedicationStatement.note`.
        note: Vec<Annotation> = "note",
        /// `MedicationStatement.dosage`.
        dosage: Vec<Dosage> = "dosage",
    }
}

element! {
    /// Who asked for a MedicationRequest, ProcedureRequest or ReferralRequest.
    pub struct Requester {
        /// `requester.agent`.
        agent: Option<Reference> = "agent",
        /// `requester.onBehalfOf`.
        on_behalf_of: Option<Reference> = "onBehalfOf",
    }
}

element! {
    /// Dispensing details of a MedicationRequest.
    pub struct DispenseRequest {
        /// `MedicationRequest.dispenseRequest.validityPeriod`.
        validity_period: Option<Period> = "validityPeriod",
        /// `MedicationRequest.dispenseRequest.numberOfRepeatsAllowed`.
        number_of_repeats_allowed: Option<u32> = "numberOfRepeatsAllowed",
        /// `MedicationRequest.dispenseRequest.quantity`.
        quantity: Option<Quantity> = "quantity",
        /// `MedicationRequest.dispenseRequest.expectedSupplyDuration`.
        expected_supply_duration: Option<Quantity> = "expectedSupplyDuration",
    }
}

element! {
    /// An authorisation (`intent` `plan`) or a prescription issue
    /// (`intent` `order`).
    pub struct MedicationRequest {
        /// `MedicationRequest.id`.
        id: Option<String> = "id",
        /// `MedicationRequest.meta`.
        meta: Option<Meta> = "meta",
        /// `MedicationRequest.extension` (prescription type, repeat information).
        extension: Vec<Extension> = "extension",
        /// `MedicationRequest.identifier`.
        identifier: Vec<Identifier> = "identifier",
        /// `MedicationRequest.basedOn` (an issue's authorisation).
        based_on: Vec<Reference> = "basedOn",
        /// `MedicationRequest.groupIdentifier`.
        group_identifier: Option<Identifier> = "groupIdentifier",
        /// `MedicationRequest.status`.
        status: Option<String> = "status",
        /// `MedicationRequest.intent`.
        intent: Option<String> = "intent",
        /// `MedicationRequest.medicationCodeableConcept`.
        medication_codeable_concept: Option<CodeableConcept> = "medicationCodeableConcept",
        /// `MedicationRequest.medicationReference`.
        medication_reference: Option<Reference> = "medicationReference",
        /// `MedicationRequest.subject`.
        subject: Option<Reference> = "subject",
        /// `MedicationRequest.authoredOn`.
        authored_on: Option<String> = "authoredOn",
        /// `MedicationRequest.requester`.
        requester: Option<Requester> = "requester",
        /// `MedicationRequest.recorder`.
        recorder: Option<Reference> = "recorder",
        /// `MedicationRequest.reasonCode`.
        reason_code: Vec<CodeableConcept> = "reasonCode",
        /// `MedicationRequest.reasonReference`.
        reason_reference: Vec<Reference> = "reasonReference",
        /// `MedicationRequest.note`.
        note: Vec<Annotation> = "note",
        /// `MedicationRequest.dosageInstruction`.
        dosage_instruction: Vec<Dosage> = "dosageInstruction",
        /// `MedicationRequest.dispenseRequest`.
        dispense_request: Option<DispenseRequest> = "dispenseRequest",
    }
}

element! {
    /// Someone taking part in an encounter.
    pub struct EncounterParticipant {
        /// `Encounter.participant.type`.
        type_: Vec<CodeableConcept> = "type",
        /// `Encounter.participant.individual`.
        individual: Option<Reference> = "individual",
    }
}

element! {
    /// Where an encounter took place.
    pub struct EncounterLocation {
        /// `Encounter.location.location`.
        location: Option<Reference> = "location",
    }
}

element! {
    /// A consultation.
    pub struct Encounter {
        /// `Encounter.id`.
        id: Option<String> = "id",
        /// `Encounter.meta`.
        meta: Option<Meta> = "meta",
        /// `Encounter.identifier`.
        identifier: Vec<Identifier> = "identifier",
        /// `Encounter.status`.
        status: Option<String> = "status",
        /// `Encounter.class` (a Coding in STU3).
        class: Option<Coding> = "class",
        /// `Encounter.type`.
        type_: Vec<CodeableConcept> = "type",
        /// `Encounter.subject`.
        subject: Option<Reference> = "subject",
        /// `Encounter.participant`.
        participant: Vec<EncounterParticipant> = "participant",
        /// `Encounter.period`.
        period: Option<Period> = "period",
        /// `Encounter.reason` (`reasonCode` in R4).
        reason: Vec<CodeableConcept> = "reason",
        /// `Encounter.location`.
        location: Vec<EncounterLocation> = "location",
        /// `Encounter.serviceProvider`.
        service_provider: Option<Reference> = "serviceProvider",
    }
}

element! {
    /// A reference range of an Observation.
    pub struct ReferenceRange {
        /// `referenceRange.low`.
        low: Option<Quantity> = "low",
        /// `referenceRange.high`.
        high: Option<Quantity> = "high",
        /// `referenceRange.text`.
        text: Option<String> = "text",
    }
}

element! {
    /// A link from one Observation to another (a test group's members).
    pub struct ObservationRelated {
        /// `Observation.related.type` (`has-member`, `derived-from`, …).
        type_: Option<String> = "type",
        /// `Observation.related.target`.
        target: Option<Reference> = "target",
    }
}

element! {
    /// One part of a multi-part Observation.
    pub struct ObservationComponent {
        /// `Observation.component.code`.
        code: Option<CodeableConcept> = "code",
        /// `Observation.component.valueQuantity`.
        value_quantity: Option<Quantity> = "valueQuantity",
        /// `Observation.component.valueCodeableConcept`.
        value_codeable_concept: Option<CodeableConcept> = "valueCodeableConcept",
        /// `Observation.component.valueString`.
        value_string: Option<String> = "valueString",
        /// `Observation.component.valueRange`.
        value_range: Option<Range> = "valueRange",
        /// `Observation.component.valueRatio`.
        value_ratio: Option<Ratio> = "valueRatio",
        /// `Observation.component.valueDateTime`.
        value_date_time: Option<String> = "valueDateTime",
        /// `Observation.component.valuePeriod`.
        value_period: Option<Period> = "valuePeriod",
        /// `Observation.component.valueTime`.
        value_time: Option<String> = "valueTime",
        /// `Observation.component.dataAbsentReason`.
        data_absent_reason: Option<CodeableConcept> = "dataAbsentReason",
        /// `Observation.component.interpretation` (one concept in STU3).
        interpretation: Option<CodeableConcept> = "interpretation",
        /// `Observation.component.referenceRange`.
        reference_range: Vec<ReferenceRange> = "referenceRange",
    }
}

element! {
    /// A test result, a test group, a filing comment, or an uncategorised
    /// observation.
    pub struct Observation {
        /// `Observation.id`.
        id: Option<String> = "id",
        /// `Observation.meta`.
        meta: Option<Meta> = "meta",
        /// `Observation.identifier`.
        identifier: Vec<Identifier> = "identifier",
        /// `Observation.status`.
        status: Option<String> = "status",
        /// `Observation.category`.
        category: Vec<CodeableConcept> = "category",
        /// `Observation.code`.
        code: Option<CodeableConcept> = "code",
        /// `Observation.subject`.
        subject: Option<Reference> = "subject",
        /// `Observation.context`.
        context: Option<Reference> = "context",
        /// `Observation.effectiveDateTime`.
        effective_date_time: Option<String> = "effectiveDateTime",
        /// `Observation.effectivePeriod`.
        effective_period: Option<Period> = "effectivePeriod",
        /// `Observation.issued`.
        issued: Option<String> = "issued",
        /// `Observation.performer`.
        performer: Vec<Reference> = "performer",
        /// `Observation.valueQuantity`.
        value_quantity: Option<Quantity> = "valueQuantity",
        /// `Observation.valueCodeableConcept`.
        value_codeable_concept: Option<CodeableConcept> = "valueCodeableConcept",
        /// `Observation.valueString`.
        value_string: Option<String> = "valueString",
        /// `Observation.valueBoolean`.
        value_boolean: Option<bool> = "valueBoolean",
        /// `Observation.valueRange`.
        value_range: Option<Range> = "valueRange",
        /// `Observation.valueRatio`.
        value_ratio: Option<Ratio> = "valueRatio",
        /// `Observation.valueTime`.
        value_time: Option<String> = "valueTime",
        /// `Observation.valueDateTime`.
        value_date_time: Option<String> = "valueDateTime",
        /// `Observation.valuePeriod`.
        value_period: Option<Period> = "valuePeriod",
        /// `Observation.dataAbsentReason`.
        data_absent_reason: Option<CodeableConcept> = "dataAbsentReason",
        /// `Observation.interpretation` (one concept in STU3).
        interpretation: Option<CodeableConcept> = "interpretation",
        /// `Observation.comment`.
        comment: Option<String> = "comment",
        /// `Observation.specimen`.
        specimen: Option<Reference> = "specimen",
        /// `Observation.referenceRange`.
        reference_range: Vec<ReferenceRange> = "referenceRange",
        /// `Observation.related`.
        related: Vec<ObservationRelated> = "related",
        /// `Observation.component`.
        component: Vec<ObservationComponent> = "component",
    }
}

element! {
    /// Who produced a DiagnosticReport.
    pub struct DiagnosticReportPerformer {
        /// `DiagnosticReport.performer.actor`.
        actor: Option<Reference> = "actor",
    }
}

element! {
    /// An investigation report.
    pub struct DiagnosticReport {
        /// `DiagnosticReport.id`.
        id: Option<String> = "id",
        /// `DiagnosticReport.meta`.
        meta: Option<Meta> = "meta",
        /// `DiagnosticReport.identifier`.
        identifier: Vec<Identifier> = "identifier",
        /// `DiagnosticReport.basedOn` (the ProcedureRequest).
        based_on: Vec<Reference> = "basedOn",
        /// `DiagnosticReport.status`.
        status: Option<String> = "status",
        /// `DiagnosticReport.category` (one concept in STU3).
        category: Option<CodeableConcept> = "category",
        /// `DiagnosticReport.code`.
        code: Option<CodeableConcept> = "code",
        /// `DiagnosticReport.subject`.
        subject: Option<Reference> = "subject",
        /// `DiagnosticReport.effectiveDateTime`.
        effective_date_time: Option<String> = "effectiveDateTime",
        /// `DiagnosticReport.effectivePeriod`.
        effective_period: Option<Period> = "effectivePeriod",
        /// `DiagnosticReport.issued`.
        issued: Option<String> = "issued",
        /// `DiagnosticReport.performer`.
        performer: Vec<DiagnosticReportPerformer> = "performer",
        /// `DiagnosticReport.specimen`.
        specimen: Vec<Reference> = "specimen",
        /// `DiagnosticReport.result`.
        result: Vec<Reference> = "result",
        /// `DiagnosticReport.conclusion`.
        conclusion: Option<String> = "conclusion",
    }
}

element! {
    /// A request for a test or procedure (an investigation's order, a
    /// diary entry).
    pub struct ProcedureRequest {
        /// `ProcedureRequest.id`.
        id: Option<String> = "id",
        /// `ProcedureRequest.meta`.
        meta: Option<Meta> = "meta",
        /// `ProcedureRequest.status`.
        status: Option<String> = "status",
        /// `ProcedureRequest.intent`.
        intent: Option<String> = "intent",
        /// `ProcedureRequest.code`.
        code: Option<CodeableConcept> = "code",
        /// `ProcedureRequest.subject`.
        subject: Option<Reference> = "subject",
        /// `ProcedureRequest.authoredOn`.
        authored_on: Option<String> = "authoredOn",
        /// `ProcedureRequest.requester`.
        requester: Option<Requester> = "requester",
        /// `ProcedureRequest.note`.
        note: Vec<Annotation> = "note",
    }
}

element! {
    /// How and when a specimen was collected.
    pub struct SpecimenCollection {
        /// `Specimen.collection.collectedDateTime`.
        collected_date_time: Option<String> = "collectedDateTime",
        /// `Specimen.collection.collectedPeriod`.
        collected_period: Option<Period> = "collectedPeriod",
    }
}

element! {
    /// A specimen of an investigation.
    pub struct Specimen {
        /// `Specimen.id`.
        id: Option<String> = "id",
        /// `Specimen.meta`.
        meta: Option<Meta> = "meta",
        /// `Specimen.type`.
        type_: Option<CodeableConcept> = "type",
        /// `Specimen.receivedTime`.
        received_time: Option<String> = "receivedTime",
        /// `Specimen.collection`.
        collection: Option<SpecimenCollection> = "collection",
    }
}

element! {
    /// Who gave an immunisation.
    pub struct ImmunizationPractitioner {
        /// `Immunization.practitioner.role`.
        role: Option<CodeableConcept> = "role",
        /// `Immunization.practitioner.actor`.
        actor: Option<Reference> = "actor",
    }
}

element! {
    /// Why an immunisation was or was not given.
    pub struct ImmunizationExplanation {
        /// `Immunization.explanation.reason`.
        reason: Vec<CodeableConcept> = "reason",
        /// `Immunization.explanation.reasonNotGiven`.
        reason_not_given: Vec<CodeableConcept> = "reasonNotGiven",
    }
}

element! {
    /// An immunisation given, or recorded as not given.
    pub struct Immunization {
        /// `Immunization.id`.
        id: Option<String> = "id",
        /// `Immunization.meta`.
        meta: Option<Meta> = "meta",
        /// `Immunization.extension` (the vaccination procedure, date recorded, …).
        extension: Vec<Extension> = "extension",
        /// `Immunization.identifier`.
        identifier: Vec<Identifier> = "identifier",
        /// `Immunization.status` (`completed` or `entered-in-error`).
        status: Option<String> = "status",
        /// `Immunization.notGiven`.
        not_given: Option<bool> = "notGiven",
        /// `Immunization.vaccineCode`.
        vaccine_code: Option<CodeableConcept> = "vaccineCode",
        /// `Immunization.patient`.
        patient: Option<Reference> = "patient",
        /// `Immunization.encounter`.
        encounter: Option<Reference> = "encounter",
        /// `Immunization.date`.
        date: Option<String> = "date",
        /// `Immunization.primarySource`.
        primary_source: Option<bool> = "primarySource",
        /// `Immunization.location`.
        location: Option<Reference> = "location",
        /// `Immunization.lotNumber`.
        lot_number: Option<String> = "lotNumber",
        /// `Immunization.site`.
        site: Option<CodeableConcept> = "site",
        /// `Immunization.route`.
        route: Option<CodeableConcept> = "route",
        /// `Immunization.practitioner`.
        practitioner: Vec<ImmunizationPractitioner> = "practitioner",
        /// `Immunization.note`.
        note: Vec<Annotation> = "note",
        /// `Immunization.explanation`.
        explanation: Option<ImmunizationExplanation> = "explanation",
    }
}

element! {
    /// A referral made by the practice.
    pub struct ReferralRequest {
        /// `ReferralRequest.id`.
        id: Option<String> = "id",
        /// `ReferralRequest.meta`.
        meta: Option<Meta> = "meta",
        /// `ReferralRequest.identifier` (the UBRN, …).
        identifier: Vec<Identifier> = "identifier",
        /// `ReferralRequest.status`.
        status: Option<String> = "status",
        /// `ReferralRequest.intent`.
        intent: Option<String> = "intent",
        /// `ReferralRequest.type`.
        type_: Option<CodeableConcept> = "type",
        /// `ReferralRequest.priority`.
        priority: Option<String> = "priority",
        /// `ReferralRequest.serviceRequested`.
        service_requested: Vec<CodeableConcept> = "serviceRequested",
        /// `ReferralRequest.subject`.
        subject: Option<Reference> = "subject",
        /// `ReferralRequest.context`.
        context: Option<Reference> = "context",
        /// `ReferralRequest.authoredOn`.
        authored_on: Option<String> = "authoredOn",
        /// `ReferralRequest.requester`.
        requester: Option<Requester> = "requester",
        /// `ReferralRequest.specialty`.
        specialty: Option<CodeableConcept> = "specialty",
        /// `ReferralRequest.recipient`.
        recipient: Vec<Reference> = "recipient",
        /// `ReferralRequest.reasonCode`.
        reason_code: Vec<CodeableConcept> = "reasonCode",
        /// `ReferralRequest.reasonReference`.
        reason_reference: Vec<Reference> = "reasonReference",
        /// `ReferralRequest.description`.
        description: Option<String> = "description",
        /// `ReferralRequest.note`.
        note: Vec<Annotation> = "note",
    }
}

element! {
    /// One problem reported in an OperationOutcome.
    pub struct OperationOutcomeIssue {
        /// `OperationOutcome.issue.severity`.
        severity: Option<String> = "severity",
        /// `OperationOutcome.issue.code`.
        code: Option<String> = "code",
        /// `OperationOutcome.issue.details` (the Spine error code).
        details: Option<CodeableConcept> = "details",
        /// `OperationOutcome.issue.diagnostics`.
        diagnostics: Option<String> = "diagnostics",
    }
}

element! {
    /// Errors and warnings.
    pub struct OperationOutcome {
        /// `OperationOutcome.id`.
        id: Option<String> = "id",
        /// `OperationOutcome.meta`.
        meta: Option<Meta> = "meta",
        /// `OperationOutcome.issue`.
        issue: Vec<OperationOutcomeIssue> = "issue",
    }
}

element! {
    /// One parameter of an operation.
    pub struct Parameter {
        /// `Parameters.parameter.name`.
        name: Option<String> = "name",
        /// `Parameters.parameter.valueIdentifier`.
        value_identifier: Option<Identifier> = "valueIdentifier",
        /// `Parameters.parameter.valueBoolean`.
        value_boolean: Option<bool> = "valueBoolean",
        /// `Parameters.parameter.valueDate`.
        value_date: Option<String> = "valueDate",
        /// `Parameters.parameter.valueCode`.
        value_code: Option<String> = "valueCode",
        /// `Parameters.parameter.valuePositiveInt`.
        value_positive_int: Option<u32> = "valuePositiveInt",
        /// `Parameters.parameter.valuePeriod`.
        value_period: Option<Period> = "valuePeriod",
        /// `Parameters.parameter.part`.
        part: Vec<Parameter> = "part",
    }
}

element! {
    /// An operation's parameters (the `$gpc.getstructuredrecord` request body).
    pub struct Parameters {
        /// `Parameters.meta`.
        meta: Option<Meta> = "meta",
        /// `Parameters.parameter`.
        parameter: Vec<Parameter> = "parameter",
    }
}

macro_rules! elements {
    ($($t:ty),* $(,)?) => { $(impl Element for $t {})* };
}

elements!(
    Patient,
    PatientContact,
    Organization,
    Practitioner,
    PractitionerRole,
    Location,
    List,
    ListEntry,
    AllergyReaction,
    AllergyIntolerance,
    Condition,
    Medication,
    MedicationStatement,
    Requester,
    DispenseRequest,
    MedicationRequest,
    EncounterParticipant,
    EncounterLocation,
    Encounter,
    ReferenceRange,
    ObservationRelated,
    ObservationComponent,
    Observation,
    DiagnosticReportPerformer,
    DiagnosticReport,
    ProcedureRequest,
    SpecimenCollection,
    Specimen,
    ImmunizationPractitioner,
    ImmunizationExplanation,
    Immunization,
    ReferralRequest,
    OperationOutcomeIssue,
    OperationOutcome,
    Parameter,
    Parameters,
);
