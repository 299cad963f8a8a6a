//! Prints the NHS numbers of a generated population, one per line, for load
//! scripts that need many real people (`deploy/bench/load.py`). Run with
//! `cargo run -p icr-sim --example people -- [seed] [size] [org...]`;
//! with organisations (ids such as `gwh`), only people at least one of them
//! holds are printed.

use std::io::Write as _;

use icr_sim::population::Population;

fn main() {
    let mut args = std::env::args().skip(1);
    let seed = args
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_261_101);
    let size = args.next().and_then(|s| s.parse().ok()).unwrap_or(1200);
    let orgs: Vec<String> = args.collect();
    let pop = Population::generate(seed, size);
    let mut out = std::io::stdout().lock();
    for p in pop.iter() {
        if orgs.is_empty() || p.orgs().any(|o| orgs.iter().any(|w| w == o.id())) {
            // A closed stdout (`| head`) ends the listing quietly.
            if writeln!(out, "{}", p.nhs_number).is_err() {
                return;
            }
        }
    }
}
