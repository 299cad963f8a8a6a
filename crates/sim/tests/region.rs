//! What the region holds beyond the four trusts: PDS, the practices, the
//! pathology and imaging networks, the councils, the out-of-hours service,
//! community services and children's mental health services; consistent
//! with the trusts, as the merge needs.

mod common;

use std::collections::{BTreeSet, HashMap, HashSet};

use icr_model::{
    AppointmentKind, AppointmentStatus, Entry, NhsNumber, ResultKind, Section, TestResult,
};
use icr_sim::population::{Holding, Patient, Population, REFERENCE_DATE};
use icr_sim::{Kind, Org, Role};

fn demo() -> Population {
    Population::generate(common::SEED, 1200)
}

fn trusts(p: &Patient) -> impl Iterator<Item = &Holding> {
    p.holdings.iter().filter(|h| Org::TRUSTS.contains(&h.org))
}

fn town(p: &Patient) -> String {
    p.truth
        .demographics
        .home_address()
        .unwrap()
        .city
        .clone()
        .unwrap()
}

fn district(p: &Patient) -> String {
    p.truth
        .demographics
        .home_address()
        .unwrap()
        .district
        .clone()
        .unwrap()
}

fn results(h: &Holding) -> impl Iterator<Item = &TestResult> {
    h.records.iter().filter_map(|r| match &r.entry {
        Entry::Result(t) => Some(t),
        _ => None,
    })
}

fn has_category(t: &TestResult, code: &str) -> bool {
    t.category
        .iter()
        .any(|c| c.primary().is_some_and(|k| k.code == code))
}

fn share(n: usize, of: usize) -> f64 {
    n as f64 / of as f64
}

#[test]
fn everyone_is_at_exactly_one_practice_of_their_town_which_pds_names() {
    let pop = demo();
    let mut per_practice: HashMap<Org, usize> = HashMap::new();
    let mut sensitive = 0;
    for p in &pop {
        let pds = p.pds().expect("PDS knows everyone");
        assert_eq!(pds.patient_id, p.nhs_number.as_str());
        assert!(pds.version >= 1);
        // PDS's copy is the truth, marked sensitive or not.
        let mut d = pds.demographics.clone();
        sensitive += usize::from(d.sensitive);
        d.sensitive = false;
        assert_eq!(d, p.truth.demographics, "{}", p.nhs_number);

        let practices: Vec<Org> = p.orgs().filter(|o| o.role() == Role::GpPractice).collect();
        assert_eq!(practices.len(), 1, "{}: {practices:?}", p.nhs_number);
        let practice = practices[0];
        assert_eq!(p.registered_practice(), Some(practice));
        assert_eq!(practice.area(), Some(town(p).as_str()), "{}", p.nhs_number);
        assert_eq!(practice.kind(), Kind::GpConnect);
        *per_practice.entry(practice).or_default() += 1;
        // Every organisation's copy names the same practice.
        for h in &p.holdings {
            assert_eq!(
                h.demographics
                    .registered_practice
                    .as_ref()
                    .map(|c| c.as_str()),
                Some(practice.ods_code()),
                "{} at {}",
                p.nhs_number,
                h.org
            );
            assert!(!h.demographics.sensitive || h.org == Org::PDS);
        }
    }
    // Every practice has patients; about 1% of records are restricted.
    assert_eq!(per_practice.len(), Org::practices().count());
    assert!((4..=30).contains(&sensitive), "{sensitive}");
}

#[test]
fn the_practice_holds_every_fact_as_it_is_and_the_trusts_copies_merge_with_it() {
    let pop = demo();
    let mut merged_medicines = 0;
    let mut conflicts = 0;
    for p in &pop {
        let gp = p.holding(p.registered_practice().unwrap()).unwrap();
        let held = |section: Section| -> Vec<&Entry> { gp.entries_in(section).collect() };
        for c in &p.truth.conditions {
            assert!(held(Section::Conditions).contains(&&Entry::Condition(c.clone())));
        }
        for a in &p.truth.allergies {
            assert!(held(Section::Allergies).contains(&&Entry::Allergy(a.clone())));
        }
        for c in &p.truth.contacts {
            assert!(held(Section::Contacts).contains(&&Entry::Contact(c.clone())));
        }
        let gp_meds: Vec<&icr_model::Medication> = gp
            .entries_in(Section::Medications)
            .filter_map(|e| match e {
                Entry::Medication(m) => Some(m),
                _ => None,
            })
            .collect();
        for m in &p.truth.medications {
            assert!(gp_meds.contains(&m) || p.story.is_some());
        }
        // Every current medicine a trust lists (and every one the person
        // has taken) is at the practice with the same code, start and kind
        // (one merged item), identical unless the trust's copy is one of
        // the deliberate status conflicts.
        for h in trusts(p) {
            for e in h.entries_in(Section::Medications) {
                let Entry::Medication(m) = e else { panic!() };
                let current = m.status == Some(icr_model::MedicationStatus::Active);
                let taken = p
                    .truth
                    .medications
                    .iter()
                    .any(|t| t.medication == m.medication && t.start == m.start);
                if !current && !taken {
                    continue; // e.g. a course given in hospital only
                }
                let same = gp_meds
                    .iter()
                    .find(|g| {
                        g.medication == m.medication && g.start == m.start && g.kind == m.kind
                    })
                    .unwrap_or_else(|| panic!("{} {}: not at the practice", p.nhs_number, h.org));
                if *same == m {
                    merged_medicines += 1;
                } else {
                    conflicts += 1;
                    assert_ne!(same.status, m.status, "{}", p.nhs_number);
                }
            }
        }
    }
    assert!(merged_medicines > 300, "{merged_medicines}");
    assert!(
        conflicts >= 1 && conflicts * 20 < merged_medicines,
        "{conflicts}"
    );
}

#[test]
fn the_practice_records_consultations_investigations_and_immunisations() {
    let pop = demo();
    let vaccines: HashSet<&str> = [
        "822851000000102",
        "12866006",
        "38598009",
        "866186002",
        "761841000",
    ]
    .into();
    let (mut consultations, mut investigations, mut immunisations, mut referrals, mut teams) =
        (0, 0, 0, 0, 0);
    let mut flu_over_65 = 0;
    let mut over_65 = 0;
    for p in &pop {
        let practice = p.registered_practice().unwrap();
        let gp = p.holding(practice).unwrap();
        let birth = p.truth.demographics.birth_date.unwrap().date().unwrap();
        let age = (REFERENCE_DATE - birth).whole_days() / 365;
        let mut flu = false;
        for r in &gp.records {
            match &r.entry {
                Entry::Appointment(a) if a.kind == Some(AppointmentKind::Encounter) => {
                    consultations += 1;
                    assert_eq!(a.location.as_deref(), Some(practice.name()));
                    let service = a.service_type[0].primary().unwrap();
                    assert_eq!(service.code, "394814009");
                }
                Entry::Result(t) => {
                    investigations += 1;
                    if t.kind == Some(ResultKind::Observation) {
                        assert!(has_category(t, "laboratory"));
                    }
                }
                Entry::Procedure(x) => {
                    let code = x.code.primary().unwrap();
                    assert_eq!(code.system.uri(), "http://snomed.info/sct");
                    assert!(vaccines.contains(code.code.as_str()), "{}", code.code);
                    let d = x.performed.unwrap().date().unwrap();
                    assert!(d > birth && d < REFERENCE_DATE);
                    flu |= code.code == "822851000000102";
                    immunisations += 1;
                }
                Entry::Referral(_) => referrals += 1,
                Entry::CareTeam(t) => {
                    teams += 1;
                    assert_eq!(t.managing_organisations, [practice.name()]);
                    let role = t.participants[0].roles[0].primary().unwrap();
                    assert_eq!(role.code, "62247001");
                }
                _ => {}
            }
        }
        if age >= 66 {
            over_65 += 1;
            flu_over_65 += usize::from(flu);
        }
    }
    let n = pop.len();
    assert_eq!(teams, n);
    assert!(consultations > 2 * n, "{consultations}");
    assert!(investigations > n / 2, "{investigations}");
    assert!(immunisations > n, "{immunisations}");
    assert!(referrals > 50, "{referrals}");
    // Most older people had a flu vaccination in the last three seasons.
    assert!(flu_over_65 * 10 > over_65 * 8, "{flu_over_65} of {over_65}");
}

/// Each lab result and imaging report of the trusts and the practice is at
/// the pathology or imaging network, identical (a panel's members name the
/// laboratory's own records, which are identical to the originals').
#[test]
fn the_networks_hold_identical_copies_of_every_result() {
    let pop = demo();
    let mut copied = 0;
    let mut reports = 0;
    let mut imaging = 0;
    for p in &pop {
        let lab = p.holding(Org::PATHOLOGY);
        let rad = p.holding(Org::RADIOLOGY);
        let sources: Vec<&Holding> = p
            .holdings
            .iter()
            .filter(|h| {
                matches!(
                    h.org.role(),
                    Role::Acute | Role::MentalHealth | Role::GpPractice
                )
            })
            .collect();
        let mut expected_lab = 0;
        for h in &sources {
            for t in results(h) {
                if has_category(t, "RAD") {
                    let rad = rad.expect("an imaging report is at the network");
                    assert!(results(rad).any(|x| x == t), "{}", p.nhs_number);
                    imaging += 1;
                    continue;
                }
                expected_lab += 1;
                let lab = lab.expect("a lab result is at the laboratory");
                if t.kind == Some(ResultKind::Report) {
                    reports += 1;
                    // The same report, whose members are the same results.
                    let copy = results(lab)
                        .find(|x| {
                            x.code == t.code
                                && x.effective == t.effective
                                && x.kind == t.kind
                                && x.members.len() == t.members.len()
                        })
                        .unwrap();
                    let mut same = copy.clone();
                    same.members = t.members.clone();
                    assert_eq!(&same, t);
                    for (mine, theirs) in copy.members.iter().zip(&t.members) {
                        assert_eq!(mine.source().as_str(), "pathology");
                        let resolve = |h: &Holding, id: &icr_model::RecordId| {
                            let (ty, local) = id.local().split_once('/').unwrap();
                            h.record(ty, local).map(|r| r.entry.clone())
                        };
                        assert_eq!(resolve(lab, mine), resolve(h, theirs));
                        assert!(resolve(lab, mine).is_some());
                    }
                } else {
                    assert!(results(lab).any(|x| x == t), "{}", p.nhs_number);
                }
                copied += 1;
            }
        }
        // The laboratory holds nothing else, and only what it holds.
        if let Some(lab) = lab {
            assert!(lab.records.len() <= expected_lab);
            assert!(!lab.records.is_empty());
            assert!(results(lab).all(|t| !has_category(t, "RAD")));
            assert_eq!(lab.records.len(), results(lab).count());
        } else {
            assert_eq!(expected_lab, 0);
        }
        if let Some(rad) = rad {
            assert!(results(rad).all(|t| t.kind == Some(ResultKind::Report)
                && has_category(t, "RAD")
                && t.conclusion.is_some()));
        }
    }
    assert!(copied > 10_000, "{copied}");
    assert!(reports > 1000, "{reports}");
    assert!(imaging > 20, "{imaging}");
}

#[test]
fn councils_serve_their_own_area_and_hold_social_care_for_some() {
    let pop = demo();
    let mut held = 0;
    let mut by_council: HashMap<Org, usize> = HashMap::new();
    let mut older = (0, 0);
    for p in &pop {
        let councils: Vec<&Holding> = p
            .holdings
            .iter()
            .filter(|h| h.org.role() == Role::SocialCare)
            .collect();
        assert!(councils.len() <= 1);
        let Some(h) = councils.first() else { continue };
        held += 1;
        *by_council.entry(h.org).or_default() += 1;
        let want = match district(p).as_str() {
            "Swindon" => Org::SWINDON_COUNCIL,
            "Bath and North East Somerset" => Org::BANES_COUNCIL,
            _ => Org::WILTSHIRE_COUNCIL,
        };
        assert_eq!(h.org, want, "{}", p.nhs_number);
        if town(p) == "Swindon" {
            assert_eq!(h.org, Org::SWINDON_COUNCIL);
        }
        if town(p) == "Bath" {
            assert_eq!(h.org, Org::BANES_COUNCIL);
        }
        // An allocated worker; carers and next of kin as the trusts hold them.
        let teams: Vec<&Entry> = h.entries_in(Section::CareTeam).collect();
        assert!(!teams.is_empty());
        let Entry::CareTeam(t) = teams[0] else {
            panic!()
        };
        assert_eq!(
            t.participants[0].roles[0].primary().unwrap().code,
            "106328005"
        );
        for c in h.entries_in(Section::Contacts) {
            let Entry::Contact(c) = c else { panic!() };
            assert!(p.truth.contacts.contains(c));
        }
        assert_eq!(
            h.entries_in(Section::Contacts).count(),
            p.truth.contacts.len()
        );
        assert!(h.entries_in(Section::Documents).count() >= 1);
        for e in h.entries_in(Section::Appointments) {
            let Entry::Appointment(a) = e else { panic!() };
            assert_eq!(a.status, Some(AppointmentStatus::Booked));
        }
        let birth = p.truth.demographics.birth_date.unwrap().date().unwrap();
        if (REFERENCE_DATE - birth).whole_days() / 365 >= 75 {
            older.0 += 1;
        } else {
            older.1 += 1;
        }
    }
    let s = share(held, pop.len());
    assert!((0.10..=0.22).contains(&s), "{s}");
    for c in [
        Org::WILTSHIRE_COUNCIL,
        Org::SWINDON_COUNCIL,
        Org::BANES_COUNCIL,
    ] {
        assert!(
            by_council.get(&c).copied().unwrap_or(0) >= 5,
            "{by_council:?}"
        );
    }
    // Mostly older people.
    assert!(older.0 > older.1, "{older:?}");
}

#[test]
fn out_of_hours_and_community_records_for_about_one_in_ten() {
    let pop = demo();
    let (mut ooh, mut community) = (0, 0);
    for p in &pop {
        if let Some(h) = p.holding(Org::MEDVIVO) {
            ooh += 1;
            let encounters: Vec<&Entry> = h.entries_in(Section::Appointments).collect();
            assert!(!encounters.is_empty());
            assert_eq!(
                h.entries_in(Section::Documents).count(),
                encounters.len(),
                "a report for every contact"
            );
            for e in encounters {
                let Entry::Appointment(a) = e else { panic!() };
                assert_eq!(a.kind, Some(AppointmentKind::Encounter));
                let t = match a.start.unwrap() {
                    icr_model::PartialDateTime::DateTime(t) => t,
                    other => panic!("{other:?}"),
                };
                let weekend =
                    matches!(t.weekday(), time::Weekday::Saturday | time::Weekday::Sunday);
                assert!(t.hour() >= 18 || t.hour() < 8 || weekend, "{t}");
            }
        }
        if let Some(h) = p.holding(Org::WHC) {
            community += 1;
            // Wiltshire Health and Care serves Wiltshire only.
            assert_eq!(district(p), "Wiltshire", "{}", p.nhs_number);
            assert!(h.entries_in(Section::CareTeam).count() >= 1);
            assert!(h.entries_in(Section::Appointments).count() >= 2);
        }
    }
    for (what, n) in [("out of hours", ooh), ("community", community)] {
        let s = share(n, pop.len());
        assert!((0.06..=0.16).contains(&s), "{what}: {s}");
    }
}

/// Oxford Health's CAMHS holds children and young people across the three
/// districts, with their mental-health conditions and medicines exactly as
/// the truth (and so their practice) has them; HCRG Care Group holds people
/// of Bath and North East Somerset only, each with a team and contacts.
#[test]
fn oxford_health_holds_children_across_the_region_and_hcrg_serves_banes_only() {
    let pop = demo();
    let banes = "Bath and North East Somerset";
    let (mut camhs, mut hcrg, mut in_banes) = (0, 0, 0);
    let mut camhs_districts = BTreeSet::new();
    let mut hcrg_kinds = BTreeSet::new();
    for p in &pop {
        let birth = p.truth.demographics.birth_date.unwrap().date().unwrap();
        let age = (REFERENCE_DATE - birth).whole_days() / 365;
        in_banes += usize::from(district(p) == banes);
        if let Some(h) = p.holding(Org::OXFORD_HEALTH) {
            camhs += 1;
            assert!((5..20).contains(&age), "{}: {age}", p.nhs_number);
            camhs_districts.insert(district(p));
            for e in h.entries_in(Section::Conditions) {
                let Entry::Condition(c) = e else { panic!() };
                assert!(p.truth.conditions.contains(c), "{}", p.nhs_number);
            }
            for e in h.entries_in(Section::Medications) {
                let Entry::Medication(m) = e else { panic!() };
                assert!(p.truth.medications.contains(m), "{}", p.nhs_number);
            }
            for e in h.entries_in(Section::Contacts) {
                let Entry::Contact(c) = e else { panic!() };
                assert!(p.truth.contacts.contains(c), "{}", p.nhs_number);
            }
            let teams: Vec<&Entry> = h.entries_in(Section::CareTeam).collect();
            assert_eq!(teams.len(), 1, "{}", p.nhs_number);
            let Entry::CareTeam(t) = teams[0] else {
                panic!()
            };
            assert_eq!(
                t.managing_organisations,
                ["Oxford Health NHS Foundation Trust"]
            );
            assert!(t.name.as_deref().unwrap().contains("CAMHS"));
            assert!(h.entries_in(Section::Documents).count() >= 2);
            assert!(h.entries_in(Section::Appointments).count() >= 1);
        }
        if let Some(h) = p.holding(Org::HCRG) {
            hcrg += 1;
            assert_eq!(district(p), banes, "{}", p.nhs_number);
            let Some(Entry::CareTeam(t)) = h.entries_in(Section::CareTeam).next() else {
                panic!("{}: no team at hcrg", p.nhs_number);
            };
            assert_eq!(t.managing_organisations, ["HCRG Care Group"]);
            hcrg_kinds.insert(t.name.clone().unwrap().replace("Bath ", ""));
            assert!(h.entries_in(Section::Appointments).count() >= 1);
            assert_eq!(
                h.entries_in(Section::Contacts).count(),
                p.truth.contacts.len()
            );
        }
    }
    assert!(camhs >= 15, "{camhs}");
    assert_eq!(
        camhs_districts.into_iter().collect::<Vec<_>>(),
        [banes, "Swindon", "Wiltshire"]
    );
    assert!(hcrg >= 10 && hcrg * 3 < in_banes, "{hcrg} of {in_banes}");
    for kind in [
        "Community Nursing Team",
        "Community Therapy Team",
        "Health Visiting Team",
        "School Nursing Team",
    ] {
        assert!(hcrg_kinds.contains(kind), "{hcrg_kinds:?}");
    }
}

/// Robert Pennington's record fills all twelve sections, from more than
/// eight organisations; his practice's medicines merge with the trusts'.
#[test]
fn story_5_fills_every_section_from_ten_organisations() {
    let pop = demo();
    let p = pop.get(&NhsNumber::parse("9990000050").unwrap()).unwrap();
    let mut sections: BTreeSet<Section> = BTreeSet::new();
    let mut orgs: BTreeSet<&str> = BTreeSet::new();
    for h in &p.holdings {
        if h.org != Org::PDS {
            sections.insert(Section::Demographics);
        }
        for r in &h.records {
            sections.insert(r.entry.section());
            orgs.insert(h.org.id());
        }
    }
    assert_eq!(sections.len(), 12, "{sections:?}");
    assert_eq!(
        orgs.into_iter().collect::<Vec<_>>(),
        [
            "awp",
            "gp-y90012",
            "gwh",
            "medvivo",
            "pathology",
            "radiology",
            "ruh",
            "sft",
            "whc",
            "wiltshire-council"
        ]
    );
    // Who holds each section.
    let holders = |s: Section| -> Vec<&str> {
        p.holdings
            .iter()
            .filter(|h| h.entries_in(s).next().is_some())
            .map(|h| h.org.id())
            .collect()
    };
    assert_eq!(holders(Section::Allergies), ["gp-y90012"]);
    assert_eq!(holders(Section::Alerts), ["wiltshire-council"]);
    assert_eq!(holders(Section::Referrals), ["gp-y90012"]);
    // Metformin five times, identical: the practice's and the trusts'.
    let metformin: Vec<&Entry> = p
        .holdings
        .iter()
        .flat_map(|h| h.entries_in(Section::Medications))
        .filter(|e| e.code().unwrap().primary().unwrap().code == "325278007")
        .collect();
    assert_eq!(metformin.len(), 5);
    assert!(metformin.iter().all(|e| *e == metformin[0]));
    // The laboratory's copies of gwh's cholesterol and ruh's HbA1c, and the
    // practice's bloods; the imaging network's chest X-ray.
    let lab = p.holding(Org::PATHOLOGY).unwrap();
    assert_eq!(results(lab).count(), 2 + 2 + 4 + 1);
    let rad = p.holding(Org::RADIOLOGY).unwrap();
    assert_eq!(results(rad).count(), 1);
    // Immunisations at the practice.
    let gp = p.holding(Org::from_id("gp-y90012").unwrap()).unwrap();
    let vaccinations: Vec<String> = gp
        .entries_in(Section::Procedures)
        .map(|e| e.code().unwrap().primary().unwrap().code.clone())
        .collect();
    assert_eq!(
        vaccinations,
        ["12866006", "822851000000102", "822851000000102"]
    );
}

#[test]
fn story_6_is_restricted_in_pds_and_known_outside_the_trusts() {
    let pop = demo();
    let p = pop.get(&NhsNumber::parse("9990000069").unwrap()).unwrap();
    assert!(p.is_sensitive());
    assert!(p.story.unwrap().contains("Stainton"));
    let orgs: Vec<&str> = p.orgs().map(Org::id).collect();
    assert_eq!(
        orgs,
        [
            "pds",
            "gp-y90003",
            "pathology",
            "swindon-council",
            "medvivo"
        ]
    );
    // PDS holds her address (it leaves it out when it answers); so do the
    // others, which is why the gateway must withhold it.
    for h in &p.holdings {
        assert_eq!(
            h.demographics.home_address().unwrap().postcode.as_deref(),
            Some("SN2 7HQ")
        );
        assert_eq!(h.demographics.sensitive, h.org == Org::PDS);
    }
    let council = p.holding(Org::SWINDON_COUNCIL).unwrap();
    let alerts: Vec<&Entry> = council.entries_in(Section::Alerts).collect();
    assert_eq!(alerts.len(), 1);
    let Entry::Alert(a) = alerts[0] else { panic!() };
    assert_eq!(a.category[0].primary().unwrap().code, "safety");
    let text = a.code.text.as_deref().unwrap();
    assert!(text.contains("do not disclose it"), "{text}");
    assert!(text.contains("01632 960880"), "{text}");
    assert!(council.entries_in(Section::Contacts).next().is_none());
}
