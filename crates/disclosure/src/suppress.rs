//! Primary and complementary suppression.

use crate::audit::first_recomputable;
use crate::table::{At, CountTable, Grid};
use thiserror::Error;

/// Why a suppression entry was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Suppression {
    /// The count is from 1 to below the threshold.
    Primary,
    /// The count is hidden so that a primary one cannot be worked out from
    /// the totals; it may be of any size.
    Complement,
}

/// What a table shows at a position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Published {
    /// The count, shown as it is.
    Count(u64),
    /// The count is withheld.
    Suppressed,
}

/// A threshold of zero would mean nothing is small and is surely a mistake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("the suppression threshold must be at least 1 (1 suppresses nothing)")]
pub struct ZeroThreshold;

/// The suppression rules: counts from 1 to `threshold − 1` are suppressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rules {
    threshold: u64,
}

impl Default for Rules {
    /// The threshold: counts below 10 are suppressed.
    fn default() -> Self {
        Self {
            threshold: Self::DEFAULT_THRESHOLD,
        }
    }
}

impl Rules {
    /// Counts below this are suppressed unless configured otherwise.
    pub const DEFAULT_THRESHOLD: u64 = 10;

    /// Rules with counts below `threshold` suppressed; 1 suppresses nothing.
    pub fn new(threshold: u64) -> Result<Self, ZeroThreshold> {
        if threshold == 0 {
            Err(ZeroThreshold)
        } else {
            Ok(Self { threshold })
        }
    }

    /// The threshold: the smallest count that may be published.
    pub fn threshold(self) -> u64 {
        self.threshold
    }

    /// Suppresses a table: primary suppression of small counts (margins
    /// too), then complements until [`crate::audit`] finds nothing that can
    /// be recomputed. Deterministic: the same table gives the same marks.
    pub fn suppress(self, table: CountTable) -> Suppressed {
        let grid = Grid::new(table.rows(), table.columns());
        let values = grid.values(&table);
        let mut marks: Vec<Option<Suppression>> = values
            .iter()
            .map(|&v| (v >= 1 && v < self.threshold).then_some(Suppression::Primary))
            .collect();
        let lines: Vec<Vec<usize>> = grid.lines().collect();
        let w = grid.width();
        // Entries already proven movable stay so as more is hidden.
        let mut movable = vec![false; values.len()];
        loop {
            // A line with exactly one suppressed entry gives it away: hide
            // the line's smallest other non-zero entry too, until no line has one.
            let mut changed = true;
            while changed {
                changed = false;
                for line in &lines {
                    if line.iter().filter(|&&i| marks[i].is_some()).count() == 1
                        && let Some(j) = smallest(line.iter().copied(), &values, &marks)
                    {
                        marks[j] = Some(Suppression::Complement);
                        changed = true;
                    }
                }
            }
            // Every line now hides none or two or more, yet the relations
            // together with the bounds may still pin an entry down (two
            // suppressed 1s in a line whose total is 2 are both 1): widen
            // around the first such entry and go again.
            let hidden: Vec<bool> = marks.iter().map(Option::is_some).collect();
            let Some(i) = first_recomputable(grid, &values, &hidden, &mut movable) else {
                break;
            };
            let (r, c) = (i / w, i % w);
            let around = (0..w)
                .map(|k| r * w + k)
                .chain((0..=grid.rows).map(|k| k * w + c));
            let Some(j) = smallest(around, &values, &marks)
                .or_else(|| smallest(0..values.len(), &values, &marks))
            else {
                break;
            };
            marks[j] = Some(Suppression::Complement);
        }
        Suppressed {
            table,
            threshold: self.threshold,
            marks,
        }
    }
}

/// The first of the smallest published non-zero entries among `candidates`.
fn smallest(
    candidates: impl Iterator<Item = usize>,
    values: &[u64],
    marks: &[Option<Suppression>],
) -> Option<usize> {
    candidates
        .enumerate()
        .filter(|&(_, i)| marks[i].is_none() && values[i] > 0)
        .min_by_key(|&(order, i)| (values[i], order))
        .map(|(_, i)| i)
}

/// A table with its suppression marks: what may be published and why each
/// withheld count is withheld.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suppressed {
    table: CountTable,
    threshold: u64,
    /// Grid-indexed (see [`Grid`]), margins included.
    marks: Vec<Option<Suppression>>,
}

impl Suppressed {
    /// A table with marks made elsewhere (by hand, or by another tool), for
    /// [`crate::audit`] to judge; positions outside the table are ignored.
    pub fn with_marks(
        table: CountTable,
        rules: Rules,
        marks: impl IntoIterator<Item = (At, Suppression)>,
    ) -> Self {
        let grid = Grid::new(table.rows(), table.columns());
        let mut all = vec![None; grid.len()];
        for (at, why) in marks {
            if table.get(at).is_some() {
                all[grid.index(at)] = Some(why);
            }
        }
        Self {
            table,
            threshold: rules.threshold,
            marks: all,
        }
    }

    /// The counts, suppressed ones included: never publish this.
    pub fn table(&self) -> &CountTable {
        &self.table
    }

    /// The threshold the table was suppressed at.
    pub fn threshold(&self) -> u64 {
        self.threshold
    }

    pub(crate) fn grid(&self) -> Grid {
        Grid::new(self.table.rows(), self.table.columns())
    }

    /// Why the count at a position is withheld, or `None` if it is published
    /// (or outside the table).
    pub fn suppression(&self, at: At) -> Option<Suppression> {
        self.table.get(at)?;
        self.marks[self.grid().index(at)]
    }

    /// What is published at a position; `None` outside the table.
    pub fn published(&self, at: At) -> Option<Published> {
        let value = self.table.get(at)?;
        Some(match self.suppression(at) {
            Some(_) => Published::Suppressed,
            None => Published::Count(value),
        })
    }

    /// The row totals as a one-way table of one column named `column`, with
    /// their marks: people per organisation taken from the suppressed
    /// organisation × age band table, so that the two never disagree about
    /// what is hidden. Safe whenever this table is: it publishes a part of it.
    pub fn row_margin(&self, column: impl Into<String>) -> Suppressed {
        let t = &self.table;
        let totals = (0..t.rows()).map(At::RowTotal);
        self.margin(column, t.row_labels(), totals)
    }

    /// The column totals as a one-way table (see [`Suppressed::row_margin`]).
    pub fn column_margin(&self, column: impl Into<String>) -> Suppressed {
        let t = &self.table;
        let totals = (0..t.columns()).map(At::ColumnTotal);
        self.margin(column, t.column_labels(), totals)
    }

    fn margin(
        &self,
        column: impl Into<String>,
        labels: &[String],
        totals: impl Iterator<Item = At>,
    ) -> Suppressed {
        let totals: Vec<At> = totals.collect();
        let counts = totals.iter().map(|&at| self.table.get(at).unwrap_or(0));
        let categories = labels.iter().cloned().zip(counts).collect();
        // A margin of a table within the bounds is within them too, and adds up.
        let Ok(table) = CountTable::one_way(column, categories) else {
            unreachable!("a margin of a well-formed table is a well-formed one-way table")
        };
        let mut marks = Vec::new();
        for (k, &at) in totals.iter().enumerate() {
            if let Some(why) = self.suppression(at) {
                marks.extend([
                    (At::Cell { row: k, column: 0 }, why),
                    (At::RowTotal(k), why),
                ]);
            }
        }
        if let Some(why) = self.suppression(At::GrandTotal) {
            marks.extend([(At::ColumnTotal(0), why), (At::GrandTotal, why)]);
        }
        Suppressed::with_marks(
            table,
            Rules {
                threshold: self.threshold,
            },
            marks,
        )
    }

    /// The withheld positions with their reasons, in [`CountTable::positions`] order.
    pub fn suppressions(&self) -> Vec<(At, Suppression)> {
        self.table
            .positions()
            .filter_map(|at| Some((at, self.suppression(at)?)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{Disclosure, audit};
    use Suppression::{Complement, Primary};

    fn table(rows: Vec<Vec<u64>>) -> CountTable {
        let r = rows.len();
        let c = rows.first().map_or(0, Vec::len);
        CountTable::new(
            (0..r).map(|i| format!("r{i}")).collect(),
            ["a", "b", "c", "d", "e"]
                .iter()
                .take(c)
                .map(|s| s.to_string())
                .collect(),
            rows,
        )
        .unwrap()
    }

    /// The published positions.
    fn shown(s: &Suppressed) -> Vec<At> {
        let all = s.table().positions();
        all.filter(|&at| s.suppression(at).is_none()).collect()
    }

    fn cell(row: usize, column: usize) -> At {
        At::Cell { row, column }
    }

    #[test]
    fn one_small_cell_in_a_3x3_gets_exactly_three_complements() {
        let t = table(vec![vec![20, 30, 40], vec![25, 5, 35], vec![50, 45, 15]]);
        let s = Rules::default().suppress(t);
        assert_eq!(
            s.suppressions(),
            vec![
                (cell(0, 0), Complement),
                (cell(0, 1), Complement),
                (cell(1, 0), Complement),
                (cell(1, 1), Primary),
            ]
        );
        assert_eq!(s.published(At::RowTotal(1)), Some(Published::Count(65)));
        assert_eq!(s.published(cell(1, 1)), Some(Published::Suppressed));
        assert_eq!(audit(&s), Ok(()));
    }

    #[test]
    fn two_ones_whose_total_gives_them_away_get_a_third() {
        // 1 + 1 + 30 = 32 published: the two 1s hide each other in every
        // line, yet being ≥ 1 and adding to 2 they are both 1.
        let t = table(vec![vec![1, 1, 30]]);
        let s = Rules::default().suppress(t);
        assert_eq!(
            s.suppressions(),
            vec![
                (cell(0, 0), Primary),
                (cell(0, 1), Primary),
                (cell(0, 2), Complement),
                (At::ColumnTotal(0), Primary),
                (At::ColumnTotal(1), Primary),
                (At::ColumnTotal(2), Complement),
            ]
        );
        assert_eq!(s.published(At::GrandTotal), Some(Published::Count(32)));
        assert_eq!(audit(&s), Ok(()));
    }

    #[test]
    fn all_small_leaves_only_a_total_that_is_not() {
        let s = Rules::default().suppress(table(vec![vec![1, 2], vec![3, 4]]));
        assert_eq!(shown(&s), vec![At::GrandTotal]);
        assert!(s.suppressions().iter().all(|&(_, why)| why == Primary));
        assert_eq!(audit(&s), Ok(()));
    }

    #[test]
    fn all_small_with_a_small_grand_total_hides_everything() {
        let s = Rules::default().suppress(table(vec![vec![1, 2], vec![3, 0]]));
        assert_eq!(shown(&s), vec![cell(1, 1)], "only the zero is shown");
        assert_eq!(audit(&s), Ok(()));
    }

    #[test]
    fn zeros_are_published_and_never_complements() {
        let s = Rules::default().suppress(table(vec![vec![0, 50], vec![5, 50]]));
        assert_eq!(
            s.suppressions(),
            vec![
                (cell(1, 0), Primary),
                (cell(1, 1), Complement),
                (At::ColumnTotal(0), Primary),
                (At::ColumnTotal(1), Complement),
            ]
        );
        assert_eq!(s.published(cell(0, 0)), Some(Published::Count(0)));
        assert_eq!(audit(&s), Ok(()));
    }

    #[test]
    fn threshold_one_suppresses_nothing() {
        let s = Rules::new(1)
            .unwrap()
            .suppress(table(vec![vec![1, 2], vec![0, 4]]));
        assert_eq!(s.suppressions(), vec![]);
        assert_eq!(audit(&s), Ok(()));
        assert_eq!(Rules::new(0), Err(ZeroThreshold));
        assert_eq!(Rules::default().threshold(), 10);
    }

    #[test]
    fn a_one_way_table_hides_the_next_smallest() {
        let categories = vec![
            ("x".into(), 40),
            ("y".into(), 3),
            ("z".into(), 25),
            ("w".into(), 12),
        ];
        let s = Rules::default().suppress(CountTable::one_way("People", categories).unwrap());
        let hidden: Vec<At> = s.suppressions().into_iter().map(|(at, _)| at).collect();
        assert_eq!(
            hidden,
            vec![cell(1, 0), At::RowTotal(1), cell(3, 0), At::RowTotal(3)],
            "3 and then 12, the next smallest; the total 80 stays"
        );
        assert_eq!(audit(&s), Ok(()));
    }

    #[test]
    fn a_small_one_way_total_hides_everything_but_zeros() {
        let categories = vec![("x".into(), 4), ("y".into(), 0), ("z".into(), 3)];
        let s = Rules::default().suppress(CountTable::one_way("People", categories).unwrap());
        assert_eq!(s.published(At::GrandTotal), Some(Published::Suppressed));
        assert_eq!(s.published(cell(1, 0)), Some(Published::Count(0)));
        assert_eq!(s.published(cell(0, 0)), Some(Published::Suppressed));
        assert_eq!(audit(&s), Ok(()));
    }

    #[test]
    fn the_audit_rejects_hand_made_unsafe_tables() {
        let t = table(vec![vec![20, 30, 40], vec![25, 5, 35], vec![50, 45, 15]]);
        let judge = |t: &CountTable, marks: &[(At, Suppression)]| {
            audit(&Suppressed::with_marks(
                t.clone(),
                Rules::default(),
                marks.iter().copied(),
            ))
        };
        assert_eq!(judge(&t, &[]), Err(Disclosure::SmallPublished(cell(1, 1))));
        // The small cell alone: its row total minus its row gives it.
        assert_eq!(
            judge(&t, &[(cell(1, 1), Primary)]),
            Err(Disclosure::Recomputable(cell(1, 1)))
        );
        // A complement in its row but none in its column: the column gives it.
        let row_only = [(cell(1, 1), Primary), (cell(1, 0), Complement)];
        assert_eq!(
            judge(&t, &row_only),
            Err(Disclosure::Recomputable(cell(1, 0)))
        );
        assert_eq!(
            judge(&t, &[(cell(0, 0), Primary)]),
            Err(Disclosure::NotSmall(cell(0, 0)))
        );
        let zero = table(vec![vec![0, 5], vec![20, 20]]);
        let zero_marks = [(cell(0, 0), Complement), (cell(0, 1), Primary)];
        assert_eq!(
            judge(&zero, &zero_marks),
            Err(Disclosure::SuppressedZero(cell(0, 0)))
        );
        // Every line hides two or none, but 1 + 1 = 32 − 30 pins both.
        let pinned = table(vec![vec![1, 1, 30]]);
        let marks = [
            cell(0, 0),
            cell(0, 1),
            At::ColumnTotal(0),
            At::ColumnTotal(1),
        ]
        .map(|at| (at, Primary));
        assert_eq!(
            judge(&pinned, &marks),
            Err(Disclosure::Recomputable(cell(0, 0)))
        );
    }

    #[test]
    fn margins_keep_the_marks_of_the_table_they_come_from() {
        // Row 0's total 7 is small, so the next smallest row total (39) goes
        // too; the column totals all stay.
        let t = table(vec![vec![4, 3, 0], vec![20, 30, 40], vec![14, 13, 12]]);
        let s = Rules::default().suppress(t);
        assert_eq!(s.suppression(At::RowTotal(0)), Some(Primary));
        assert_eq!(s.suppression(At::RowTotal(2)), Some(Complement));
        let rows = s.row_margin("People");
        assert_eq!(
            rows.suppression(At::Cell { row: 2, column: 0 }),
            Some(Complement)
        );
        assert_eq!(
            crate::to_csv(&rows),
            ",People\r\nr0,*\r\nr1,90\r\nr2,*\r\nTotal,136\r\n"
        );
        assert_eq!(audit(&rows), Ok(()));
        let columns = s.column_margin("People");
        assert_eq!(columns.table().row_labels(), ["a", "b", "c"]);
        assert_eq!(
            crate::to_csv(&columns),
            ",People\r\na,38\r\nb,46\r\nc,52\r\nTotal,136\r\n"
        );
        assert_eq!(audit(&columns), Ok(()));
    }

    #[test]
    fn suppression_of_a_big_table_is_safe() {
        let rows = (0..40u64)
            .map(|r| (0..8u64).map(|c| (r * 7 + c * 13) % 23).collect())
            .collect();
        let s = Rules::default().suppress(table_wide(rows, 8));
        assert_eq!(audit(&s), Ok(()));
    }

    fn table_wide(rows: Vec<Vec<u64>>, columns: usize) -> CountTable {
        CountTable::new(
            (0..rows.len()).map(|i| format!("r{i}")).collect(),
            (0..columns).map(|i| format!("c{i}")).collect(),
            rows,
        )
        .unwrap()
    }
}
