//! Random patients drawn from the catalogue, after the story patients.

use std::collections::HashSet;

use icr_model::{
    ConditionClinicalStatus, Contact, Demographics, Entry, Gender, MedicationStatus, NhsNumber,
    PartialDateTime, Priority, ReferralStatus, Telecom, TelecomSystem,
};
use time::{Date, Duration, OffsetDateTime};

use super::build::{self, day};
use super::codes::{self, Code, ConditionSpec, Lab};
use super::names::{self, Town};
use super::{
    Clock, Holding, Ids, Patient, REFERENCE_DATE, STORY_COUNT, Truth, at, joined, region, shift,
};
use crate::org::Org;
use crate::rng::SplitMix64;

/// First nine digits of generated NHS numbers start here; story patients
/// and the documented "unknown" number sit below it.
pub(crate) const GENERATED_FROM: u32 = 999_010_000;

/// The stream of the first generated patient.
const FIRST_GENERATED_STREAM: usize = 5;

/// Mixed into the seed of the streams the rest of the region draws from.
const REGION_SALT: u64 = 0x7265_6769_6f6e_0001;

/// Adds generated patients until there are `size`.
pub(crate) fn fill(
    patients: &mut Vec<Patient>,
    ids: &mut Ids,
    clock: &Clock,
    seed: u64,
    size: usize,
) {
    let mut used: HashSet<NhsNumber> = patients.iter().map(|p| p.nhs_number).collect();
    let mut numbers = SplitMix64::stream(seed, u64::MAX);
    let span = u64::from(999_999_999 - GENERATED_FROM) + 1;
    while patients.len() < size {
        let nhs = loop {
            let first_nine = GENERATED_FROM + numbers.below(span) as u32;
            if let Some(n) = NhsNumber::from_first_nine(first_nine)
                && used.insert(n)
            {
                break n;
            }
        };
        // Generated patient k draws from stream 5 + k, the position it had
        // when there were five story patients, so adding a story does not
        // change who the generated people are.
        let index = (FIRST_GENERATED_STREAM + patients.len().saturating_sub(STORY_COUNT)) as u64;
        let mut rng = SplitMix64::stream(seed, index);
        let mut p = patient(&mut rng, ids, clock, nhs);
        // The rest of the region draws from a stream of its own, so the
        // trusts' records are what they were before it was added.
        let mut rng = SplitMix64::stream(seed ^ REGION_SALT, index);
        let registration = region::draw_registration(&p, &mut rng);
        region::register(&mut p, registration);
        region::extend(&mut p, ids, clock, &mut rng);
        // Oxford Health and HCRG Care Group joined later: they draw from a
        // stream of their own, so everyone else's records are unchanged.
        let mut rng = SplitMix64::stream(seed ^ joined::SALT, index);
        joined::extend(&mut p, ids, clock, &mut rng);
        patients.push(p);
    }
}

/// Age bands that change what happens to a person.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Band {
    Child,
    Adult,
    Older,
}

struct Person {
    demographics: Demographics,
    age: i64,
    /// Days lived up to the reference date (at least 2).
    lived: i64,
    gender: Gender,
    home: Org,
    town: Town,
}

fn person(rng: &mut SplitMix64, nhs: NhsNumber) -> Person {
    let female = rng.chance(0.51);
    let gender = if female { Gender::Female } else { Gender::Male };
    let age = match rng.below(100) {
        0..15 => rng.range(0, 17),
        15..60 => rng.range(18, 59),
        _ => rng.range(60, 96),
    };
    let birth = shift(REFERENCE_DATE, -(age * 365 + age / 4 + rng.range(1, 364)));
    let home = match rng.below(100) {
        0..38 => Org::GWH,
        38..75 => Org::RUH,
        _ => Org::SFT,
    };
    let town = rng
        .pick(names::towns(home))
        .copied()
        .unwrap_or(names::towns(Org::GWH)[0]);
    let given_list = if female {
        names::FEMALE_GIVEN
    } else {
        names::MALE_GIVEN
    };
    let mut given = vec![rng.pick(given_list).copied().unwrap_or("Sam")];
    if rng.chance(0.3) {
        let second = rng.pick(given_list).copied().unwrap_or("Lee");
        if second != given[0] {
            given.push(second);
        }
    }
    let family = rng.pick(names::FAMILY).copied().unwrap_or("Oakley");
    let prefix = if age < 18 {
        None
    } else if !female {
        Some("Mr")
    } else {
        rng.pick(&["Mrs", "Ms", "Miss"]).copied()
    };
    let mut telecom = Vec::new();
    if age >= 14 && rng.chance(0.85) {
        telecom.push(names::mobile(rng));
    }
    if age >= 60 && rng.chance(0.5) {
        telecom.push(names::landline(rng));
    }
    if (18..65).contains(&age) && rng.chance(0.3) {
        telecom.push(Telecom {
            system: TelecomSystem::Email,
            value: format!(
                "{}.{}{}@example.com",
                given[0].to_lowercase(),
                family.to_lowercase(),
                rng.range(1, 99)
            ),
            use_: Some(icr_model::ContactUse::Home),
        });
    }
    let demographics = Demographics {
        nhs_number: Some(nhs),
        names: vec![names::name(prefix, &given, family)],
        birth_date: Some(day(birth)),
        gender: Some(gender),
        addresses: vec![names::address(rng, &town)],
        telecom,
        deceased: None,
        registered_practice: None,
        sensitive: false,
    };
    Person {
        demographics,
        age,
        lived: (REFERENCE_DATE - birth).whole_days().max(2),
        gender,
        home,
        town,
    }
}

fn band(age: i64) -> Band {
    match age {
        0..18 => Band::Child,
        18..60 => Band::Adult,
        _ => Band::Older,
    }
}

/// One truth condition with what goes with it.
struct Fact {
    spec: &'static ConditionSpec,
    onset: Date,
    abatement: Option<Date>,
}

fn conditions(rng: &mut SplitMix64, p: &Person, awp: bool, awp_only: bool) -> Vec<Fact> {
    let b = band(p.age);
    let max_back = p.lived.min(25 * 365);
    let mut facts = Vec::new();
    for spec in codes::CONDITIONS {
        let p = match b {
            Band::Child => spec.p_child,
            Band::Adult => spec.p_adult,
            Band::Older => spec.p_older,
        };
        if !rng.chance(p) || (spec.acute && awp_only) {
            continue;
        }
        facts.push(fact(rng, spec, max_back));
    }
    if awp && !facts.iter().any(|f| f.spec.mental) {
        let mental: Vec<&'static ConditionSpec> =
            codes::CONDITIONS.iter().filter(|c| c.mental).collect();
        if let Some(spec) = rng.pick(&mental).copied() {
            facts.push(fact(rng, spec, max_back));
        }
    }
    facts
}

fn fact(rng: &mut SplitMix64, spec: &'static ConditionSpec, max_back: i64) -> Fact {
    if spec.acute {
        let onset = shift(
            REFERENCE_DATE,
            -rng.range(max_back.min(20), max_back.min(5 * 365)),
        );
        let abatement = shift(onset, rng.range(10, 40)).min(shift(REFERENCE_DATE, -1));
        Fact {
            spec,
            onset,
            abatement: Some(abatement),
        }
    } else {
        Fact {
            spec,
            onset: shift(REFERENCE_DATE, -rng.range(max_back.min(90), max_back)),
            abatement: None,
        }
    }
}

/// Which holdings record a shared fact: each with probability `p(org)`,
/// at least one (the preferred one).
fn holders(
    rng: &mut SplitMix64,
    orgs: &[Org],
    p: impl Fn(Org) -> f64,
    preferred: usize,
) -> Vec<usize> {
    let mut chosen: Vec<usize> = (0..orgs.len())
        .filter(|i| rng.chance(p(orgs[*i])))
        .collect();
    if chosen.is_empty() {
        chosen.push(preferred.min(orgs.len().saturating_sub(1)));
    }
    chosen
}

/// Values a patient's tests tend to: what their conditions do to them.
#[derive(Default)]
pub(crate) struct Physiology {
    ckd: bool,
    infection: bool,
    anaemia: bool,
    diabetes: bool,
    heart_failure: bool,
    hypothyroid: bool,
    lipids: bool,
}

impl Physiology {
    fn of(facts: &[Fact]) -> Self {
        Self::of_codes(facts.iter().map(|f| f.spec.code))
    }

    /// The physiology of someone with these conditions.
    pub(crate) fn of_codes(codes: impl Iterator<Item = Code>) -> Self {
        let all: Vec<Code> = codes.collect();
        let has = |c: Code| all.contains(&c);
        Self {
            ckd: has(codes::CKD_STAGE_3),
            infection: has(codes::PNEUMONIA) || has(codes::CELLULITIS) || has(codes::UTI),
            anaemia: has(codes::ANAEMIA),
            diabetes: has(codes::TYPE_2_DIABETES),
            heart_failure: has(codes::HEART_FAILURE),
            hypothyroid: has(codes::HYPOTHYROIDISM),
            lipids: has(codes::HYPERLIPIDAEMIA) || has(codes::MYOCARDIAL_INFARCTION),
        }
    }

    /// One result of `lab` for this person.
    pub(crate) fn value(&self, rng: &mut SplitMix64, lab: &Lab) -> f64 {
        let within = |rng: &mut SplitMix64, lo: f64, hi: f64| lo + (hi - lo) * rng.next_f64();
        let code = lab.code.code;
        let abnormal = |rng: &mut SplitMix64, yes: bool| yes && rng.chance(0.8);
        if code == codes::EGFR.code.code && abnormal(rng, self.ckd) {
            return within(rng, 30.0, 59.0);
        }
        if code == codes::CREATININE.code.code && abnormal(rng, self.ckd) {
            return within(rng, 110.0, 180.0);
        }
        if code == codes::CRP.code.code && abnormal(rng, self.infection) {
            return within(rng, 25.0, 220.0);
        }
        if code == codes::WHITE_CELLS.code.code && abnormal(rng, self.infection) {
            return within(rng, 11.5, 19.0);
        }
        if code == codes::HAEMOGLOBIN.code.code && abnormal(rng, self.anaemia) {
            return within(rng, 85.0, 112.0);
        }
        if code == codes::HBA1C.code.code && abnormal(rng, self.diabetes) {
            return within(rng, 48.0, 78.0);
        }
        if code == codes::NT_PROBNP.code.code && abnormal(rng, self.heart_failure) {
            return within(rng, 600.0, 4200.0);
        }
        if code == codes::TSH.code.code && abnormal(rng, self.hypothyroid) {
            return within(rng, 4.5, 9.0);
        }
        if code == codes::CHOLESTEROL.code.code && abnormal(rng, self.lipids) {
            return within(rng, 5.2, 7.4);
        }
        // A normal value: typical ± spread, kept inside the range.
        let v = lab.typical + lab.spread * (rng.next_f64() + rng.next_f64() - 1.0);
        let v = lab.low.map_or(v, |lo| v.max(lo));
        lab.high.map_or(v, |hi| v.min(hi))
    }
}

/// A time in working hours on `d`.
pub(crate) fn daytime(d: Date, rng: &mut SplitMix64) -> OffsetDateTime {
    at(d, rng.range(8, 17) as u8, (rng.below(4) * 15) as u8)
}

fn patient(rng: &mut SplitMix64, ids: &mut Ids, clock: &Clock, nhs: NhsNumber) -> Patient {
    let p = person(rng, nhs);
    let adult = p.age >= 16;

    // Who holds the person.
    let awp_only = adult && rng.chance(0.04);
    let mut orgs = Vec::new();
    if !awp_only {
        orgs.push(p.home);
        if rng.chance(0.3) {
            let others: Vec<Org> = Org::ALL
                .into_iter()
                .filter(|o| o.is_acute() && *o != p.home)
                .collect();
            if let Some(o) = rng.pick(&others) {
                orgs.push(*o);
            }
        }
    }
    if awp_only || (adult && rng.chance(0.15)) {
        orgs.push(Org::AWP);
    }

    let facts = conditions(rng, &p, orgs.contains(&Org::AWP), awp_only);
    let phys = Physiology::of(&facts);

    let registered = shift(REFERENCE_DATE, -rng.range(30, 3000));
    let mut holdings: Vec<Holding> = orgs
        .iter()
        .map(|o| {
            Holding::new(
                ids,
                *o,
                p.demographics.clone(),
                daytime(shift(registered, rng.range(0, 20)), rng),
            )
        })
        .collect();
    let first_acute = orgs.iter().position(|o| o.is_acute()).unwrap_or(0);
    let awp_index = orgs.iter().position(|o| *o == Org::AWP);

    let mut truth = Truth {
        demographics: p.demographics.clone(),
        ..Truth::default()
    };

    // Stale demographics at one organisation: they still have the old address.
    if holdings.len() >= 2 && rng.chance(0.04) {
        let mut old = p.demographics.clone();
        old.addresses = vec![names::address(rng, &p.town)];
        if let Some(t) = old.telecom.first_mut() {
            *t = names::mobile(rng);
        }
        let last = holdings.len() - 1;
        // The stale copy is also the least recently updated one.
        let oldest = holdings.iter().map(|h| h.last_updated).min();
        holdings[last].demographics = old;
        if let Some(t) = oldest {
            holdings[last].last_updated = t - Duration::days(rng.range(60, 700));
        }
    }

    // Conditions and the medicines for them, shared between organisations.
    let mut conflict_done = !rng.chance(0.05);
    let mut per_condition_holders: Vec<Vec<usize>> = Vec::new();
    for f in &facts {
        let spec = f.spec;
        let status = if f.abatement.is_some() {
            ConditionClinicalStatus::Resolved
        } else {
            ConditionClinicalStatus::Active
        };
        let cond = build::condition(spec.code, f.onset, status, f.abatement);
        truth.conditions.push(cond.clone());
        let who = if spec.acute {
            vec![first_acute]
        } else {
            let preferred = if spec.mental {
                awp_index.unwrap_or(first_acute)
            } else {
                first_acute
            };
            holders(
                rng,
                &orgs,
                |o| match (o, spec.mental) {
                    (Org::AWP, true) => 1.0,
                    (Org::AWP, false) => 0.4,
                    (_, true) => 0.5,
                    (_, false) => 0.75,
                },
                preferred,
            )
        };
        for (n, hi) in who.iter().enumerate() {
            let mut c = cond.clone();
            if !conflict_done && n == 1 {
                // One organisation has closed the problem; the other has not.
                c.clinical_status = Some(ConditionClinicalStatus::Inactive);
                if let Some(onset) = c.onset.as_ref().and_then(PartialDateTime::date) {
                    let back = 30 + i64::from(onset.ordinal()) % 300;
                    c.abatement = Some(PartialDateTime::Date(
                        shift(REFERENCE_DATE, -back).max(shift(onset, 1)),
                    ));
                }
                conflict_done = true;
            }
            holdings[*hi].push(ids, clock, Entry::Condition(c));
        }

        if let Some(m) = spec.medicine {
            let clinician = names::clinician(rng);
            match m.course_days {
                Some(days) => {
                    let rx = build::prescription(
                        m.code,
                        m.dosage,
                        f.onset,
                        Some(shift(f.onset, days)),
                        MedicationStatus::Completed,
                        &clinician,
                        Some(spec.code),
                    );
                    truth.medications.push(rx.clone());
                    holdings[first_acute].push(ids, clock, Entry::Medication(rx));
                }
                None => {
                    let start = shift(f.onset, rng.range(7, 60)).min(shift(REFERENCE_DATE, -1));
                    let st = build::statement(
                        m.code,
                        m.dosage,
                        start,
                        MedicationStatus::Active,
                        Some(spec.code),
                    );
                    truth.medications.push(st.clone());
                    let mut med_holders: Vec<usize> =
                        who.iter().copied().filter(|_| rng.chance(0.9)).collect();
                    if med_holders.is_empty() {
                        med_holders.push(who[0]);
                    }
                    for (n, hi) in med_holders.iter().enumerate() {
                        let mut s = st.clone();
                        if !conflict_done && n == 1 {
                            // One organisation recorded that it was stopped,
                            // some months before the reference date (derived
                            // from the start, so no draw from the generator).
                            s.status = Some(MedicationStatus::Stopped);
                            let back = 30 + i64::from(start.ordinal()) % 300;
                            s.end = Some(PartialDateTime::Date(
                                shift(REFERENCE_DATE, -back).max(shift(start, 1)),
                            ));
                            conflict_done = true;
                        }
                        holdings[*hi].push(ids, clock, Entry::Medication(s));
                    }
                }
            }
        }
        per_condition_holders.push(who);
    }

    // Allergies, recorded identically wherever they are recorded.
    let mut peanut = false;
    for spec in codes::ALLERGIES {
        if !rng.chance(spec.p) {
            continue;
        }
        peanut |= spec.code == codes::ALLERGY_PEANUT;
        let onset = shift(
            REFERENCE_DATE,
            -rng.range(p.lived.min(200), p.lived.min(40 * 365)),
        );
        let reaction = rng
            .pick(spec.reactions)
            .copied()
            .unwrap_or(codes::URTICARIA);
        let a = build::allergy(spec.code, spec.category, onset, reaction);
        truth.allergies.push(a.clone());
        let who = holders(rng, &orgs, |o| if o == Org::AWP { 0.6 } else { 0.85 }, 0);
        for hi in who {
            holdings[hi].push(ids, clock, Entry::Allergy(a.clone()));
        }
    }

    // Next of kin, usually identical everywhere.
    if let Some(c) = next_of_kin(rng, &p) {
        truth.contacts.push(c.clone());
        let who = holders(rng, &orgs, |_| 0.9, 0);
        let differing = who.len() >= 2 && rng.chance(0.04);
        for (n, hi) in who.iter().enumerate() {
            let mut c = c.clone();
            if differing && n == who.len() - 1 {
                c.telecom = vec![names::mobile(rng)];
            }
            holdings[*hi].push(ids, clock, Entry::Contact(c));
        }
    }

    // What each organisation did itself.
    for (hi, org) in orgs.iter().enumerate() {
        let held: Vec<&Fact> = facts
            .iter()
            .zip(&per_condition_holders)
            .filter(|(_, who)| who.contains(&hi))
            .map(|(f, _)| f)
            .collect();
        if org.is_acute() {
            acute_activity(
                rng,
                ids,
                clock,
                &mut holdings[hi],
                &held,
                &phys,
                hi == first_acute,
                &p,
                peanut,
            );
        } else {
            mental_health_activity(rng, ids, clock, &mut holdings[hi], &held, &p);
        }
    }

    Patient {
        nhs_number: nhs,
        story: None,
        truth,
        holdings,
    }
}

fn next_of_kin(rng: &mut SplitMix64, p: &Person) -> Option<Contact> {
    let family = p
        .demographics
        .names
        .first()
        .and_then(|n| n.family.clone())
        .unwrap_or_default();
    let female_name =
        |rng: &mut SplitMix64| rng.pick(names::FEMALE_GIVEN).copied().unwrap_or("Ann");
    let male_name = |rng: &mut SplitMix64| rng.pick(names::MALE_GIVEN).copied().unwrap_or("Tom");
    let home = p.demographics.addresses.first().cloned();
    let (rel, given, fam, address) = if p.age < 18 {
        if rng.chance(0.6) {
            (codes::REL_MOTHER, female_name(rng), family.clone(), home)
        } else {
            (codes::REL_FATHER, male_name(rng), family.clone(), home)
        }
    } else {
        if !rng.chance(0.8) {
            return None;
        }
        match rng.below(10) {
            0..5 => {
                if p.gender == Gender::Female {
                    (codes::REL_HUSBAND, male_name(rng), family.clone(), home)
                } else {
                    (codes::REL_WIFE, female_name(rng), family.clone(), home)
                }
            }
            5..7 if p.age >= 50 => {
                let other = rng
                    .pick(names::FAMILY)
                    .copied()
                    .unwrap_or("Oakley")
                    .to_string();
                if rng.chance(0.5) {
                    (codes::REL_DAUGHTER, female_name(rng), other, None)
                } else {
                    (codes::REL_SON, male_name(rng), family.clone(), None)
                }
            }
            5..7 => (codes::REL_MOTHER, female_name(rng), family.clone(), None),
            7 => (codes::REL_SISTER, female_name(rng), family.clone(), None),
            8 => (codes::REL_BROTHER, male_name(rng), family.clone(), None),
            _ => {
                let other = rng
                    .pick(names::FAMILY)
                    .copied()
                    .unwrap_or("Oakley")
                    .to_string();
                if rng.chance(0.5) {
                    (codes::REL_PARTNER, female_name(rng), other, None)
                } else {
                    (codes::REL_FRIEND, male_name(rng), other, None)
                }
            }
        }
    };
    Some(build::contact(
        names::name(None, &[given], &fam),
        rel,
        vec![names::mobile(rng)],
        address,
    ))
}

/// Main specialty of what an organisation sees the person for.
fn main_specialty(held: &[&Fact]) -> Code {
    held.iter()
        .find(|f| !f.spec.acute && !f.spec.mental)
        .or_else(|| held.first())
        .map_or(codes::SPEC_GENERAL_MEDICINE, |f| f.spec.specialty)
}

#[allow(clippy::too_many_arguments)]
fn acute_activity(
    rng: &mut SplitMix64,
    ids: &mut Ids,
    clock: &Clock,
    h: &mut Holding,
    held: &[&Fact],
    phys: &Physiology,
    treats_acute: bool,
    p: &Person,
    peanut: bool,
) {
    let org = h.org;
    let site = names::site(org);
    let lab_name = build::laboratory(org);
    let specialty = main_specialty(held);
    let consultant = names::clinician(rng);
    let mut first_seen = REFERENCE_DATE;

    // Encounters, with the letters, summaries and tests that go with them.
    let n = 1 + rng.below(3);
    for _ in 0..n {
        let start_day = shift(REFERENCE_DATE, -rng.range(14, 3 * 365));
        first_seen = first_seen.min(start_day);
        let related = rng.pick(held).copied();
        let spec = related.map_or(specialty, |f| f.spec.specialty);
        let reason = related.map(|f| f.spec.code);
        match rng.below(10) {
            0..3 => {
                let start = at(start_day, rng.range(0, 23) as u8, rng.range(0, 59) as u8);
                let e = build::encounter(
                    codes::CLASS_EMERGENCY,
                    codes::SPEC_EMERGENCY,
                    start,
                    start + Duration::minutes(rng.range(90, 330)),
                    site,
                    &names::clinician(rng),
                    reason,
                );
                h.push(ids, clock, Entry::Appointment(e));
                labs_panel(
                    rng,
                    ids,
                    clock,
                    h,
                    &codes::FULL_BLOOD_COUNT,
                    phys,
                    start,
                    lab_name,
                );
            }
            3..8 => {
                let start = daytime(start_day, rng);
                let e = build::encounter(
                    codes::CLASS_AMBULATORY,
                    spec,
                    start,
                    start + Duration::minutes(30),
                    site,
                    &consultant,
                    reason,
                );
                h.push(ids, clock, Entry::Appointment(e));
                if rng.chance(0.7) {
                    let date = daytime(shift(start_day, rng.range(3, 10)), rng);
                    let title = format!("{} outpatient clinic letter", spec.display);
                    let doc = build::document(
                        org,
                        codes::DOC_CLINIC_LETTER,
                        &title,
                        date,
                        &consultant,
                        rng.below(100_000_000),
                        rng.range(40_000, 220_000) as u64,
                    );
                    h.push(ids, clock, Entry::Document(doc));
                }
            }
            _ => {
                let start = at(start_day, rng.range(0, 23) as u8, rng.range(0, 59) as u8);
                let days = rng.range(2, 10);
                let end = daytime(shift(start_day, days), rng);
                let e = build::encounter(
                    codes::CLASS_INPATIENT,
                    spec,
                    start,
                    end,
                    site,
                    &consultant,
                    reason,
                );
                h.push(ids, clock, Entry::Appointment(e));
                labs_panel(
                    rng,
                    ids,
                    clock,
                    h,
                    &codes::RENAL_PANEL,
                    phys,
                    start,
                    lab_name,
                );
                labs_panel(
                    rng,
                    ids,
                    clock,
                    h,
                    &codes::FULL_BLOOD_COUNT,
                    phys,
                    start,
                    lab_name,
                );
                let title = format!("Discharge summary: {}", spec.display);
                let doc = build::document(
                    org,
                    codes::DOC_DISCHARGE_SUMMARY,
                    &title,
                    end,
                    &consultant,
                    rng.below(100_000_000),
                    rng.range(60_000, 400_000) as u64,
                );
                h.push(ids, clock, Entry::Document(doc));
            }
        }
    }

    // Tests and procedures for the conditions this organisation holds.
    for f in held {
        if f.spec.acute && !treats_acute {
            continue;
        }
        for lab in f.spec.labs {
            let when = daytime(shift(REFERENCE_DATE, -rng.range(7, 700)).max(f.onset), rng);
            let v = phys.value(rng, lab);
            h.push(
                ids,
                clock,
                Entry::Result(build::observation(lab, v, when, lab_name)),
            );
        }
        if let Some(code) = f.spec.procedure
            && rng.chance(0.35)
        {
            let date = shift(f.onset, rng.range(2, 200)).min(shift(REFERENCE_DATE, -2));
            h.push(
                ids,
                clock,
                Entry::Procedure(build::procedure(code, date, &names::clinician(rng))),
            );
            if code == codes::CHEST_XRAY {
                let when = daytime(date, rng);
                let conclusion = if f.spec.code == codes::PNEUMONIA {
                    "Consolidation in the right lower zone, in keeping with infection. Suggest repeat film in 6 weeks."
                } else {
                    "No acute cardiopulmonary abnormality."
                };
                let r = build::report(
                    codes::XR_CHEST,
                    codes::REPORT_RADIOLOGY,
                    Vec::new(),
                    when,
                    build::radiology(org),
                    Some(conclusion),
                );
                h.push(ids, clock, Entry::Result(r));
            }
        }
    }
    if rng.chance(0.04)
        && let Some((code, _)) = rng.pick(codes::INCIDENTAL_PROCEDURES).copied()
    {
        let date = shift(REFERENCE_DATE, -rng.range(100, 3000));
        h.push(
            ids,
            clock,
            Entry::Procedure(build::procedure(code, date, &names::clinician(rng))),
        );
    }

    // A referral now and then.
    if rng.chance(0.25) {
        let target = rng.pick(held).copied();
        let (code, to) = match target.map(|f| f.spec.specialty) {
            Some(s) if s == codes::SPEC_CARDIOLOGY => (codes::REFERRAL_CARDIOLOGY, "Cardiology"),
            Some(s) if s == codes::SPEC_PSYCHIATRY => {
                (codes::REFERRAL_PSYCHIATRY, "Liaison psychiatry")
            }
            Some(s) if s == codes::SPEC_ENDOCRINOLOGY => {
                (codes::REFERRAL_DIETITIAN, "Diabetes dietetics")
            }
            Some(s) => (codes::REFERRAL_SERVICE, s.display),
            None => (codes::REFERRAL_SERVICE, "Physiotherapy"),
        };
        let days = rng.range(5, 400);
        let status = if days < 90 {
            ReferralStatus::Active
        } else {
            ReferralStatus::Completed
        };
        let priority = if rng.chance(0.2) {
            Priority::Urgent
        } else {
            Priority::Routine
        };
        let r = build::referral(
            code,
            to,
            shift(REFERENCE_DATE, -days),
            status,
            priority,
            &consultant,
            target.map(|f| f.spec.code),
            None,
        );
        h.push(ids, clock, Entry::Referral(r));
    }

    // A booked appointment to come.
    if rng.chance(0.35) {
        let start = daytime(clock.ahead(rng.range(3, 120)), rng);
        let a = build::appointment(specialty, start, 30, "Follow-up clinic", site, &consultant);
        h.push(ids, clock, Entry::Appointment(a));
    }

    // The team, and any alerts.
    let team = build::care_team(
        org,
        &format!("{} team", specialty.display),
        specialty,
        first_seen,
        vec![
            (codes::ROLE_PHYSICIAN.concept(), consultant.clone()),
            (codes::ROLE_NURSE.concept(), names::staff(rng)),
        ],
        names::landline(rng),
    );
    h.push(ids, clock, Entry::CareTeam(team));
    if peanut && rng.chance(0.5) {
        let a = build::alert(
            codes::FLAG_DIET,
            codes::PEANUT_FREE_DIET.concept(),
            first_seen,
            &consultant,
        );
        h.push(ids, clock, Entry::Alert(a));
    }
    let fracture = held
        .iter()
        .any(|f| f.spec.code == codes::FRACTURE_NECK_OF_FEMUR);
    if (fracture || p.age >= 80) && rng.chance(0.4) {
        let a = build::alert(
            codes::FLAG_CLINICAL,
            codes::AT_RISK_OF_FALLS.concept(),
            first_seen,
            &names::staff(rng),
        );
        h.push(ids, clock, Entry::Alert(a));
    }
}

#[allow(clippy::too_many_arguments)]
fn labs_panel(
    rng: &mut SplitMix64,
    ids: &mut Ids,
    clock: &Clock,
    h: &mut Holding,
    panel: &codes::Panel,
    phys: &Physiology,
    when: OffsetDateTime,
    lab_name: &str,
) {
    let taken = when + Duration::minutes(rng.range(20, 90));
    let mut members = Vec::new();
    for lab in panel.tests {
        let v = phys.value(rng, lab);
        if let Some(id) = h.push(
            ids,
            clock,
            Entry::Result(build::observation(lab, v, taken, lab_name)),
        ) {
            members.push(id);
        }
    }
    let r = build::report(
        panel.code,
        codes::REPORT_LAB,
        members,
        taken,
        lab_name,
        None,
    );
    h.push(ids, clock, Entry::Result(r));
}

fn mental_health_activity(
    rng: &mut SplitMix64,
    ids: &mut Ids,
    clock: &Clock,
    h: &mut Holding,
    held: &[&Fact],
    p: &Person,
) {
    let org = h.org;
    let base = format!("{} community mental health base", p.town.name);
    let psychiatrist = names::clinician(rng);
    let coordinator = names::staff(rng);
    let since = shift(REFERENCE_DATE, -rng.range(60, 2000));
    let reason = held.iter().find(|f| f.spec.mental).map(|f| f.spec.code);

    let contacts = 2 + rng.below(3);
    for _ in 0..contacts {
        let start = daytime(shift(REFERENCE_DATE, -rng.range(7, 365)).max(since), rng);
        let e = build::encounter(
            codes::CLASS_AMBULATORY,
            codes::SPEC_PSYCHIATRY,
            start,
            start + Duration::minutes(60),
            &base,
            &coordinator,
            reason,
        );
        h.push(ids, clock, Entry::Appointment(e));
    }
    let plan_date = daytime(shift(REFERENCE_DATE, -rng.range(7, 300)).max(since), rng);
    // Drawn as when the plan was a document by reference, so that the rest
    // of the history is what it was.
    let _ = (rng.below(100_000_000), rng.range(30_000, 150_000));
    let plan = build::care_plan(
        icr_model::Concept::text("Care Programme Approach"),
        "Care and support plan",
        "Care coordinated under the Care Programme Approach by the recovery team.",
        plan_date,
        &coordinator,
        &[
            "Contact with the care coordinator every two weeks",
            "Medication review with the psychiatrist every three months",
            "Crisis line: the recovery team in working hours, the crisis team at other times",
        ],
    );
    h.push(ids, clock, Entry::Document(plan));
    if rng.chance(0.4) {
        let crisis = build::document(
            org,
            codes::DOC_CARE_PLAN,
            "Crisis and contingency plan",
            plan_date,
            &coordinator,
            rng.below(100_000_000),
            rng.range(20_000, 90_000) as u64,
        );
        h.push(ids, clock, Entry::Document(crisis));
    }
    if rng.chance(0.6) {
        let start = daytime(clock.ahead(rng.range(2, 60)), rng);
        let a = build::appointment(
            codes::SPEC_PSYCHIATRY,
            start,
            60,
            "Care coordinator review",
            &base,
            &coordinator,
        );
        h.push(ids, clock, Entry::Appointment(a));
    }
    if rng.chance(0.15) {
        let a = build::alert(
            codes::FLAG_SAFETY,
            icr_model::Concept::text(
                "Safeguarding concern: discuss with the AWP safeguarding team before sharing information with family members",
            ),
            since,
            &coordinator,
        );
        h.push(ids, clock, Entry::Alert(a));
    }
    let team = build::care_team(
        org,
        &format!("{} Recovery Team", p.town.name),
        codes::SPEC_PSYCHIATRY,
        since,
        vec![
            (codes::ROLE_PSYCHIATRIST.concept(), psychiatrist),
            (icr_model::Concept::text("Care coordinator"), coordinator),
        ],
        names::landline(rng),
    );
    h.push(ids, clock, Entry::CareTeam(team));
}
