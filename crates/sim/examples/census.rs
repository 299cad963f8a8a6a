//! Prints a summary of a generated population: how many patients each
//! organisation holds, how much they overlap, and a few ordinary patients
//! to try. Run with `cargo run -p icr-sim --example census -- [seed] [size]`.

use std::collections::BTreeMap;

use icr_sim::org::Org;
use icr_sim::population::Population;

fn main() {
    let mut args = std::env::args().skip(1);
    let seed = args
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_261_101);
    let size = args.next().and_then(|s| s.parse().ok()).unwrap_or(1200);
    let pop = Population::generate(seed, size);
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
    println!("some ordinary patients:");
    for p in pop.iter().skip(5).take(12) {
        let d = &p.truth.demographics;
        let name = d.preferred_name().map(|n| n.display()).unwrap_or_default();
        let orgs: Vec<&str> = p.orgs().map(Org::id).collect();
        let birth = d.birth_date.map(|b| b.to_string()).unwrap_or_default();
        let sex = d.gender.map(|g| g.as_code()).unwrap_or("unknown");
        let conditions: Vec<&str> = p
            .truth
            .conditions
            .iter()
            .filter_map(|c| c.code.label())
            .collect();
        println!(
            "  {} {name} ({sex}, born {birth}) at {orgs:?}: {conditions:?}",
            p.nhs_number
        );
    }
}
