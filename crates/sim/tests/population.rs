//! Properties of the generated population.

use std::collections::{HashMap, HashSet};

use icr_model::{
    AppointmentKind, AppointmentStatus, Entry, MedicationKind, NhsNumber, ResultKind, Section,
};
use icr_sim::population::{Population, REFERENCE_DATE, resource_type};
use icr_sim::{Org, Role, STORY_COUNT};

const SEED: u64 = 20_261_101;

fn demo() -> Population {
    Population::generate(SEED, 1200)
}

#[test]
fn same_seed_same_population_different_seed_different() {
    let a = demo();
    let b = demo();
    assert_eq!(a.len(), b.len());
    assert!(a.iter().eq(b.iter()), "same seed gave different patients");

    let c = Population::generate(SEED + 1, 1200);
    // The story patients are the same for every seed; the rest are not.
    let stories = STORY_COUNT;
    assert!(a.iter().take(stories).eq(c.iter().take(stories)));
    let numbers_a: HashSet<_> = a.iter().skip(stories).map(|p| p.nhs_number).collect();
    let numbers_c: HashSet<_> = c.iter().skip(stories).map(|p| p.nhs_number).collect();
    assert!(numbers_a.intersection(&numbers_c).count() < 10);
    assert!(
        a.iter()
            .skip(stories)
            .zip(c.iter().skip(stories))
            .all(|(x, y)| x != y)
    );

    // A smaller population is a prefix of a larger one with the same seed.
    let small = Population::generate(SEED, 100);
    assert!(small.iter().eq(a.iter().take(100)));
}

#[test]
fn nhs_numbers_valid_unique_and_in_the_test_range() {
    let pop = demo();
    assert!(pop.len() >= 1000);
    assert_eq!(pop.len(), 1200);
    let mut seen = HashSet::new();
    for p in &pop {
        let n = p.nhs_number;
        assert!(n.is_test_range(), "{n}");
        assert_eq!(NhsNumber::parse(n.as_str()), Ok(n));
        assert!(seen.insert(n), "duplicate {n}");
        assert_eq!(p.truth.demographics.nhs_number, Some(n));
        assert_eq!(pop.get(&n).map(|q| q.nhs_number), Some(n));
        for h in &p.holdings {
            assert_eq!(h.demographics.nhs_number, Some(n));
        }
    }
    // The number the README gives as known to no source.
    let unknown = NhsNumber::parse("9990000999").unwrap();
    assert!(pop.get(&unknown).is_none());
}

#[test]
fn every_patient_held_and_holdings_overlap() {
    let pop = demo();
    let mut by_count: HashMap<usize, usize> = HashMap::new();
    let mut per_org: HashMap<Org, usize> = HashMap::new();
    for p in &pop {
        let orgs: HashSet<Org> = p.orgs().collect();
        assert_eq!(orgs.len(), p.holdings.len(), "an org holds a patient twice");
        // How the four trusts share the population.
        let trusts: HashSet<Org> = orgs
            .iter()
            .copied()
            .filter(|o| Org::TRUSTS.contains(o))
            .collect();
        if p.story.is_some() && trusts.is_empty() {
            continue; // story 6 is known outside the trusts only
        }
        assert!(!trusts.is_empty(), "{} is held by no trust", p.nhs_number);
        *by_count.entry(trusts.len()).or_default() += 1;
        for o in trusts {
            *per_org.entry(o).or_default() += 1;
        }
    }
    let multi: usize = by_count
        .iter()
        .filter(|(k, _)| **k >= 2)
        .map(|(_, v)| v)
        .sum();
    let n = pop.len() as f64;
    // About a third are held by two or more organisations.
    assert!(multi as f64 / n > 0.25, "{by_count:?}");
    assert!(by_count.get(&3).copied().unwrap_or(0) >= 10, "{by_count:?}");
    assert!(by_count.get(&4).copied().unwrap_or(0) >= 1, "{by_count:?}");
    // awp holds about 15%.
    let awp = per_org.get(&Org::AWP).copied().unwrap_or(0) as f64 / n;
    assert!((0.10..=0.22).contains(&awp), "awp holds {awp}");
    for o in Org::TRUSTS {
        assert!(per_org.get(&o).copied().unwrap_or(0) > 100, "{per_org:?}");
    }
}

#[test]
fn ids_are_org_specific_and_unique() {
    let pop = demo();
    let mut patient_ids: HashSet<(Org, String)> = HashSet::new();
    let mut record_ids: HashSet<(Org, String)> = HashSet::new();
    for p in &pop {
        for h in &p.holdings {
            if h.org == Org::PDS {
                // PDS's records are keyed by the NHS number itself.
                assert_eq!(h.patient_id, p.nhs_number.as_str());
            } else {
                assert!(h.patient_id.starts_with('p'));
                assert_ne!(h.patient_id, p.nhs_number.as_str());
                assert!(!h.patient_id.contains(p.nhs_number.as_str()));
            }
            assert!(patient_ids.insert((h.org, h.patient_id.clone())));
            let (q, hh) = pop.by_local_id(h.org, &h.patient_id).unwrap();
            assert_eq!(q.nhs_number, p.nhs_number);
            assert_eq!(hh.org, h.org);
            for r in &h.records {
                assert!(record_ids.insert((h.org, r.id.clone())), "{}", r.id);
                assert_eq!(r.resource_type, resource_type(&r.entry));
                assert!(r.id.len() <= 64 && r.id.bytes().all(|b| b.is_ascii_digit()));
            }
        }
    }
    // The same local id means different patients at different organisations.
    assert!(pop.by_local_id(Org::GWH, "p999999").is_none());
}

/// Facts recorded by several organisations are identical (so merge
/// de-duplicates them), except for a few deliberate status conflicts.
#[test]
fn shared_facts_are_identical_with_a_few_conflicts() {
    let pop = demo();
    let mut shared = 0;
    let mut conflicts = 0;
    let mut contact_shared = 0;
    for p in &pop {
        for section in [
            Section::Conditions,
            Section::Medications,
            Section::Allergies,
            Section::Contacts,
        ] {
            // Group each holding's entries of the section by code and date.
            let mut groups: HashMap<String, Vec<&Entry>> = HashMap::new();
            for h in &p.holdings {
                for e in h.entries_in(section) {
                    let code = e
                        .code()
                        .and_then(|c| c.primary())
                        .map(|c| c.code.clone())
                        .unwrap_or_default();
                    let key = match e {
                        Entry::Contact(c) => format!("{code}/{:?}", c.name),
                        _ => format!("{code}/{:?}", e.sort_date()),
                    };
                    groups.entry(key).or_default().push(e);
                }
            }
            for g in groups.values().filter(|g| g.len() >= 2) {
                shared += 1;
                if section == Section::Contacts {
                    contact_shared += 1;
                }
                if g.iter().any(|e| *e != g[0]) {
                    conflicts += 1;
                }
            }
        }
        // Allergies are never in conflict and always equal the truth.
        for h in &p.holdings {
            for e in h.entries_in(Section::Allergies) {
                let Entry::Allergy(a) = e else { panic!() };
                assert!(p.truth.allergies.contains(a));
            }
        }
    }
    assert!(shared > 300, "only {shared} shared facts");
    assert!(
        contact_shared > 100,
        "only {contact_shared} shared contacts"
    );
    assert!(conflicts >= 5, "only {conflicts} conflicts");
    assert!(conflicts * 10 < shared, "{conflicts} conflicts of {shared}");
}

#[test]
fn some_organisations_hold_stale_demographics() {
    let pop = demo();
    let stale = pop
        .iter()
        .filter(|p| {
            p.holdings
                .iter()
                .any(|h| h.demographics != p.truth.demographics)
        })
        .count();
    assert!(stale >= 5, "{stale}");
    let multi = pop.iter().filter(|p| p.holdings.len() >= 2).count();
    assert!(stale * 10 < multi);
}

#[test]
fn records_are_clinically_plausible() {
    let pop = demo();
    let mut reports = 0;
    let mut booked = 0;
    let mut kinds: HashSet<&str> = HashSet::new();
    for p in &pop {
        let birth = p
            .truth
            .demographics
            .birth_date
            .map(|d| d.start_timestamp())
            .unwrap();
        for h in &p.holdings {
            for r in &h.records {
                kinds.insert(r.resource_type);
                assert!(r.last_updated.date() <= pop.as_of());
                match &r.entry {
                    Entry::Result(t) if t.kind == Some(ResultKind::Report) => {
                        reports += 1;
                        for m in &t.members {
                            assert_eq!(m.source().as_str(), h.org.id());
                            let (ty, id) = m.local().split_once('/').unwrap();
                            assert_eq!(ty, "Observation");
                            assert!(h.record("Observation", id).is_some());
                        }
                    }
                    Entry::Result(t) => {
                        assert!(!t.reference_range.is_empty());
                        assert_eq!(t.interpretation.len(), 1);
                        let c = t.code.primary().unwrap();
                        assert_eq!(c.system.uri(), "http://loinc.org");
                    }
                    Entry::Appointment(a) => {
                        let start = a.start.unwrap();
                        if a.kind == Some(AppointmentKind::Appointment) {
                            assert_eq!(a.status, Some(AppointmentStatus::Booked));
                            assert!(start.date().unwrap() > pop.as_of());
                            booked += 1;
                        } else {
                            assert!(start.date().unwrap() < REFERENCE_DATE);
                        }
                    }
                    Entry::Medication(m) => {
                        let c = m.medication.primary().unwrap();
                        assert_eq!(c.system.uri(), "https://dmd.nhs.uk");
                        if m.kind == Some(MedicationKind::Prescription) {
                            assert!(m.prescriber.is_some());
                        }
                    }
                    Entry::Document(d) if d.care_plan.is_some() => {
                        // A care plan is carried, not linked: its title,
                        // what it is for and what it plans.
                        let plan = d.care_plan.as_ref().unwrap();
                        assert!(d.content.is_empty());
                        assert!(d.title.is_some() && d.text.is_some());
                        assert!(plan.status.is_some() && plan.period_start.is_some());
                        assert!(!plan.activities.is_empty());
                    }
                    Entry::Procedure(x) if x.immunisation.is_some() => {
                        let d = x.performed.unwrap().start_timestamp();
                        assert!(d >= birth);
                        let given = x.status == Some(icr_model::ProcedureStatus::Completed);
                        let imm = x.immunisation.as_ref().unwrap();
                        assert_eq!(given, imm.lot_number.is_some());
                        assert_eq!(!given, imm.reason_not_given.is_some());
                    }
                    Entry::Document(d) => {
                        let a = &d.content[0];
                        assert_eq!(a.content_type.as_deref(), Some("application/pdf"));
                        assert!(a.url.as_deref().unwrap().starts_with("https://documents."));
                        assert!(a.size.unwrap() > 0);
                        assert!(!a.inline_content_omitted);
                    }
                    Entry::Condition(c) => {
                        assert!(c.onset.unwrap().start_timestamp() >= birth);
                        assert_eq!(
                            c.code.primary().unwrap().system.uri(),
                            "http://snomed.info/sct"
                        );
                    }
                    Entry::Allergy(a) => {
                        assert!(a.onset.unwrap().start_timestamp() >= birth);
                    }
                    _ => {}
                }
            }
        }
    }
    assert!(reports > 100);
    assert!(booked > 100);
    for t in [
        "RelatedPerson",
        "CareTeam",
        "MedicationStatement",
        "MedicationRequest",
        "AllergyIntolerance",
        "Condition",
        "Observation",
        "DiagnosticReport",
        "DocumentReference",
        "Procedure",
        "ServiceRequest",
        "Appointment",
        "Encounter",
        "Flag",
        "Immunization",
        "CarePlan",
    ] {
        assert!(kinds.contains(t), "no {t}");
    }
}

#[test]
fn safeguarding_alerts_only_at_awp_and_the_councils() {
    let pop = demo();
    let (mut awp, mut councils) = (0, 0);
    for p in &pop {
        for h in &p.holdings {
            for e in h.entries_in(Section::Alerts) {
                let Entry::Alert(a) = e else { panic!() };
                let cat = a.category[0].primary().unwrap().code.as_str();
                if cat == "safety" {
                    if h.org == Org::AWP {
                        awp += 1;
                    } else {
                        assert_eq!(h.org.role(), Role::SocialCare, "{}", h.org);
                        // A council's says whom to contact.
                        let text = a.code.text.as_deref().unwrap();
                        assert!(text.contains("01632 960"), "{text}");
                        councils += 1;
                    }
                }
            }
        }
    }
    assert!(awp >= 10, "{awp}");
    assert!(councils >= 10, "{councils}");
}

#[test]
fn future_appointments_follow_the_as_of_date() {
    let later = time::macros::date!(2027 - 06 - 01);
    let a = Population::generate(3, 60);
    let b = Population::generate_as_of(3, 60, later);
    assert_eq!(b.as_of(), later);
    for (p, q) in a.iter().zip(b.iter()) {
        assert_eq!(p.truth, q.truth);
        for (h, k) in p.holdings.iter().zip(&q.holdings) {
            assert_eq!(h.patient_id, k.patient_id);
            for (r, s) in h.records.iter().zip(&k.records) {
                if let Entry::Appointment(x) = &s.entry
                    && x.kind == Some(AppointmentKind::Appointment)
                {
                    assert!(x.start.unwrap().date().unwrap() > later);
                } else {
                    assert_eq!(r, s);
                }
            }
        }
    }
}
