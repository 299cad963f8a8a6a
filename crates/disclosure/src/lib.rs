//! Statistical disclosure control for the population-health extract's
//! summary report (issue 17): counts of people per condition, per
//! organisation and per age band, with small numbers suppressed so that no
//! one can be singled out from the published figures. Pure: no I/O, no
//! clock.
//!
//! In the extract's flow:
//!
//! ```text
//! cohort ─► adapters ─► merge ─► policy ─► pseudonymise (crates/pseudonymise)
//!   ─► NDJSON / OMOP tables
//!   └► counts per condition × age band, per organisation … (CountTable)
//!        ─► Rules::suppress ─► audit (must be Ok before anything is written)
//!        ─► to_csv / to_markdown: the summary report
//! ```
//!
//! # The rules
//!
//! - **Primary suppression.** Any count from 1 to `threshold − 1` (default
//!   [`Rules::DEFAULT_THRESHOLD`] = 10; a threshold of 1 suppresses nothing)
//!   is suppressed — interior cells *and* row, column and grand totals, since
//!   a total is a count of people too.
//! - **Zeros are published.** A zero identifies no one, and suppressing
//!   zeros would hide most of a sparse table for nothing; they are never
//!   suppressed, not even as complements (a complement must hide something).
//!   Because zeros are always shown, every `*` reads as "at least 1", and the
//!   audit assumes the reader knows this. (NHS England's publication
//!   guidance likewise suppresses from 1, commonly 1–7, not 0.)
//! - **No rounding.** Some guidance also rounds published counts to the
//!   nearest 5; the issue asks for suppression below a threshold only, and
//!   rounding would break the audit's exact relations. A specification that
//!   wants it rounds the published counts after the audit: that loosens the
//!   relations a reader can use and never tightens them.
//! - **Complementary suppression.** Each row and column of the table with
//!   its margins is one relation (its cells add up to its total). Where a
//!   relation has exactly one suppressed entry, the smallest other non-zero
//!   published entry in it is suppressed too (ties: the first, left to right
//!   or top to bottom; a total only when no part will do), until no relation
//!   has one. Then the audit is asked whether any suppressed entry is still
//!   determined by the relations taken together with the bounds (two
//!   suppressed 1s in a row whose total is 2 are both 1); if so, the smallest
//!   published non-zero entry in that entry's row or column is suppressed
//!   too (else the smallest in the table), and the whole goes again. It ends:
//!   with every non-zero entry suppressed nothing is determined.
//! - **One-way tables** (a list of categories with a total) are tables of one
//!   column ([`CountTable::one_way`]): one category suppressed hides the next
//!   smallest; a total below the threshold is itself suppressed, and then so
//!   is every non-zero category (each is smaller than the total).
//! - **The audit** ([`audit`]) is the proof and does not trust the
//!   suppressor's bookkeeping: from the counts and the marks alone it checks
//!   that no count from 1 to below the threshold is published, no zero is
//!   suppressed, every mark of [`Suppression::Primary`] is below the threshold
//!   (a [`Suppression::Complement`] may be of any size), and that every
//!   suppressed entry could take another whole value consistent with every
//!   published entry, every relation and every suppressed entry being ≥ 1 —
//!   an exact test, not a rule of thumb (see the module's documentation).
//!   It does not claim more: a suppressed entry's feasible range may still
//!   be narrow (two suppressed entries in a row with a published total of 11
//!   are each from 1 to 10), and a reader who knows the suppressor's own
//!   rules can reason further.
//! - **Rendering** shows every suppressed entry as `*` ([`SUPPRESSED`]) —
//!   one symbol for primary and complementary suppressions, since `<10`
//!   would be false for a complement and marking them apart would point at
//!   the small ones. A suppressed count's value never appears in its place.
//!   CSV labels that a spreadsheet would run as formulas get a leading `'`.
//!
//! # What the caller must keep to
//!
//! The proof covers one table on its own, as built. So:
//!
//! - **A table must add up.** Totals are the sums of the cells, so each
//!   person must count in one cell only (age bands and organisations of
//!   registration are exclusive; conditions are not — a person with two
//!   conditions is two in a condition × age band table's column totals, which
//!   would then not be people). Make non-exclusive categories one table each,
//!   or label the totals for what they are.
//! - **Publish a figure once.** Tables that share figures (people per
//!   organisation, and per organisation × age band) are not protected
//!   jointly: suppressed apart, one may publish what the other hides. Take
//!   the smaller table from the larger one's suppressed margins
//!   ([`Suppressed::row_margin`], [`Suppressed::column_margin`]: publishing
//!   less of a safe table is safe), or suppress them together.
//! - **Runs are not protected against each other**: two reports over
//!   cohorts differing by a few people may be differenced.
//!
//! ```
//! use icr_disclosure::{CountTable, Rules, audit, to_csv};
//!
//! let table = CountTable::one_way("People", vec![
//!     ("Y00001".into(), 40), ("Y00002".into(), 3), ("Y00003".into(), 25),
//! ]).unwrap();
//! let suppressed = Rules::default().suppress(table);
//! assert_eq!(audit(&suppressed), Ok(()));
//! assert_eq!(to_csv(&suppressed), ",People\r\nY00001,40\r\nY00002,*\r\nY00003,*\r\nTotal,68\r\n");
//! ```

mod audit;
mod render;
mod suppress;
mod table;

pub use audit::{Disclosure, audit};
pub use render::{SUPPRESSED, TOTAL, to_csv, to_markdown};
pub use suppress::{Published, Rules, Suppressed, Suppression, ZeroThreshold};
pub use table::{At, CountTable, MAX_CELLS, MAX_COLUMNS, MAX_ROWS, TableError};
