//! Count tables: rows × columns of counts with their margins.

use thiserror::Error;

/// Most rows a table may have (organisations in a region, with room).
pub const MAX_ROWS: usize = 10_000;
/// Most columns a table may have (age bands, sexes, years).
pub const MAX_COLUMNS: usize = 1_000;
/// Most interior cells a table may have. The audit's time grows with the
/// square of the suppressed entries: 4,000 of them take about 11 ms
/// (BENCHMARKS.md); a table at the caps with every count 1 or 3 (20,000 to
/// 30,000 suppressed) takes 0.2 to 1 s to suppress and as long to audit.
pub const MAX_CELLS: usize = 20_000;

/// A position in a table with its margins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum At {
    /// An interior cell.
    Cell { row: usize, column: usize },
    /// A row's total (the right-hand margin).
    RowTotal(usize),
    /// A column's total (the bottom margin).
    ColumnTotal(usize),
    /// The grand total.
    GrandTotal,
}

/// Why a table could not be built.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TableError {
    /// The row with this index has a different number of cells than there are columns.
    #[error("row {row} has {found} counts, the table has {expected} columns")]
    Ragged {
        row: usize,
        found: usize,
        expected: usize,
    },
    /// There are more labels than counts or the other way round.
    #[error("{labels} row labels for {rows} rows of counts")]
    RowLabels { labels: usize, rows: usize },
    /// The table exceeds [`MAX_ROWS`], [`MAX_COLUMNS`] or [`MAX_CELLS`].
    #[error("table of {rows} × {columns} is larger than allowed")]
    TooLarge { rows: usize, columns: usize },
    /// A table needs at least one row and one column.
    #[error("a table needs at least one row and one column")]
    Empty,
    /// A total does not fit in 64 bits.
    #[error("a total overflows")]
    Overflow,
}

/// Rows × columns of non-negative counts (people per condition per age
/// band, say), with row totals, column totals and a grand total derived
/// from them — never supplied, so they always add up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CountTable {
    row_labels: Vec<String>,
    column_labels: Vec<String>,
    /// Row-major, `rows × columns`.
    cells: Vec<u64>,
    row_totals: Vec<u64>,
    column_totals: Vec<u64>,
    grand_total: u64,
}

impl CountTable {
    /// A table from its labels and its rows of counts.
    pub fn new(
        row_labels: Vec<String>,
        column_labels: Vec<String>,
        rows: Vec<Vec<u64>>,
    ) -> Result<Self, TableError> {
        let (r, c) = (rows.len(), column_labels.len());
        if row_labels.len() != r {
            return Err(TableError::RowLabels {
                labels: row_labels.len(),
                rows: r,
            });
        }
        if r == 0 || c == 0 {
            return Err(TableError::Empty);
        }
        if r > MAX_ROWS || c > MAX_COLUMNS || r.saturating_mul(c) > MAX_CELLS {
            return Err(TableError::TooLarge {
                rows: r,
                columns: c,
            });
        }
        let mut cells = Vec::with_capacity(r * c);
        for (row, counts) in rows.into_iter().enumerate() {
            if counts.len() != c {
                return Err(TableError::Ragged {
                    row,
                    found: counts.len(),
                    expected: c,
                });
            }
            cells.extend(counts);
        }
        let mut row_totals = vec![0u64; r];
        let mut column_totals = vec![0u64; c];
        for (i, &v) in cells.iter().enumerate() {
            let (row, column) = (i / c, i % c);
            row_totals[row] = row_totals[row].checked_add(v).ok_or(TableError::Overflow)?;
            column_totals[column] = column_totals[column]
                .checked_add(v)
                .ok_or(TableError::Overflow)?;
        }
        let grand_total = row_totals
            .iter()
            .try_fold(0u64, |a, &v| a.checked_add(v))
            .ok_or(TableError::Overflow)?;
        Ok(Self {
            row_labels,
            column_labels,
            cells,
            row_totals,
            column_totals,
            grand_total,
        })
    }

    /// A one-way table (people per organisation, say): each category a row
    /// of one column named `column`; its total is the grand total.
    pub fn one_way(
        column: impl Into<String>,
        categories: Vec<(String, u64)>,
    ) -> Result<Self, TableError> {
        let (labels, counts): (Vec<_>, Vec<_>) = categories.into_iter().unzip();
        Self::new(
            labels,
            vec![column.into()],
            counts.into_iter().map(|v| vec![v]).collect(),
        )
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.row_labels.len()
    }

    /// Number of columns.
    pub fn columns(&self) -> usize {
        self.column_labels.len()
    }

    /// The rows' labels.
    pub fn row_labels(&self) -> &[String] {
        &self.row_labels
    }

    /// The columns' labels.
    pub fn column_labels(&self) -> &[String] {
        &self.column_labels
    }

    /// The count at a position, margins included; `None` outside the table.
    pub fn get(&self, at: At) -> Option<u64> {
        match at {
            At::Cell { row, column } if row < self.rows() && column < self.columns() => {
                Some(self.cells[row * self.columns() + column])
            }
            At::Cell { .. } => None,
            At::RowTotal(row) => self.row_totals.get(row).copied(),
            At::ColumnTotal(column) => self.column_totals.get(column).copied(),
            At::GrandTotal => Some(self.grand_total),
        }
    }

    /// Every position, margins included, in a fixed order: row by row, each
    /// row's cells then its total; then the column totals and the grand total.
    pub fn positions(&self) -> impl Iterator<Item = At> + '_ {
        let (r, c) = (self.rows(), self.columns());
        (0..=r).flat_map(move |row| (0..=c).map(move |column| Grid::new(r, c).at(row, column)))
    }
}

/// The table with its margins as one `(rows + 1) × (columns + 1)` grid, the
/// margins in the last row and column. Every line of the grid (a row or a
/// column, the margins' too) is one linear relation: its parts add up to its
/// last entry.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Grid {
    pub rows: usize,
    pub columns: usize,
}

impl Grid {
    pub(crate) fn new(rows: usize, columns: usize) -> Self {
        Self { rows, columns }
    }

    /// The grid's width (columns and the totals' column).
    pub(crate) fn width(self) -> usize {
        self.columns + 1
    }

    /// Number of entries, margins included.
    pub(crate) fn len(self) -> usize {
        (self.rows + 1) * self.width()
    }

    pub(crate) fn at(self, row: usize, column: usize) -> At {
        match (row == self.rows, column == self.columns) {
            (false, false) => At::Cell { row, column },
            (false, true) => At::RowTotal(row),
            (true, false) => At::ColumnTotal(column),
            (true, true) => At::GrandTotal,
        }
    }

    pub(crate) fn index(self, at: At) -> usize {
        let (row, column) = match at {
            At::Cell { row, column } => (row, column),
            At::RowTotal(row) => (row, self.columns),
            At::ColumnTotal(column) => (self.rows, column),
            At::GrandTotal => (self.rows, self.columns),
        };
        row * self.width() + column
    }

    /// The grid's entries of a table, row-major.
    pub(crate) fn values(self, table: &CountTable) -> Vec<u64> {
        (0..self.len())
            .map(|i| {
                table
                    .get(self.at(i / self.width(), i % self.width()))
                    .unwrap_or(0)
            })
            .collect()
    }

    /// Indices of the entries of every line: each grid row, then each grid column.
    pub(crate) fn lines(self) -> impl Iterator<Item = Vec<usize>> {
        let w = self.width();
        let rows = (0..=self.rows).map(move |r| (0..w).map(|c| r * w + c).collect());
        let columns = (0..w).map(move |c| (0..=self.rows).map(|r| r * w + c).collect());
        rows.chain(columns)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(n: usize, p: &str) -> Vec<String> {
        (0..n).map(|i| format!("{p}{i}")).collect()
    }

    #[test]
    fn totals_are_derived() {
        let t = CountTable::new(
            labels(2, "r"),
            labels(3, "c"),
            vec![vec![1, 2, 3], vec![4, 5, 6]],
        )
        .unwrap();
        assert_eq!(t.get(At::RowTotal(0)), Some(6));
        assert_eq!(t.get(At::RowTotal(1)), Some(15));
        assert_eq!(t.get(At::ColumnTotal(2)), Some(9));
        assert_eq!(t.get(At::GrandTotal), Some(21));
        assert_eq!(t.get(At::Cell { row: 1, column: 0 }), Some(4));
        assert_eq!(t.get(At::Cell { row: 2, column: 0 }), None);
        assert_eq!(t.positions().count(), 12);
        assert_eq!(t.positions().last(), Some(At::GrandTotal));
    }

    #[test]
    fn malformed_tables_are_refused() {
        assert_eq!(
            CountTable::new(labels(1, "r"), labels(2, "c"), vec![vec![1]]),
            Err(TableError::Ragged {
                row: 0,
                found: 1,
                expected: 2
            })
        );
        assert_eq!(
            CountTable::new(labels(2, "r"), labels(1, "c"), vec![vec![1]]),
            Err(TableError::RowLabels { labels: 2, rows: 1 })
        );
        assert_eq!(
            CountTable::new(vec![], labels(1, "c"), vec![]),
            Err(TableError::Empty)
        );
        assert_eq!(
            CountTable::new(labels(1, "r"), labels(2, "c"), vec![vec![u64::MAX, 1]]),
            Err(TableError::Overflow)
        );
        assert_eq!(
            CountTable::new(labels(1, "r"), labels(1001, "c"), vec![vec![0; 1001]]),
            Err(TableError::TooLarge {
                rows: 1,
                columns: 1001
            })
        );
    }

    #[test]
    fn more_cells_than_the_audit_affords_are_refused() {
        let (rows, columns) = (201, 100);
        let t = CountTable::new(
            labels(rows, "r"),
            labels(columns, "c"),
            vec![vec![0; columns]; rows],
        );
        assert_eq!(t, Err(TableError::TooLarge { rows, columns }));
        assert!(
            CountTable::new(labels(200, "r"), labels(100, "c"), vec![vec![0; 100]; 200]).is_ok()
        );
    }

    #[test]
    fn grid_lines_cover_rows_columns_and_margins() {
        let g = Grid::new(1, 2);
        let lines: Vec<_> = g.lines().collect();
        assert_eq!(
            lines,
            vec![
                vec![0, 1, 2],
                vec![3, 4, 5],
                vec![0, 3],
                vec![1, 4],
                vec![2, 5]
            ]
        );
        assert_eq!(g.index(At::GrandTotal), 5);
        assert_eq!(g.at(0, 2), At::RowTotal(0));
        assert_eq!(g.at(1, 1), At::ColumnTotal(1));
    }
}
