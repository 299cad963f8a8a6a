//! The population-health extract's aggregates (issue 17): raw [`Counts`]
//! gathered person by person, merged across shards, and turned into the
//! summary [`Report`] with small numbers suppressed. Pure: no I/O, no clock.
//!
//! In the extract's flow:
//!
//! ```text
//! cohort ─► gateway (adapters, merge, policy) ─► pseudonymise ─► NDJSON / OMOP
//!                                                     └► Counts::add   (per shard)
//! shards' counts.json ─► Counts::merge ─► Counts::report(&Rules)
//!   ─► suppress (crates/disclosure) ─► audit: any recomputable cell fails the report
//!   ─► Report::csv / Report::markdown: summary.csv, summary.md
//! ```
//!
//! # What is counted
//!
//! Each person once, by whether their record is complete (every source
//! answered) and by their [`AgeBand`](icr_pseudonymise::AgeBand) on the
//! extract's date (`Unknown` when the record has none — always so when the
//! specification gives `date_of_birth = "month_year"`, since a year and
//! month alone do not say a band on a given day). And:
//!
//! - **per condition**: people with a SNOMED CT code on a condition, counted
//!   once per code however often it is recorded; a condition verified as
//!   `refuted` or `entered-in-error` is not one they have and is not counted;
//! - **per organisation**: people for whom an organisation (its ODS code)
//!   holds items, or whose registered practice it is; counted once per
//!   organisation, by the completeness of their record, so that a reader can
//!   see where failed sources leave the figures short (bias). A source
//!   that failed for a person holds no items in their record, so the
//!   signal is carried by the organisations that did answer and by the
//!   registered practice, which counts whether or not its system answered:
//!   a practice whose system was down shows as its people's records
//!   incomplete.
//!
//! # How it is published
//!
//! Three two-way tables, each suppressed by [`icr_disclosure::Rules`] and
//! passed by [`icr_disclosure::audit`] before the report exists:
//!
//! 1. **people** — completeness × age band. Every person is in one cell,
//!    so its margins are counts of people: people per age band (the column
//!    totals), complete and incomplete records (the row totals) and people
//!    extracted (the grand total).
//! 2. **conditions** — SNOMED CT code × age band; a row's total is the
//!    people with that code. A person with two codes is in two rows, so the
//!    column totals count person–code pairs, not people (the report says so).
//! 3. **organisations** — ODS code × completeness; a row's total is the
//!    people that organisation holds records for; the column totals count
//!    person–organisation pairs.
//!
//! Every one-way figure is a margin of one of them ([`Report::per_age_band`],
//! [`Report::per_condition`], [`Report::per_organisation`],
//! [`Report::people_extracted`], [`Report::incomplete`]), taken with its
//! marks, so no figure is published twice with different suppression, and
//! no exact relation (a sum) joins two tables: the tables share no cell and
//! no total. What does join them is inequality only (people with a code in a
//! band are at most the people in that band); the audit proves each table
//! alone and does not claim more (the disclosure crate's caveats hold).
//!
//! Rows are sorted by label (code), never by count: an order by count would
//! place a suppressed row between two published ones and so bound it.
//!
//! **Only the report is for publication.** The extract's own files hold
//! every figure exactly (one row per person, and the manifest's counts of
//! people extracted and incomplete), so any suppressed count can be worked
//! out from them: they go to the extract's approved recipients only, and a
//! manifest published beside the summary must carry the report's figures
//! ([`Report::people_extracted`], [`Report::incomplete`]), not its own.
//!
//! # Bounded tables: the top codes, and "Other"
//!
//! A region has thousands of condition codes, most held by a handful of
//! people; a table of all of them would be mostly `*`, too large for
//! [`icr_disclosure::MAX_CELLS`], and slow to audit. So the report lists the
//! [`Limits`] most common codes (default [`Limits::DEFAULT_CONDITIONS`],
//! by people, ties by code) and one last row, `Other codes`, summing the
//! rest's rows — person–code pairs, since one person may hold several of
//! them. Organisations likewise ([`Limits::DEFAULT_ORGANISATIONS`], `Other
//! organisations`). The `Other` row is always there (zeros when nothing is
//! left over), so every table has the same shape whatever the data.
//!
//! [`Counts`] itself keeps at most [`MAX_TRACKED_CODES`] codes and
//! [`MAX_TRACKED_ORGANISATIONS`] organisations; anything new beyond them is
//! added straight to the `Other` row. Which ones those are depends on the
//! order people are added, so past the cap shards merged in another order
//! may list differently — but only when a code first seen past the cap
//! would have been among the top ones, which no real extract comes near.
//!
//! # Raw counts are never published
//!
//! [`Counts`] holds the counts before suppression. It is `Serialize` only so
//! that a shard can write it (`counts.json` in its own directory) for
//! `icr extract merge` to read back and [`Counts::merge`]; it must never be
//! handed to a recipient of the extract, and has no rendering of its own.
//! Publish only what [`Counts::report`] returns. Read back
//! ([`Counts::from_json`]), it is held to the shape it was written in:
//! unknown fields, keys that are not SNOMED CT concept ids or ODS codes,
//! rows of the wrong length and more rows than a run keeps apart are
//! refused (so no label of the summary can be anything but a code), and
//! the error says where and what kind of fault, never what is there. The
//! reader and the report are fuzzed ([`fuzz_counts`], `fuzz/`).

mod counts;
mod fuzz;
mod report;

#[cfg(test)]
mod properties;

pub use counts::{AGE_COLUMNS, Counts, CountsError, MAX_TRACKED_CODES, MAX_TRACKED_ORGANISATIONS};
pub use report::{Limits, Report, ReportError, Table};

/// Any bytes as `counts.json` (the first byte picks the threshold), read
/// by [`Counts::from_json`] and reported: must never panic; an error shows
/// none of the bytes; a report publishes no count below the threshold, and
/// counts read write back the same. The entry point for fuzzing.
#[doc(hidden)]
pub fn fuzz_counts(data: &[u8]) {
    fuzz::counts(data);
}
