//! The story patients are what `config/demo/README.md` says they are.

use std::collections::BTreeMap;

use icr_model::{
    AllergyCategory, AppointmentKind, CarePlanStatus, Criticality, Entry, Gender, MedicationStatus,
    NhsNumber, PartialDateTime, Priority, ProcedureStatus, ReferralStatus, Section,
};
use icr_sim::population::{Holding, Patient, Population};
use icr_sim::{Org, STORY_COUNT};

fn pop() -> Population {
    Population::generate(20_261_101, 1200)
}

fn story(pop: &Population, n: usize) -> Patient {
    pop.iter().nth(n).cloned().unwrap()
}

/// Record counts by FHIR resource type.
fn counts(h: &Holding) -> BTreeMap<&'static str, usize> {
    let mut m = BTreeMap::new();
    for r in &h.records {
        *m.entry(r.resource_type).or_default() += 1;
    }
    m
}

fn codes(h: &Holding, section: Section) -> Vec<String> {
    h.entries_in(section)
        .filter_map(|e| e.code().and_then(|c| c.primary()).map(|c| c.code.clone()))
        .collect()
}

fn name(p: &Patient) -> String {
    p.truth
        .demographics
        .preferred_name()
        .map(|n| n.display())
        .unwrap_or_default()
}

fn date(s: &str) -> Option<PartialDateTime> {
    PartialDateTime::parse(s).ok()
}

/// The four trusts' holdings of the person.
fn trusts(p: &Patient) -> impl Iterator<Item = &Holding> {
    p.holdings.iter().filter(|h| Org::TRUSTS.contains(&h.org))
}

/// The trusts holding the person, in order.
fn orgs(p: &Patient) -> Vec<Org> {
    p.orgs().filter(|o| Org::TRUSTS.contains(o)).collect()
}

#[test]
fn story_numbers_are_fixed_and_the_same_for_every_seed() {
    let expected = [
        "9990000018",
        "9990000026",
        "9990000034",
        "9990000042",
        "9990000050",
        "9990000069",
        "9990000077",
    ];
    for seed in [1, 20_261_101] {
        let pop = Population::generate(seed, 1000);
        let got: Vec<String> = pop
            .iter()
            .take(STORY_COUNT)
            .map(|p| p.nhs_number.to_string())
            .collect();
        assert_eq!(got, expected);
        assert!(pop.iter().take(STORY_COUNT).all(|p| p.story.is_some()));
        assert!(pop.iter().skip(STORY_COUNT).all(|p| p.story.is_none()));
        let stories = pop.stories();
        let numbers: Vec<String> = stories.iter().map(|s| s.nhs_number.to_string()).collect();
        assert_eq!(numbers, expected);
        for (s, who) in stories.iter().zip([
            "Ellery",
            "Ashworth",
            "Rahman",
            "Okafor",
            "Pennington",
            "Stainton",
            "Carthew",
        ]) {
            assert!(s.summary.contains(who), "{}", s.summary);
        }
    }
    // The numbers the README gives for trying a 404 and a 400.
    assert!(NhsNumber::parse("9990000999").is_ok());
    assert!(NhsNumber::parse("9990000019").is_err());
}

#[test]
fn story_patients_are_registered_with_a_practice_of_their_town() {
    let pop = pop();
    let want = [
        ("9990000018", "Y90007", "Marlborough", 3),
        ("9990000026", "Y90001", "Swindon", 2),
        ("9990000034", "Y90011", "Bath", 2),
        ("9990000042", "Y90009", "Bath", 4),
        ("9990000050", "Y90012", "Chippenham", 1),
        ("9990000077", "Y90010", "Bath", 2),
    ];
    for (n, ods, town, version) in want {
        let p = pop.get(&NhsNumber::parse(n).unwrap()).unwrap();
        let practice = p.registered_practice().unwrap();
        assert_eq!(practice.ods_code(), ods, "{n}");
        assert_eq!(practice.area(), Some(town), "{n}");
        assert_eq!(
            p.truth.demographics.home_address().unwrap().city.as_deref(),
            Some(town)
        );
        let pds = p.pds().unwrap();
        assert_eq!(pds.patient_id, n);
        assert_eq!(pds.version, version);
        assert!(!pds.demographics.sensitive);
        // PDS's copy is the truth; every copy names the practice.
        assert_eq!(pds.demographics, p.truth.demographics);
        for h in &p.holdings {
            assert_eq!(
                h.demographics
                    .registered_practice
                    .as_ref()
                    .map(|c| c.as_str()),
                Some(ods),
                "{n} at {}",
                h.org
            );
        }
    }
}

#[test]
fn story_1_heart_failure_at_gwh_and_sft() {
    let pop = pop();
    let p = story(&pop, 0);
    assert_eq!(name(&p), "Margaret Rose ELLERY");
    assert_eq!(p.truth.demographics.gender, Some(Gender::Female));
    assert_eq!(p.truth.demographics.birth_date, date("1941-03-14"));
    assert_eq!(orgs(&p), [Org::GWH, Org::SFT]);
    let gwh = p.holding(Org::GWH).unwrap();
    let sft = p.holding(Org::SFT).unwrap();

    // The same four problems, allergy and daughter at both: they merge.
    let problems = ["84114007", "44054006", "433144002", "59621000"];
    assert_eq!(codes(gwh, Section::Conditions), problems);
    assert_eq!(codes(sft, Section::Conditions), problems);
    for section in [Section::Conditions, Section::Allergies, Section::Contacts] {
        let a: Vec<&Entry> = gwh.entries_in(section).collect();
        let b: Vec<&Entry> = sft.entries_in(section).collect();
        assert_eq!(a, b, "{section}");
    }
    assert_eq!(codes(gwh, Section::Allergies), ["91936005"]);

    // Furosemide and amlodipine identical; metformin active at gwh,
    // stopped at sft, otherwise identical: one item with a status conflict.
    let meds = |h: &Holding| -> Vec<(String, Option<MedicationStatus>)> {
        h.entries_in(Section::Medications)
            .map(|e| match e {
                Entry::Medication(m) => (m.medication.primary().unwrap().code.clone(), m.status),
                _ => unreachable!(),
            })
            .collect()
    };
    assert_eq!(
        meds(gwh),
        [
            ("317971007".to_string(), Some(MedicationStatus::Active)),
            ("319284000".to_string(), Some(MedicationStatus::Active)),
            ("325278007".to_string(), Some(MedicationStatus::Active)),
        ]
    );
    assert_eq!(
        meds(sft),
        [
            ("317971007".to_string(), Some(MedicationStatus::Active)),
            ("319284000".to_string(), Some(MedicationStatus::Active)),
            ("325278007".to_string(), Some(MedicationStatus::Stopped)),
        ]
    );
    let metformin = |h: &Holding| {
        h.entries_in(Section::Medications)
            .find_map(|e| match e {
                Entry::Medication(m) if m.medication.primary().unwrap().code == "325278007" => {
                    Some(m.clone())
                }
                _ => None,
            })
            .unwrap()
    };
    let (mut a, b) = (metformin(gwh), metformin(sft));
    assert_eq!(a.start, b.start);
    assert_eq!(
        b.end,
        Some(PartialDateTime::parse("2026-06-17").unwrap()),
        "stopped at the renal clinic"
    );
    a.status = b.status;
    a.end = b.end;
    assert_eq!(a, b, "metformin differs only in status and end");

    assert_eq!(
        counts(gwh),
        BTreeMap::from([
            ("AllergyIntolerance", 1),
            ("CareTeam", 1),
            ("Condition", 4),
            ("DiagnosticReport", 3),
            ("DocumentReference", 1),
            ("Encounter", 1),
            ("Appointment", 1),
            ("Flag", 1),
            ("Immunization", 2),
            ("MedicationStatement", 3),
            ("Observation", 8),
            ("Procedure", 1),
            ("RelatedPerson", 1),
            ("ServiceRequest", 1),
        ])
    );
    // The pneumococcal vaccine given on the ward; the flu vaccine declined.
    let immunisations: Vec<(&str, Option<ProcedureStatus>, Option<&str>)> = gwh
        .entries_in(Section::Procedures)
        .filter_map(|e| match e {
            Entry::Procedure(p) => {
                let imm = p.immunisation.as_ref()?;
                Some((
                    imm.vaccine.primary()?.code.as_str(),
                    p.status,
                    imm.lot_number.as_deref(),
                ))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        immunisations,
        [
            (
                "836398006",
                Some(ProcedureStatus::Completed),
                Some("PN2609A")
            ),
            ("1181000221105", Some(ProcedureStatus::NotDone), None),
        ]
    );
    assert_eq!(
        counts(sft),
        BTreeMap::from([
            ("AllergyIntolerance", 1),
            ("CareTeam", 1),
            ("Condition", 4),
            ("DiagnosticReport", 1),
            ("DocumentReference", 1),
            ("Encounter", 1),
            ("MedicationStatement", 3),
            ("Observation", 5),
            ("RelatedPerson", 1),
        ])
    );
    // Her admission bloods: high potassium, low eGFR, high NT-proBNP.
    let flags: Vec<(String, String)> = gwh
        .entries_in(Section::Results)
        .filter_map(|e| match e {
            Entry::Result(r) if !r.interpretation.is_empty() => Some((
                r.code.primary().unwrap().code.clone(),
                r.interpretation[0].primary().unwrap().code.clone(),
            )),
            _ => None,
        })
        .collect();
    for (loinc, flag) in [
        ("2823-3", "H"),
        ("62238-1", "L"),
        ("33762-6", "H"),
        ("718-7", "L"),
    ] {
        assert!(
            flags.contains(&(loinc.to_string(), flag.to_string())),
            "{loinc}"
        );
    }
    // A booked heart failure clinic after the as-of date.
    let booked: Vec<_> = gwh
        .entries_in(Section::Appointments)
        .filter_map(|e| match e {
            Entry::Appointment(a) if a.description.is_some() => Some(a.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(booked.len(), 1);
    assert_eq!(
        booked[0].description.as_deref(),
        Some("Heart failure clinic")
    );
    assert!(booked[0].start.unwrap().date().unwrap() > pop.as_of());
}

#[test]
fn story_2_young_person_under_awp() {
    let pop = pop();
    let p = story(&pop, 1);
    assert_eq!(name(&p), "Jordan ASHWORTH");
    assert_eq!(p.truth.demographics.birth_date, date("2007-04-22"));
    assert_eq!(orgs(&p), [Org::AWP, Org::GWH]);
    let awp = p.holding(Org::AWP).unwrap();
    let gwh = p.holding(Org::GWH).unwrap();

    let alerts: Vec<&Entry> = awp.entries_in(Section::Alerts).collect();
    assert_eq!(alerts.len(), 1);
    let Entry::Alert(alert) = alerts[0] else {
        panic!()
    };
    assert_eq!(alert.category[0].primary().unwrap().code, "safety");
    assert!(
        alert
            .code
            .text
            .as_deref()
            .unwrap()
            .starts_with("Safeguarding:")
    );
    assert_eq!(gwh.entries_in(Section::Alerts).count(), 0);

    let titles: Vec<String> = awp
        .entries_in(Section::Documents)
        .filter_map(|e| match e {
            Entry::Document(d) => d.title.clone(),
            _ => None,
        })
        .collect();
    assert_eq!(
        titles,
        ["Crisis and contingency plan", "Care and support plan"]
    );
    let plan = awp
        .entries_in(Section::Documents)
        .find_map(|e| match e {
            Entry::Document(d) => d.care_plan.as_ref(),
            _ => None,
        })
        .expect("the care and support plan is a care plan");
    assert_eq!(plan.status, Some(CarePlanStatus::Active));
    assert_eq!(plan.activities.len(), 4);

    // Self-harm, citalopram and his mother recorded at both: they merge.
    for section in [Section::Medications, Section::Contacts] {
        let a: Vec<&Entry> = awp.entries_in(section).collect();
        let b: Vec<&Entry> = gwh.entries_in(section).collect();
        assert_eq!(a, b, "{section}");
    }
    assert_eq!(codes(awp, Section::Conditions), ["35489007", "248062006"]);
    assert_eq!(codes(gwh, Section::Conditions), ["248062006"]);
    assert_eq!(
        awp.entries_in(Section::Conditions).nth(1),
        gwh.entries_in(Section::Conditions).next()
    );
    assert_eq!(codes(gwh, Section::Referrals), ["183524004"]);
    assert_eq!(counts(awp).get("Appointment"), Some(&1));
    assert_eq!(counts(awp).get("Encounter"), Some(&3));
    assert_eq!(counts(gwh).get("Encounter"), Some(&1));
}

#[test]
fn story_3_allergy_at_three_orgs() {
    let pop = pop();
    let p = story(&pop, 2);
    assert_eq!(name(&p), "Priya RAHMAN");
    assert_eq!(orgs(&p), [Org::RUH, Org::GWH, Org::SFT]);
    let penicillin: Vec<&Entry> = trusts(&p)
        .flat_map(|h| h.entries_in(Section::Allergies))
        .filter(|e| e.code().unwrap().primary().unwrap().code == "91936005")
        .collect();
    assert_eq!(penicillin.len(), 3);
    assert!(penicillin.iter().all(|e| *e == penicillin[0]));
    // Her practice holds the same allergy, identically: a fourth source.
    let practice = p.holding(p.registered_practice().unwrap()).unwrap();
    let at_gp: Vec<&Entry> = practice.entries_in(Section::Allergies).collect();
    assert_eq!(at_gp.len(), 2);
    assert!(at_gp.contains(&penicillin[0]));
    let Entry::Allergy(a) = penicillin[0] else {
        panic!()
    };
    assert_eq!(a.criticality, Some(Criticality::High));
    assert_eq!(a.category, [AllergyCategory::Medication]);
    assert_eq!(a.onset, date("1999-05-12"));
    assert_eq!(
        a.reactions[0].manifestations[0].primary().unwrap().code,
        "39579001"
    );
    let ruh = p.holding(Org::RUH).unwrap();
    assert_eq!(codes(ruh, Section::Allergies), ["91936005", "91935009"]);
    assert_eq!(codes(ruh, Section::Alerts), ["226201008"]);
    assert_eq!(
        codes(p.holding(Org::GWH).unwrap(), Section::Allergies),
        ["91936005"]
    );
    let sft = p.holding(Org::SFT).unwrap();
    assert_eq!(codes(sft, Section::Allergies), ["91936005"]);
    // Treated with clarithromycin, not a penicillin, after her appendicectomy.
    assert_eq!(codes(sft, Section::Medications), ["41946511000001109"]);
    assert_eq!(codes(sft, Section::Procedures), ["80146002"]);
}

#[test]
fn story_4_demographic_discrepancy() {
    let pop = pop();
    let p = story(&pop, 3);
    assert_eq!(name(&p), "Sophie Grace OKAFOR");
    assert_eq!(orgs(&p), [Org::RUH, Org::SFT]);
    let ruh = p.holding(Org::RUH).unwrap();
    let sft = p.holding(Org::SFT).unwrap();
    assert_eq!(ruh.demographics, p.truth.demographics);
    assert_ne!(sft.demographics, p.truth.demographics);
    let postcode = |h: &Holding| h.demographics.addresses[0].postcode.clone().unwrap();
    assert_eq!(postcode(ruh), "BA1 6RL");
    assert_eq!(postcode(sft), "SP2 8HQ");
    assert_eq!(ruh.demographics.telecom[0].value, "07700 900155");
    assert_eq!(sft.demographics.telecom[0].value, "07700 900871");
    // Everything else about her is the same at both.
    let mut s = sft.demographics.clone();
    s.addresses = ruh.demographics.addresses.clone();
    s.telecom = ruh.demographics.telecom.clone();
    assert_eq!(s, ruh.demographics);
    assert_eq!(
        codes(ruh, Section::Conditions),
        codes(sft, Section::Conditions)
    );
    assert_eq!(codes(ruh, Section::Procedures), ["11466000"]);
}

#[test]
fn story_5_held_by_all_four() {
    let pop = pop();
    let p = story(&pop, 4);
    assert_eq!(name(&p), "Robert James PENNINGTON");
    assert_eq!(orgs(&p), [Org::GWH, Org::RUH, Org::AWP, Org::SFT]);
    // Diabetes, metformin and his wife at every organisation, identical.
    for (section, code) in [
        (Section::Conditions, "44054006"),
        (Section::Medications, "325278007"),
        (Section::Contacts, "WIFE"),
    ] {
        let copies: Vec<&Entry> = trusts(&p)
            .flat_map(|h| h.entries_in(section))
            .filter(|e| e.code().unwrap().primary().unwrap().code == code)
            .collect();
        assert_eq!(copies.len(), 4, "{code}");
        assert!(copies.iter().all(|e| *e == copies[0]), "{code}");
    }
    assert_eq!(
        codes(p.holding(Org::GWH).unwrap(), Section::Procedures),
        ["415070008"]
    );
    assert_eq!(
        codes(p.holding(Org::SFT).unwrap(), Section::Procedures),
        ["609588000"]
    );
    assert_eq!(
        codes(p.holding(Org::AWP).unwrap(), Section::Conditions),
        ["44054006", "35489007"]
    );
    let teams: usize = trusts(&p)
        .map(|h| h.entries_in(Section::CareTeam).count())
        .sum();
    assert_eq!(teams, 4);
}

/// Story 7: Isla Carthew, 15, of Bath, known to Oxford Health's CAMHS and
/// HCRG Care Group's school nursing team (and her practice and the
/// laboratory), and to no trust.
#[test]
fn story_7_anorexia_under_oxford_health_camhs_with_hcrg_school_nursing() {
    let pop = pop();
    let p = story(&pop, 6);
    assert_eq!(p.nhs_number.as_str(), "9990000077");
    assert_eq!(name(&p), "Isla Maeve CARTHEW");
    assert_eq!(p.truth.demographics.gender, Some(Gender::Female));
    assert_eq!(p.truth.demographics.birth_date, date("2011-03-17"));
    let held: Vec<&str> = p.orgs().map(Org::id).collect();
    assert_eq!(
        held,
        ["hcrg", "oxford-health", "pds", "gp-y90010", "pathology"]
    );
    assert!(orgs(&p).is_empty(), "no trust holds her");
    let camhs = p.holding(Org::OXFORD_HEALTH).unwrap();
    let school = p.holding(Org::HCRG).unwrap();
    let gp = p.holding(p.registered_practice().unwrap()).unwrap();
    assert_eq!(
        counts(camhs),
        BTreeMap::from([
            ("Appointment", 2),
            ("CareTeam", 1),
            ("Condition", 1),
            ("DocumentReference", 3),
            ("Encounter", 8),
            ("Flag", 1),
            ("RelatedPerson", 1),
        ])
    );
    assert_eq!(
        counts(school),
        BTreeMap::from([
            ("Appointment", 1),
            ("CareTeam", 1),
            ("DocumentReference", 1),
            ("Encounter", 6),
            ("RelatedPerson", 1),
            ("ServiceRequest", 1),
        ])
    );

    // Anorexia nervosa at CAMHS and her practice, and her mother at all
    // three, identical: each merges into one item.
    assert_eq!(codes(camhs, Section::Conditions), ["56882008"]);
    for section in [Section::Conditions, Section::Contacts] {
        let a: Vec<&Entry> = camhs.entries_in(section).collect();
        let b: Vec<&Entry> = gp.entries_in(section).collect();
        assert_eq!(a, b, "{section}");
    }
    let mother: Vec<&Entry> = school.entries_in(Section::Contacts).collect();
    assert_eq!(mother, gp.entries_in(Section::Contacts).collect::<Vec<_>>());
    assert_eq!(codes(camhs, Section::Contacts), ["MTH"]);

    // The school nurse's urgent referral to CAMHS came before the
    // assessment; the teams name their organisations.
    let Some(Entry::Referral(r)) = school.entries_in(Section::Referrals).next() else {
        panic!("no referral at hcrg");
    };
    assert_eq!(r.priority, Some(Priority::Urgent));
    assert_eq!(r.status, Some(ReferralStatus::Completed));
    assert_eq!(r.authored, date("2026-03-05"));
    assert!(r.performers[0].contains("Oxford Health NHS Foundation Trust"));
    let team = |h: &Holding| match h.entries_in(Section::CareTeam).next() {
        Some(Entry::CareTeam(t)) => (t.name.clone().unwrap(), t.managing_organisations.clone()),
        _ => panic!("no team at {}", h.org),
    };
    assert_eq!(
        team(camhs),
        (
            "BaNES CAMHS Eating Disorders Team".to_string(),
            vec!["Oxford Health NHS Foundation Trust".to_string()]
        )
    );
    assert_eq!(
        team(school),
        (
            "Bath School Nursing Team".to_string(),
            vec!["HCRG Care Group".to_string()]
        )
    );
    let assessment = camhs
        .entries_in(Section::Appointments)
        .filter_map(|e| match e {
            Entry::Appointment(a) if a.kind == Some(AppointmentKind::Encounter) => a.start,
            _ => None,
        })
        .min();
    assert_eq!(
        assessment.and_then(|d| d.date()),
        date("2026-03-19").and_then(|d| d.date())
    );

    // The alert says who checks what, and whom to call.
    let Some(Entry::Alert(alert)) = camhs.entries_in(Section::Alerts).next() else {
        panic!("no alert at oxford-health");
    };
    let text = alert.code.text.as_deref().unwrap();
    assert!(text.contains("school nursing team") && text.contains("01632 960771"));

    // No consultation at her practice is for a condition she did not have
    // yet; its bloods (and only they) are at the laboratory, identical.
    for e in gp.entries_in(Section::Appointments) {
        let Entry::Appointment(a) = e else { panic!() };
        if !a.reasons.is_empty() {
            assert!(a.start.unwrap().date() >= date("2026-03-19").and_then(|d| d.date()));
        }
    }
    let lab = p.holding(Org::PATHOLOGY).unwrap();
    let results = |h: &Holding| -> Vec<Entry> {
        h.entries_in(Section::Results)
            .map(|e| match e {
                Entry::Result(t) => {
                    let mut t = t.clone();
                    t.members.clear();
                    Entry::Result(t)
                }
                other => other.clone(),
            })
            .collect()
    };
    assert_eq!(results(lab), results(gp));
    assert_eq!(results(lab).len(), 12);
    let white_cells: Vec<String> = gp
        .entries_in(Section::Results)
        .filter(|e| e.code().unwrap().primary().unwrap().code == "6690-2")
        .map(|e| match e {
            Entry::Result(t) => t.interpretation[0].primary().unwrap().code.clone(),
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(white_cells, ["L", "N"]);
}
