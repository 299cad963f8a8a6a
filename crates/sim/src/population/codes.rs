//! The code catalogue the population draws from. Every code is a real code
//! of its system: SNOMED CT concepts, dm+d medicines (VMPs), LOINC tests with
//! UCUM units, and HL7 code systems. Only codes whose meaning was checked are
//! listed; a medicine whose dm+d code could not be confirmed is left out
//! rather than given a guessed code.

use icr_model::{CodeSystem, Coding, Concept};

/// A code of one system with its display text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Code {
    pub system: Sys,
    pub code: &'static str,
    pub display: &'static str,
}

/// The systems the catalogue uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Sys {
    Snomed,
    Dmd,
    Loinc,
    Uri(&'static str),
}

impl Code {
    const fn snomed(code: &'static str, display: &'static str) -> Self {
        Self {
            system: Sys::Snomed,
            code,
            display,
        }
    }
    const fn dmd(code: &'static str, display: &'static str) -> Self {
        Self {
            system: Sys::Dmd,
            code,
            display,
        }
    }
    const fn loinc(code: &'static str, display: &'static str) -> Self {
        Self {
            system: Sys::Loinc,
            code,
            display,
        }
    }
    const fn uri(system: &'static str, code: &'static str, display: &'static str) -> Self {
        Self {
            system: Sys::Uri(system),
            code,
            display,
        }
    }

    /// The model coding.
    pub fn coding(&self) -> Coding {
        let system = match self.system {
            Sys::Snomed => CodeSystem::Snomed,
            Sys::Dmd => CodeSystem::Dmd,
            Sys::Loinc => CodeSystem::Loinc,
            Sys::Uri(u) => CodeSystem::Other(u.into()),
        };
        Coding::new(system, self.code, self.display)
    }

    /// A concept with this one coding.
    pub fn concept(&self) -> Concept {
        Concept::coded(self.coding())
    }
}

// ---- conditions (SNOMED CT disorders and findings) ----

pub(crate) const HEART_FAILURE: Code = Code::snomed("84114007", "Heart failure");
pub(crate) const TYPE_2_DIABETES: Code = Code::snomed("44054006", "Diabetes mellitus type 2");
pub(crate) const CKD_STAGE_3: Code = Code::snomed("433144002", "Chronic kidney disease stage 3");
pub(crate) const HYPERTENSION: Code = Code::snomed("59621000", "Essential hypertension");
pub(crate) const ATRIAL_FIBRILLATION: Code = Code::snomed("49436004", "Atrial fibrillation");
pub(crate) const ASTHMA: Code = Code::snomed("195967001", "Asthma");
pub(crate) const COPD: Code = Code::snomed("13645005", "Chronic obstructive lung disease");
pub(crate) const DEPRESSION: Code = Code::snomed("35489007", "Depressive disorder");
pub(crate) const ANXIETY: Code = Code::snomed("197480006", "Anxiety disorder");
pub(crate) const SCHIZOPHRENIA: Code = Code::snomed("58214004", "Schizophrenia");
pub(crate) const BIPOLAR: Code = Code::snomed("13746004", "Bipolar disorder");
pub(crate) const PTSD: Code = Code::snomed("47505003", "Posttraumatic stress disorder");
pub(crate) const SELF_HARM: Code = Code::snomed("248062006", "Self-injurious behaviour");
pub(crate) const OSTEOARTHRITIS: Code = Code::snomed("396275006", "Osteoarthritis");
pub(crate) const HYPOTHYROIDISM: Code = Code::snomed("40930008", "Hypothyroidism");
pub(crate) const MYOCARDIAL_INFARCTION: Code = Code::snomed("22298006", "Myocardial infarction");
pub(crate) const EPILEPSY: Code = Code::snomed("84757009", "Epilepsy");
pub(crate) const OBESITY: Code = Code::snomed("414916001", "Obesity");
pub(crate) const HYPERLIPIDAEMIA: Code = Code::snomed("55822004", "Hyperlipidaemia");
pub(crate) const GOUT: Code = Code::snomed("90560007", "Gout");
pub(crate) const ANAEMIA: Code = Code::snomed("271737000", "Anaemia");
pub(crate) const FRACTURE_NECK_OF_FEMUR: Code =
    Code::snomed("5913000", "Fracture of neck of femur");
pub(crate) const CELLULITIS: Code = Code::snomed("128045006", "Cellulitis");
pub(crate) const PNEUMONIA: Code = Code::snomed("233604007", "Pneumonia");
pub(crate) const UTI: Code = Code::snomed("68566005", "Urinary tract infectious disease");

// ---- medicines (dm+d virtual medicinal products) ----

pub(crate) const METFORMIN_500: Code = Code::dmd("325278007", "Metformin 500mg tablets");
pub(crate) const FUROSEMIDE_20: Code = Code::dmd("317971007", "Furosemide 20mg tablets");
pub(crate) const AMLODIPINE_10: Code = Code::dmd("319284000", "Amlodipine 10mg tablets");
pub(crate) const CITALOPRAM_20: Code = Code::dmd("321987003", "Citalopram 20mg tablets");
pub(crate) const PARACETAMOL_500: Code = Code::dmd("322236009", "Paracetamol 500mg tablets");
pub(crate) const AMOXICILLIN_500: Code =
    Code::dmd("39732411000001106", "Amoxicillin 500mg capsules");
pub(crate) const CLARITHROMYCIN_500: Code =
    Code::dmd("41946511000001109", "Clarithromycin 500mg tablets");
pub(crate) const DOXYCYCLINE_100: Code =
    Code::dmd("41948311000001104", "Doxycycline 100mg capsules");
pub(crate) const CIPROFLOXACIN_500: Code =
    Code::dmd("39687811000001107", "Ciprofloxacin 500mg tablets");

// ---- allergies (SNOMED CT findings) and reactions ----

pub(crate) const ALLERGY_PENICILLIN: Code = Code::snomed("91936005", "Allergy to penicillin");
pub(crate) const ALLERGY_PEANUT: Code = Code::snomed("91935009", "Allergy to peanut");
pub(crate) const ALLERGY_LATEX: Code = Code::snomed("300916003", "Latex allergy");
pub(crate) const ALLERGY_ASPIRIN: Code = Code::snomed("293586001", "Allergy to aspirin");
pub(crate) const ALLERGY_EGG: Code = Code::snomed("91930004", "Allergy to eggs");
pub(crate) const ALLERGY_SHELLFISH: Code = Code::snomed("300913006", "Shellfish allergy");

pub(crate) const ANAPHYLAXIS: Code = Code::snomed("39579001", "Anaphylaxis");
pub(crate) const URTICARIA: Code = Code::snomed("126485001", "Urticaria");
pub(crate) const RASH: Code = Code::snomed("271807003", "Eruption of skin");
pub(crate) const ANGIOEDEMA: Code = Code::snomed("41291007", "Angioedema");
pub(crate) const WHEEZING: Code = Code::snomed("56018004", "Wheezing");

// ---- procedures (SNOMED CT) ----

pub(crate) const ECHOCARDIOGRAPHY: Code = Code::snomed("40701008", "Echocardiography");
pub(crate) const ECG: Code = Code::snomed("29303009", "Electrocardiographic procedure");
pub(crate) const PCI: Code = Code::snomed("415070008", "Percutaneous coronary intervention");
pub(crate) const KNEE_REPLACEMENT: Code = Code::snomed("609588000", "Total knee replacement");
pub(crate) const HIP_REPLACEMENT: Code = Code::snomed("52734007", "Total replacement of hip");
pub(crate) const CHEST_XRAY: Code = Code::snomed("168537006", "Plain chest X-ray");
pub(crate) const COLONOSCOPY: Code = Code::snomed("73761001", "Colonoscopy");
pub(crate) const CHOLECYSTECTOMY: Code = Code::snomed("38102005", "Cholecystectomy");
pub(crate) const APPENDICECTOMY: Code = Code::snomed("80146002", "Appendectomy");
pub(crate) const CAESAREAN_SECTION: Code = Code::snomed("11466000", "Cesarean section");

// ---- specialties (SNOMED CT qualifier values) ----

pub(crate) const SPEC_CARDIOLOGY: Code = Code::snomed("394579002", "Cardiology");
pub(crate) const SPEC_ENDOCRINOLOGY: Code = Code::snomed("394583002", "Endocrinology");
pub(crate) const SPEC_NEPHROLOGY: Code = Code::snomed("394589003", "Nephrology");
pub(crate) const SPEC_PSYCHIATRY: Code = Code::snomed("394587001", "Psychiatry");
pub(crate) const SPEC_ORTHOPAEDICS: Code = Code::snomed("394801008", "Trauma and orthopaedics");
pub(crate) const SPEC_GENERAL_MEDICINE: Code = Code::snomed("419192003", "Internal medicine");
pub(crate) const SPEC_RESPIRATORY: Code = Code::snomed("418112009", "Pulmonary medicine");
pub(crate) const SPEC_EMERGENCY: Code = Code::snomed("773568002", "Emergency medicine");
pub(crate) const SPEC_GENERAL_SURGERY: Code = Code::snomed("394609007", "General surgery");
pub(crate) const SPEC_OBSTETRICS: Code = Code::snomed("394585009", "Obstetrics and gynaecology");
pub(crate) const SPEC_GENERAL_PRACTICE: Code = Code::snomed("394814009", "General practice");

// ---- immunisations (SNOMED CT vaccination procedures, UK extension where UK) ----

pub(crate) const VACC_SEASONAL_FLU: Code =
    Code::snomed("822851000000102", "Seasonal influenza vaccination");
pub(crate) const VACC_PNEUMOCOCCAL: Code = Code::snomed("12866006", "Pneumococcal vaccination");
pub(crate) const VACC_MMR: Code =
    Code::snomed("38598009", "Measles, mumps and rubella vaccination");
pub(crate) const VACC_TD_IPV: Code = Code::snomed(
    "866186002",
    "Administration of vaccine product containing only Clostridium tetani and Corynebacterium diphtheriae and Human poliovirus antigens",
);
pub(crate) const VACC_HPV: Code = Code::snomed(
    "761841000",
    "Administration of vaccine product containing only Human papillomavirus antigen",
);

// ---- vaccine products (SNOMED CT), by the vaccination that gives them ----

pub(crate) const VACCINE_FLU: Code = Code::snomed(
    "1181000221105",
    "Influenza virus antigen only vaccine product",
);
pub(crate) const VACCINE_PNEUMOCOCCAL: Code = Code::snomed(
    "836398006",
    "Streptococcus pneumoniae antigen-containing vaccine product",
);
pub(crate) const VACCINE_MMR: Code = Code::snomed(
    "871831003",
    "Measles morbillivirus and Mumps orthorubulavirus and Rubella virus antigens only vaccine product",
);

/// The vaccine product a vaccination gives, where the histories code it
/// (the others carry only the vaccination procedure, as many records do).
pub(crate) fn vaccine_for(vaccination: Code) -> Option<Code> {
    [
        (VACC_SEASONAL_FLU, VACCINE_FLU),
        (VACC_PNEUMOCOCCAL, VACCINE_PNEUMOCOCCAL),
        (VACC_MMR, VACCINE_MMR),
    ]
    .into_iter()
    .find(|(v, _)| *v == vaccination)
    .map(|(_, product)| product)
}

// ---- care plans ----

pub(crate) const CARE_PLAN_NURSING: Code =
    Code::snomed("773130005", "Nursing care plan (record artifact)");

// ---- referrals ----

pub(crate) const REFERRAL_CATEGORY: Code = Code::snomed("3457005", "Patient referral");
pub(crate) const REFERRAL_CARDIOLOGY: Code =
    Code::snomed("183519002", "Referral to cardiology service");
pub(crate) const REFERRAL_PSYCHIATRY: Code =
    Code::snomed("183524004", "Referral to psychiatry service");
pub(crate) const REFERRAL_DIETITIAN: Code = Code::snomed("103699006", "Referral to dietitian");
pub(crate) const REFERRAL_SERVICE: Code = Code::snomed("306206005", "Referral to service");

// ---- documents (SNOMED CT record artifacts) ----

pub(crate) const DOC_DISCHARGE_SUMMARY: Code = Code::snomed("373942005", "Discharge summary");
pub(crate) const DOC_CLINIC_LETTER: Code =
    Code::snomed("371531000", "Report of clinical encounter");
pub(crate) const DOC_CARE_PLAN: Code = Code::snomed("734163000", "Care plan");

// ---- care team roles (SNOMED CT occupations) ----

pub(crate) const ROLE_PHYSICIAN: Code = Code::snomed("309343006", "Physician");
pub(crate) const ROLE_NURSE: Code = Code::snomed("224535009", "Registered nurse");
pub(crate) const ROLE_PSYCHIATRIST: Code = Code::snomed("80584001", "Psychiatrist");
pub(crate) const ROLE_CARDIOLOGIST: Code = Code::snomed("17561000", "Cardiologist");
pub(crate) const ROLE_GP: Code = Code::snomed("62247001", "General practitioner");
pub(crate) const ROLE_DISTRICT_NURSE: Code = Code::snomed("158997000", "District nurse");
pub(crate) const ROLE_PHYSIOTHERAPIST: Code = Code::snomed("36682004", "Physiotherapist");
pub(crate) const ROLE_OCCUPATIONAL_THERAPIST: Code =
    Code::snomed("80546007", "Occupational therapist");
pub(crate) const ROLE_SOCIAL_WORKER: Code = Code::snomed("106328005", "Social worker");

// ---- care team categories (LOINC answers, FHIR care-team-category) ----

pub(crate) const TEAM_LONGITUDINAL: Code = Code::loinc(
    "LA28865-6",
    "Longitudinal care-coordination focused care team",
);
pub(crate) const TEAM_HOME_AND_COMMUNITY: Code = Code::loinc(
    "LA28866-4",
    "Home & Community Based Services (HCBS)-focused care team",
);

// ---- alerts ----

const FLAG_CATEGORY: &str = "http://terminology.hl7.org/CodeSystem/flag-category";
pub(crate) const FLAG_SAFETY: Code = Code::uri(FLAG_CATEGORY, "safety", "Safety");
pub(crate) const FLAG_CLINICAL: Code = Code::uri(FLAG_CATEGORY, "clinical", "Clinical");
pub(crate) const FLAG_DIET: Code = Code::uri(FLAG_CATEGORY, "diet", "Diet");
pub(crate) const FLAG_ADMIN: Code = Code::uri(FLAG_CATEGORY, "admin", "Administrative");
pub(crate) const PEANUT_FREE_DIET: Code = Code::snomed("226201008", "Peanut-free diet");
pub(crate) const AT_RISK_OF_FALLS: Code = Code::snomed("129839007", "At risk for falls");

// ---- HL7 code systems ----

const CONDITION_CATEGORY: &str = "http://terminology.hl7.org/CodeSystem/condition-category";
pub(crate) const PROBLEM_LIST_ITEM: Code =
    Code::uri(CONDITION_CATEGORY, "problem-list-item", "Problem List Item");
pub(crate) const ENCOUNTER_DIAGNOSIS: Code = Code::uri(
    CONDITION_CATEGORY,
    "encounter-diagnosis",
    "Encounter Diagnosis",
);

const OBSERVATION_CATEGORY: &str = "http://terminology.hl7.org/CodeSystem/observation-category";
pub(crate) const OBS_LABORATORY: Code = Code::uri(OBSERVATION_CATEGORY, "laboratory", "Laboratory");

const V2_0074: &str = "http://terminology.hl7.org/CodeSystem/v2-0074";
pub(crate) const REPORT_LAB: Code = Code::uri(V2_0074, "LAB", "Laboratory");
pub(crate) const REPORT_RADIOLOGY: Code = Code::uri(V2_0074, "RAD", "Radiology");

const INTERPRETATION: &str = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation";
pub(crate) const HIGH: Code = Code::uri(INTERPRETATION, "H", "High");
pub(crate) const LOW: Code = Code::uri(INTERPRETATION, "L", "Low");
pub(crate) const NORMAL: Code = Code::uri(INTERPRETATION, "N", "Normal");

const ACT_CODE: &str = "http://terminology.hl7.org/CodeSystem/v3-ActCode";
pub(crate) const CLASS_AMBULATORY: Code = Code::uri(ACT_CODE, "AMB", "ambulatory");
pub(crate) const CLASS_INPATIENT: Code = Code::uri(ACT_CODE, "IMP", "inpatient encounter");
pub(crate) const CLASS_EMERGENCY: Code = Code::uri(ACT_CODE, "EMER", "emergency");
pub(crate) const CLASS_HOME: Code = Code::uri(ACT_CODE, "HH", "home health");
pub(crate) const CLASS_VIRTUAL: Code = Code::uri(ACT_CODE, "VR", "virtual");

const ROLE_CODE: &str = "http://terminology.hl7.org/CodeSystem/v3-RoleCode";
pub(crate) const REL_WIFE: Code = Code::uri(ROLE_CODE, "WIFE", "wife");
pub(crate) const REL_HUSBAND: Code = Code::uri(ROLE_CODE, "HUSB", "husband");
pub(crate) const REL_DAUGHTER: Code = Code::uri(ROLE_CODE, "DAUC", "daughter");
pub(crate) const REL_SON: Code = Code::uri(ROLE_CODE, "SONC", "son");
pub(crate) const REL_MOTHER: Code = Code::uri(ROLE_CODE, "MTH", "mother");
pub(crate) const REL_FATHER: Code = Code::uri(ROLE_CODE, "FTH", "father");
pub(crate) const REL_SISTER: Code = Code::uri(ROLE_CODE, "SIS", "sister");
pub(crate) const REL_BROTHER: Code = Code::uri(ROLE_CODE, "BRO", "brother");
pub(crate) const REL_FRIEND: Code = Code::uri(ROLE_CODE, "FRND", "unrelated friend");
pub(crate) const REL_PARTNER: Code = Code::uri(ROLE_CODE, "DOMPART", "domestic partner");
const V2_0131: &str = "http://terminology.hl7.org/CodeSystem/v2-0131";
pub(crate) const NEXT_OF_KIN: Code = Code::uri(V2_0131, "N", "Next-of-Kin");

// ---- laboratory tests (LOINC, UCUM units) ----

/// A laboratory test: its LOINC code, UCUM unit and reference range.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Lab {
    pub code: Code,
    /// UCUM code of the unit (also shown as the unit).
    pub unit: &'static str,
    /// Lower reference limit, when the range has one.
    pub low: Option<f64>,
    /// Upper reference limit, when the range has one.
    pub high: Option<f64>,
    /// Decimal places the value is reported with.
    pub decimals: u8,
    /// Typical value in health, used to draw normal results.
    pub typical: f64,
    /// Spread of normal values around the typical value.
    pub spread: f64,
}

pub(crate) const POTASSIUM: Lab = Lab {
    code: Code::loinc("2823-3", "Potassium [Moles/volume] in Serum or Plasma"),
    unit: "mmol/L",
    low: Some(3.5),
    high: Some(5.3),
    decimals: 1,
    typical: 4.3,
    spread: 0.4,
};
pub(crate) const SODIUM: Lab = Lab {
    code: Code::loinc("2951-2", "Sodium [Moles/volume] in Serum or Plasma"),
    unit: "mmol/L",
    low: Some(133.0),
    high: Some(146.0),
    decimals: 0,
    typical: 139.0,
    spread: 3.0,
};
pub(crate) const CREATININE: Lab = Lab {
    code: Code::loinc("14682-9", "Creatinine [Moles/volume] in Serum or Plasma"),
    unit: "umol/L",
    low: Some(59.0),
    high: Some(104.0),
    decimals: 0,
    typical: 80.0,
    spread: 12.0,
};
pub(crate) const EGFR: Lab = Lab {
    code: Code::loinc(
        "62238-1",
        "Glomerular filtration rate/1.73 sq M.predicted [Volume Rate/Area] in Serum, Plasma or Blood by Creatinine-based formula (CKD-EPI)",
    ),
    unit: "mL/min/{1.73_m2}",
    low: Some(90.0),
    high: None,
    decimals: 0,
    typical: 96.0,
    spread: 4.0,
};
pub(crate) const HBA1C: Lab = Lab {
    code: Code::loinc(
        "59261-8",
        "Hemoglobin A1c/Hemoglobin.total in Blood by IFCC protocol",
    ),
    unit: "mmol/mol",
    low: Some(20.0),
    high: Some(41.0),
    decimals: 0,
    typical: 36.0,
    spread: 3.0,
};
pub(crate) const HAEMOGLOBIN: Lab = Lab {
    code: Code::loinc("718-7", "Hemoglobin [Mass/volume] in Blood"),
    unit: "g/L",
    low: Some(115.0),
    high: Some(165.0),
    decimals: 0,
    typical: 138.0,
    spread: 10.0,
};
pub(crate) const WHITE_CELLS: Lab = Lab {
    code: Code::loinc(
        "6690-2",
        "Leukocytes [#/volume] in Blood by Automated count",
    ),
    unit: "10*9/L",
    low: Some(4.0),
    high: Some(11.0),
    decimals: 1,
    typical: 7.0,
    spread: 1.5,
};
pub(crate) const PLATELETS: Lab = Lab {
    code: Code::loinc("777-3", "Platelets [#/volume] in Blood by Automated count"),
    unit: "10*9/L",
    low: Some(150.0),
    high: Some(400.0),
    decimals: 0,
    typical: 260.0,
    spread: 50.0,
};
pub(crate) const CRP: Lab = Lab {
    code: Code::loinc(
        "1988-5",
        "C reactive protein [Mass/volume] in Serum or Plasma",
    ),
    unit: "mg/L",
    low: None,
    high: Some(5.0),
    decimals: 0,
    typical: 2.0,
    spread: 1.0,
};
pub(crate) const NT_PROBNP: Lab = Lab {
    code: Code::loinc(
        "33762-6",
        "Natriuretic peptide.B prohormone N-Terminal [Mass/volume] in Serum or Plasma",
    ),
    unit: "pg/mL",
    low: None,
    high: Some(400.0),
    decimals: 0,
    typical: 120.0,
    spread: 60.0,
};
pub(crate) const CHOLESTEROL: Lab = Lab {
    code: Code::loinc("14647-2", "Cholesterol [Moles/volume] in Serum or Plasma"),
    unit: "mmol/L",
    low: None,
    high: Some(5.0),
    decimals: 1,
    typical: 4.4,
    spread: 0.4,
};
pub(crate) const TSH: Lab = Lab {
    code: Code::loinc("3016-3", "Thyrotropin [Units/volume] in Serum or Plasma"),
    unit: "m[IU]/L",
    low: Some(0.27),
    high: Some(4.2),
    decimals: 2,
    typical: 1.8,
    spread: 0.7,
};
pub(crate) const ALT: Lab = Lab {
    code: Code::loinc(
        "1742-6",
        "Alanine aminotransferase [Enzymatic activity/volume] in Serum or Plasma",
    ),
    unit: "U/L",
    low: None,
    high: Some(41.0),
    decimals: 0,
    typical: 22.0,
    spread: 7.0,
};

/// A group of tests reported together under one DiagnosticReport.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Panel {
    pub code: Code,
    pub tests: &'static [Lab],
}

pub(crate) const RENAL_PANEL: Panel = Panel {
    code: Code::loinc("24362-6", "Renal function 2000 panel - Serum or Plasma"),
    tests: &[SODIUM, POTASSIUM, CREATININE, EGFR],
};
pub(crate) const FULL_BLOOD_COUNT: Panel = Panel {
    code: Code::loinc("58410-2", "CBC panel - Blood by Automated count"),
    tests: &[HAEMOGLOBIN, WHITE_CELLS, PLATELETS],
};

/// A chest X-ray report (an imaging DiagnosticReport).
pub(crate) const XR_CHEST: Code = Code::loinc("36643-5", "XR Chest 2 Views");

// ---- children's mental health services (Oxford Health's CAMHS) ----

pub(crate) const ANOREXIA_NERVOSA: Code = Code::snomed("56882008", "Anorexia nervosa");
pub(crate) const SPEC_CHILD_PSYCHIATRY: Code =
    Code::snomed("394588006", "Child and adolescent psychiatry");

// ---- the clinical catalogue that drives generated patients ----

/// A condition the generator may give a patient, with what goes with it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ConditionSpec {
    pub code: Code,
    /// Chance per patient aged 60 or over.
    pub p_older: f64,
    /// Chance per adult under 60.
    pub p_adult: f64,
    /// Chance per child.
    pub p_child: f64,
    /// A mental-health condition (recorded by awp).
    pub mental: bool,
    /// An acute episode that resolves, rather than a long-term condition.
    pub acute: bool,
    /// The medicine usually taken for it, if the catalogue has one.
    pub medicine: Option<MedicineSpec>,
    /// Tests usually done for it.
    pub labs: &'static [Lab],
    /// A procedure sometimes done for it.
    pub procedure: Option<Code>,
    /// The specialty that looks after it.
    pub specialty: Code,
}

/// A medicine and how it is taken.
#[derive(Clone, Copy, Debug)]
pub(crate) struct MedicineSpec {
    pub code: Code,
    pub dosage: &'static str,
    /// Course length in days for a short course; `None` for a long-term medicine.
    pub course_days: Option<i64>,
}

const fn med(code: Code, dosage: &'static str) -> Option<MedicineSpec> {
    Some(MedicineSpec {
        code,
        dosage,
        course_days: None,
    })
}

const fn course(code: Code, dosage: &'static str, days: i64) -> Option<MedicineSpec> {
    Some(MedicineSpec {
        code,
        dosage,
        course_days: Some(days),
    })
}

pub(crate) const METFORMIN_DOSE: &str = "One tablet twice a day with meals";
pub(crate) const FUROSEMIDE_DOSE: &str = "One tablet each morning";
pub(crate) const AMLODIPINE_DOSE: &str = "One tablet once a day";
pub(crate) const CITALOPRAM_DOSE: &str = "One tablet once a day";
pub(crate) const PARACETAMOL_DOSE: &str =
    "One or two tablets up to four times a day when required; no more than eight in 24 hours";

pub(crate) const CONDITIONS: &[ConditionSpec] = &[
    ConditionSpec {
        code: HYPERTENSION,
        p_older: 0.35,
        p_adult: 0.10,
        p_child: 0.0,
        mental: false,
        acute: false,
        medicine: med(AMLODIPINE_10, AMLODIPINE_DOSE),
        labs: &[],
        procedure: None,
        specialty: SPEC_GENERAL_MEDICINE,
    },
    ConditionSpec {
        code: TYPE_2_DIABETES,
        p_older: 0.18,
        p_adult: 0.06,
        p_child: 0.0,
        mental: false,
        acute: false,
        medicine: med(METFORMIN_500, METFORMIN_DOSE),
        labs: &[HBA1C],
        procedure: None,
        specialty: SPEC_ENDOCRINOLOGY,
    },
    ConditionSpec {
        code: HEART_FAILURE,
        p_older: 0.08,
        p_adult: 0.005,
        p_child: 0.0,
        mental: false,
        acute: false,
        medicine: med(FUROSEMIDE_20, FUROSEMIDE_DOSE),
        labs: &[NT_PROBNP],
        procedure: Some(ECHOCARDIOGRAPHY),
        specialty: SPEC_CARDIOLOGY,
    },
    ConditionSpec {
        code: CKD_STAGE_3,
        p_older: 0.10,
        p_adult: 0.01,
        p_child: 0.0,
        mental: false,
        acute: false,
        medicine: None,
        labs: &[],
        procedure: None,
        specialty: SPEC_NEPHROLOGY,
    },
    ConditionSpec {
        code: ATRIAL_FIBRILLATION,
        p_older: 0.08,
        p_adult: 0.01,
        p_child: 0.0,
        mental: false,
        acute: false,
        medicine: None,
        labs: &[],
        procedure: Some(ECG),
        specialty: SPEC_CARDIOLOGY,
    },
    ConditionSpec {
        code: MYOCARDIAL_INFARCTION,
        p_older: 0.05,
        p_adult: 0.01,
        p_child: 0.0,
        mental: false,
        acute: false,
        medicine: None,
        labs: &[CHOLESTEROL],
        procedure: Some(PCI),
        specialty: SPEC_CARDIOLOGY,
    },
    ConditionSpec {
        code: HYPERLIPIDAEMIA,
        p_older: 0.15,
        p_adult: 0.06,
        p_child: 0.0,
        mental: false,
        acute: false,
        medicine: None,
        labs: &[CHOLESTEROL],
        procedure: None,
        specialty: SPEC_GENERAL_MEDICINE,
    },
    ConditionSpec {
        code: ASTHMA,
        p_older: 0.06,
        p_adult: 0.08,
        p_child: 0.09,
        mental: false,
        acute: false,
        medicine: None,
        labs: &[],
        procedure: None,
        specialty: SPEC_RESPIRATORY,
    },
    ConditionSpec {
        code: COPD,
        p_older: 0.08,
        p_adult: 0.01,
        p_child: 0.0,
        mental: false,
        acute: false,
        medicine: None,
        labs: &[],
        procedure: None,
        specialty: SPEC_RESPIRATORY,
    },
    ConditionSpec {
        code: OSTEOARTHRITIS,
        p_older: 0.25,
        p_adult: 0.04,
        p_child: 0.0,
        mental: false,
        acute: false,
        medicine: med(PARACETAMOL_500, PARACETAMOL_DOSE),
        labs: &[],
        procedure: Some(KNEE_REPLACEMENT),
        specialty: SPEC_ORTHOPAEDICS,
    },
    ConditionSpec {
        code: HYPOTHYROIDISM,
        p_older: 0.05,
        p_adult: 0.03,
        p_child: 0.0,
        mental: false,
        acute: false,
        medicine: None,
        labs: &[TSH],
        procedure: None,
        specialty: SPEC_ENDOCRINOLOGY,
    },
    ConditionSpec {
        code: OBESITY,
        p_older: 0.10,
        p_adult: 0.12,
        p_child: 0.03,
        mental: false,
        acute: false,
        medicine: None,
        labs: &[],
        procedure: None,
        specialty: SPEC_GENERAL_MEDICINE,
    },
    ConditionSpec {
        code: GOUT,
        p_older: 0.03,
        p_adult: 0.01,
        p_child: 0.0,
        mental: false,
        acute: false,
        medicine: None,
        labs: &[],
        procedure: None,
        specialty: SPEC_GENERAL_MEDICINE,
    },
    ConditionSpec {
        code: EPILEPSY,
        p_older: 0.01,
        p_adult: 0.01,
        p_child: 0.01,
        mental: false,
        acute: false,
        medicine: None,
        labs: &[],
        procedure: None,
        specialty: SPEC_GENERAL_MEDICINE,
    },
    ConditionSpec {
        code: ANAEMIA,
        p_older: 0.05,
        p_adult: 0.03,
        p_child: 0.01,
        mental: false,
        acute: false,
        medicine: None,
        labs: &[],
        procedure: Some(COLONOSCOPY),
        specialty: SPEC_GENERAL_MEDICINE,
    },
    ConditionSpec {
        code: PNEUMONIA,
        p_older: 0.05,
        p_adult: 0.02,
        p_child: 0.02,
        mental: false,
        acute: true,
        medicine: course(
            AMOXICILLIN_500,
            "One capsule three times a day for 5 days",
            5,
        ),
        labs: &[CRP],
        procedure: Some(CHEST_XRAY),
        specialty: SPEC_RESPIRATORY,
    },
    ConditionSpec {
        code: CELLULITIS,
        p_older: 0.03,
        p_adult: 0.02,
        p_child: 0.01,
        mental: false,
        acute: true,
        medicine: course(
            DOXYCYCLINE_100,
            "Two capsules on the first day, then one capsule a day for 4 days",
            5,
        ),
        labs: &[CRP],
        procedure: None,
        specialty: SPEC_GENERAL_MEDICINE,
    },
    ConditionSpec {
        code: UTI,
        p_older: 0.04,
        p_adult: 0.02,
        p_child: 0.01,
        mental: false,
        acute: true,
        medicine: course(CIPROFLOXACIN_500, "One tablet twice a day for 7 days", 7),
        labs: &[CRP],
        procedure: None,
        specialty: SPEC_GENERAL_MEDICINE,
    },
    ConditionSpec {
        code: FRACTURE_NECK_OF_FEMUR,
        p_older: 0.03,
        p_adult: 0.002,
        p_child: 0.0,
        mental: false,
        acute: true,
        medicine: None,
        labs: &[],
        procedure: Some(HIP_REPLACEMENT),
        specialty: SPEC_ORTHOPAEDICS,
    },
    ConditionSpec {
        code: DEPRESSION,
        p_older: 0.06,
        p_adult: 0.09,
        p_child: 0.02,
        mental: true,
        acute: false,
        medicine: med(CITALOPRAM_20, CITALOPRAM_DOSE),
        labs: &[],
        procedure: None,
        specialty: SPEC_PSYCHIATRY,
    },
    ConditionSpec {
        code: ANXIETY,
        p_older: 0.04,
        p_adult: 0.08,
        p_child: 0.03,
        mental: true,
        acute: false,
        medicine: None,
        labs: &[],
        procedure: None,
        specialty: SPEC_PSYCHIATRY,
    },
    ConditionSpec {
        code: BIPOLAR,
        p_older: 0.005,
        p_adult: 0.01,
        p_child: 0.0,
        mental: true,
        acute: false,
        medicine: None,
        labs: &[],
        procedure: None,
        specialty: SPEC_PSYCHIATRY,
    },
    ConditionSpec {
        code: SCHIZOPHRENIA,
        p_older: 0.004,
        p_adult: 0.008,
        p_child: 0.0,
        mental: true,
        acute: false,
        medicine: None,
        labs: &[],
        procedure: None,
        specialty: SPEC_PSYCHIATRY,
    },
    ConditionSpec {
        code: PTSD,
        p_older: 0.004,
        p_adult: 0.01,
        p_child: 0.002,
        mental: true,
        acute: false,
        medicine: None,
        labs: &[],
        procedure: None,
        specialty: SPEC_PSYCHIATRY,
    },
];

/// An allergy the generator may give a patient.
#[derive(Clone, Copy, Debug)]
pub(crate) struct AllergySpec {
    pub code: Code,
    pub p: f64,
    pub category: icr_model::AllergyCategory,
    pub reactions: &'static [Code],
}

pub(crate) const ALLERGIES: &[AllergySpec] = &[
    AllergySpec {
        code: ALLERGY_PENICILLIN,
        p: 0.10,
        category: icr_model::AllergyCategory::Medication,
        reactions: &[URTICARIA, RASH, ANAPHYLAXIS],
    },
    AllergySpec {
        code: ALLERGY_PEANUT,
        p: 0.025,
        category: icr_model::AllergyCategory::Food,
        reactions: &[ANGIOEDEMA, ANAPHYLAXIS, URTICARIA],
    },
    AllergySpec {
        code: ALLERGY_LATEX,
        p: 0.015,
        category: icr_model::AllergyCategory::Environment,
        reactions: &[URTICARIA, RASH],
    },
    AllergySpec {
        code: ALLERGY_ASPIRIN,
        p: 0.015,
        category: icr_model::AllergyCategory::Medication,
        reactions: &[WHEEZING, URTICARIA],
    },
    AllergySpec {
        code: ALLERGY_EGG,
        p: 0.01,
        category: icr_model::AllergyCategory::Food,
        reactions: &[URTICARIA, RASH],
    },
    AllergySpec {
        code: ALLERGY_SHELLFISH,
        p: 0.01,
        category: icr_model::AllergyCategory::Food,
        reactions: &[URTICARIA, ANGIOEDEMA],
    },
];

/// Procedures done now and then regardless of conditions.
pub(crate) const INCIDENTAL_PROCEDURES: &[(Code, Code)] = &[
    (CHOLECYSTECTOMY, SPEC_GENERAL_SURGERY),
    (APPENDICECTOMY, SPEC_GENERAL_SURGERY),
    (COLONOSCOPY, SPEC_GENERAL_MEDICINE),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_look_like_their_systems() {
        let mut codes: Vec<Code> = CONDITIONS.iter().map(|c| c.code).collect();
        codes.extend(CONDITIONS.iter().filter_map(|c| c.medicine.map(|m| m.code)));
        codes.extend(ALLERGIES.iter().map(|a| a.code));
        for c in codes {
            match c.system {
                Sys::Snomed | Sys::Dmd => {
                    assert!(c.code.len() >= 6 && c.code.bytes().all(|b| b.is_ascii_digit()))
                }
                Sys::Loinc => assert!(c.code.contains('-')),
                Sys::Uri(_) => {}
            }
        }
        for panel in [RENAL_PANEL, FULL_BLOOD_COUNT] {
            for t in panel.tests {
                assert_eq!(t.code.system, Sys::Loinc);
                assert!(t.low.is_some() || t.high.is_some());
            }
        }
    }

    /// SNOMED CT identifiers end in a Verhoeff check digit; a typo in a code
    /// would almost surely break it.
    #[test]
    fn snomed_and_dmd_check_digits() {
        fn verhoeff(s: &str) -> bool {
            const D: [[u8; 10]; 10] = [
                [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
                [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
                [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
                [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
                [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
                [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
                [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
                [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
                [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
                [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
            ];
            const P: [[u8; 10]; 8] = [
                [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
                [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
                [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
                [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
                [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
                [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
                [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
                [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
            ];
            let mut c = 0u8;
            for (i, b) in s.bytes().rev().enumerate() {
                c = D[c as usize][P[i % 8][(b - b'0') as usize] as usize];
            }
            c == 0
        }
        let all = [
            HEART_FAILURE,
            TYPE_2_DIABETES,
            CKD_STAGE_3,
            HYPERTENSION,
            ATRIAL_FIBRILLATION,
            ASTHMA,
            COPD,
            DEPRESSION,
            ANXIETY,
            SCHIZOPHRENIA,
            BIPOLAR,
            PTSD,
            SELF_HARM,
            OSTEOARTHRITIS,
            HYPOTHYROIDISM,
            MYOCARDIAL_INFARCTION,
            EPILEPSY,
            OBESITY,
            HYPERLIPIDAEMIA,
            GOUT,
            ANAEMIA,
            FRACTURE_NECK_OF_FEMUR,
            CELLULITIS,
            PNEUMONIA,
            UTI,
            METFORMIN_500,
            FUROSEMIDE_20,
            AMLODIPINE_10,
            CITALOPRAM_20,
            PARACETAMOL_500,
            AMOXICILLIN_500,
            CLARITHROMYCIN_500,
            DOXYCYCLINE_100,
            CIPROFLOXACIN_500,
            ALLERGY_PENICILLIN,
            ALLERGY_PEANUT,
            ALLERGY_LATEX,
            ALLERGY_ASPIRIN,
            ALLERGY_EGG,
            ALLERGY_SHELLFISH,
            ANAPHYLAXIS,
            URTICARIA,
            RASH,
            ANGIOEDEMA,
            WHEEZING,
            ECHOCARDIOGRAPHY,
            ECG,
            PCI,
            KNEE_REPLACEMENT,
            HIP_REPLACEMENT,
            CHEST_XRAY,
            COLONOSCOPY,
            CHOLECYSTECTOMY,
            APPENDICECTOMY,
            CAESAREAN_SECTION,
            SPEC_CARDIOLOGY,
            SPEC_ENDOCRINOLOGY,
            SPEC_NEPHROLOGY,
            SPEC_PSYCHIATRY,
            SPEC_ORTHOPAEDICS,
            SPEC_GENERAL_MEDICINE,
            SPEC_RESPIRATORY,
            SPEC_EMERGENCY,
            SPEC_GENERAL_SURGERY,
            SPEC_OBSTETRICS,
            REFERRAL_CATEGORY,
            REFERRAL_CARDIOLOGY,
            REFERRAL_PSYCHIATRY,
            REFERRAL_DIETITIAN,
            REFERRAL_SERVICE,
            DOC_DISCHARGE_SUMMARY,
            DOC_CLINIC_LETTER,
            DOC_CARE_PLAN,
            ROLE_PHYSICIAN,
            ROLE_NURSE,
            ROLE_PSYCHIATRIST,
            ROLE_CARDIOLOGIST,
            PEANUT_FREE_DIET,
            AT_RISK_OF_FALLS,
            SPEC_GENERAL_PRACTICE,
            VACC_SEASONAL_FLU,
            VACC_PNEUMOCOCCAL,
            VACC_MMR,
            VACC_TD_IPV,
            VACC_HPV,
            VACCINE_FLU,
            VACCINE_PNEUMOCOCCAL,
            VACCINE_MMR,
            CARE_PLAN_NURSING,
            ROLE_GP,
            ROLE_DISTRICT_NURSE,
            ROLE_PHYSIOTHERAPIST,
            ROLE_OCCUPATIONAL_THERAPIST,
            ROLE_SOCIAL_WORKER,
        ];
        for c in all
            .into_iter()
            .chain([ANOREXIA_NERVOSA, SPEC_CHILD_PSYCHIATRY])
        {
            assert!(matches!(c.system, Sys::Snomed | Sys::Dmd));
            assert!(
                verhoeff(c.code),
                "{} {} fails its check digit",
                c.code,
                c.display
            );
        }
    }

    /// LOINC codes end in a mod-10 check digit after the hyphen.
    #[test]
    fn loinc_check_digits() {
        fn mod10(code: &str) -> bool {
            let Some((body, check)) = code.split_once('-') else {
                return false;
            };
            let digits: Vec<u32> = body.bytes().map(|b| u32::from(b - b'0')).collect();
            // Luhn over the body, doubling the rightmost digit first.
            let mut sum = 0;
            for (i, d) in digits.iter().rev().enumerate() {
                let v = if i % 2 == 0 { d * 2 } else { *d };
                sum += v / 10 + v % 10;
            }
            let expected = (10 - sum % 10) % 10;
            check.parse::<u32>() == Ok(expected)
        }
        let mut all: Vec<Code> = [
            POTASSIUM,
            SODIUM,
            CREATININE,
            EGFR,
            HBA1C,
            HAEMOGLOBIN,
            WHITE_CELLS,
            PLATELETS,
            CRP,
            NT_PROBNP,
            CHOLESTEROL,
            TSH,
            ALT,
        ]
        .iter()
        .map(|l| l.code)
        .collect();
        all.extend([RENAL_PANEL.code, FULL_BLOOD_COUNT.code, XR_CHEST]);
        for c in all {
            assert!(
                mod10(c.code),
                "{} {} fails its check digit",
                c.code,
                c.display
            );
        }
    }
}
