//! What the rest of the region holds about a person, beyond the four
//! trusts: their PDS record and registered GP practice, the practice's
//! primary care record, the pathology and imaging networks' copies of
//! their results, and, for some, the council's social care record, the
//! out-of-hours service's reports and the community services' record.
//!
//! Everything is consistent with what the trusts hold: the practice copies
//! every truth condition, medicine, allergy and contact exactly (so the
//! gateway merges them with the trusts' copies), the laboratory holds
//! every laboratory result the trusts and the practice hold, identically,
//! and the imaging network every imaging report.
//!
//! Generated patients draw these from a random stream of their own, after
//! the trusts' records are written, so the trusts' records (and every id
//! they were given) are the same as before the region grew.

use icr_model::{
    Appointment, AppointmentKind, AppointmentStatus, CareTeam, CareTeamMember, CareTeamStatus,
    Concept, Condition, Entry, OdsCode, Priority, RecordId, ReferralStatus, ResultKind, TestResult,
};
use time::{Date, Duration, Month, OffsetDateTime};

use super::build::{self};
use super::codes::{self, Code, ConditionSpec};
use super::generate::{Physiology, daytime};
use super::names;
use super::{Clock, Holding, Ids, Patient, REFERENCE_DATE, at, shift};
use crate::org::{Org, Role};
use crate::rng::SplitMix64;

/// Share of people whose PDS record is restricted (sensitive).
pub(crate) const SENSITIVE_SHARE: f64 = 0.01;

/// How a person is registered: with which practice, and how PDS holds them.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Registration {
    /// The GP practice.
    pub practice: Org,
    /// PDS marks the record restricted.
    pub sensitive: bool,
    /// When PDS last changed the record.
    pub pds_updated: OffsetDateTime,
    /// PDS's version of the record.
    pub version: u32,
}

/// The person's town: the city of their current home address.
pub(crate) fn town(p: &Patient) -> Option<&str> {
    p.truth.demographics.home_address()?.city.as_deref()
}

/// Draws a generated person's registration: a practice of their town,
/// about 1% restricted.
pub(crate) fn draw_registration(p: &Patient, rng: &mut SplitMix64) -> Registration {
    let practices: Vec<Org> = match town(p) {
        Some(t) => Org::practices_in(t).collect(),
        None => Vec::new(),
    };
    let practice = rng
        .pick(&practices)
        .copied()
        .or_else(|| Org::practices().next())
        .unwrap_or(Org::PDS);
    let sensitive = rng.chance(SENSITIVE_SHARE);
    let days = rng.range(20, 3000);
    let pds_updated = at(
        shift(REFERENCE_DATE, -days),
        rng.range(8, 18) as u8,
        rng.range(0, 59) as u8,
    );
    let version = 1 + rng.below(6) as u32;
    Registration {
        practice,
        sensitive,
        pds_updated,
        version,
    }
}

/// Registers the person: every organisation's copy of their demographics
/// names the practice, and PDS holds the reference record (keyed by the
/// NHS number), marked sensitive when it is restricted.
pub(crate) fn register(p: &mut Patient, r: Registration) {
    let ods = OdsCode::parse(r.practice.ods_code()).ok();
    p.truth.demographics.registered_practice = ods.clone();
    for h in &mut p.holdings {
        h.demographics.registered_practice = ods.clone();
    }
    let mut demographics = p.truth.demographics.clone();
    demographics.sensitive = r.sensitive;
    p.holdings.push(Holding {
        org: Org::PDS,
        patient_id: p.nhs_number.as_str().to_string(),
        demographics,
        last_updated: r.pds_updated,
        version: r.version,
        records: Vec::new(),
    });
}

/// What the region's records of a person depend on.
#[derive(Clone, Debug)]
pub(crate) struct Person {
    /// Age in whole years at the reference date.
    pub age: i64,
    /// Date of birth.
    pub birth: Date,
    /// Female (for the HPV programme's history).
    pub female: bool,
    /// Town of the home address.
    pub town: String,
    /// Local authority district of the home address.
    pub district: String,
    /// The acute trust whose hospital serves the town.
    pub home_trust: Org,
}

impl Person {
    /// The facts about `p` the region needs, if their record has them.
    pub(crate) fn of(p: &Patient) -> Option<Self> {
        let d = &p.truth.demographics;
        let birth = d.birth_date.as_ref()?.date()?;
        let address = d.home_address()?;
        let town = address.city.clone()?;
        let district = address
            .district
            .clone()
            .unwrap_or_else(|| "Wiltshire".into());
        let days = (REFERENCE_DATE - birth).whole_days();
        Some(Self {
            age: (days * 100 / 36_525).max(0),
            birth,
            female: d.gender == Some(icr_model::Gender::Female),
            home_trust: names::home_trust(&town),
            town,
            district,
        })
    }

    /// The date `years` years and `days` days after birth.
    pub(crate) fn aged(&self, years: i64, days: i64) -> Date {
        shift(self.birth, years * 365 + years / 4 + days)
    }
}

/// Everything the region holds for a generated person beyond the trusts
/// and PDS: the practice's record, the laboratory's and imaging network's
/// copies, and by chance the council's, the out-of-hours service's and the
/// community services' records.
pub(crate) fn extend(p: &mut Patient, ids: &mut Ids, clock: &Clock, rng: &mut SplitMix64) {
    let Some(who) = Person::of(p) else { return };
    gp_record(p, ids, clock, rng, &who);
    copy_results(p, ids, clock);
    let awp_safeguarding = p.holding(Org::AWP).is_some_and(|h| {
        h.records.iter().any(|r| {
            matches!(&r.entry, Entry::Alert(a) if a.category.contains(&codes::FLAG_SAFETY.concept()))
        })
    });
    let frail = has_any(
        p,
        &[
            codes::HEART_FAILURE,
            codes::COPD,
            codes::FRACTURE_NECK_OF_FEMUR,
            codes::CKD_STAGE_3,
        ],
    );
    let council = if awp_safeguarding {
        0.6
    } else {
        let base = match who.age {
            80.. => 0.5,
            70..80 => 0.25,
            60..70 => 0.1,
            18..60 => 0.04,
            _ => 0.0,
        };
        if frail && who.age >= 18 {
            base + 0.15
        } else {
            base
        }
    };
    if rng.chance(council) {
        let safeguarding = awp_safeguarding || rng.chance(0.08);
        council_record(p, ids, clock, rng, &who, safeguarding);
    }
    let ooh = match who.age {
        80.. => 0.25,
        60..80 => 0.12,
        18..60 => 0.07,
        _ => 0.08,
    };
    if rng.chance(ooh) {
        out_of_hours(p, ids, clock, rng, &who);
    }
    if who.district == "Wiltshire" {
        let base = match who.age {
            80.. => 0.4,
            70..80 => 0.22,
            60..70 => 0.1,
            _ => 0.04,
        };
        let extra = if frail || has_any(p, &[codes::OSTEOARTHRITIS, codes::TYPE_2_DIABETES]) {
            0.1
        } else {
            0.0
        };
        if rng.chance(base + extra) {
            community_record(Org::WHC, p, ids, clock, rng, &who);
        }
    }
}

/// Whether the person has (or had) any of these conditions.
pub(crate) fn has_any(p: &Patient, which: &[Code]) -> bool {
    p.truth.conditions.iter().any(|c| {
        c.code
            .primary()
            .is_some_and(|k| which.iter().any(|w| w.code == k.code))
    })
}

/// `d`, or the day before the reference date if `d` is not before it: past
/// contacts happen in the past, whoever they are for.
pub(crate) fn past(d: Date) -> Date {
    d.min(shift(REFERENCE_DATE, -1))
}

/// The catalogue entry of a recorded condition.
pub(crate) fn spec_of(c: &Condition) -> Option<&'static ConditionSpec> {
    let code = c.code.primary()?;
    codes::CONDITIONS.iter().find(|s| s.code.code == code.code)
}

/// A holding for `org` with the person's current demographics.
pub(crate) fn holding(p: &Patient, ids: &mut Ids, org: Org, updated: OffsetDateTime) -> Holding {
    Holding::new(ids, org, p.truth.demographics.clone(), updated)
}

/// A past contact of `kind` (class), seen by `clinician`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn contact_with(
    class: Code,
    service: Concept,
    start: OffsetDateTime,
    minutes: i64,
    location: &str,
    clinician: &str,
    reason: Option<Concept>,
) -> Appointment {
    Appointment {
        kind: Some(AppointmentKind::Encounter),
        status: Some(AppointmentStatus::Finished),
        class: Some(class.concept()),
        service_type: vec![service],
        description: None,
        start: Some(build::instant(start)),
        end: Some(build::instant(start + Duration::minutes(minutes))),
        location: Some(location.to_string()),
        participants: vec![clinician.to_string()],
        reasons: reason.into_iter().collect(),
    }
}

/// A planned visit (booked, after the as-of date).
pub(crate) fn planned_visit(
    service: Concept,
    start: OffsetDateTime,
    minutes: i64,
    description: &str,
    location: &str,
    who: &str,
) -> Appointment {
    Appointment {
        kind: Some(AppointmentKind::Appointment),
        status: Some(AppointmentStatus::Booked),
        class: None,
        service_type: vec![service],
        description: Some(description.to_string()),
        start: Some(build::instant(start)),
        end: Some(build::instant(start + Duration::minutes(minutes))),
        location: Some(location.to_string()),
        participants: vec![who.to_string()],
        reasons: Vec::new(),
    }
}

/// A service involved in the person's care, provided by someone else on
/// the organisation's behalf (home care, reablement, telecare).
fn service(
    org: Org,
    name: &str,
    provider: &str,
    since: Date,
    phone: icr_model::Telecom,
) -> CareTeam {
    CareTeam {
        name: Some(name.to_string()),
        status: Some(CareTeamStatus::Active),
        category: vec![codes::TEAM_HOME_AND_COMMUNITY.concept()],
        period_start: Some(build::day(since)),
        period_end: None,
        participants: vec![CareTeamMember {
            roles: vec![Concept::text("Care provider")],
            name: Some(provider.to_string()),
        }],
        managing_organisations: vec![org.name().to_string()],
        telecom: vec![phone],
    }
}

/// Pushes a laboratory panel with its report; the members are this
/// holding's records.
#[allow(clippy::too_many_arguments)]
fn panel(
    h: &mut Holding,
    ids: &mut Ids,
    clock: &Clock,
    rng: &mut SplitMix64,
    panel: &codes::Panel,
    phys: &Physiology,
    taken: OffsetDateTime,
    lab: &str,
) {
    let mut members = Vec::new();
    for test in panel.tests {
        let v = phys.value(rng, test);
        if let Some(id) = h.push(
            ids,
            clock,
            Entry::Result(build::observation(test, v, taken, lab)),
        ) {
            members.push(id);
        }
    }
    let r = build::report(panel.code, codes::REPORT_LAB, members, taken, lab, None);
    h.push(ids, clock, Entry::Result(r));
}

/// The flu vaccination season dates the histories use.
fn flu_dates(who: &Person, rng: &mut SplitMix64) -> Vec<Date> {
    [2024, 2025, 2026]
        .into_iter()
        .filter_map(|y| Date::from_calendar_date(y, Month::October, 1 + rng.below(28) as u8).ok())
        .filter(|d| *d < REFERENCE_DATE && *d > who.birth)
        .collect()
}

/// The practice's record: a copy of every truth fact, its own
/// consultations, investigations (bloods the laboratory also holds),
/// immunisations, referrals, its team and sometimes a booked appointment.
pub(crate) fn gp_record(
    p: &mut Patient,
    ids: &mut Ids,
    clock: &Clock,
    rng: &mut SplitMix64,
    who: &Person,
) {
    let Some(practice) = p.registered_practice() else {
        return;
    };
    let lived = (REFERENCE_DATE - who.birth).whole_days().max(2);
    let since = shift(
        REFERENCE_DATE,
        -rng.range(lived.min(60), lived.min(25 * 365)),
    );
    let updated = daytime(shift(REFERENCE_DATE, -rng.range(3, 300)), rng);
    let mut h = holding(p, ids, practice, updated);
    let gp = names::clinician(rng);
    let nurse = names::staff(rng);
    let site = practice.name();

    // The person's facts, exactly as they are.
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
    let active: Vec<&Condition> = p
        .truth
        .conditions
        .iter()
        .filter(|c| c.abatement.is_none())
        .collect();

    // Consultations.
    let visits = 1 + rng.below(if who.age >= 60 { 5 } else { 3 });
    for _ in 0..visits {
        let day = past(shift(REFERENCE_DATE, -rng.range(7, 730)).max(shift(who.birth, 14)));
        let reason = rng.pick(&active).map(|c| c.code.clone());
        let minutes = if rng.chance(0.8) { 10 } else { 20 };
        let e = contact_with(
            codes::CLASS_AMBULATORY,
            codes::SPEC_GENERAL_PRACTICE.concept(),
            daytime(day, rng),
            minutes,
            site,
            &gp,
            reason,
        );
        h.push(ids, clock, Entry::Appointment(e));
    }

    // Investigations for long-term conditions, at the local laboratory.
    let lab = build::laboratory(who.home_trust);
    let specs: Vec<(&Condition, &'static ConditionSpec)> = active
        .iter()
        .filter_map(|c| spec_of(c).map(|s| (*c, s)))
        .filter(|(_, s)| !s.acute)
        .collect();
    let phys = Physiology::of_codes(specs.iter().map(|(_, s)| s.code));
    let onset_of = |c: &Condition| c.onset.as_ref().and_then(|d| d.date()).unwrap_or(who.birth);
    for (c, spec) in &specs {
        for test in spec.labs {
            let when = daytime(
                past(shift(REFERENCE_DATE, -rng.range(20, 330)).max(shift(onset_of(c), 1))),
                rng,
            );
            let v = phys.value(rng, test);
            h.push(
                ids,
                clock,
                Entry::Result(build::observation(test, v, when, lab)),
            );
        }
    }
    let review = [
        codes::HYPERTENSION,
        codes::CKD_STAGE_3,
        codes::TYPE_2_DIABETES,
        codes::HEART_FAILURE,
    ];
    if specs.iter().any(|(_, s)| review.contains(&s.code)) {
        let when = daytime(shift(REFERENCE_DATE, -rng.range(14, 360)), rng);
        panel(
            &mut h,
            ids,
            clock,
            rng,
            &codes::RENAL_PANEL,
            &phys,
            when,
            lab,
        );
    }
    // A chest X-ray the practice asked for; the imaging network holds it too.
    if specs
        .iter()
        .any(|(_, s)| s.code == codes::COPD || s.code == codes::HEART_FAILURE)
        && rng.chance(0.3)
    {
        let when = daytime(shift(REFERENCE_DATE, -rng.range(30, 700)), rng);
        let conclusion = if rng.chance(0.5) {
            "Hyperinflated lungs with flattened diaphragms. No focal consolidation."
        } else {
            "Heart size at the upper limit of normal. Lungs clear. No effusion."
        };
        let r = build::report(
            codes::XR_CHEST,
            codes::REPORT_RADIOLOGY,
            Vec::new(),
            when,
            build::radiology(who.home_trust),
            Some(conclusion),
        );
        h.push(ids, clock, Entry::Result(r));
    }

    // Immunisations.
    let at_risk = has_any(
        p,
        &[
            codes::TYPE_2_DIABETES,
            codes::COPD,
            codes::ASTHMA,
            codes::HEART_FAILURE,
            codes::CKD_STAGE_3,
        ],
    );
    let mut vaccinations: Vec<(Code, Date)> = Vec::new();
    if who.age >= 65 || at_risk {
        for d in flu_dates(who, rng) {
            if rng.chance(0.8) {
                vaccinations.push((codes::VACC_SEASONAL_FLU, d));
            }
        }
    }
    if who.age >= 66 {
        vaccinations.push((codes::VACC_PNEUMOCOCCAL, who.aged(65, rng.range(10, 300))));
    }
    if who.age <= 35 {
        vaccinations.push((codes::VACC_MMR, who.aged(1, rng.range(0, 40))));
        vaccinations.push((codes::VACC_MMR, who.aged(3, rng.range(120, 200))));
    }
    if (15..=40).contains(&who.age) {
        vaccinations.push((codes::VACC_TD_IPV, who.aged(14, rng.range(0, 200))));
    }
    let hpv_from = if who.female { 2008 } else { 2019 };
    let twelve = who.aged(12, 200);
    if twelve.year() >= hpv_from && who.age >= 13 {
        vaccinations.push((codes::VACC_HPV, twelve));
    }
    vaccinations.sort_by_key(|(_, d)| *d);
    for (code, date) in vaccinations {
        if date < REFERENCE_DATE && date > who.birth {
            // No dose number: GP Connect's STU3 Immunization as this build
            // reads and writes it has none.
            let given =
                build::immunisation(code, date, &nurse, None, Some(build::batch(code, date)));
            h.push(ids, clock, Entry::Procedure(given));
        }
    }

    // A referral to the local hospital now and then.
    if !specs.is_empty()
        && rng.chance(0.2)
        && let Some((c, spec)) = rng.pick(&specs).copied()
    {
        let code = if spec.specialty == codes::SPEC_CARDIOLOGY {
            codes::REFERRAL_CARDIOLOGY
        } else if spec.specialty == codes::SPEC_PSYCHIATRY {
            codes::REFERRAL_PSYCHIATRY
        } else {
            codes::REFERRAL_SERVICE
        };
        let days = rng.range(10, 600);
        let authored = past(shift(REFERENCE_DATE, -days).max(shift(onset_of(c), 1)));
        let status = if days < 90 {
            ReferralStatus::Active
        } else {
            ReferralStatus::Completed
        };
        let priority = if rng.chance(0.15) {
            Priority::Urgent
        } else {
            Priority::Routine
        };
        let to = format!("{}, {}", spec.specialty.display, who.home_trust.name());
        let mut r = build::referral(code, &to, authored, status, priority, &gp, None, None);
        r.reasons = vec![c.code.clone()];
        h.push(ids, clock, Entry::Referral(r));
    }

    // The practice team, and sometimes an appointment to come.
    let team = build::care_team(
        practice,
        &format!("{site} practice team"),
        codes::SPEC_GENERAL_PRACTICE,
        since,
        vec![
            (codes::ROLE_GP.concept(), gp.clone()),
            (codes::ROLE_NURSE.concept(), nurse.clone()),
        ],
        names::landline(rng),
    );
    h.push(ids, clock, Entry::CareTeam(team));
    if rng.chance(0.25) {
        let start = daytime(clock.ahead(rng.range(1, 40)), rng);
        let what = if specs.is_empty() {
            "GP appointment"
        } else {
            "Long-term condition review"
        };
        let a = build::appointment(codes::SPEC_GENERAL_PRACTICE, start, 15, what, site, &gp);
        h.push(ids, clock, Entry::Appointment(a));
    }
    p.holdings.push(h);
}

/// The pathology network's copy of every laboratory result (and panel
/// report) the trusts and the practice hold, identical but for the panel
/// members, which name the laboratory's own records; and the imaging
/// network's copy of every imaging report.
pub(crate) fn copy_results(p: &mut Patient, ids: &mut Ids, clock: &Clock) {
    let lab_category = codes::OBS_LABORATORY.concept();
    let lab_report = codes::REPORT_LAB.concept();
    let imaging = codes::REPORT_RADIOLOGY.concept();
    let mut lab: Vec<(RecordId, TestResult)> = Vec::new();
    let mut rad: Vec<TestResult> = Vec::new();
    for h in &p.holdings {
        let copied = matches!(
            h.org.role(),
            Role::Acute | Role::MentalHealth | Role::GpPractice
        );
        if !copied {
            continue;
        }
        for r in &h.records {
            let Entry::Result(t) = &r.entry else { continue };
            let Some(rid) = r.record_id(h.org) else {
                continue;
            };
            match t.kind {
                Some(ResultKind::Observation) if t.category.contains(&lab_category) => {
                    lab.push((rid, t.clone()));
                }
                Some(ResultKind::Report) if t.category.contains(&lab_report) => {
                    lab.push((rid, t.clone()));
                }
                Some(ResultKind::Report) if t.category.contains(&imaging) && !rad.contains(t) => {
                    rad.push(t.clone());
                }
                _ => {}
            }
        }
    }
    if !lab.is_empty() {
        let updated = latest(lab.iter().map(|(_, t)| t));
        let mut h = holding(p, ids, Org::PATHOLOGY, updated);
        // Source record id → the laboratory's record id, for report members.
        let mut mapped: Vec<(RecordId, RecordId)> = Vec::new();
        let mut held: Vec<(TestResult, RecordId)> = Vec::new();
        for (rid, mut t) in lab {
            t.members = t
                .members
                .iter()
                .filter_map(|m| {
                    mapped
                        .iter()
                        .find(|(from, _)| from == m)
                        .map(|(_, to)| to.clone())
                })
                .collect();
            // The same result reported to two places is one record here.
            if let Some((_, existing)) = held.iter().find(|(x, _)| *x == t) {
                mapped.push((rid, existing.clone()));
                continue;
            }
            if let Some(new) = h.push(ids, clock, Entry::Result(t.clone())) {
                mapped.push((rid, new.clone()));
                held.push((t, new));
            }
        }
        p.holdings.push(h);
    }
    if !rad.is_empty() {
        let updated = latest(rad.iter());
        let mut h = holding(p, ids, Org::RADIOLOGY, updated);
        for t in rad {
            h.push(ids, clock, Entry::Result(t));
        }
        p.holdings.push(h);
    }
}

/// When the newest of these results was issued (or the reference date).
fn latest<'a>(results: impl Iterator<Item = &'a TestResult>) -> OffsetDateTime {
    results
        .filter_map(|t| t.issued.or(t.effective))
        .filter_map(|d| OffsetDateTime::from_unix_timestamp(d.start_timestamp()).ok())
        .max()
        .unwrap_or_else(|| at(REFERENCE_DATE, 9, 0))
}

/// Services a council's adult social care may arrange.
const SERVICES: &[(&str, &[&str], f64)] = &[
    (
        "Home care: two visits a day",
        &[
            "Kingfisher Home Care",
            "Meadowbank Care at Home",
            "Saxon Vale Homecare",
        ],
        0.5,
    ),
    ("Reablement", &["Reablement Service"], 0.3),
    ("Telecare: pendant alarm", &["Careline Response"], 0.35),
    (
        "Day opportunities: two days a week",
        &["Oakfield Day Centre"],
        0.15,
    ),
];

/// The council's adult social care record: the allocated worker and team,
/// the services involved, carers and next of kin (identical to the
/// trusts'), assessments and plans, planned visits, and a safeguarding
/// alert with whom to contact.
pub(crate) fn council_record(
    p: &mut Patient,
    ids: &mut Ids,
    clock: &Clock,
    rng: &mut SplitMix64,
    who: &Person,
    safeguarding: bool,
) {
    let org = Org::council_for(&who.district);
    let updated = daytime(shift(REFERENCE_DATE, -rng.range(5, 200)), rng);
    let mut h = holding(p, ids, org, updated);
    let worker = names::staff(rng);
    let adult = who.aged(18, 0);
    let since = past(shift(REFERENCE_DATE, -rng.range(60, 2500)).max(adult));
    let phone = names::landline(rng);
    h.push(
        ids,
        clock,
        Entry::CareTeam(build::care_team(
            org,
            &format!("{} Adult Social Care Team", who.town),
            codes::TEAM_LONGITUDINAL,
            since,
            vec![(codes::ROLE_SOCIAL_WORKER.concept(), worker.clone())],
            phone.clone(),
        )),
    );
    let mut arranged = 0;
    for (name, providers, chance) in SERVICES {
        if rng.chance(*chance) || (arranged == 0 && *name == "Reablement") {
            let provider = rng.pick(providers).copied().unwrap_or("Reablement Service");
            let provider = if provider == "Reablement Service" {
                format!("{} Reablement Service", org.name())
            } else {
                provider.to_string()
            };
            let start = shift(REFERENCE_DATE, -rng.range(14, 900)).max(since);
            h.push(
                ids,
                clock,
                Entry::CareTeam(service(org, name, &provider, start, names::landline(rng))),
            );
            arranged += 1;
        }
    }
    for c in p.truth.contacts.clone() {
        h.push(ids, clock, Entry::Contact(c));
    }
    let assessed = daytime(shift(REFERENCE_DATE, -rng.range(30, 700)).max(since), rng);
    let mut assessment = build::document(
        org,
        codes::DOC_CARE_PLAN,
        "Care Act needs assessment",
        assessed,
        &worker,
        rng.below(100_000_000),
        rng.range(40_000, 180_000) as u64,
    );
    assessment.doc_type = Concept::text("Care Act needs assessment");
    h.push(ids, clock, Entry::Document(assessment));
    let plan = build::document(
        org,
        codes::DOC_CARE_PLAN,
        "Care and support plan",
        assessed + Duration::days(rng.range(3, 20)),
        &worker,
        rng.below(100_000_000),
        rng.range(30_000, 120_000) as u64,
    );
    h.push(ids, clock, Entry::Document(plan));
    if safeguarding {
        let text = format!(
            "Adult safeguarding: an enquiry is open. Contact the {} adult safeguarding team on {} before sharing information with family or visitors.",
            org.name(),
            phone.value
        );
        let start = shift(REFERENCE_DATE, -rng.range(10, 400)).max(since);
        h.push(
            ids,
            clock,
            Entry::Alert(build::alert(
                codes::FLAG_SAFETY,
                Concept::text(text),
                start,
                &worker,
            )),
        );
    }
    let visits = 1 + rng.below(2);
    for i in 0..visits {
        let start = daytime(clock.ahead(rng.range(2, 90)), rng);
        let what = if i == 0 {
            "Care and support plan review"
        } else {
            "Home care review visit"
        };
        let v = planned_visit(
            Concept::text("Adult social care"),
            start,
            60,
            what,
            "Home visit",
            &worker,
        );
        h.push(ids, clock, Entry::Appointment(v));
    }
    p.holdings.push(h);
}

/// Out-of-hours contacts: the encounter and its report, in the evening,
/// at night or at a weekend.
pub(crate) fn out_of_hours(
    p: &mut Patient,
    ids: &mut Ids,
    clock: &Clock,
    rng: &mut SplitMix64,
    who: &Person,
) {
    let org = Org::MEDVIVO;
    let updated = daytime(shift(REFERENCE_DATE, -rng.range(3, 120)), rng);
    let mut h = holding(p, ids, org, updated);
    let active: Vec<Concept> = p
        .truth
        .conditions
        .iter()
        .filter(|c| c.abatement.is_none())
        .map(|c| c.code.clone())
        .collect();
    let contacts = 1 + rng.below(2);
    for _ in 0..contacts {
        let day = past(shift(REFERENCE_DATE, -rng.range(3, 700)).max(shift(who.birth, 30)));
        let hour = *rng
            .pick(&[18u8, 19, 20, 21, 22, 23, 0, 1, 2, 6, 7])
            .unwrap_or(&20);
        let start = at(day, hour, rng.range(0, 59) as u8);
        let clinician = names::clinician(rng);
        let (class, minutes, location) = match rng.below(3) {
            0 => (
                codes::CLASS_VIRTUAL,
                15,
                "Medvivo clinical assessment service (telephone)".to_string(),
            ),
            1 => (
                codes::CLASS_AMBULATORY,
                20,
                format!("Medvivo out-of-hours base, {}", names::site(who.home_trust)),
            ),
            _ => (codes::CLASS_HOME, 40, "Home visit".to_string()),
        };
        let reason = rng.pick(&active).cloned();
        let e = contact_with(
            class,
            codes::SPEC_GENERAL_PRACTICE.concept(),
            start,
            minutes,
            &location,
            &clinician,
            reason,
        );
        h.push(ids, clock, Entry::Appointment(e));
        let report = build::document(
            org,
            codes::DOC_CLINIC_LETTER,
            "Out-of-hours consultation report",
            start + Duration::minutes(minutes + 10),
            &clinician,
            rng.below(100_000_000),
            rng.range(20_000, 80_000) as u64,
        );
        h.push(ids, clock, Entry::Document(report));
    }
    p.holdings.push(h);
}

/// When the community nurses offer the flu vaccination at home to those
/// the practice has not vaccinated.
const FLU_OFFERED_AT_HOME: Date = time::macros::date!(2026 - 10 - 15);

/// The community services' record at `org` (Wiltshire Health and Care,
/// or HCRG Care Group in Bath and North East Somerset): a community nursing
/// or therapy team, its home visits, a care plan, next of kin, and
/// sometimes a visit to come.
pub(crate) fn community_record(
    org: Org,
    p: &mut Patient,
    ids: &mut Ids,
    clock: &Clock,
    rng: &mut SplitMix64,
    who: &Person,
) {
    let updated = daytime(shift(REFERENCE_DATE, -rng.range(3, 200)), rng);
    let mut h = holding(p, ids, org, updated);
    let nursing = who.age >= 70 || has_any(p, &[codes::HEART_FAILURE, codes::TYPE_2_DIABETES]);
    let lead = names::staff(rng);
    let since = past(shift(REFERENCE_DATE, -rng.range(30, 900)).max(shift(who.birth, 30)));
    let (team, service, members, plan) = if nursing {
        (
            format!("{} Community Nursing Team", who.town),
            "Community nursing",
            vec![(codes::ROLE_DISTRICT_NURSE.concept(), lead.clone())],
            "Community nursing care plan",
        )
    } else {
        (
            format!("{} Community Therapy Team", who.town),
            "Community therapy",
            vec![
                (codes::ROLE_PHYSIOTHERAPIST.concept(), lead.clone()),
                (
                    codes::ROLE_OCCUPATIONAL_THERAPIST.concept(),
                    names::staff(rng),
                ),
            ],
            "Community rehabilitation plan",
        )
    };
    let t = build::care_team(
        org,
        &team,
        codes::TEAM_HOME_AND_COMMUNITY,
        since,
        members,
        names::landline(rng),
    );
    h.push(ids, clock, Entry::CareTeam(t));
    for c in p.truth.contacts.clone() {
        h.push(ids, clock, Entry::Contact(c));
    }
    let visits = 2 + rng.below(3);
    for _ in 0..visits {
        let day = shift(REFERENCE_DATE, -rng.range(3, 300)).max(since);
        let e = contact_with(
            codes::CLASS_HOME,
            Concept::text(service),
            daytime(day, rng),
            45,
            "Home visit",
            &lead,
            None,
        );
        h.push(ids, clock, Entry::Appointment(e));
    }
    let written = daytime(since, rng);
    // Drawn as when the plan was a document by reference, so that the rest
    // of the history is what it was.
    let _ = (rng.below(100_000_000), rng.range(30_000, 120_000));
    let (category, activities): (Concept, &[&str]) = if nursing {
        (
            codes::CARE_PLAN_NURSING.concept(),
            &[
                "Home visit by the district nurse every week",
                "Pressure area checks at every visit",
                "Medicines reviewed with the practice every three months",
            ],
        )
    } else {
        (
            Concept::text("Community rehabilitation"),
            &[
                "Exercise programme at home, reviewed at each visit",
                "Walking outdoors with a stick by the end of the plan",
                "Equipment for the bathroom assessed by the occupational therapist",
            ],
        )
    };
    let description = format!("{service} from the {team}.");
    let doc = build::care_plan(category, plan, &description, written, &lead, activities);
    h.push(ids, clock, Entry::Document(doc));
    // The practice's latest flu vaccination, given at home by the community
    // nurse, is in the community record too; one not given is recorded as
    // declined.
    if nursing {
        let flu = p
            .registered_practice()
            .and_then(|gp| p.holding(gp))
            .and_then(|gp| {
                gp.records
                    .iter()
                    .filter_map(|r| match &r.entry {
                        Entry::Procedure(x) if x.code == codes::VACC_SEASONAL_FLU.concept() => {
                            x.performed.and_then(|d| d.date())
                        }
                        _ => None,
                    })
                    .max()
            });
        let immunisation = match flu {
            Some(given) => build::immunisation(
                codes::VACC_SEASONAL_FLU,
                given,
                &lead,
                None,
                Some(build::batch(codes::VACC_SEASONAL_FLU, given)),
            ),
            None => {
                build::immunisation_declined(codes::VACC_SEASONAL_FLU, FLU_OFFERED_AT_HOME, &lead)
            }
        };
        h.push(ids, clock, Entry::Procedure(immunisation));
    }
    if rng.chance(0.6) {
        let start = daytime(clock.ahead(rng.range(1, 21)), rng);
        let v = planned_visit(
            Concept::text(service),
            start,
            45,
            "Home visit",
            "Home visit",
            &lead,
        );
        h.push(ids, clock, Entry::Appointment(v));
    }
    p.holdings.push(h);
}
