//! The published table as CSV and Markdown: a suppressed count is `*`.

use crate::suppress::{Published, Suppressed};
use crate::table::At;

/// What a suppressed count is shown as. One symbol for primary and
/// complementary suppressions alike: `<10` would be false for a complement,
/// and telling them apart would tell which entries are small.
pub const SUPPRESSED: &str = "*";

/// The header of the totals' row and column.
pub const TOTAL: &str = "Total";

/// The table as rows of text cells: a header, the rows, the totals' row. A
/// one-column table has no totals' column (it would repeat the column), a
/// one-row table no totals' row; an entry is `*` if it or the margin it
/// stands for is suppressed.
fn text_rows(table: &Suppressed) -> Vec<Vec<String>> {
    let t = table.table();
    let (rows, columns) = (t.rows(), t.columns());
    let with_total_column = columns > 1;
    let with_total_row = rows > 1;
    let show = |ats: &[At]| -> String {
        let mut shown = None;
        for &at in ats {
            match table.published(at) {
                Some(Published::Count(v)) => shown = Some(v),
                _ => return SUPPRESSED.to_owned(),
            }
        }
        shown.map_or_else(|| SUPPRESSED.to_owned(), |v| v.to_string())
    };
    let mut out = Vec::with_capacity(rows + 2);
    let mut header = vec![String::new()];
    header.extend(t.column_labels().iter().cloned());
    if with_total_column {
        header.push(TOTAL.to_owned());
    }
    out.push(header);
    let line = |label: String, cell: &dyn Fn(usize) -> Vec<At>, total: Vec<At>| {
        let mut line = vec![label];
        line.extend((0..columns).map(|column| show(&cell(column))));
        if with_total_column {
            line.push(show(&total));
        }
        line
    };
    for (row, label) in t.row_labels().iter().enumerate() {
        let cell = |column| {
            let mut ats = vec![At::Cell { row, column }];
            if !with_total_column {
                ats.push(At::RowTotal(row));
            }
            if !with_total_row {
                ats.push(At::ColumnTotal(column));
            }
            ats
        };
        let mut total = vec![At::RowTotal(row)];
        if !with_total_row {
            total.push(At::GrandTotal);
        }
        out.push(line(label.clone(), &cell, total));
    }
    if with_total_row {
        let cell = |column| {
            let mut ats = vec![At::ColumnTotal(column)];
            if !with_total_column {
                ats.push(At::GrandTotal);
            }
            ats
        };
        out.push(line(TOTAL.to_owned(), &cell, vec![At::GrandTotal]));
    }
    out
}

/// The table as CSV (RFC 4180: fields with a comma, quote or line break are
/// quoted). A label a spreadsheet would take for a formula (starting `=`,
/// `+`, `-`, `@`, a tab or a carriage return) is prefixed with `'`.
pub fn to_csv(table: &Suppressed) -> String {
    let field = |s: &str| {
        let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
            format!("'{s}")
        } else {
            s.to_owned()
        };
        if s.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s
        }
    };
    let mut out = String::new();
    for line in text_rows(table) {
        let fields: Vec<String> = line.iter().map(|s| field(s)).collect();
        out.push_str(&fields.join(","));
        out.push_str("\r\n");
    }
    out
}

/// The table as a Markdown (GitHub) table, with a note on what `*` means.
pub fn to_markdown(table: &Suppressed) -> String {
    let cell = |s: &str| s.replace('|', "\\|").replace(['\n', '\r'], " ");
    let lines = text_rows(table);
    let mut out = String::new();
    for (n, line) in lines.iter().enumerate() {
        let cells: Vec<String> = line.iter().map(|s| cell(s)).collect();
        out.push_str(&format!("| {} |\n", cells.join(" | ")));
        if n == 0 {
            let align: Vec<&str> = (0..line.len())
                .map(|k| if k == 0 { "---" } else { "---:" })
                .collect();
            out.push_str(&format!("|{}|\n", align.join("|")));
        }
    }
    out.push_str(&format!(
        "\n`{SUPPRESSED}`: fewer than {}, or withheld so that no count below {} can be worked out from the totals.\n",
        table.threshold(),
        table.threshold()
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CountTable, Rules};

    fn three_by_three() -> Suppressed {
        let t = CountTable::new(
            vec!["r0".into(), "r1".into(), "r|2".into()],
            vec!["a".into(), "b, c".into(), "\"d\"".into()],
            vec![vec![20, 30, 40], vec![25, 5, 35], vec![50, 45, 15]],
        )
        .unwrap();
        Rules::default().suppress(t)
    }

    #[test]
    fn csv_shows_stars_and_quotes_labels() {
        assert_eq!(
            to_csv(&three_by_three()),
            ",a,\"b, c\",\"\"\"d\"\"\",Total\r\n\
             r0,*,*,40,90\r\n\
             r1,*,*,35,65\r\n\
             r|2,50,45,15,110\r\n\
             Total,95,80,90,265\r\n"
        );
    }

    #[test]
    fn markdown_shows_stars_escapes_pipes_and_says_what_a_star_means() {
        assert_eq!(
            to_markdown(&three_by_three()),
            "|  | a | b, c | \"d\" | Total |\n\
             |---|---:|---:|---:|---:|\n\
             | r0 | * | * | 40 | 90 |\n\
             | r1 | * | * | 35 | 65 |\n\
             | r\\|2 | 50 | 45 | 15 | 110 |\n\
             | Total | 95 | 80 | 90 | 265 |\n\
             \n`*`: fewer than 10, or withheld so that no count below 10 can be worked out from the totals.\n"
        );
    }

    #[test]
    fn csv_labels_never_read_as_formulas() {
        let t = CountTable::one_way(
            "=n",
            vec![
                ("=1+1".into(), 20),
                ("@SUM(A1)".into(), 30),
                ("85+".into(), 12),
            ],
        )
        .unwrap();
        assert_eq!(
            to_csv(&Rules::default().suppress(t)),
            ",'=n\r\n'=1+1,20\r\n'@SUM(A1),30\r\n85+,12\r\nTotal,62\r\n"
        );
    }

    #[test]
    fn a_one_row_table_has_no_totals_row() {
        let t = CountTable::new(
            vec!["all".into()],
            vec!["a".into(), "b".into(), "c".into()],
            vec![vec![1, 1, 30]],
        )
        .unwrap();
        assert_eq!(
            to_csv(&Rules::default().suppress(t)),
            ",a,b,c,Total\r\nall,*,*,*,32\r\n"
        );
    }
}
