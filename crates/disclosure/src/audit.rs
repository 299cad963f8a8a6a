//! The audit: proves a suppressed table safe from its counts and marks
//! alone, whatever the suppressor did.
//!
//! What an attacker is taken to know: every published entry (cells and
//! totals), that every relation holds (each row's cells add up to its total,
//! each column's to its total, the totals to the grand total), that counts
//! are whole numbers, and that zeros are always published — so every
//! suppressed entry is at least 1. They are *not* taken to know which
//! suppressions are primary (the rendering does not say).
//!
//! What is proved: for every suppressed entry there is a second completion
//! of the table, in whole numbers, consistent with all of the above, in
//! which that entry has a different value. So no suppressed entry can be
//! recomputed from the published ones, whether by one relation ("exactly one
//! suppressed in a line") or by any combination of relations and bounds.
//!
//! How: write the table with its margins as a grid whose every line sums to
//! zero (cells and the grand total positive, row and column totals negated).
//! Two completions differ by a circulation on the suppressed entries — in the
//! bipartite graph of grid rows and grid columns, an entry joining its row and
//! its column — and every circulation is a sum of simple cycles that each
//! move their entries the same way it does. So an entry can take another
//! value exactly when some cycle through it can move by one unit without any
//! entry leaving its bounds: a path search per suppressed entry, with no
//! floating point and no solver.

use crate::suppress::{Suppressed, Suppression};
use crate::table::{At, Grid};
use std::collections::VecDeque;
use thiserror::Error;

/// Why a suppressed table is not safe to publish. Carries positions, never counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum Disclosure {
    /// A count from 1 to below the threshold is published.
    #[error("a small count is published at {0:?}")]
    SmallPublished(At),
    /// A suppressed entry's value follows from the published ones.
    #[error("the suppressed count at {0:?} can be recomputed from the published counts")]
    Recomputable(At),
    /// A zero is suppressed; zeros are always published, so a suppressed entry
    /// reads as at least 1 and the proof above would not hold.
    #[error("a zero is suppressed at {0:?}")]
    SuppressedZero(At),
    /// An entry marked as a primary suppression is not below the threshold.
    #[error("the count at {0:?} is marked as small but is not below the threshold")]
    NotSmall(At),
}

/// Checks a suppressed table: first every entry's mark against its count,
/// then whether any suppressed entry can be recomputed, each pass in
/// [`crate::CountTable::positions`] order; returns the first failure.
pub fn audit(table: &Suppressed) -> Result<(), Disclosure> {
    let grid = table.grid();
    let values = grid.values(table.table());
    let threshold = table.threshold();
    let marks: Vec<Option<Suppression>> = table
        .table()
        .positions()
        .map(|at| table.suppression(at))
        .collect();
    let small = |v: u64| v >= 1 && v < threshold;
    for (i, at) in table.table().positions().enumerate() {
        match marks[i] {
            None if small(values[i]) => return Err(Disclosure::SmallPublished(at)),
            Some(_) if values[i] == 0 => return Err(Disclosure::SuppressedZero(at)),
            Some(Suppression::Primary) if !small(values[i]) => {
                return Err(Disclosure::NotSmall(at));
            }
            _ => {}
        }
    }
    let hidden: Vec<bool> = marks.iter().map(Option::is_some).collect();
    match first_recomputable(grid, &values, &hidden, &mut vec![false; values.len()]) {
        Some(i) => Err(Disclosure::Recomputable(
            grid.at(i / grid.width(), i % grid.width()),
        )),
        None => Ok(()),
    }
}

/// The first suppressed entry (grid index) that has one feasible value only.
/// Entries marked in `movable` are taken as proven and skipped; those found
/// movable are marked. Hiding more entries only adds to the graph, so a
/// proof stays a proof and a caller that only ever hides more may keep
/// `movable` between calls.
pub(crate) fn first_recomputable(
    grid: Grid,
    values: &[u64],
    hidden: &[bool],
    movable: &mut [bool],
) -> Option<usize> {
    let w = grid.width();
    let row_nodes = grid.rows + 1;
    // Node r is grid row r; node row_nodes + c is grid column c.
    let mut arcs: Vec<Vec<(usize, usize)>> = vec![Vec::new(); row_nodes + w];
    let mut up = vec![false; values.len()];
    let mut down = vec![false; values.len()];
    for i in (0..values.len()).filter(|&i| hidden[i]) {
        let (r, c) = (i / w, i % w);
        // Cells and the grand total enter the zero-sum grid as +v, the
        // row and column totals as −v; every suppressed v must stay ≥ 1.
        let positive = (r == grid.rows) == (c == grid.columns);
        let room_below = values[i] >= 2;
        (up[i], down[i]) = if positive {
            (true, room_below)
        } else {
            (room_below, true)
        };
        if up[i] {
            arcs[r].push((row_nodes + c, i));
        }
        if down[i] {
            arcs[row_nodes + c].push((r, i));
        }
    }
    let reaches = |from: usize, to: usize, without: usize| -> bool {
        let mut seen = vec![false; arcs.len()];
        let mut queue = VecDeque::from([from]);
        seen[from] = true;
        while let Some(n) = queue.pop_front() {
            if n == to {
                return true;
            }
            for &(m, entry) in &arcs[n] {
                if entry != without && !seen[m] {
                    seen[m] = true;
                    queue.push_back(m);
                }
            }
        }
        false
    };
    for i in 0..values.len() {
        if !hidden[i] || movable[i] {
            continue;
        }
        let (row, column) = (i / w, row_nodes + i % w);
        movable[i] = (up[i] && reaches(column, row, i)) || (down[i] && reaches(row, column, i));
        if !movable[i] {
            return Some(i);
        }
    }
    None
}
