//! What the rest of the region holds about the story patients: their GP
//! practice's record and the laboratory's copies for every story; for
//! Robert Pennington, a record in all twelve sections from ten
//! organisations; and the whole of story 6, whose PDS record is restricted.
//! Written by hand (or drawn from a fixed stream), so the same for every
//! seed; `config/demo/README.md` says what each shows.

use icr_model::{
    AllergyCategory, CareTeamStatus, Concept, ConditionClinicalStatus, Entry, Gender,
    MedicationStatus, NhsNumber, Priority, ReferralStatus,
};
use time::{Duration, OffsetDateTime};

use super::build::{self};
use super::codes::{self, Code, Lab};
use super::region::{self, Person};
use super::stories::{demographics, home, landline, phone};
use super::{Clock, Holding, Ids, Patient, Truth, at, ymd};
use crate::org::Org;
use crate::rng::SplitMix64;

/// Seed of the fixed streams stories 1 to 4 draw their practice records from.
const STORY_REGION_SEED: u64 = 0x0570_71e5_0000;

/// The practice record and the laboratory's and imaging network's copies
/// for stories 1 to 4, drawn from a fixed stream per story.
pub(super) fn ordinary(p: &mut Patient, ids: &mut Ids, clock: &Clock, story: usize) {
    let Some(who) = Person::of(p) else { return };
    let mut rng = SplitMix64::stream(STORY_REGION_SEED, story as u64);
    region::gp_record(p, ids, clock, &mut rng, &who);
    region::copy_results(p, ids, clock);
}

/// Story 1: Margaret Ellery's practice read the renal clinic's letter and
/// stopped metformin too: its copy is sft's, so the conflict is gwh's
/// active copy against sft's and the practice's stopped ones.
pub(super) fn practice_agrees_metformin_stopped(p: &mut Patient) {
    let stopped = p.holding(Org::SFT).and_then(|h| {
        h.records.iter().find_map(|r| match &r.entry {
            Entry::Medication(m)
                if m.status == Some(MedicationStatus::Stopped)
                    && m.medication.primary().map(|c| c.code.as_str()) == Some("325278007") =>
            {
                Some(m.clone())
            }
            _ => None,
        })
    });
    let (Some(stopped), Some(practice)) = (stopped, p.registered_practice()) else {
        return;
    };
    if let Some(h) = p.holdings.iter_mut().find(|h| h.org == practice) {
        for r in &mut h.records {
            if let Entry::Medication(m) = &mut r.entry
                && m.medication == stopped.medication
                && m.start == stopped.start
            {
                *m = stopped.clone();
                r.last_updated = at(ymd(2026, 6, 24), 16, 5);
            }
        }
    }
}

/// A laboratory result the practice asked for.
pub(super) fn gp_result(
    h: &mut Holding,
    ids: &mut Ids,
    clock: &Clock,
    test: &Lab,
    v: f64,
    when: OffsetDateTime,
    lab: &str,
) -> Option<icr_model::RecordId> {
    h.push(
        ids,
        clock,
        Entry::Result(build::observation(test, v, when, lab)),
    )
}

/// A panel the practice asked for, with its report.
#[allow(clippy::too_many_arguments)]
pub(super) fn gp_panel(
    h: &mut Holding,
    ids: &mut Ids,
    clock: &Clock,
    panel: &codes::Panel,
    values: &[f64],
    when: OffsetDateTime,
    lab: &str,
) {
    let members = panel
        .tests
        .iter()
        .zip(values)
        .filter_map(|(t, v)| gp_result(h, ids, clock, t, *v, when, lab))
        .collect();
    let r = build::report(panel.code, codes::REPORT_LAB, members, when, lab, None);
    h.push(ids, clock, Entry::Result(r));
}

/// A past contact with a service.
#[allow(clippy::too_many_arguments)]
pub(super) fn seen(
    class: Code,
    service: Concept,
    start: OffsetDateTime,
    minutes: i64,
    location: &str,
    who: &str,
    reason: Option<Code>,
) -> Entry {
    let mut e = build::encounter(
        class,
        codes::SPEC_GENERAL_PRACTICE,
        start,
        start + Duration::minutes(minutes),
        location,
        who,
        reason,
    );
    e.service_type = vec![service];
    Entry::Appointment(e)
}

/// A booked visit, after the as-of date.
pub(super) fn booked(
    service: Concept,
    start: OffsetDateTime,
    minutes: i64,
    what: &str,
    place: &str,
    who: &str,
) -> Entry {
    let mut a = build::appointment(
        codes::SPEC_GENERAL_PRACTICE,
        start,
        minutes,
        what,
        place,
        who,
    );
    a.service_type = vec![service];
    Entry::Appointment(a)
}

/// A document, by reference.
pub(super) fn doc(
    org: Org,
    doc_type: Concept,
    title: &str,
    when: OffsetDateTime,
    author: &str,
    number: u64,
) -> Entry {
    let mut d = build::document(
        org,
        codes::DOC_CARE_PLAN,
        title,
        when,
        author,
        number,
        88_064,
    );
    d.doc_type = doc_type;
    Entry::Document(d)
}

/// Story 5: Robert Pennington's record beyond the four trusts, filling all
/// twelve sections from ten organisations: his practice (an aspirin
/// allergy only it knows, metformin a fifth time, immunisations, the
/// referral that led to his knee replacement), the laboratory's and
/// imaging network's copies, the community therapy team and the council's
/// reablement after the operation (with a key-safe alert), and an
/// out-of-hours home visit the weekend after.
pub(super) fn pennington(p: &mut Patient, ids: &mut Ids, clock: &Clock) {
    let Some(practice) = p.registered_practice() else {
        return;
    };
    let wife = p.truth.contacts.first().cloned();
    let code = |c: &Code| Concept::coded(c.coding());

    // An allergy the trusts never recorded: why he is not on aspirin.
    let aspirin = build::allergy(
        codes::ALLERGY_ASPIRIN,
        AllergyCategory::Medication,
        ymd(1998, 4, 3),
        codes::WHEEZING,
    );
    p.truth.allergies.push(aspirin);

    // The practice.
    let gp = "Dr A Sowerby";
    let nurse = "Lydia Marchant";
    let site = practice.name();
    let lab = build::laboratory(Org::RUH);
    let mut h = Holding::new(
        ids,
        practice,
        p.truth.demographics.clone(),
        at(ymd(2026, 10, 6), 11, 20),
    );
    let facts: Vec<Entry> = p
        .truth
        .conditions
        .iter()
        .cloned()
        .map(Entry::Condition)
        .chain(p.truth.medications.iter().cloned().map(Entry::Medication))
        .chain(p.truth.allergies.iter().cloned().map(Entry::Allergy))
        .chain(p.truth.contacts.iter().cloned().map(Entry::Contact))
        .collect();
    for e in facts {
        h.push(ids, clock, e);
    }
    let gp_visit = |start, reason| {
        seen(
            codes::CLASS_AMBULATORY,
            code(&codes::SPEC_GENERAL_PRACTICE),
            start,
            10,
            site,
            gp,
            Some(reason),
        )
    };
    h.push(
        ids,
        clock,
        gp_visit(at(ymd(2025, 3, 3), 9, 40), codes::OSTEOARTHRITIS),
    );
    h.push(
        ids,
        clock,
        gp_visit(at(ymd(2026, 5, 12), 10, 10), codes::TYPE_2_DIABETES),
    );
    let bloods = at(ymd(2026, 5, 5), 8, 50);
    gp_result(&mut h, ids, clock, &codes::HBA1C, 55.0, bloods, lab);
    gp_result(&mut h, ids, clock, &codes::CHOLESTEROL, 4.2, bloods, lab);
    gp_panel(
        &mut h,
        ids,
        clock,
        &codes::RENAL_PANEL,
        &[139.0, 4.6, 88.0, 82.0],
        bloods,
        lab,
    );
    for (vaccine, date) in [
        (codes::VACC_PNEUMOCOCCAL, ymd(2024, 11, 20)),
        (codes::VACC_SEASONAL_FLU, ymd(2025, 10, 14)),
        (codes::VACC_SEASONAL_FLU, ymd(2026, 10, 6)),
    ] {
        let given = build::immunisation(
            vaccine,
            date,
            nurse,
            None,
            Some(build::batch(vaccine, date)),
        );
        h.push(ids, clock, Entry::Procedure(given));
    }
    h.push(
        ids,
        clock,
        Entry::Referral(build::referral(
            codes::REFERRAL_SERVICE,
            "Trauma and orthopaedics, Salisbury NHS Foundation Trust",
            ymd(2025, 4, 10),
            ReferralStatus::Completed,
            Priority::Routine,
            gp,
            Some(codes::OSTEOARTHRITIS),
            Some("Right knee osteoarthritis, pain at night despite analgesia: please consider replacement."),
        )),
    );
    h.push(
        ids,
        clock,
        Entry::CareTeam(build::care_team(
            practice,
            &format!("{site} practice team"),
            codes::SPEC_GENERAL_PRACTICE,
            ymd(1998, 4, 3),
            vec![
                (codes::ROLE_GP.concept(), gp.to_string()),
                (codes::ROLE_NURSE.concept(), nurse.to_string()),
            ],
            landline("01632 960612"),
        )),
    );
    h.push(
        ids,
        clock,
        booked(
            code(&codes::SPEC_GENERAL_PRACTICE),
            at(clock.ahead(12), 9, 20),
            20,
            "Diabetes annual review",
            site,
            nurse,
        ),
    );
    p.holdings.push(h);

    // The laboratory's copies; the imaging network's report of the chest
    // X-ray on the morning of his heart attack (gwh's record does not carry
    // it).
    region::copy_results(p, ids, clock);
    let mut rad = Holding::new(
        ids,
        Org::RADIOLOGY,
        p.truth.demographics.clone(),
        at(ymd(2024, 2, 14), 12, 5),
    );
    let xray = build::report(
        codes::XR_CHEST,
        codes::REPORT_RADIOLOGY,
        Vec::new(),
        at(ymd(2024, 2, 14), 8, 20),
        build::radiology(Org::GWH),
        Some("Heart size normal. No pulmonary oedema or pleural effusion."),
    );
    rad.push(ids, clock, Entry::Result(xray));
    p.holdings.push(rad);

    // Community therapy after the knee replacement.
    let physio = "Megan Holloway";
    let mut whc = Holding::new(
        ids,
        Org::WHC,
        p.truth.demographics.clone(),
        at(ymd(2025, 11, 25), 15, 0),
    );
    let mut team = build::care_team(
        Org::WHC,
        "Chippenham Community Therapy Team",
        codes::TEAM_HOME_AND_COMMUNITY,
        ymd(2025, 10, 10),
        vec![
            (codes::ROLE_PHYSIOTHERAPIST.concept(), physio.to_string()),
            (
                codes::ROLE_OCCUPATIONAL_THERAPIST.concept(),
                "Callum Iveson".to_string(),
            ),
        ],
        landline("01632 960714"),
    );
    team.status = Some(CareTeamStatus::Inactive);
    team.period_end = Some(build::day(ymd(2025, 11, 25)));
    whc.push(ids, clock, Entry::CareTeam(team));
    if let Some(w) = &wife {
        whc.push(ids, clock, Entry::Contact(w.clone()));
    }
    for (d, h) in [
        (ymd(2025, 10, 14), 10),
        (ymd(2025, 10, 21), 10),
        (ymd(2025, 11, 4), 14),
    ] {
        whc.push(
            ids,
            clock,
            seen(
                codes::CLASS_HOME,
                Concept::text("Community therapy"),
                at(d, h, 0),
                45,
                "Home visit",
                physio,
                None,
            ),
        );
    }
    let mut plan = build::care_plan(
        Concept::text("Community rehabilitation"),
        "Community rehabilitation plan",
        "Rehabilitation at home after a right total knee replacement.",
        at(ymd(2025, 10, 14), 11, 0),
        physio,
        &[
            "Knee exercises twice a day, reviewed at each visit (completed)",
            "Walking outdoors with one stick by week six (completed)",
            "Bath board and raised toilet seat fitted (completed)",
        ],
    );
    if let Some(p) = plan.care_plan.as_mut() {
        p.status = Some(icr_model::CarePlanStatus::Completed);
        p.period_end = Some(build::day(ymd(2025, 11, 25)));
    }
    whc.push(ids, clock, Entry::Document(plan));
    p.holdings.push(whc);

    // The council: reablement after the operation, a pendant alarm, and
    // his wife as his carer.
    let council = Org::WILTSHIRE_COUNCIL;
    let worker = "Nicola Brightwell";
    let mut c = Holding::new(
        ids,
        council,
        p.truth.demographics.clone(),
        at(ymd(2025, 11, 14), 12, 30),
    );
    c.push(
        ids,
        clock,
        Entry::CareTeam(build::care_team(
            council,
            "Chippenham Adult Social Care Team",
            codes::TEAM_LONGITUDINAL,
            ymd(2025, 10, 8),
            vec![(codes::ROLE_SOCIAL_WORKER.concept(), worker.to_string())],
            landline("01632 960745"),
        )),
    );
    let mut reablement = build::care_team(
        council,
        "Reablement",
        codes::TEAM_HOME_AND_COMMUNITY,
        ymd(2025, 10, 10),
        vec![(
            Concept::text("Care provider"),
            format!("{} Reablement Service", council.name()),
        )],
        landline("01632 960746"),
    );
    reablement.status = Some(CareTeamStatus::Inactive);
    reablement.period_end = Some(build::day(ymd(2025, 11, 14)));
    c.push(ids, clock, Entry::CareTeam(reablement));
    let alarm = build::care_team(
        council,
        "Telecare: pendant alarm",
        codes::TEAM_HOME_AND_COMMUNITY,
        ymd(2025, 10, 12),
        vec![(
            Concept::text("Care provider"),
            "Careline Response".to_string(),
        )],
        landline("01632 960747"),
    );
    c.push(ids, clock, Entry::CareTeam(alarm));
    if let Some(w) = &wife {
        c.push(ids, clock, Entry::Contact(w.clone()));
    }
    c.push(
        ids,
        clock,
        doc(
            council,
            Concept::text("Care Act needs assessment"),
            "Care Act needs assessment",
            at(ymd(2025, 10, 8), 15, 0),
            worker,
            20_251_008,
        ),
    );
    c.push(
        ids,
        clock,
        doc(
            council,
            code(&codes::DOC_CARE_PLAN),
            "Care and support plan",
            at(ymd(2025, 10, 10), 11, 30),
            worker,
            20_251_010,
        ),
    );
    c.push(
        ids,
        clock,
        Entry::Alert(build::alert(
            codes::FLAG_ADMIN,
            Concept::text(
                "Key safe at the front door: the code is held by the Wiltshire Council reablement team (01632 960746). Do not share it.",
            ),
            ymd(2025, 10, 10),
            worker,
        )),
    );
    c.push(
        ids,
        clock,
        booked(
            Concept::text("Adult social care"),
            at(clock.ahead(21), 11, 0),
            60,
            "Care and support plan review",
            "Home visit",
            worker,
        ),
    );
    p.holdings.push(c);

    // Out of hours, the Saturday after the operation.
    let ooh = "Dr L Osei";
    let mut m = Holding::new(
        ids,
        Org::MEDVIVO,
        p.truth.demographics.clone(),
        at(ymd(2025, 10, 11), 22, 40),
    );
    let start = at(ymd(2025, 10, 11), 21, 40);
    m.push(
        ids,
        clock,
        seen(
            codes::CLASS_HOME,
            code(&codes::SPEC_GENERAL_PRACTICE),
            start,
            40,
            "Home visit",
            ooh,
            Some(codes::KNEE_REPLACEMENT),
        ),
    );
    m.push(
        ids,
        clock,
        Entry::Document(build::document(
            Org::MEDVIVO,
            codes::DOC_CLINIC_LETTER,
            "Out-of-hours consultation report",
            start + Duration::minutes(50),
            ooh,
            20_251_011,
            41_984,
        )),
    );
    p.holdings.push(m);
}

/// Story 6: Hannah Stainton, 31, moved to Swindon to escape domestic abuse.
/// PDS marks her record restricted, so PDS itself leaves out her address
/// and phone number; her practice, the council's safeguarding team and the
/// out-of-hours service hold them, and the gateway must withhold them from
/// every copy. No trust holds her.
pub(super) fn restricted_record(_ids: &mut Ids, _clock: &Clock, nhs: NhsNumber) -> Patient {
    let demo = demographics(
        nhs,
        "Ms",
        &["Hannah"],
        "Stainton",
        ymd(1995, 8, 19),
        Gender::Female,
        home("27 Thistledown Road", "Swindon", "Swindon", "SN2 7HQ"),
        vec![phone("07700 900647")],
    );
    let anxiety = build::condition(
        codes::ANXIETY,
        ymd(2024, 5, 10),
        ConditionClinicalStatus::Active,
        None,
    );
    let ptsd = build::condition(
        codes::PTSD,
        ymd(2025, 2, 3),
        ConditionClinicalStatus::Active,
        None,
    );
    let citalopram = build::statement(
        codes::CITALOPRAM_20,
        codes::CITALOPRAM_DOSE,
        ymd(2024, 6, 1),
        MedicationStatus::Active,
        Some(codes::ANXIETY),
    );
    Patient {
        nhs_number: nhs,
        story: Some(
            "Hannah Stainton, 31, restricted (sensitive) in PDS: council safeguarding and out-of-hours hold her address; the gateway must not show it (her practice shares nothing for a sensitive patient)",
        ),
        truth: Truth {
            demographics: demo,
            conditions: vec![anxiety, ptsd],
            medications: vec![citalopram],
            allergies: Vec::new(),
            contacts: Vec::new(),
        },
        holdings: Vec::new(),
    }
}

/// Story 6's records beyond PDS (written after her registration).
pub(super) fn restricted_region(p: &mut Patient, ids: &mut Ids, clock: &Clock) {
    let Some(practice) = p.registered_practice() else {
        return;
    };
    let code = |c: &Code| Concept::coded(c.coding());
    let gp = "Dr R Fairbrother";
    let site = practice.name();
    let lab = build::laboratory(Org::GWH);
    let mut h = Holding::new(
        ids,
        practice,
        p.truth.demographics.clone(),
        at(ymd(2026, 7, 15), 12, 0),
    );
    let facts: Vec<Entry> = p
        .truth
        .conditions
        .iter()
        .cloned()
        .map(Entry::Condition)
        .chain(p.truth.medications.iter().cloned().map(Entry::Medication))
        .collect();
    for e in facts {
        h.push(ids, clock, e);
    }
    let visit = |start, minutes, reason| {
        seen(
            codes::CLASS_AMBULATORY,
            code(&codes::SPEC_GENERAL_PRACTICE),
            start,
            minutes,
            site,
            gp,
            Some(reason),
        )
    };
    h.push(
        ids,
        clock,
        visit(at(ymd(2026, 6, 10), 11, 0), 20, codes::PTSD),
    );
    h.push(
        ids,
        clock,
        visit(at(ymd(2026, 7, 15), 9, 30), 10, codes::ANXIETY),
    );
    let bloods = at(ymd(2026, 6, 17), 9, 5);
    gp_result(&mut h, ids, clock, &codes::TSH, 1.9, bloods, lab);
    gp_panel(
        &mut h,
        ids,
        clock,
        &codes::FULL_BLOOD_COUNT,
        &[128.0, 6.1, 240.0],
        bloods,
        lab,
    );
    h.push(
        ids,
        clock,
        Entry::Referral(build::referral(
            codes::REFERRAL_SERVICE,
            "NHS Talking Therapies, Swindon",
            ymd(2026, 6, 10),
            ReferralStatus::Active,
            Priority::Routine,
            gp,
            Some(codes::PTSD),
            None,
        )),
    );
    h.push(
        ids,
        clock,
        Entry::CareTeam(build::care_team(
            practice,
            &format!("{site} practice team"),
            codes::SPEC_GENERAL_PRACTICE,
            ymd(2026, 6, 10),
            vec![(codes::ROLE_GP.concept(), gp.to_string())],
            landline("01632 960603"),
        )),
    );
    p.holdings.push(h);
    region::copy_results(p, ids, clock);

    // The council's safeguarding team.
    let council = Org::SWINDON_COUNCIL;
    let worker = "Aisha Penrose";
    let mut c = Holding::new(
        ids,
        council,
        p.truth.demographics.clone(),
        at(ymd(2026, 6, 3), 16, 0),
    );
    c.push(
        ids,
        clock,
        Entry::CareTeam(build::care_team(
            council,
            "Swindon Adult Safeguarding Team",
            codes::TEAM_LONGITUDINAL,
            ymd(2026, 5, 28),
            vec![(codes::ROLE_SOCIAL_WORKER.concept(), worker.to_string())],
            landline("01632 960880"),
        )),
    );
    let support = build::care_team(
        council,
        "Domestic abuse support",
        codes::TEAM_HOME_AND_COMMUNITY,
        ymd(2026, 5, 28),
        vec![(
            Concept::text("Independent domestic violence adviser"),
            "Swindon Domestic Abuse Support Service".to_string(),
        )],
        landline("01632 960881"),
    );
    c.push(ids, clock, Entry::CareTeam(support));
    c.push(
        ids,
        clock,
        Entry::Alert(build::alert(
            codes::FLAG_SAFETY,
            Concept::text(
                "Safeguarding: at risk of domestic abuse from a former partner. Her address is restricted: do not disclose it, or any contact details, to anyone. Contact Swindon Borough Council adult safeguarding on 01632 960880 before sharing any information.",
            ),
            ymd(2026, 5, 28),
            worker,
        )),
    );
    c.push(
        ids,
        clock,
        doc(
            council,
            code(&codes::DOC_CARE_PLAN),
            "Safety and support plan",
            at(ymd(2026, 6, 3), 14, 0),
            worker,
            20_260_603,
        ),
    );
    c.push(
        ids,
        clock,
        booked(
            Concept::text("Adult social care"),
            at(clock.ahead(6), 10, 0),
            60,
            "Safeguarding review",
            "Agreed safe venue",
            worker,
        ),
    );
    p.holdings.push(c);

    // One night, out of hours.
    let ooh = "Dr M Greenhalgh";
    let mut m = Holding::new(
        ids,
        Org::MEDVIVO,
        p.truth.demographics.clone(),
        at(ymd(2026, 8, 16), 0, 5),
    );
    let start = at(ymd(2026, 8, 15), 23, 10);
    m.push(
        ids,
        clock,
        seen(
            codes::CLASS_VIRTUAL,
            code(&codes::SPEC_GENERAL_PRACTICE),
            start,
            25,
            "Medvivo clinical assessment service (telephone)",
            ooh,
            Some(codes::ANXIETY),
        ),
    );
    m.push(
        ids,
        clock,
        Entry::Document(build::document(
            Org::MEDVIVO,
            codes::DOC_CLINIC_LETTER,
            "Out-of-hours consultation report",
            start + Duration::minutes(35),
            ooh,
            20_260_815,
            36_352,
        )),
    );
    p.holdings.push(m);
}
