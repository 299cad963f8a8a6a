//! What the two organisations the region published as taking part later
//! hold: Oxford Health NHS Foundation Trust's child and adolescent mental
//! health services (CAMHS) across Bath and North East Somerset, Swindon
//! and Wiltshire, and HCRG Care Group's (formerly Virgin Care's) community
//! services in Bath and North East Somerset: community nursing and therapy
//! for adults, health visiting for young children, school nursing now and
//! then.
//!
//! Both copy the person's facts exactly as they are (conditions, the
//! medicines taken for them, allergies, next of kin), so the gateway merges
//! their copies with the practice's and the trusts'. Generated patients
//! draw these records from a random stream of their own, after the rest of
//! the region, and the two organisations count their ids on their own, so
//! nothing any other organisation holds, nor any id it gave, changed when
//! they joined.

use icr_model::{CareTeamStatus, Concept, Condition, Document, Entry};
use time::{Date, Duration, OffsetDateTime};

use super::build;
use super::codes::{self, Code};
use super::generate::daytime;
use super::names;
use super::region::{self, Person, has_any, past, spec_of};
use super::{Clock, Holding, Ids, Patient, REFERENCE_DATE, shift};
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
