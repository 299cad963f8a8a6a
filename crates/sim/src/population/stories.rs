//! The seven hand-written story patients, always the first seven of any
//! population and the same for every seed. `config/demo/README.md` says
//! what a clinician should see for each; the tests hold them to it.

use icr_model::{
    AllergyCategory, ConditionClinicalStatus, Demographics, Entry, Gender, MedicationStatus,
    NhsNumber, PartialDateTime, Priority, ReferralStatus, Telecom,
};
use time::{Date, Duration};

use super::build::{self, day};
use super::codes::{self, Code};
use super::names;
use super::{Clock, Holding, Ids, Patient, Truth, at, joined, region, stories_region, ymd};
use crate::org::Org;

/// How many story patients there are.
pub const STORY_COUNT: usize = 7;

/// First nine digits of the story patients' NHS numbers, in order.
pub(crate) const STORY_NUMBERS: [u32; STORY_COUNT] = [
    999_000_001,
    999_000_002,
    999_000_003,
    999_000_004,
    999_000_005,
    999_000_006,
    999_000_007,
];

/// Writes the first `min(size, 7)` story patients, each with their PDS
/// record, their practice's record and the rest of the region's.
pub(crate) fn write(patients: &mut Vec<Patient>, ids: &mut Ids, clock: &Clock, size: usize) {
    let stories: [fn(&mut Ids, &Clock, NhsNumber) -> Patient; STORY_COUNT] = [
        older_person_with_heart_failure,
        young_person_under_awp,
        allergy_at_three_orgs,
        demographic_discrepancy,
        held_by_all_four,
        stories_region::restricted_record,
        joined::carthew,
    ];
    // Each story patient's practice, and when PDS last changed their record.
    let registrations = [
        ("Y90007", at(ymd(2019, 6, 20), 11, 5), 3),
        ("Y90001", at(ymd(2025, 4, 22), 9, 30), 2),
        ("Y90011", at(ymd(2021, 9, 14), 14, 10), 2),
        ("Y90009", at(ymd(2026, 3, 9), 10, 45), 4),
        ("Y90012", at(ymd(2016, 2, 2), 15, 20), 1),
        ("Y90003", at(ymd(2026, 6, 2), 9, 15), 5),
        ("Y90010", at(ymd(2024, 9, 2), 10, 15), 2),
    ];
    for (i, ((story, first_nine), (ods, updated, version))) in stories
        .iter()
        .zip(STORY_NUMBERS)
        .zip(registrations)
        .take(size)
        .enumerate()
    {
        if let Some(nhs) = NhsNumber::from_first_nine(first_nine) {
            let mut p = story(ids, clock, nhs);
            if let Some(practice) = Org::from_ods(ods) {
                region::register(
                    &mut p,
                    region::Registration {
                        practice,
                        sensitive: i == 5,
                        pds_updated: updated,
                        version,
                    },
                );
            }
            match i {
                4 => stories_region::pennington(&mut p, ids, clock),
                5 => stories_region::restricted_region(&mut p, ids, clock),
                6 => joined::carthew_region(&mut p, ids, clock),
                _ => {
                    stories_region::ordinary(&mut p, ids, clock, i);
                    if i == 0 {
                        stories_region::practice_agrees_metformin_stopped(&mut p);
                    }
                }
            }
            patients.push(p);
        }
    }
}

pub(super) fn phone(number: &str) -> Telecom {
    Telecom {
        system: icr_model::TelecomSystem::Phone,
        value: number.to_string(),
        use_: Some(icr_model::ContactUse::Mobile),
    }
}

pub(super) fn landline(number: &str) -> Telecom {
    Telecom {
        system: icr_model::TelecomSystem::Phone,
        value: number.to_string(),
        use_: Some(icr_model::ContactUse::Home),
    }
}

pub(super) fn home(line: &str, city: &str, district: &str, postcode: &str) -> icr_model::Address {
    icr_model::Address {
        use_: Some(icr_model::ContactUse::Home),
        lines: vec![line.to_string()],
        city: Some(city.to_string()),
        district: Some(district.to_string()),
        postcode: Some(postcode.to_string()),
        country: Some("United Kingdom".to_string()),
    }
}

#[allow(clippy::too_many_arguments)]
pub(super) fn demographics(
    nhs: NhsNumber,
    prefix: &str,
    given: &[&str],
    family: &str,
    birth: Date,
    gender: Gender,
    address: icr_model::Address,
    telecom: Vec<Telecom>,
) -> Demographics {
    Demographics {
        nhs_number: Some(nhs),
        names: vec![names::name(Some(prefix), given, family)],
        birth_date: Some(day(birth)),
        gender: Some(gender),
        addresses: vec![address],
        telecom,
        deceased: None,
        registered_practice: None,
        sensitive: false,
    }
}

/// Pushes a laboratory panel and its report; returns nothing (the report
/// carries its members' ids).
fn panel(
    ids: &mut Ids,
    clock: &Clock,
    h: &mut Holding,
    panel: &codes::Panel,
    values: &[f64],
    when: time::OffsetDateTime,
) {
    let lab = build::laboratory(h.org);
    let mut members = Vec::new();
    for (test, v) in panel.tests.iter().zip(values) {
        if let Some(id) = h.push(
            ids,
            clock,
            Entry::Result(build::observation(test, *v, when, lab)),
        ) {
            members.push(id);
        }
    }
    let r = build::report(panel.code, codes::REPORT_LAB, members, when, lab, None);
    h.push(ids, clock, Entry::Result(r));
}

fn single(
    ids: &mut Ids,
    clock: &Clock,
    h: &mut Holding,
    test: &codes::Lab,
    v: f64,
    when: time::OffsetDateTime,
) {
    let lab = build::laboratory(h.org);
    h.push(
        ids,
        clock,
        Entry::Result(build::observation(test, v, when, lab)),
    );
}

#[allow(clippy::too_many_arguments)]
fn letter(
    ids: &mut Ids,
    clock: &Clock,
    h: &mut Holding,
    doc_type: Code,
    title: &str,
    when: time::OffsetDateTime,
    author: &str,
    number: u64,
) {
    let d = build::document(h.org, doc_type, title, when, author, number, 96_512);
    h.push(ids, clock, Entry::Document(d));
}

/// Story 1: Margaret Ellery, 85, heart failure, type 2 diabetes and CKD
/// stage 3, seen by gwh (admission) and sft (renal clinic). Her problems,
/// medicines, allergy and daughter are recorded at both and merge; sft
/// stopped metformin for her kidney function while gwh still lists it as
/// active, which the merge shows as a conflict.
fn older_person_with_heart_failure(ids: &mut Ids, clock: &Clock, nhs: NhsNumber) -> Patient {
    let demo = demographics(
        nhs,
        "Mrs",
        &["Margaret", "Rose"],
        "Ellery",
        ymd(1941, 3, 14),
        Gender::Female,
        home("14 Tannery Row", "Marlborough", "Wiltshire", "SN8 1QT"),
        vec![landline("01632 960118")],
    );

    let hf = build::condition(
        codes::HEART_FAILURE,
        ymd(2019, 6, 18),
        ConditionClinicalStatus::Active,
        None,
    );
    let dm = build::condition(
        codes::TYPE_2_DIABETES,
        ymd(2008, 9, 2),
        ConditionClinicalStatus::Active,
        None,
    );
    let ckd = build::condition(
        codes::CKD_STAGE_3,
        ymd(2021, 2, 10),
        ConditionClinicalStatus::Active,
        None,
    );
    let htn = build::condition(
        codes::HYPERTENSION,
        ymd(2004, 5, 20),
        ConditionClinicalStatus::Active,
        None,
    );
    let furosemide = build::statement(
        codes::FUROSEMIDE_20,
        codes::FUROSEMIDE_DOSE,
        ymd(2019, 6, 25),
        MedicationStatus::Active,
        Some(codes::HEART_FAILURE),
    );
    let metformin = build::statement(
        codes::METFORMIN_500,
        codes::METFORMIN_DOSE,
        ymd(2008, 10, 1),
        MedicationStatus::Active,
        Some(codes::TYPE_2_DIABETES),
    );
    let mut metformin_stopped = metformin.clone();
    metformin_stopped.status = Some(MedicationStatus::Stopped);
    // Stopped at the renal clinic on 17 June 2026.
    metformin_stopped.end = Some(PartialDateTime::Date(ymd(2026, 6, 17)));
    let amlodipine = build::statement(
        codes::AMLODIPINE_10,
        codes::AMLODIPINE_DOSE,
        ymd(2004, 6, 1),
        MedicationStatus::Active,
        Some(codes::HYPERTENSION),
    );
    let penicillin = build::allergy(
        codes::ALLERGY_PENICILLIN,
        AllergyCategory::Medication,
        ymd(1978, 7, 1),
        codes::RASH,
    );
    let daughter = build::contact(
        names::name(None, &["Catherine"], "Fenwick"),
        codes::REL_DAUGHTER,
        vec![phone("07700 900412")],
        None,
    );

    let shared = [
        Entry::Condition(hf.clone()),
        Entry::Condition(dm.clone()),
        Entry::Condition(ckd.clone()),
        Entry::Condition(htn.clone()),
        Entry::Medication(furosemide.clone()),
        Entry::Medication(amlodipine.clone()),
        Entry::Allergy(penicillin.clone()),
        Entry::Contact(daughter.clone()),
    ];

    // gwh: the September admission.
    let mut gwh = Holding::new(ids, Org::GWH, demo.clone(), at(ymd(2026, 9, 3), 10, 41));
    for e in &shared {
        gwh.push(ids, clock, e.clone());
    }
    gwh.push(ids, clock, Entry::Medication(metformin.clone()));
    let cardiologist = "Dr H Lambourne";
    let admitted = at(ymd(2026, 9, 3), 10, 40);
    let discharged = at(ymd(2026, 9, 11), 14, 0);
    gwh.push(
        ids,
        clock,
        Entry::Appointment(build::encounter(
            codes::CLASS_INPATIENT,
            codes::SPEC_CARDIOLOGY,
            admitted,
            discharged,
            names::site(Org::GWH),
            cardiologist,
            Some(codes::HEART_FAILURE),
        )),
    );
    let bloods = at(ymd(2026, 9, 3), 11, 30);
    panel(
        ids,
        clock,
        &mut gwh,
        &codes::RENAL_PANEL,
        &[134.0, 5.6, 162.0, 27.0],
        bloods,
    );
    panel(
        ids,
        clock,
        &mut gwh,
        &codes::FULL_BLOOD_COUNT,
        &[108.0, 8.2, 231.0],
        bloods,
    );
    single(ids, clock, &mut gwh, &codes::NT_PROBNP, 3850.0, bloods);
    gwh.push(
        ids,
        clock,
        Entry::Result(build::report(
            codes::XR_CHEST,
            codes::REPORT_RADIOLOGY,
            Vec::new(),
            at(ymd(2026, 9, 3), 12, 15),
            build::radiology(Org::GWH),
            Some(
                "Cardiomegaly with small bilateral pleural effusions and upper lobe venous diversion, consistent with cardiac failure.",
            ),
        )),
    );
    gwh.push(
        ids,
        clock,
        Entry::Procedure(build::procedure(
            codes::ECHOCARDIOGRAPHY,
            ymd(2026, 9, 5),
            "Cardiac physiology, Great Western Hospital",
        )),
    );
    // Before discharge: the pneumococcal vaccine given on the ward, and an
    // early flu vaccination offered and declined (she would rather have it
    // at her practice).
    let ward_nurse = "Staff Nurse Bethany Marsh";
    let pneumococcal = ymd(2026, 9, 10);
    gwh.push(
        ids,
        clock,
        Entry::Procedure(build::immunisation(
            codes::VACC_PNEUMOCOCCAL,
            pneumococcal,
            ward_nurse,
            Some("1"),
            Some(build::batch(codes::VACC_PNEUMOCOCCAL, pneumococcal)),
        )),
    );
    gwh.push(
        ids,
        clock,
        Entry::Procedure(build::immunisation_declined(
            codes::VACC_SEASONAL_FLU,
            ymd(2026, 9, 10),
            ward_nurse,
        )),
    );
    letter(
        ids,
        clock,
        &mut gwh,
        codes::DOC_DISCHARGE_SUMMARY,
        "Discharge summary: acute decompensated heart failure",
        discharged,
        cardiologist,
        20_260_911,
    );
    gwh.push(
        ids,
        clock,
        Entry::Referral(build::referral(
            codes::REFERRAL_CARDIOLOGY,
            "Heart failure specialist nursing team",
            ymd(2026, 9, 11),
            ReferralStatus::Active,
            Priority::Urgent,
            cardiologist,
            Some(codes::HEART_FAILURE),
            Some("Please review diuretic dose and fluid status within two weeks of discharge."),
        )),
    );
    gwh.push(
        ids,
        clock,
        Entry::Appointment(build::appointment(
            codes::SPEC_CARDIOLOGY,
            at(clock.ahead(16), 10, 30),
            30,
            "Heart failure clinic",
            names::site(Org::GWH),
            cardiologist,
        )),
    );
    gwh.push(
        ids,
        clock,
        Entry::CareTeam(build::care_team(
            Org::GWH,
            "Heart Failure Team",
            codes::SPEC_CARDIOLOGY,
            ymd(2019, 6, 18),
            vec![
                (codes::ROLE_CARDIOLOGIST.concept(), cardiologist.to_string()),
                (codes::ROLE_NURSE.concept(), "Ruth Merriman".to_string()),
            ],
            landline("01632 960201"),
        )),
    );
    gwh.push(
        ids,
        clock,
        Entry::Alert(build::alert(
            codes::FLAG_CLINICAL,
            codes::AT_RISK_OF_FALLS.concept(),
            ymd(2026, 9, 4),
            "Ruth Merriman",
        )),
    );

    // sft: the renal clinic that stopped metformin.
    let mut sft = Holding::new(ids, Org::SFT, demo.clone(), at(ymd(2026, 6, 17), 9, 5));
    for e in &shared {
        sft.push(ids, clock, e.clone());
    }
    sft.push(ids, clock, Entry::Medication(metformin_stopped));
    let nephrologist = "Dr K Wetherall";
    let clinic = at(ymd(2026, 6, 17), 9, 30);
    sft.push(
        ids,
        clock,
        Entry::Appointment(build::encounter(
            codes::CLASS_AMBULATORY,
            codes::SPEC_NEPHROLOGY,
            clinic,
            clinic + Duration::minutes(30),
            names::site(Org::SFT),
            nephrologist,
            Some(codes::CKD_STAGE_3),
        )),
    );
    let sft_bloods = at(ymd(2026, 6, 10), 8, 50);
    panel(
        ids,
        clock,
        &mut sft,
        &codes::RENAL_PANEL,
        &[138.0, 5.1, 141.0, 32.0],
        sft_bloods,
    );
    single(ids, clock, &mut sft, &codes::HBA1C, 58.0, sft_bloods);
    letter(
        ids,
        clock,
        &mut sft,
        codes::DOC_CLINIC_LETTER,
        "Renal clinic letter: metformin stopped, eGFR 32",
        at(ymd(2026, 6, 24), 15, 20),
        nephrologist,
        20_260_624,
    );
    sft.push(
        ids,
        clock,
        Entry::CareTeam(build::care_team(
            Org::SFT,
            "Renal Team",
            codes::SPEC_NEPHROLOGY,
            ymd(2021, 2, 10),
            vec![(codes::ROLE_PHYSICIAN.concept(), nephrologist.to_string())],
            landline("01632 960402"),
        )),
    );

    Patient {
        nhs_number: nhs,
        story: Some(
            "Margaret Ellery, 85, gwh + sft: heart failure, diabetes and CKD; duplicates merge, metformin status conflicts",
        ),
        truth: Truth {
            demographics: demo,
            conditions: vec![hf, dm, ckd, htn],
            medications: vec![furosemide, metformin, amlodipine],
            allergies: vec![penicillin],
            contacts: vec![daughter],
        },
        holdings: vec![gwh, sft],
    }
}

/// Story 2: Jordan Ashworth, 19, under awp's Swindon Intensive Service
/// after self-harm, with a safeguarding alert and a crisis plan; seen once
/// at gwh's emergency department, which referred him on.
fn young_person_under_awp(ids: &mut Ids, clock: &Clock, nhs: NhsNumber) -> Patient {
    let address = home("3 Kestrel Drive", "Swindon", "Swindon", "SN3 6PW");
    let demo = demographics(
        nhs,
        "Mr",
        &["Jordan"],
        "Ashworth",
        ymd(2007, 4, 22),
        Gender::Male,
        address.clone(),
        vec![phone("07700 900733")],
    );
    let depression = build::condition(
        codes::DEPRESSION,
        ymd(2025, 1, 15),
        ConditionClinicalStatus::Active,
        None,
    );
    let self_harm = build::condition(
        codes::SELF_HARM,
        ymd(2026, 8, 30),
        ConditionClinicalStatus::Active,
        None,
    );
    let citalopram = build::statement(
        codes::CITALOPRAM_20,
        codes::CITALOPRAM_DOSE,
        ymd(2025, 2, 3),
        MedicationStatus::Active,
        Some(codes::DEPRESSION),
    );
    let mother = build::contact(
        names::name(None, &["Helen"], "Ashworth"),
        codes::REL_MOTHER,
        vec![phone("07700 900734")],
        Some(address),
    );

    // awp.
    let mut awp = Holding::new(ids, Org::AWP, demo.clone(), at(ymd(2026, 9, 2), 11, 2));
    for e in [
        Entry::Condition(depression.clone()),
        Entry::Condition(self_harm.clone()),
        Entry::Medication(citalopram.clone()),
        Entry::Contact(mother.clone()),
    ] {
        awp.push(ids, clock, e);
    }
    let coordinator = "Sam Penrose";
    let psychiatrist = "Dr N Okafor";
    let base = "Swindon Intensive Service, Sandalwood Court";
    for (d, h) in [
        (ymd(2026, 9, 2), 10),
        (ymd(2026, 9, 16), 14),
        (ymd(2026, 10, 14), 11),
    ] {
        let start = at(d, h, 0);
        awp.push(
            ids,
            clock,
            Entry::Appointment(build::encounter(
                codes::CLASS_AMBULATORY,
                codes::SPEC_PSYCHIATRY,
                start,
                start + Duration::minutes(60),
                base,
                coordinator,
                Some(codes::SELF_HARM),
            )),
        );
    }
    awp.push(
        ids,
        clock,
        Entry::Alert(build::alert(
            codes::FLAG_SAFETY,
            icr_model::Concept::text(
                "Safeguarding: vulnerable young adult at risk of exploitation. Contact the AWP Swindon Intensive Service before discharge or before sharing information with others.",
            ),
            ymd(2026, 9, 2),
            coordinator,
        )),
    );
    letter(
        ids,
        clock,
        &mut awp,
        codes::DOC_CARE_PLAN,
        "Crisis and contingency plan",
        at(ymd(2026, 9, 2), 16, 45),
        coordinator,
        20_260_902,
    );
    awp.push(
        ids,
        clock,
        Entry::Document(build::care_plan(
            icr_model::Concept::text("Care Programme Approach"),
            "Care and support plan",
            "Jordan is supported by the Swindon Intensive Service after a crisis in September 2026. His safety plan is agreed with him and shared with his mother, with his consent.",
            at(ymd(2026, 9, 16), 15, 30),
            coordinator,
            &[
                "Contact with his care coordinator twice a week",
                "Safety plan reviewed at every contact",
                "Support to return to college in January",
                "Citalopram reviewed by the consultant psychiatrist in six weeks",
            ],
        )),
    );
    awp.push(
        ids,
        clock,
        Entry::Appointment(build::appointment(
            codes::SPEC_PSYCHIATRY,
            at(clock.ahead(5), 14, 0),
            60,
            "Care coordinator review",
            base,
            coordinator,
        )),
    );
    awp.push(
        ids,
        clock,
        Entry::CareTeam(build::care_team(
            Org::AWP,
            "Swindon Intensive Service",
            codes::SPEC_PSYCHIATRY,
            ymd(2026, 9, 2),
            vec![
                (codes::ROLE_PSYCHIATRIST.concept(), psychiatrist.to_string()),
                (
                    icr_model::Concept::text("Care coordinator"),
                    coordinator.to_string(),
                ),
            ],
            landline("01632 960550"),
        )),
    );

    // gwh: the emergency department attendance.
    let mut gwh = Holding::new(ids, Org::GWH, demo.clone(), at(ymd(2026, 8, 30), 23, 15));
    for e in [
        Entry::Condition(self_harm.clone()),
        Entry::Medication(citalopram.clone()),
        Entry::Contact(mother.clone()),
    ] {
        gwh.push(ids, clock, e);
    }
    let ed_doctor = "Dr F Quarrell";
    let arrived = at(ymd(2026, 8, 30), 23, 10);
    gwh.push(
        ids,
        clock,
        Entry::Appointment(build::encounter(
            codes::CLASS_EMERGENCY,
            codes::SPEC_EMERGENCY,
            arrived,
            at(ymd(2026, 8, 31), 4, 40),
            names::site(Org::GWH),
            ed_doctor,
            Some(codes::SELF_HARM),
        )),
    );
    let bloods = at(ymd(2026, 8, 30), 23, 55);
    panel(
        ids,
        clock,
        &mut gwh,
        &codes::RENAL_PANEL,
        &[140.0, 4.1, 78.0, 118.0],
        bloods,
    );
    single(ids, clock, &mut gwh, &codes::ALT, 24.0, bloods);
    gwh.push(
        ids,
        clock,
        Entry::Referral(build::referral(
            codes::REFERRAL_PSYCHIATRY,
            "AWP liaison psychiatry",
            ymd(2026, 8, 31),
            ReferralStatus::Completed,
            Priority::Urgent,
            ed_doctor,
            Some(codes::SELF_HARM),
            None,
        )),
    );
    gwh.push(
        ids,
        clock,
        Entry::CareTeam(build::care_team(
            Org::GWH,
            "Emergency Department",
            codes::SPEC_EMERGENCY,
            ymd(2026, 8, 30),
            vec![(codes::ROLE_PHYSICIAN.concept(), ed_doctor.to_string())],
            landline("01632 960202"),
        )),
    );

    Patient {
        nhs_number: nhs,
        story: Some(
            "Jordan Ashworth, 19, awp + gwh: safeguarding alert and crisis plan after self-harm",
        ),
        truth: Truth {
            demographics: demo,
            conditions: vec![depression, self_harm],
            medications: vec![citalopram],
            allergies: Vec::new(),
            contacts: vec![mother],
        },
        holdings: vec![awp, gwh],
    }
}

/// Story 3: Priya Rahman, 46, with a penicillin allergy (anaphylaxis)
/// recorded identically at gwh, ruh and sft, which merges into one; a
/// peanut allergy and a diet alert at ruh only; asthma at ruh and gwh.
fn allergy_at_three_orgs(ids: &mut Ids, clock: &Clock, nhs: NhsNumber) -> Patient {
    let address = home(
        "52 Lacemakers Row",
        "Bath",
        "Bath and North East Somerset",
        "BA2 3TN",
    );
    let demo = demographics(
        nhs,
        "Mrs",
        &["Priya"],
        "Rahman",
        ymd(1980, 2, 9),
        Gender::Female,
        address.clone(),
        vec![phone("07700 900268")],
    );
    let penicillin = build::allergy(
        codes::ALLERGY_PENICILLIN,
        AllergyCategory::Medication,
        ymd(1999, 5, 12),
        codes::ANAPHYLAXIS,
    );
    let peanut = build::allergy(
        codes::ALLERGY_PEANUT,
        AllergyCategory::Food,
        ymd(1986, 8, 1),
        codes::ANGIOEDEMA,
    );
    let asthma = build::condition(
        codes::ASTHMA,
        ymd(1992, 3, 4),
        ConditionClinicalStatus::Active,
        None,
    );
    let husband = build::contact(
        names::name(None, &["Imran"], "Rahman"),
        codes::REL_HUSBAND,
        vec![phone("07700 900269")],
        Some(address),
    );

    // ruh: her home hospital.
    let mut ruh = Holding::new(ids, Org::RUH, demo.clone(), at(ymd(2025, 11, 3), 9, 0));
    for e in [
        Entry::Allergy(penicillin.clone()),
        Entry::Allergy(peanut.clone()),
        Entry::Condition(asthma.clone()),
        Entry::Contact(husband.clone()),
    ] {
        ruh.push(ids, clock, e);
    }
    let chest = "Dr M Harcourt";
    let clinic = at(ymd(2026, 3, 12), 14, 0);
    ruh.push(
        ids,
        clock,
        Entry::Appointment(build::encounter(
            codes::CLASS_AMBULATORY,
            codes::SPEC_RESPIRATORY,
            clinic,
            clinic + Duration::minutes(30),
            names::site(Org::RUH),
            chest,
            Some(codes::ASTHMA),
        )),
    );
    letter(
        ids,
        clock,
        &mut ruh,
        codes::DOC_CLINIC_LETTER,
        "Respiratory clinic letter: asthma review",
        at(ymd(2026, 3, 19), 10, 0),
        chest,
        20_260_319,
    );
    ruh.push(
        ids,
        clock,
        Entry::Alert(build::alert(
            codes::FLAG_DIET,
            codes::PEANUT_FREE_DIET.concept(),
            ymd(2025, 11, 3),
            chest,
        )),
    );
    ruh.push(
        ids,
        clock,
        Entry::CareTeam(build::care_team(
            Org::RUH,
            "Respiratory Team",
            codes::SPEC_RESPIRATORY,
            ymd(2025, 11, 3),
            vec![(codes::ROLE_PHYSICIAN.concept(), chest.to_string())],
            landline("01632 960310"),
        )),
    );
    ruh.push(
        ids,
        clock,
        Entry::Appointment(build::appointment(
            codes::SPEC_RESPIRATORY,
            at(clock.ahead(41), 9, 15),
            30,
            "Asthma review clinic",
            names::site(Org::RUH),
            chest,
        )),
    );

    // gwh: an emergency attendance with asthma.
    let mut gwh = Holding::new(ids, Org::GWH, demo.clone(), at(ymd(2025, 1, 18), 20, 0));
    for e in [
        Entry::Allergy(penicillin.clone()),
        Entry::Condition(asthma.clone()),
        Entry::Contact(husband.clone()),
    ] {
        gwh.push(ids, clock, e);
    }
    let arrived = at(ymd(2025, 1, 18), 19, 40);
    gwh.push(
        ids,
        clock,
        Entry::Appointment(build::encounter(
            codes::CLASS_EMERGENCY,
            codes::SPEC_EMERGENCY,
            arrived,
            arrived + Duration::minutes(250),
            names::site(Org::GWH),
            "Dr T Vickery",
            Some(codes::ASTHMA),
        )),
    );
    gwh.push(
        ids,
        clock,
        Entry::CareTeam(build::care_team(
            Org::GWH,
            "Emergency Department",
            codes::SPEC_EMERGENCY,
            ymd(2025, 1, 18),
            vec![(codes::ROLE_PHYSICIAN.concept(), "Dr T Vickery".to_string())],
            landline("01632 960202"),
        )),
    );

    // sft: appendicectomy, treated with clarithromycin because of the allergy.
    let mut sft = Holding::new(ids, Org::SFT, demo.clone(), at(ymd(2024, 7, 18), 22, 0));
    for e in [
        Entry::Allergy(penicillin.clone()),
        Entry::Contact(husband.clone()),
    ] {
        sft.push(ids, clock, e);
    }
    let surgeon = "Dr A Brightwell";
    let admitted = at(ymd(2024, 7, 18), 21, 30);
    let discharged = at(ymd(2024, 7, 21), 11, 0);
    sft.push(
        ids,
        clock,
        Entry::Appointment(build::encounter(
            codes::CLASS_INPATIENT,
            codes::SPEC_GENERAL_SURGERY,
            admitted,
            discharged,
            names::site(Org::SFT),
            surgeon,
            None,
        )),
    );
    sft.push(
        ids,
        clock,
        Entry::Procedure(build::procedure(
            codes::APPENDICECTOMY,
            ymd(2024, 7, 19),
            surgeon,
        )),
    );
    sft.push(
        ids,
        clock,
        Entry::Medication(build::prescription(
            codes::CLARITHROMYCIN_500,
            "One tablet twice a day for 5 days",
            ymd(2024, 7, 21),
            Some(ymd(2024, 7, 26)),
            MedicationStatus::Completed,
            surgeon,
            None,
        )),
    );
    panel(
        ids,
        clock,
        &mut sft,
        &codes::FULL_BLOOD_COUNT,
        &[128.0, 15.2, 298.0],
        at(ymd(2024, 7, 18), 22, 10),
    );
    single(
        ids,
        clock,
        &mut sft,
        &codes::CRP,
        86.0,
        at(ymd(2024, 7, 18), 22, 10),
    );
    letter(
        ids,
        clock,
        &mut sft,
        codes::DOC_DISCHARGE_SUMMARY,
        "Discharge summary: laparoscopic appendicectomy",
        discharged,
        surgeon,
        20_240_721,
    );

    Patient {
        nhs_number: nhs,
        story: Some(
            "Priya Rahman, 46, gwh + ruh + sft: one penicillin allergy (anaphylaxis) from three organisations",
        ),
        truth: Truth {
            demographics: demo,
            conditions: vec![asthma],
            medications: Vec::new(),
            allergies: vec![penicillin, peanut],
            contacts: vec![husband],
        },
        holdings: vec![ruh, gwh, sft],
    }
}

/// Story 4: Sophie Okafor, 34, who moved from Salisbury to Bath: ruh has
/// her new address and mobile, sft still has the old ones, so the gateway
/// warns that the sources' demographics disagree.
fn demographic_discrepancy(ids: &mut Ids, clock: &Clock, nhs: NhsNumber) -> Patient {
    let new_address = home(
        "9 Weavers Green",
        "Bath",
        "Bath and North East Somerset",
        "BA1 6RL",
    );
    let old_address = home("71 Harebell Mews", "Salisbury", "Wiltshire", "SP2 8HQ");
    let demo = demographics(
        nhs,
        "Ms",
        &["Sophie", "Grace"],
        "Okafor",
        ymd(1992, 6, 30),
        Gender::Female,
        new_address.clone(),
        vec![phone("07700 900155")],
    );
    let mut stale = demo.clone();
    stale.addresses = vec![old_address];
    stale.telecom = vec![phone("07700 900871")];

    let hypothyroid = build::condition(
        codes::HYPOTHYROIDISM,
        ymd(2019, 3, 11),
        ConditionClinicalStatus::Active,
        None,
    );
    let partner = build::contact(
        names::name(None, &["Daniel"], "Mensah"),
        codes::REL_PARTNER,
        vec![phone("07700 900156")],
        None,
    );

    // ruh: current details; a caesarean section in May.
    let mut ruh = Holding::new(ids, Org::RUH, demo.clone(), at(ymd(2026, 4, 2), 10, 12));
    for e in [
        Entry::Condition(hypothyroid.clone()),
        Entry::Contact(partner.clone()),
    ] {
        ruh.push(ids, clock, e);
    }
    let obstetrician = "Dr S Lindqvist";
    let admitted = at(ymd(2026, 5, 7), 6, 20);
    let discharged = at(ymd(2026, 5, 10), 12, 0);
    ruh.push(
        ids,
        clock,
        Entry::Appointment(build::encounter(
            codes::CLASS_INPATIENT,
            codes::SPEC_OBSTETRICS,
            admitted,
            discharged,
            names::site(Org::RUH),
            obstetrician,
            None,
        )),
    );
    ruh.push(
        ids,
        clock,
        Entry::Procedure(build::procedure(
            codes::CAESAREAN_SECTION,
            ymd(2026, 5, 8),
            obstetrician,
        )),
    );
    single(
        ids,
        clock,
        &mut ruh,
        &codes::TSH,
        2.1,
        at(ymd(2026, 4, 2), 9, 40),
    );
    letter(
        ids,
        clock,
        &mut ruh,
        codes::DOC_DISCHARGE_SUMMARY,
        "Discharge summary: elective caesarean section",
        discharged,
        obstetrician,
        20_260_510,
    );
    ruh.push(
        ids,
        clock,
        Entry::Appointment(build::appointment(
            codes::SPEC_ENDOCRINOLOGY,
            at(clock.ahead(23), 11, 0),
            20,
            "Thyroid clinic",
            names::site(Org::RUH),
            "Dr P Greenhalgh",
        )),
    );

    // sft: seen before she moved, still holds the old address and number.
    let mut sft = Holding::new(ids, Org::SFT, stale, at(ymd(2024, 10, 8), 15, 30));
    for e in [
        Entry::Condition(hypothyroid.clone()),
        Entry::Contact(partner.clone()),
    ] {
        sft.push(ids, clock, e);
    }
    let endocrinologist = "Dr P Greenhalgh";
    let clinic = at(ymd(2024, 10, 8), 15, 0);
    sft.push(
        ids,
        clock,
        Entry::Appointment(build::encounter(
            codes::CLASS_AMBULATORY,
            codes::SPEC_ENDOCRINOLOGY,
            clinic,
            clinic + Duration::minutes(20),
            names::site(Org::SFT),
            endocrinologist,
            Some(codes::HYPOTHYROIDISM),
        )),
    );
    single(
        ids,
        clock,
        &mut sft,
        &codes::TSH,
        6.8,
        at(ymd(2024, 10, 1), 9, 10),
    );
    letter(
        ids,
        clock,
        &mut sft,
        codes::DOC_CLINIC_LETTER,
        "Endocrinology clinic letter: levothyroxine dose increased",
        at(ymd(2024, 10, 15), 11, 0),
        endocrinologist,
        20_241_015,
    );

    Patient {
        nhs_number: nhs,
        story: Some(
            "Sophie Okafor, 34, ruh + sft: sft still has her old address, so demographics disagree",
        ),
        truth: Truth {
            demographics: demo,
            conditions: vec![hypothyroid],
            medications: Vec::new(),
            allergies: Vec::new(),
            contacts: vec![partner],
        },
        holdings: vec![ruh, sft],
    }
}

/// Story 5: Robert Pennington, 61, held by all four organisations: type 2
/// diabetes and metformin recorded at every one (four provenances, one
/// item), a heart attack treated at gwh, depression under awp, and a knee
/// replacement at sft.
fn held_by_all_four(ids: &mut Ids, clock: &Clock, nhs: NhsNumber) -> Patient {
    let address = home("8 Fulling Mill Lane", "Chippenham", "Wiltshire", "SN15 3JD");
    let demo = demographics(
        nhs,
        "Mr",
        &["Robert", "James"],
        "Pennington",
        ymd(1965, 1, 27),
        Gender::Male,
        address.clone(),
        vec![phone("07700 900590"), landline("01632 960591")],
    );
    let dm = build::condition(
        codes::TYPE_2_DIABETES,
        ymd(2015, 11, 3),
        ConditionClinicalStatus::Active,
        None,
    );
    let mi = build::condition(
        codes::MYOCARDIAL_INFARCTION,
        ymd(2024, 2, 14),
        ConditionClinicalStatus::Active,
        None,
    );
    let depression = build::condition(
        codes::DEPRESSION,
        ymd(2024, 6, 1),
        ConditionClinicalStatus::Active,
        None,
    );
    let oa = build::condition(
        codes::OSTEOARTHRITIS,
        ymd(2020, 9, 9),
        ConditionClinicalStatus::Active,
        None,
    );
    let metformin = build::statement(
        codes::METFORMIN_500,
        codes::METFORMIN_DOSE,
        ymd(2015, 11, 20),
        MedicationStatus::Active,
        Some(codes::TYPE_2_DIABETES),
    );
    let citalopram = build::statement(
        codes::CITALOPRAM_20,
        codes::CITALOPRAM_DOSE,
        ymd(2024, 6, 20),
        MedicationStatus::Active,
        Some(codes::DEPRESSION),
    );
    let paracetamol = build::statement(
        codes::PARACETAMOL_500,
        codes::PARACETAMOL_DOSE,
        ymd(2020, 9, 20),
        MedicationStatus::Active,
        Some(codes::OSTEOARTHRITIS),
    );
    let wife = build::contact(
        names::name(None, &["Janet"], "Pennington"),
        codes::REL_WIFE,
        vec![phone("07700 900592")],
        Some(address),
    );

    // gwh: the heart attack.
    let mut gwh = Holding::new(ids, Org::GWH, demo.clone(), at(ymd(2024, 2, 14), 7, 30));
    for e in [
        Entry::Condition(dm.clone()),
        Entry::Condition(mi.clone()),
        Entry::Medication(metformin.clone()),
        Entry::Contact(wife.clone()),
    ] {
        gwh.push(ids, clock, e);
    }
    let cardiologist = "Dr H Lambourne";
    let admitted = at(ymd(2024, 2, 14), 7, 5);
    let discharged = at(ymd(2024, 2, 18), 13, 0);
    gwh.push(
        ids,
        clock,
        Entry::Appointment(build::encounter(
            codes::CLASS_INPATIENT,
            codes::SPEC_CARDIOLOGY,
            admitted,
            discharged,
            names::site(Org::GWH),
            cardiologist,
            Some(codes::MYOCARDIAL_INFARCTION),
        )),
    );
    gwh.push(
        ids,
        clock,
        Entry::Procedure(build::procedure(codes::PCI, ymd(2024, 2, 14), cardiologist)),
    );
    single(
        ids,
        clock,
        &mut gwh,
        &codes::CHOLESTEROL,
        6.1,
        at(ymd(2024, 2, 14), 8, 0),
    );
    letter(
        ids,
        clock,
        &mut gwh,
        codes::DOC_DISCHARGE_SUMMARY,
        "Discharge summary: myocardial infarction treated with primary PCI",
        discharged,
        cardiologist,
        20_240_218,
    );
    gwh.push(
        ids,
        clock,
        Entry::CareTeam(build::care_team(
            Org::GWH,
            "Cardiology Team",
            codes::SPEC_CARDIOLOGY,
            ymd(2024, 2, 14),
            vec![(codes::ROLE_CARDIOLOGIST.concept(), cardiologist.to_string())],
            landline("01632 960201"),
        )),
    );

    // ruh: his home hospital's diabetes clinic.
    let mut ruh = Holding::new(ids, Org::RUH, demo.clone(), at(ymd(2026, 7, 21), 10, 0));
    for e in [
        Entry::Condition(dm.clone()),
        Entry::Condition(mi.clone()),
        Entry::Condition(depression.clone()),
        Entry::Medication(metformin.clone()),
        Entry::Medication(citalopram.clone()),
        Entry::Contact(wife.clone()),
    ] {
        ruh.push(ids, clock, e);
    }
    let diabetologist = "Dr C Netherton";
    let clinic = at(ymd(2026, 7, 21), 10, 30);
    ruh.push(
        ids,
        clock,
        Entry::Appointment(build::encounter(
            codes::CLASS_AMBULATORY,
            codes::SPEC_ENDOCRINOLOGY,
            clinic,
            clinic + Duration::minutes(30),
            names::site(Org::RUH),
            diabetologist,
            Some(codes::TYPE_2_DIABETES),
        )),
    );
    single(
        ids,
        clock,
        &mut ruh,
        &codes::HBA1C,
        53.0,
        at(ymd(2026, 7, 14), 9, 0),
    );
    letter(
        ids,
        clock,
        &mut ruh,
        codes::DOC_CLINIC_LETTER,
        "Diabetes clinic letter",
        at(ymd(2026, 7, 28), 12, 0),
        diabetologist,
        20_260_728,
    );
    ruh.push(
        ids,
        clock,
        Entry::CareTeam(build::care_team(
            Org::RUH,
            "Diabetes Team",
            codes::SPEC_ENDOCRINOLOGY,
            ymd(2016, 1, 12),
            vec![(codes::ROLE_PHYSICIAN.concept(), diabetologist.to_string())],
            landline("01632 960311"),
        )),
    );

    // awp: depression after the heart attack.
    let mut awp = Holding::new(ids, Org::AWP, demo.clone(), at(ymd(2024, 6, 1), 14, 0));
    for e in [
        Entry::Condition(dm.clone()),
        Entry::Condition(depression.clone()),
        Entry::Medication(metformin.clone()),
        Entry::Medication(citalopram.clone()),
        Entry::Contact(wife.clone()),
    ] {
        awp.push(ids, clock, e);
    }
    let coordinator = "Owen Brannigan";
    let base = "Chippenham community mental health base";
    for d in [ymd(2024, 6, 1), ymd(2025, 1, 8), ymd(2026, 9, 24)] {
        let start = at(d, 14, 0);
        awp.push(
            ids,
            clock,
            Entry::Appointment(build::encounter(
                codes::CLASS_AMBULATORY,
                codes::SPEC_PSYCHIATRY,
                start,
                start + Duration::minutes(60),
                base,
                coordinator,
                Some(codes::DEPRESSION),
            )),
        );
    }
    letter(
        ids,
        clock,
        &mut awp,
        codes::DOC_CARE_PLAN,
        "Care and support plan",
        at(ymd(2026, 9, 24), 16, 0),
        coordinator,
        20_260_924,
    );
    awp.push(
        ids,
        clock,
        Entry::Appointment(build::appointment(
            codes::SPEC_PSYCHIATRY,
            at(clock.ahead(30), 14, 0),
            60,
            "Care coordinator review",
            base,
            coordinator,
        )),
    );
    awp.push(
        ids,
        clock,
        Entry::CareTeam(build::care_team(
            Org::AWP,
            "Chippenham Recovery Team",
            codes::SPEC_PSYCHIATRY,
            ymd(2024, 6, 1),
            vec![(
                icr_model::Concept::text("Care coordinator"),
                coordinator.to_string(),
            )],
            landline("01632 960551"),
        )),
    );

    // sft: the knee replacement.
    let mut sft = Holding::new(ids, Org::SFT, demo.clone(), at(ymd(2025, 10, 6), 7, 0));
    for e in [
        Entry::Condition(dm.clone()),
        Entry::Condition(oa.clone()),
        Entry::Medication(metformin.clone()),
        Entry::Medication(paracetamol.clone()),
        Entry::Contact(wife.clone()),
    ] {
        sft.push(ids, clock, e);
    }
    let surgeon = "Dr J Coldicott";
    let admitted = at(ymd(2025, 10, 6), 7, 0);
    let discharged = at(ymd(2025, 10, 9), 11, 30);
    sft.push(
        ids,
        clock,
        Entry::Appointment(build::encounter(
            codes::CLASS_INPATIENT,
            codes::SPEC_ORTHOPAEDICS,
            admitted,
            discharged,
            names::site(Org::SFT),
            surgeon,
            Some(codes::OSTEOARTHRITIS),
        )),
    );
    sft.push(
        ids,
        clock,
        Entry::Procedure(build::procedure(
            codes::KNEE_REPLACEMENT,
            ymd(2025, 10, 6),
            surgeon,
        )),
    );
    letter(
        ids,
        clock,
        &mut sft,
        codes::DOC_DISCHARGE_SUMMARY,
        "Discharge summary: right total knee replacement",
        discharged,
        surgeon,
        20_251_009,
    );
    sft.push(
        ids,
        clock,
        Entry::Appointment(build::appointment(
            codes::SPEC_ORTHOPAEDICS,
            at(clock.ahead(9), 11, 40),
            20,
            "Orthopaedic follow-up clinic",
            names::site(Org::SFT),
            surgeon,
        )),
    );
    sft.push(
        ids,
        clock,
        Entry::CareTeam(build::care_team(
            Org::SFT,
            "Orthopaedic Team",
            codes::SPEC_ORTHOPAEDICS,
            ymd(2025, 10, 6),
            vec![(codes::ROLE_PHYSICIAN.concept(), surgeon.to_string())],
            landline("01632 960403"),
        )),
    );

    Patient {
        nhs_number: nhs,
        story: Some(
            "Robert Pennington, 61, the whole region: four trusts, his GP, lab, radiology, council and out-of-hours; diabetes and metformin merged",
        ),
        truth: Truth {
            demographics: demo,
            conditions: vec![dm, mi, depression, oa],
            medications: vec![metformin, citalopram, paracetamol],
            allergies: Vec::new(),
            contacts: vec![wife],
        },
        holdings: vec![gwh, ruh, awp, sft],
    }
}
