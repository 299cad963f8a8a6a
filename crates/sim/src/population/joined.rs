//! What the two organisations the region published as taking part later
//! hold: Oxford Health NHS Foundation Trust's child and adolescent mental
//! health services (CAMHS) across Bath and North East Somerset, Swindon
//! and Wiltshire, and HCRG Care Group's (formerly Virgin Care's) community
//! services in Bath and North East Somerset: community nursing and therapy
//! for adults, health visiting for young children, school nursing now and
//! then. And story 7, Isla Carthew, whose record shows both.
//!
//! Both copy the person's facts exactly as they are (conditions, the
//! medicines taken for them, allergies, next of kin), so the gateway merges
//! their copies with the practice's and the trusts'. Generated patients
//! draw these records from a random stream of their own, after the rest of
//! the region, and the two organisations count their ids on their own, so
//! nothing any other organisation holds, nor any id it gave, changed when
//! they joined.

use icr_model::{CareTeamStatus, Concept, Condition, Document, Entry, Gender, NhsNumber, Priority};
use icr_model::{ConditionClinicalStatus, ReferralStatus};
use time::{Date, Duration, OffsetDateTime};

use super::build;
use super::codes::{self, Code};
use super::generate::daytime;
use super::names;
use super::region::{self, Person, has_any, past, spec_of};
use super::stories::{demographics, home, landline, phone};
use super::stories_region::{booked, doc, gp_panel, gp_result, seen};
use super::{Clock, Holding, Ids, Patient, REFERENCE_DATE, Truth, at, shift, ymd};
use crate::org::Org;
use crate::rng::SplitMix64;

/// Mixed into the seed of the streams these records are drawn from.
pub(crate) const SALT: u64 = 0x6a6f_696e_6564_0001;

/// The local authority district HCRG Care Group serves.
const BANES: &str = "Bath and North East Somerset";

/// Everything the two organisations hold for a generated person: a CAMHS
/// record for some children and young people with a mental-health
/// condition (and a few assessed and discharged without one), and an HCRG
/// community record for some people living in Bath and North East
/// Somerset.
pub(crate) fn extend(p: &mut Patient, ids: &mut Ids, clock: &Clock, rng: &mut SplitMix64) {
    let Some(who) = Person::of(p) else { return };
    camhs(p, ids, clock, rng, &who);
    if who.district == BANES {
        hcrg(p, ids, clock, rng, &who);
    }
}

/// The person's mental-health conditions, as the truth records them.
fn mental_conditions(p: &Patient) -> Vec<Condition> {
    p.truth
        .conditions
        .iter()
        .filter(|c| spec_of(c).is_some_and(|s| s.mental))
        .cloned()
        .collect()
}

/// The CAMHS team serving a local authority district.
fn camhs_team(district: &str) -> &'static str {
    match district {
        BANES => "BaNES CAMHS",
        "Swindon" => "Swindon CAMHS",
        _ => "Wiltshire CAMHS",
    }
}

/// A past CAMHS contact: an assessment or a session at the team's base.
fn camhs_contact(
    start: OffsetDateTime,
    minutes: i64,
    base: &str,
    clinician: &str,
    reason: &Option<Concept>,
) -> Entry {
    let mut e = build::encounter(
        codes::CLASS_AMBULATORY,
        codes::SPEC_CHILD_PSYCHIATRY,
        start,
        start + Duration::minutes(minutes),
        base,
        clinician,
        None,
    );
    e.reasons = reason.clone().into_iter().collect();
    Entry::Appointment(e)
}

/// A document held by reference, its number and size (in `size`, bytes)
/// drawn from `rng`.
fn paper(
    rng: &mut SplitMix64,
    org: Org,
    doc_type: Code,
    title: &str,
    when: OffsetDateTime,
    author: &str,
    size: (i64, i64),
) -> Document {
    build::document(
        org,
        doc_type,
        title,
        when,
        author,
        rng.below(100_000_000),
        rng.range(size.0, size.1) as u64,
    )
}

/// Oxford Health's CAMHS record: open for a child with a mental-health
/// condition, closed at eighteen with a transition summary for a young
/// adult, or an assessment and a discharge letter for a child seen once.
fn camhs(p: &mut Patient, ids: &mut Ids, clock: &Clock, rng: &mut SplitMix64, who: &Person) {
    let mental = mental_conditions(p);
    let five = who.aged(5, 0);
    let eighteen = who.aged(18, 0);
    // Seen from the first diagnosis (or a referral in the last two years),
    // never before five; a young adult's care ended at eighteen, so only
    // one whose condition began well before then was under CAMHS.
    let first = mental
        .iter()
        .filter_map(|c| c.onset.as_ref().and_then(|d| d.date()))
        .min()
        .unwrap_or_else(|| shift(REFERENCE_DATE, -rng.range(30, 700)));
    let chance = match (who.age, mental.is_empty()) {
        (5..18, false) => 0.85,
        (5..18, true) => 0.03,
        (18..20, false) if first < shift(eighteen, -90) => 0.5,
        _ => 0.0,
    };
    if !rng.chance(chance) {
        return;
    }
    let org = Org::OXFORD_HEALTH;
    let team = camhs_team(&who.district);
    let base = format!("{team}, {}", who.town);
    let coordinator = names::staff(rng);
    let open = who.age < 18;
    let end = if open {
        shift(REFERENCE_DATE, -1)
    } else {
        eighteen
    };
    let since = past(first.max(five)).min(shift(end, -30));
    let updated = daytime(past(shift(end, -rng.range(0, 60)).max(since)), rng);
    let mut h = region::holding(p, ids, org, updated);

    // The person's facts, as they are.
    let reasons: Vec<Concept> = mental.iter().map(|c| c.code.clone()).collect();
    for c in &mental {
        h.push(ids, clock, Entry::Condition(c.clone()));
    }
    for m in &p.truth.medications {
        if m.reasons.iter().any(|r| reasons.contains(r)) {
            h.push(ids, clock, Entry::Medication(m.clone()));
        }
    }
    for a in &p.truth.allergies {
        if rng.chance(0.6) {
            h.push(ids, clock, Entry::Allergy(a.clone()));
        }
    }
    for c in &p.truth.contacts {
        h.push(ids, clock, Entry::Contact(c.clone()));
    }

    // The assessment, then sessions until now (or eighteen).
    let reason: Option<Concept> = mental.first().map(|c| c.code.clone());
    let assessed = daytime(since, rng);
    let mut psychiatrist = None;
    if !mental.is_empty() && rng.chance(0.6) {
        psychiatrist = Some(names::clinician(rng));
    }
    let assessor = psychiatrist.clone().unwrap_or_else(|| coordinator.clone());
    h.push(
        ids,
        clock,
        camhs_contact(assessed, 90, &base, &assessor, &reason),
    );
    let when = assessed + Duration::days(rng.range(3, 10));
    let letter = paper(
        rng,
        org,
        codes::DOC_CLINIC_LETTER,
        "CAMHS assessment letter",
        when,
        &assessor,
        (30_000, 120_000),
    );
    h.push(ids, clock, Entry::Document(letter));
    if mental.is_empty() {
        // Assessed, advice given, discharged to the practice.
        let when = assessed + Duration::days(rng.range(14, 40));
        let discharge = paper(
            rng,
            org,
            codes::DOC_CLINIC_LETTER,
            "CAMHS discharge letter",
            when,
            &coordinator,
            (20_000, 60_000),
        );
        h.push(ids, clock, Entry::Document(discharge));
    } else {
        let span = (end - since).whole_days().max(31);
        for _ in 0..1 + rng.below(4) {
            let start = daytime(shift(since, rng.range(14, span - 1)).min(end), rng);
            h.push(
                ids,
                clock,
                camhs_contact(start, 60, &base, &coordinator, &reason),
            );
        }
        let when = assessed + Duration::days(rng.range(10, 30));
        let plan = paper(
            rng,
            org,
            codes::DOC_CARE_PLAN,
            "CAMHS care plan",
            when,
            &coordinator,
            (30_000, 120_000),
        );
        h.push(ids, clock, Entry::Document(plan));
    }
    if !open {
        let when = daytime(past(eighteen.max(since)), rng);
        let summary = paper(
            rng,
            org,
            codes::DOC_DISCHARGE_SUMMARY,
            "CAMHS transition summary",
            when,
            &coordinator,
            (40_000, 160_000),
        );
        h.push(ids, clock, Entry::Document(summary));
    }
    let phone = names::landline(rng);
    if open && has_any(p, &[codes::SELF_HARM]) {
        let text = format!(
            "Self-harm: a safety plan is in place (see the CAMHS care plan). In a crisis, call {team} on {} (out of hours, the CAMHS crisis line).",
            phone.value
        );
        let a = build::alert(
            codes::FLAG_CLINICAL,
            Concept::text(text),
            since,
            &coordinator,
        );
        h.push(ids, clock, Entry::Alert(a));
    }
    if open && !mental.is_empty() && rng.chance(0.6) {
        let start = daytime(clock.ahead(rng.range(3, 45)), rng);
        let a = build::appointment(
            codes::SPEC_CHILD_PSYCHIATRY,
            start,
            60,
            "CAMHS review",
            &base,
            &coordinator,
        );
        h.push(ids, clock, Entry::Appointment(a));
    }
    let mut members = vec![(Concept::text("Care coordinator"), coordinator)];
    if let Some(doctor) = psychiatrist {
        members.insert(0, (codes::ROLE_PSYCHIATRIST.concept(), doctor));
    }
    let mut t = build::care_team(
        org,
        team,
        codes::SPEC_CHILD_PSYCHIATRY,
        since,
        members,
        phone,
    );
    if !open || mental.is_empty() {
        t.status = Some(CareTeamStatus::Inactive);
        t.period_end = Some(build::day(if open {
            past(shift(since, 40))
        } else {
            past(eighteen.max(since))
        }));
    }
    h.push(ids, clock, Entry::CareTeam(t));
    p.holdings.push(h);
}

/// HCRG Care Group's record of someone living in Bath and North East
/// Somerset: health visiting for most young children, school nursing for a
/// few older ones, and community nursing or therapy for adults, as
/// Wiltshire Health and Care's for Wiltshire.
fn hcrg(p: &mut Patient, ids: &mut Ids, clock: &Clock, rng: &mut SplitMix64, who: &Person) {
    match who.age {
        0..5 => {
            if rng.chance(0.7) {
                health_visiting(p, ids, clock, rng, who);
            }
        }
        5..18 => {
            if rng.chance(0.08) {
                school_nursing(p, ids, clock, rng, who);
            }
        }
        age => {
            let base = match age {
                80.. => 0.4,
                70..80 => 0.22,
                60..70 => 0.1,
                _ => 0.04,
            };
            let frail = has_any(
                p,
                &[
                    codes::HEART_FAILURE,
                    codes::COPD,
                    codes::FRACTURE_NECK_OF_FEMUR,
                    codes::CKD_STAGE_3,
                    codes::OSTEOARTHRITIS,
                    codes::TYPE_2_DIABETES,
                ],
            );
            let extra = if frail { 0.1 } else { 0.0 };
            if !rng.chance(base + extra) {
                return;
            }
            region::community_record(Org::HCRG, p, ids, clock, rng, who);
            let falls = age >= 80 || has_any(p, &[codes::FRACTURE_NECK_OF_FEMUR]);
            if falls
                && rng.chance(0.35)
                && let Some(h) = p.holdings.last_mut().filter(|h| h.org == Org::HCRG)
            {
                let start = past(shift(REFERENCE_DATE, -rng.range(14, 400)));
                let a = build::alert(
                    codes::FLAG_CLINICAL,
                    codes::AT_RISK_OF_FALLS.concept(),
                    start,
                    &names::staff(rng),
                );
                h.push(ids, clock, Entry::Alert(a));
            }
        }
    }
}

/// The HCRG team a child is known to, with its one named member.
struct ChildTeam<'a> {
    name: String,
    role: &'a str,
    member: &'a str,
    since: Date,
}

/// A new HCRG holding for a child's service: the team and the child's
/// parents, as the truth has them.
fn child_service(
    p: &Patient,
    ids: &mut Ids,
    clock: &Clock,
    rng: &mut SplitMix64,
    updated: OffsetDateTime,
    team: ChildTeam<'_>,
) -> Holding {
    let org = Org::HCRG;
    let mut h = region::holding(p, ids, org, updated);
    let t = build::care_team(
        org,
        &team.name,
        codes::TEAM_HOME_AND_COMMUNITY,
        team.since,
        vec![(Concept::text(team.role), team.member.to_string())],
        names::landline(rng),
    );
    h.push(ids, clock, Entry::CareTeam(t));
    for c in &p.truth.contacts {
        h.push(ids, clock, Entry::Contact(c.clone()));
    }
    h
}

/// The health visiting team's record of a child under five: the Healthy
/// Child Programme's reviews so far (new birth visit, 6 to 8 weeks, 9 to 12
/// months, 2 to 2½ years), the latest review's summary, the parents, and
/// sometimes the next review booked.
fn health_visiting(
    p: &mut Patient,
    ids: &mut Ids,
    clock: &Clock,
    rng: &mut SplitMix64,
    who: &Person,
) {
    let org = Org::HCRG;
    let visitor = names::staff(rng);
    let service = Concept::text("Health visiting");
    let reviews = [
        ("New birth visit", 0, rng.range(10, 14), true),
        ("6 to 8 week review", 0, rng.range(42, 56), true),
        ("9 to 12 month review", 0, rng.range(270, 365), false),
        ("2 to 2½ year review", 2, rng.range(0, 180), false),
    ];
    let done: Vec<(&str, Date, bool)> = reviews
        .iter()
        .map(|(what, years, days, home_visit)| (*what, who.aged(*years, *days), *home_visit))
        .filter(|(_, d, _)| *d < REFERENCE_DATE)
        .collect();
    let Some((latest, latest_day, _)) = done.last().copied() else {
        return; // born in the last ten days
    };
    let since = who.aged(0, 10).min(past(latest_day));
    let updated = daytime(past(latest_day), rng);
    let team = ChildTeam {
        name: format!("{} Health Visiting Team", who.town),
        role: "Health visitor",
        member: &visitor,
        since,
    };
    let mut h = child_service(p, ids, clock, rng, updated, team);
    for (what, day, home_visit) in &done {
        let (class, place) = if *home_visit {
            (codes::CLASS_HOME, "Home visit".to_string())
        } else {
            (
                codes::CLASS_AMBULATORY,
                format!("{} children's centre", who.town),
            )
        };
        let mut e = region::contact_with(
            class,
            service.clone(),
            daytime(*day, rng),
            45,
            &place,
            &visitor,
            None,
        );
        e.description = Some((*what).to_string());
        h.push(ids, clock, Entry::Appointment(e));
    }
    let when = daytime(past(latest_day), rng);
    let mut summary = paper(
        rng,
        org,
        codes::DOC_CLINIC_LETTER,
        &format!("Health visiting {latest} summary"),
        when,
        &visitor,
        (20_000, 60_000),
    );
    summary.doc_type = Concept::text("Health visiting review");
    h.push(ids, clock, Entry::Document(summary));
    if done.len() < reviews.len() && rng.chance(0.5) {
        let start = daytime(clock.ahead(rng.range(7, 90)), rng);
        let v = region::planned_visit(
            service,
            start,
            45,
            "Health visiting review",
            &format!("{} children's centre", who.town),
            &visitor,
        );
        h.push(ids, clock, Entry::Appointment(v));
    }
    p.holdings.push(h);
}

/// The school nursing team's record of a child seen at school: the team,
/// the contact, its health assessment, and the parents.
fn school_nursing(
    p: &mut Patient,
    ids: &mut Ids,
    clock: &Clock,
    rng: &mut SplitMix64,
    who: &Person,
) {
    let org = Org::HCRG;
    let nurse = names::staff(rng);
    let day = past(shift(REFERENCE_DATE, -rng.range(14, 500)).max(who.aged(5, 0)));
    let seen_at = daytime(day, rng);
    let team = ChildTeam {
        name: format!("{} School Nursing Team", who.town),
        role: "School nurse",
        member: &nurse,
        since: day,
    };
    let mut h = child_service(p, ids, clock, rng, seen_at + Duration::hours(3), team);
    let e = region::contact_with(
        codes::CLASS_AMBULATORY,
        Concept::text("School nursing"),
        seen_at,
        30,
        "School",
        &nurse,
        None,
    );
    h.push(ids, clock, Entry::Appointment(e));
    let mut assessment = paper(
        rng,
        org,
        codes::DOC_CLINIC_LETTER,
        "School nursing health assessment",
        seen_at + Duration::hours(2),
        &nurse,
        (20_000, 60_000),
    );
    assessment.doc_type = Concept::text("School nursing health assessment");
    h.push(ids, clock, Entry::Document(assessment));
    p.holdings.push(h);
}

// ---- story 7 ----

/// The seed of the fixed stream story 7's practice record is drawn from.
const STORY_SEED: u64 = 0x0570_71e5_0007;

const ISLA_SCHOOL: &str = "Kingsmead Vale School, Bath";
const ISLA_CAMHS: &str = "BaNES CAMHS, Bath";
const PSYCHIATRIST: &str = "Dr Helen Okonjo";
const COORDINATOR: &str = "Rosie Tremlett";
const FAMILY_THERAPIST: &str = "Daniel Fairweather";
const SCHOOL_NURSE: &str = "Kerry Ashdown";
const CAMHS_PHONE: &str = "01632 960771";
/// When BaNES CAMHS assessed her and diagnosed anorexia nervosa.
const DIAGNOSED: Date = time::macros::date!(2026 - 03 - 19);

/// Story 7: Isla Carthew, 15, of Bath, with anorexia nervosa. HCRG Care
/// Group's school nurse saw her at school in March 2026 and referred her
/// to Oxford Health's CAMHS, whose eating disorders team assessed her,
/// treats her with her family, and asked the school nursing team to check
/// her weight, pulse and blood pressure; her practice takes her bloods. No
/// trust holds her.
pub(super) fn carthew(ids: &mut Ids, clock: &Clock, nhs: NhsNumber) -> Patient {
    let address = home("9 Weavers Orchard", "Bath", BANES, "BA2 4QT");
    let demo = demographics(
        nhs,
        "Miss",
        &["Isla", "Maeve"],
        "Carthew",
        ymd(2011, 3, 17),
        Gender::Female,
        address.clone(),
        vec![phone("07700 900771")],
    );
    let anorexia = build::condition(
        codes::ANOREXIA_NERVOSA,
        DIAGNOSED,
        ConditionClinicalStatus::Active,
        None,
    );
    let mother = build::contact(
        names::name(Some("Mrs"), &["Joanne"], "Carthew"),
        codes::REL_MOTHER,
        vec![phone("07700 900772")],
        Some(address),
    );
    let mut p = Patient {
        nhs_number: nhs,
        story: Some(
            "Isla Carthew, 15, Bath: anorexia nervosa under Oxford Health's CAMHS; HCRG Care Group's school nurse referred her and checks her weight, pulse and blood pressure",
        ),
        truth: Truth {
            demographics: demo,
            conditions: vec![anorexia.clone()],
            medications: Vec::new(),
            allergies: Vec::new(),
            contacts: vec![mother.clone()],
        },
        holdings: Vec::new(),
    };
    let code = |c: &Code| Concept::coded(c.coding());

    // HCRG Care Group: the school nurse's referral, and the checks CAMHS
    // asked for.
    let org = Org::HCRG;
    let mut h = Holding::new(
        ids,
        org,
        p.truth.demographics.clone(),
        at(ymd(2026, 10, 14), 11, 5),
    );
    h.push(
        ids,
        clock,
        Entry::CareTeam(build::care_team(
            org,
            "Bath School Nursing Team",
            codes::TEAM_HOME_AND_COMMUNITY,
            ymd(2026, 3, 4),
            vec![(Concept::text("School nurse"), SCHOOL_NURSE.to_string())],
            landline("01632 960772"),
        )),
    );
    h.push(ids, clock, Entry::Contact(mother.clone()));
    let school = Concept::text("School nursing");
    h.push(
        ids,
        clock,
        seen(
            codes::CLASS_AMBULATORY,
            school.clone(),
            at(ymd(2026, 3, 4), 10, 30),
            30,
            ISLA_SCHOOL,
            SCHOOL_NURSE,
            None,
        ),
    );
    h.push(
        ids,
        clock,
        doc(
            org,
            Concept::text("School nursing health assessment"),
            "School nursing health assessment",
            at(ymd(2026, 3, 4), 12, 0),
            SCHOOL_NURSE,
            20_260_304,
        ),
    );
    h.push(
        ids,
        clock,
        Entry::Referral(build::referral(
            codes::REFERRAL_PSYCHIATRY,
            "BaNES CAMHS (Oxford Health NHS Foundation Trust)",
            ymd(2026, 3, 5),
            ReferralStatus::Completed,
            Priority::Urgent,
            SCHOOL_NURSE,
            None,
            Some(
                "About 6 kg lost since September; restricting food at school; low mood. Her mother is aware and agrees. Please assess on the eating disorder pathway.",
            ),
        )),
    );
    for (d, m) in [
        (ymd(2026, 4, 15), 4),
        (ymd(2026, 5, 20), 5),
        (ymd(2026, 6, 24), 6),
        (ymd(2026, 9, 16), 9),
        (ymd(2026, 10, 14), 10),
    ] {
        h.push(
            ids,
            clock,
            seen(
                codes::CLASS_AMBULATORY,
                school.clone(),
                at(d, 10, 5 * m),
                20,
                ISLA_SCHOOL,
                SCHOOL_NURSE,
                Some(codes::ANOREXIA_NERVOSA),
            ),
        );
    }
    h.push(
        ids,
        clock,
        booked(
            school,
            at(clock.ahead(5), 10, 0),
            20,
            "Weight, pulse and blood pressure check",
            ISLA_SCHOOL,
            SCHOOL_NURSE,
        ),
    );
    p.holdings.push(h);

    // Oxford Health: the eating disorders team of BaNES CAMHS.
    let org = Org::OXFORD_HEALTH;
    let mut h = Holding::new(
        ids,
        org,
        p.truth.demographics.clone(),
        at(ymd(2026, 10, 22), 17, 40),
    );
    h.push(
        ids,
        clock,
        Entry::CareTeam(build::care_team(
            org,
            "BaNES CAMHS Eating Disorders Team",
            codes::SPEC_CHILD_PSYCHIATRY,
            DIAGNOSED,
            vec![
                (codes::ROLE_PSYCHIATRIST.concept(), PSYCHIATRIST.to_string()),
                (Concept::text("Care coordinator"), COORDINATOR.to_string()),
                (
                    Concept::text("Family therapist"),
                    FAMILY_THERAPIST.to_string(),
                ),
            ],
            landline(CAMHS_PHONE),
        )),
    );
    h.push(ids, clock, Entry::Contact(mother));
    h.push(ids, clock, Entry::Condition(anorexia));
    let camhs = code(&codes::SPEC_CHILD_PSYCHIATRY);
    h.push(
        ids,
        clock,
        seen(
            codes::CLASS_AMBULATORY,
            camhs.clone(),
            at(DIAGNOSED, 14, 0),
            90,
            ISLA_CAMHS,
            PSYCHIATRIST,
            None,
        ),
    );
    h.push(
        ids,
        clock,
        doc(
            org,
            code(&codes::DOC_CLINIC_LETTER),
            "CAMHS eating disorder assessment",
            at(ymd(2026, 3, 24), 15, 30),
            PSYCHIATRIST,
            20_260_324,
        ),
    );
    h.push(
        ids,
        clock,
        doc(
            org,
            code(&codes::DOC_CARE_PLAN),
            "Care plan: family-based treatment for anorexia nervosa",
            at(ymd(2026, 4, 2), 16, 0),
            COORDINATOR,
            20_260_402,
        ),
    );
    h.push(
        ids,
        clock,
        doc(
            org,
            Concept::text("Physical risk monitoring plan"),
            "Physical risk monitoring plan",
            at(ymd(2026, 4, 2), 16, 30),
            PSYCHIATRIST,
            20_260_403,
        ),
    );
    for (d, who, minutes) in [
        (ymd(2026, 4, 2), FAMILY_THERAPIST, 60),
        (ymd(2026, 4, 30), FAMILY_THERAPIST, 60),
        (ymd(2026, 6, 4), FAMILY_THERAPIST, 60),
        (ymd(2026, 6, 18), PSYCHIATRIST, 30),
        (ymd(2026, 7, 9), FAMILY_THERAPIST, 60),
        (ymd(2026, 9, 10), FAMILY_THERAPIST, 60),
        (ymd(2026, 10, 22), COORDINATOR, 60),
    ] {
        h.push(
            ids,
            clock,
            seen(
                codes::CLASS_AMBULATORY,
                camhs.clone(),
                at(d, 16, 0),
                minutes,
                ISLA_CAMHS,
                who,
                Some(codes::ANOREXIA_NERVOSA),
            ),
        );
    }
    h.push(
        ids,
        clock,
        Entry::Alert(build::alert(
            codes::FLAG_CLINICAL,
            Concept::text(format!(
                "Eating disorder: her weight, pulse and blood pressure are checked at school by the HCRG school nursing team, her bloods by her practice. A pulse below 50, fainting or chest pain needs a same-day medical review: tell BaNES CAMHS on {CAMHS_PHONE}."
            )),
            ymd(2026, 4, 2),
            PSYCHIATRIST,
        )),
    );
    h.push(
        ids,
        clock,
        booked(
            camhs.clone(),
            at(clock.ahead(7), 16, 0),
            60,
            "Family-based treatment session",
            ISLA_CAMHS,
            FAMILY_THERAPIST,
        ),
    );
    h.push(
        ids,
        clock,
        booked(
            camhs,
            at(clock.ahead(21), 14, 30),
            30,
            "Medical review",
            ISLA_CAMHS,
            PSYCHIATRIST,
        ),
    );
    p.holdings.push(h);
    p
}

/// Story 7's practice record (drawn from a fixed stream, with the
/// consultation that found her weight loss and the monitoring bloods CAMHS
/// asked for) and the laboratory's copies of those bloods.
pub(super) fn carthew_region(p: &mut Patient, ids: &mut Ids, clock: &Clock) {
    let Some(who) = Person::of(p) else { return };
    let Some(practice) = p.registered_practice() else {
        return;
    };
    let mut rng = SplitMix64::stream(STORY_SEED, 0);
    region::gp_record(p, ids, clock, &mut rng, &who);
    let lab = build::laboratory(Org::RUH);
    if let Some(h) = p.holdings.iter_mut().find(|h| h.org == practice) {
        // Consultations drawn before the diagnosis were about something else.
        for r in &mut h.records {
            if let Entry::Appointment(a) = &mut r.entry
                && a.start
                    .and_then(|d| d.date())
                    .is_some_and(|d| d < DIAGNOSED)
            {
                a.reasons.clear();
            }
        }
        let gp = "Dr S Penhaligon";
        h.push(
            ids,
            clock,
            seen(
                codes::CLASS_AMBULATORY,
                codes::SPEC_GENERAL_PRACTICE.concept(),
                at(ymd(2026, 3, 10), 16, 20),
                20,
                practice.name(),
                gp,
                None,
            ),
        );
        for (when, k, na, fbc) in [
            (at(ymd(2026, 3, 11), 8, 40), 3.6, 138.0, [121.0, 3.6, 182.0]),
            (at(ymd(2026, 6, 16), 8, 50), 3.9, 139.0, [124.0, 4.1, 198.0]),
        ] {
            gp_result(h, ids, clock, &codes::POTASSIUM, k, when, lab);
            gp_result(h, ids, clock, &codes::SODIUM, na, when, lab);
            gp_panel(h, ids, clock, &codes::FULL_BLOOD_COUNT, &fbc, when, lab);
        }
    }
    region::copy_results(p, ids, clock);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn camhs_teams_by_district() {
        assert_eq!(camhs_team(BANES), "BaNES CAMHS");
        assert_eq!(camhs_team("Swindon"), "Swindon CAMHS");
        assert_eq!(camhs_team("Wiltshire"), "Wiltshire CAMHS");
    }
}
