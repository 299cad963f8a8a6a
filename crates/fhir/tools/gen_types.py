# Generates crates/fhir/src/types.rs from a compact spec of the FHIR R4 subset.
import os
import re
SPEC = r"""
@@Coding  A code from a code system.
system ? String
version ? String
code ? String
display ? String

@@CodeableConcept  A concept as codings and text.
coding * Coding
text ? String

@@Identifier  An identifier with its system.
use ? String
type ? CodeableConcept strict
system ? String
value ? String
period ? Period strict

@@Reference  A reference to another resource, by URL, identifier or display.
reference ? String
type ? String strict
identifier ? Identifier
display ? String

@@Period  A time range; either end may be open.
start ? String
end ? String

@@Quantity  A measured amount (a value GP Connect writes as a string is read, in a tolerant read).
value ? f64
comparator ? String
unit ? String
system ? String
code ? String

@@Ratio  A ratio of two quantities.
numerator ? Quantity
denominator ? Quantity

@@Range  A range of quantities.
low ? Quantity
high ? Quantity

@@HumanName  A person's name.
use ? String
text ? String
family ? String
given * String
prefix * String
suffix * String
period ? Period strict

@@Address  A postal address.
use ? String
type ? String
text ? String
line * String
city ? String
district ? String
state ? String
postalCode ? String
country ? String
period ? Period strict

@@ContactPoint  A phone number, email address or similar.
system ? String
value ? String
use ? String
rank ? u32 strict
period ? Period strict

@Annotation  A note with author and time.
authorString ? String
authorReference ? Reference
time ? String
text ? String

@Element  The extensions of a primitive value, e.g. a data-absent-reason on a required code.
extension * Extension

@Attachment  Content by reference or inline.
extension * Extension
contentType ? String
language ? String
data ? String
url ? String
size ? u64
title ? String
creation ? String

@@Meta  Resource metadata.
versionId ? String
lastUpdated ? String
source ? String strict
profile * String
security * Coding

@@Narrative  Human-readable XHTML summary of a resource.
status ? String
div ? String

@@Dosage  How a medicine is to be taken.
sequence ? i64 strict
text ? String
patientInstruction ? String

@Extension  An extension; only its URL and simple values are kept.
url ? String
valueString ? String
valueCode ? String
valueBoolean ? bool
valueDateTime ? String
valueCodeableConcept ? CodeableConcept
valueReference ? Reference

@BundleLink  A link of a Bundle (self, next, …).
relation ? String
url ? String

@BundleSearch  Why an entry is in a search result.
mode ? String

@OperationOutcomeIssue  One issue of an OperationOutcome.
severity ? String
code ? String
details ? CodeableConcept
diagnostics ? String
expression * String

@OperationOutcome  Errors, warnings and information about an operation.
id ? String
meta ? Meta
issue * OperationOutcomeIssue

@PatientContact  A contact party of a Patient.
relationship * CodeableConcept
name ? HumanName
telecom * ContactPoint
address ? Address
gender ? String
organization ? Reference
period ? Period

@Patient  Demographics of a person receiving care.
id ? String
meta ? Meta
extension * Extension
identifier * Identifier
active ? bool
name * HumanName
telecom * ContactPoint
gender ? String
birthDate ? String
deceasedBoolean ? bool
deceasedDateTime ? String
address * Address
contact * PatientContact
generalPractitioner * Reference
managingOrganization ? Reference

@AllergyReaction  One reaction to an allergen.
substance ? CodeableConcept
manifestation * CodeableConcept
description ? String
onset ? String
severity ? String
note * Annotation

@AllergyIntolerance  An allergy or intolerance.
id ? String
meta ? Meta
identifier * Identifier
clinicalStatus ? CodeableConcept
verificationStatus ? CodeableConcept
type ? String
category * String
criticality ? String
code ? CodeableConcept
patient ? Reference
onsetDateTime ? String
onsetPeriod ? Period
onsetString ? String
recordedDate ? String
recorder ? Reference
asserter ? Reference
lastOccurrence ? String
note * Annotation
reaction * AllergyReaction

@Medication  A medicine, referenced from statements and requests.
id ? String
meta ? Meta
code ? CodeableConcept
form ? CodeableConcept

@MedicationStatement  A record that a medicine is or was being taken.
id ? String
meta ? Meta
contained * serde_json::Value
identifier * Identifier
status ? String
category ? CodeableConcept
medicationCodeableConcept ? CodeableConcept
medicationReference ? Reference
subject ? Reference
effectiveDateTime ? String
effectivePeriod ? Period
dateAsserted ? String
informationSource ? Reference
reasonCode * CodeableConcept
reasonReference * Reference
note * Annotation
dosage * Dosage

@MedicationRequest  A prescription or medication order.
id ? String
meta ? Meta
contained * serde_json::Value
identifier * Identifier
status ? String
intent ? String
category * CodeableConcept
priority ? String
medicationCodeableConcept ? CodeableConcept
medicationReference ? Reference
subject ? Reference
authoredOn ? String
requester ? Reference
reasonCode * CodeableConcept
reasonReference * Reference
note * Annotation
dosageInstruction * Dosage
dispenseRequest ? DispenseRequest

@DispenseRequest  Supply authorised by a prescription.
validityPeriod ? Period

@Condition  A problem, diagnosis or condition.
id ? String
meta ? Meta
identifier * Identifier
clinicalStatus ? CodeableConcept
verificationStatus ? CodeableConcept
category * CodeableConcept
severity ? CodeableConcept
code ? CodeableConcept
bodySite * CodeableConcept
subject ? Reference
onsetDateTime ? String
onsetPeriod ? Period
onsetString ? String
abatementDateTime ? String
abatementPeriod ? Period
abatementString ? String
recordedDate ? String
note * Annotation

@ReferenceRange  The range a result is expected in.
low ? Quantity
high ? Quantity
type ? CodeableConcept
text ? String

@ObservationComponent  One part of a multi-part observation.
code ? CodeableConcept
valueQuantity ? Quantity
valueCodeableConcept ? CodeableConcept
valueString ? String
valueBoolean ? bool
valueInteger ? i64
valueRange ? Range
valueDateTime ? String
dataAbsentReason ? CodeableConcept
interpretation * CodeableConcept
referenceRange * ReferenceRange

@Observation  A measurement or observation.
id ? String
meta ? Meta
identifier * Identifier
status ? String
category * CodeableConcept
code ? CodeableConcept
subject ? Reference
effectiveDateTime ? String
effectivePeriod ? Period
effectiveInstant ? String
issued ? String
performer * Reference
valueQuantity ? Quantity
valueCodeableConcept ? CodeableConcept
valueString ? String
valueBoolean ? bool
valueInteger ? i64
valueRange ? Range
valueDateTime ? String
valuePeriod ? Period
valueRatio ? Ratio
valueTime ? String
dataAbsentReason ? CodeableConcept
interpretation * CodeableConcept
note * Annotation
referenceRange * ReferenceRange
hasMember * Reference
component * ObservationComponent

@DiagnosticReport  A report grouping results, or an imaging report.
id ? String
meta ? Meta
identifier * Identifier
status ? String
category * CodeableConcept
code ? CodeableConcept
subject ? Reference
effectiveDateTime ? String
effectivePeriod ? Period
issued ? String
performer * Reference
result * Reference
conclusion ? String
conclusionCode * CodeableConcept
presentedForm * Attachment

@DocumentReferenceContent  The content of a document.
attachment ? Attachment
format ? Coding

@DocumentReference  A reference to a document.
id ? String
meta ? Meta
identifier * Identifier
status ? String
_status ? Element
docStatus ? String
type ? CodeableConcept
category * CodeableConcept
subject ? Reference
date ? String
author * Reference
custodian ? Reference
description ? String
content * DocumentReferenceContent

@ProcedurePerformer  Who performed a procedure.
function ? CodeableConcept
actor ? Reference

@Procedure  An operation or procedure.
id ? String
meta ? Meta
identifier * Identifier
status ? String
category ? CodeableConcept
code ? CodeableConcept
subject ? Reference
performedDateTime ? String
performedPeriod ? Period
performedString ? String
performer * ProcedurePerformer
reasonCode * CodeableConcept
bodySite * CodeableConcept
outcome ? CodeableConcept
note * Annotation

@EncounterParticipant  Someone taking part in an encounter.
type * CodeableConcept
individual ? Reference

@EncounterLocation  Where an encounter took place.
location ? Reference

@Encounter  An attendance, admission or other contact.
id ? String
meta ? Meta
identifier * Identifier
status ? String
class ? Coding
type * CodeableConcept
serviceType ? CodeableConcept
priority ? CodeableConcept
subject ? Reference
participant * EncounterParticipant
period ? Period
reasonCode * CodeableConcept
reasonReference * Reference
location * EncounterLocation
serviceProvider ? Reference

@AppointmentParticipant  A participant of an appointment.
type * CodeableConcept
actor ? Reference
required ? String
status ? String
_status ? Element

@Appointment  A booked appointment.
id ? String
meta ? Meta
identifier * Identifier
status ? String
_status ? Element
serviceCategory * CodeableConcept
serviceType * CodeableConcept
specialty * CodeableConcept
appointmentType ? CodeableConcept
reasonCode * CodeableConcept
reasonReference * Reference
description ? String
start ? String
end ? String
minutesDuration ? u32
created ? String
comment ? String
participant * AppointmentParticipant

@ServiceRequest  A referral or request for a service.
id ? String
meta ? Meta
identifier * Identifier
status ? String
intent ? String
category * CodeableConcept
priority ? String
code ? CodeableConcept
subject ? Reference
occurrenceDateTime ? String
occurrencePeriod ? Period
authoredOn ? String
requester ? Reference
performer * Reference
reasonCode * CodeableConcept
reasonReference * Reference
note * Annotation

@Flag  An alert.
id ? String
meta ? Meta
identifier * Identifier
status ? String
_status ? Element
category * CodeableConcept
code ? CodeableConcept
subject ? Reference
period ? Period
author ? Reference

@RelatedPerson  A person related to the patient.
id ? String
meta ? Meta
identifier * Identifier
active ? bool
patient ? Reference
relationship * CodeableConcept
name * HumanName
telecom * ContactPoint
gender ? String
address * Address
period ? Period

@CareTeamParticipant  A member of a care team.
role * CodeableConcept
member ? Reference
onBehalfOf ? Reference
period ? Period

@CareTeam  A team or service involved in care.
id ? String
meta ? Meta
identifier * Identifier
status ? String
category * CodeableConcept
name ? String
subject ? Reference
period ? Period
participant * CareTeamParticipant
managingOrganization * Reference
telecom * ContactPoint
note * Annotation

@ProvenanceAgent  Who is responsible for a record.
type ? CodeableConcept
who ? Reference
onBehalfOf ? Reference

@ProvenanceEntity  A record used in an activity.
role ? String
what ? Reference

@Provenance  Where resources came from.
id ? String
meta ? Meta
target * Reference
recorded ? String
activity ? CodeableConcept
agent * ProvenanceAgent
entity * ProvenanceEntity

@AuditEventNetwork  The network access point of an audit agent.
address ? String
type ? String

@AuditEventAgent  An actor in an audited event (a user, an organisation, a calling system).
type ? CodeableConcept
role * CodeableConcept
who ? Reference
altId ? String
name ? String
requestor ? bool
location ? Reference
policy * String
media ? Coding
network ? AuditEventNetwork
purposeOfUse * CodeableConcept

@AuditEventSource  The system that recorded an audited event.
site ? String
observer ? Reference
type * Coding

@AuditEventEntityDetail  A named detail of an audited entity.
type ? String
valueString ? String
valueBase64Binary ? String

@AuditEventEntity  Data or objects used in an audited event (the patient whose record was read).
what ? Reference
type ? Coding
role ? Coding
lifecycle ? Coding
securityLabel * Coding
name ? String
description ? String
query ? String
detail * AuditEventEntityDetail

@AuditEvent  A record of an event kept for security purposes (an access to a patient's record).
id ? String
meta ? Meta
type ? Coding
subtype * Coding
action ? String
period ? Period
recorded ? String
outcome ? String
outcomeDesc ? String
purposeOfEvent * CodeableConcept
agent * AuditEventAgent
source ? AuditEventSource
entity * AuditEventEntity

@ImmunizationPerformer  Who gave an immunisation.
function ? CodeableConcept
actor ? Reference

@ImmunizationProtocolApplied  The dose of a vaccination protocol an immunisation was.
series ? String
doseNumberPositiveInt ? u32
doseNumberString ? String
seriesDosesPositiveInt ? u32
seriesDosesString ? String

@Immunization  A vaccination given, or recorded as not given.
id ? String
meta ? Meta
extension * Extension
identifier * Identifier
status ? String
statusReason ? CodeableConcept
vaccineCode ? CodeableConcept
patient ? Reference
occurrenceDateTime ? String
occurrenceString ? String
recorded ? String
primarySource ? bool
lotNumber ? String
expirationDate ? String
site ? CodeableConcept
route ? CodeableConcept
performer * ImmunizationPerformer
note * Annotation
reasonCode * CodeableConcept
protocolApplied * ImmunizationProtocolApplied

@CarePlanActivityDetail  A planned activity, described in the plan itself.
kind ? String
code ? CodeableConcept
status ? String
doNotPerform ? bool
scheduledPeriod ? Period
scheduledString ? String
description ? String

@CarePlanActivity  One thing a care plan plans.
outcomeCodeableConcept * CodeableConcept
progress * Annotation
reference ? Reference
detail ? CarePlanActivityDetail

@CarePlan  A plan of care for the patient.
id ? String
meta ? Meta
identifier * Identifier
status ? String
intent ? String
category * CodeableConcept
title ? String
description ? String
subject ? Reference
period ? Period
created ? String
author ? Reference
contributor * Reference
activity * CarePlanActivity
note * Annotation
"""
KW = {'type':'type_','use':'use_','class':'class_','ref':'ref_','_status':'status_ext'}
def snake(n):
    s = re.sub(r'([A-Z])', r'_\1', n).lower()
    return KW.get(s, s)
# A type marked `@@` is a data type FHIR STU3 shares with R4: it goes to
# datatypes.rs, where its elements are read as the read asks (plain serde, or
# tolerantly inside a GP Connect read; see lenient.rs), and the STU3 crate
# reuses it. An element marked `strict` is one the GP Connect subset never
# read: a tolerant read ignores it as an unknown element, as it always has.
types = ["//! The FHIR R4 subset the gateway reads and writes, as plain serde types.",
"//!",
"//! Generated by `crates/fhir/tools/gen_types.py` (edit the list there and",
"//! re-run it; do not edit this file by hand). Every",
"//! element is optional so that any real-world resource can be read, and",
"//! unknown elements are ignored. Dates stay strings here: adapters parse",
"//! them into the model, with their own tolerance.",
"",
"use serde::{Deserialize, Serialize};",
"",
"use crate::datatypes::*;",""]
datatypes = ["//! The FHIR data types R4 and STU3 share (Coding, CodeableConcept,",
"//! Identifier, Reference, HumanName, …), defined once: the R4 resources",
"//! here and the STU3 resources of `icr-fhir-stu3` are made of them.",
"//!",
"//! Generated by `crates/fhir/tools/gen_types.py` (edit the list there and",
"//! re-run it; do not edit this file by hand). Every element is optional and",
"//! unknown elements are ignored. An element is read as the read asks: with",
"//! plain serde (an R4 answer), or tolerantly inside a tolerant read (a GP",
"//! Connect answer, see [`lenient`](crate::lenient)); an element the STU3",
"//! subset does not read is ignored by a tolerant read.",
"",
"use serde::{Deserialize, Serialize};",""]
out=types
cur=None
shared=False
for line in SPEC.strip().split('\n'):
    line=line.rstrip()
    if not line:
        continue
    if line.startswith('@'):
        if cur: out.append('}\n')
        shared=line.startswith('@@')
        out = datatypes if shared else types
        name, doc = line.lstrip('@').split(None,1)
        cur=name
        out.append(f'/// {doc.strip()}')
        out.append('#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]')
        out.append('#[serde(rename_all = "camelCase")]')
        out.append(f'pub struct {name} {{')
        continue
    parts = line.split()
    fname, kind, ty = parts[:3]
    strict_only = parts[3:] == ['strict']
    assert parts[3:] in ([], ['strict']), line
    rust = snake(fname)
    ren = '' if re.sub(r'_([a-z])', lambda m:m.group(1).upper(), rust) == fname else f'rename = "{fname}", '
    out.append(f'    /// `{cur}.{fname}`.')
    if shared:
        # One argument a line, as rustfmt writes an attribute this long.
        read = 'strict_only' if strict_only else 'as_read'
        skip = 'Option::is_none' if kind == '?' else 'Vec::is_empty'
        args = ([f'rename = "{fname}"'] if ren else []) + [
            f'deserialize_with = "crate::lenient::{read}"', 'default', f'skip_serializing_if = "{skip}"']
        out.append('    #[serde(')
        out.extend(f'        {a},' if i < len(args) - 1 else f'        {a}' for i, a in enumerate(args))
        out.append('    )]')
        out.append(f'    pub {rust}: {"Option" if kind == "?" else "Vec"}<{ty}>,')
    elif kind == '?':
        out.append(f'    #[serde({ren}default, skip_serializing_if = "Option::is_none")]')
        out.append(f'    pub {rust}: Option<{ty}>,')
    elif kind == '*':
        out.append(f'    #[serde({ren}default, skip_serializing_if = "Vec::is_empty")]')
        out.append(f'    pub {rust}: Vec<{ty}>,')
out.append('}')
out.append('')
src = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'src')
open(os.path.join(src, 'types.rs'),'w').write('\n'.join(types))
open(os.path.join(src, 'datatypes.rs'),'w').write('\n'.join(datatypes))
