//! Prints a summary of a generated population: how many patients each
//! organisation holds, how much they overlap, and a few ordinary patients
//! to try. Run with `cargo run -p icr-sim --example census -- [seed] [size]
//! [nhs number...]`; NHS numbers given are described one per line.

use std::collections::BTreeMap;

use icr_model::{Entry, Section};
use icr_sim::org::Org;
use icr_sim::population::{Patient, Population};

/// One line about a patient: number, name, sex, birth date, organisations.
fn line(p: &Patient) -> String {
    let d = &p.truth.demographics;
    let name = d.preferred_name().map(|n| n.display()).unwrap_or_default();
    let orgs: Vec<&str> = p.orgs().map(Org::id).collect();
    let birth = d.birth_date.map(|b| b.to_string()).unwrap_or_default();
    let sex = d.gender.map(|g| g.as_code()).unwrap_or("unknown");
    format!("{} {name} ({sex}, born {birth}) at {orgs:?}", p.nhs_number)
}

/// Whether two organisations hold the same coded fact differently.
fn has_conflict(p: &Patient) -> bool {
    let mut seen: Vec<(Section, String, &Entry)> = Vec::new();
    for h in &p.holdings {
        for r in &h.records {
            let e = &r.entry;
            if !matches!(e.section(), Section::Conditions | Section::Medications) {
                continue;
            }
            let key = format!(
                "{:?}{:?}",
                e.code().and_then(|c| c.primary()).map(|c| &c.code),
                e.sort_date()
            );
            if seen
                .iter()
                .any(|(s, k, x)| *s == e.section() && *k == key && *x != e)
            {
                return true;
            }
            seen.push((e.section(), key, e));
        }
    }
    false
}

fn main() {
    let mut args = std::env::args().skip(1);
    let seed = args
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_261_101);
    let size = args.next().and_then(|s| s.parse().ok()).unwrap_or(1200);
    let pop = Population::generate(seed, size);
    let asked: Vec<String> = args.collect();
    if !asked.is_empty() {
        for n in asked {
            match icr_model::NhsNumber::parse(&n)
                .ok()
                .and_then(|nhs| pop.get(&nhs))
            {
                Some(p) => {
                    println!("{}", line(p));
                    for h in &p.holdings {
                        let mut types: BTreeMap<&str, usize> = BTreeMap::new();
                        for r in &h.records {
                            *types.entry(r.resource_type).or_default() += 1;
                        }
                        println!("    {:<18} {types:?}", h.org.id());
                    }
                }
                None => println!("{n}: not in the population"),
            }
        }
        return;
    }
    let mut per_org: BTreeMap<&str, usize> = BTreeMap::new();
    let mut by_count: BTreeMap<usize, usize> = BTreeMap::new();
    let mut records = 0usize;
    let mut types: BTreeMap<&str, usize> = BTreeMap::new();
    for p in &pop {
        *by_count.entry(p.holdings.len()).or_default() += 1;
        for h in &p.holdings {
            *per_org.entry(h.org.id()).or_default() += 1;
            records += h.records.len();
            for r in &h.records {
                *types.entry(r.resource_type).or_default() += 1;
            }
        }
    }
    println!("seed {seed}, {} patients, {records} records", pop.len());
    println!("patients per organisation: {per_org:?}");
    println!("patients by number of organisations: {by_count:?}");
    println!("records by type: {types:?}");
    let generated = || pop.iter().skip(icr_sim::STORY_COUNT);
    if let Some(p) = generated().find(|p| {
        p.holdings
            .iter()
            .filter(|h| Org::TRUSTS.contains(&h.org))
            .any(|h| h.demographics != p.truth.demographics)
    }) {
        println!("stale demographics: {}", line(p));
    }
    for p in generated().filter(|p| p.is_sensitive()).take(3) {
        println!("restricted in PDS: {}", line(p));
    }
    let council_safeguarding = |p: &&Patient| {
        p.holdings.iter().any(|h| {
            h.org.role() == icr_sim::Role::SocialCare
                && h.entries_in(Section::Alerts).next().is_some()
        })
    };
    for p in generated().filter(council_safeguarding).take(2) {
        println!("council safeguarding alert: {}", line(p));
    }
    if let Some(p) =
        generated().find(|p| p.holding(Org::MEDVIVO).is_some() && p.holding(Org::WHC).is_some())
    {
        println!("out of hours and community: {}", line(p));
    }
    for (what, org) in [
        ("CAMHS (Oxford Health)", Org::OXFORD_HEALTH),
        ("community services in BaNES (HCRG)", Org::HCRG),
    ] {
        for p in generated().filter(|p| p.holding(org).is_some()).take(3) {
            println!("{what}: {}", line(p));
        }
    }
    if let Some(p) = generated().find(|p| {
        p.holding(Org::RADIOLOGY).is_some() && p.orgs().all(|o| !Org::TRUSTS.contains(&o))
    }) {
        println!("imaging the practice asked for: {}", line(p));
    }
    if let Some(p) = generated().find(|p| has_conflict(p)) {
        println!("conflicting fact: {}", line(p));
    }
    let safeguarding = |p: &&Patient| {
        p.holdings.iter().any(|h| {
            h.entries_in(Section::Alerts)
                .any(|e| matches!(e, Entry::Alert(a) if a.code.codings.is_empty()))
        })
    };
    if let Some(p) = generated().find(safeguarding) {
        println!("safeguarding alert: {}", line(p));
    }
    if let Some(p) = generated().find(|p| p.holdings.len() == 3) {
        println!("held by three: {}", line(p));
    }
    println!("some ordinary patients:");
    for p in generated().take(12) {
        let conditions: Vec<&str> = p
            .truth
            .conditions
            .iter()
            .filter_map(|c| c.code.label())
            .collect();
        println!("  {}: {conditions:?}", line(p));
    }
}
