//! The summary report: the counts as three suppressed, audited tables.

use std::collections::BTreeMap;
use std::fmt::{self, Display};

use icr_disclosure::{
    At, CountTable, Disclosure, MAX_CELLS, MAX_ROWS, Published, Rules, SUPPRESSED, Suppressed,
    TableError, audit, to_csv, to_markdown,
};

use crate::counts::{AGE_COLUMNS, Counts, add_all, band_labels, sum};

/// The report's tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    /// People by completeness × age band.
    People,
    /// People by condition code × age band.
    Conditions,
    /// People by organisation × completeness.
    Organisations,
}

impl Table {
    /// The table's title, as the report shows it.
    pub fn title(self) -> &'static str {
        match self {
            Table::People => "People extracted by record completeness and age band",
            Table::Conditions => {
                "People by condition (SNOMED CT) and age band; the Total row counts a person once per code"
            }
            Table::Organisations => {
                "People by organisation (ODS code) and record completeness; the Total row counts a person once per organisation"
            }
        }
    }
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Table::People => "people",
            Table::Conditions => "conditions",
            Table::Organisations => "organisations",
        })
    }
}

/// Why no report could be made. Names positions, never counts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReportError {
    /// A table could not be built (a total overflows).
    #[error("the {table} table could not be built: {source}")]
    Table {
        /// Which.
        table: Table,
        /// Why.
        source: TableError,
    },
    /// A table failed the disclosure audit: nothing may be published.
    #[error("the {table} table failed the disclosure audit: {source}")]
    Disclosure {
        /// Which.
        table: Table,
        /// Why.
        source: Disclosure,
    },
}

/// How many condition codes and organisations the report lists by name;
/// the rest are summed into an `Other` row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    conditions: usize,
    organisations: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            conditions: Self::DEFAULT_CONDITIONS,
            organisations: Self::DEFAULT_ORGANISATIONS,
        }
    }
}

impl Limits {
    /// Condition codes listed unless configured otherwise.
    pub const DEFAULT_CONDITIONS: usize = 200;
    /// Organisations listed unless configured otherwise.
    pub const DEFAULT_ORGANISATIONS: usize = 1_000;
    /// Most condition codes a table of [`AGE_COLUMNS`] columns and an
    /// `Other` row can list within [`MAX_CELLS`].
    pub const MAX_CONDITIONS: usize = MAX_CELLS / AGE_COLUMNS - 1;
    /// Most organisations a table can list with an `Other` row.
    pub const MAX_ORGANISATIONS: usize = MAX_ROWS - 1;

    /// Limits listing up to `conditions` codes and `organisations`
    /// organisations, each capped at its maximum.
    pub fn new(conditions: usize, organisations: usize) -> Self {
        Self {
            conditions: conditions.min(Self::MAX_CONDITIONS),
            organisations: organisations.min(Self::MAX_ORGANISATIONS),
        }
    }
}

/// The summary: every table suppressed and audited, safe to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    people: Suppressed,
    conditions: Suppressed,
    organisations: Suppressed,
}

const OTHER_CODES: &str = "Other codes";
const OTHER_ORGANISATIONS: &str = "Other organisations";
const COMPLETENESS: [&str; 2] = ["Complete", "Incomplete (a source failed)"];
const PEOPLE: &str = "People";

impl Counts {
    /// The suppressed summary with the default [`Limits`].
    pub fn report(&self, rules: &Rules) -> Result<Report, ReportError> {
        self.report_with(rules, Limits::default())
    }

    /// The suppressed summary listing as many codes and organisations as
    /// `limits` says. Fails if any table (or a margin taken from one) does
    /// not pass the disclosure audit.
    pub fn report_with(&self, rules: &Rules, limits: Limits) -> Result<Report, ReportError> {
        let bands = band_labels();
        let people = CountTable::new(
            COMPLETENESS.map(str::to_owned).to_vec(),
            bands.clone(),
            self.by_completeness().map(|r| r.to_vec()).to_vec(),
        );
        let (codes, untracked) = self.conditions();
        let (labels, rows) = listed(codes, untracked, limits.conditions, OTHER_CODES);
        let conditions = CountTable::new(labels, bands, rows);
        let (organisations, untracked) = self.organisations();
        let (labels, rows) = listed(
            organisations,
            untracked,
            limits.organisations,
            OTHER_ORGANISATIONS,
        );
        let organisations = CountTable::new(labels, COMPLETENESS.map(str::to_owned).to_vec(), rows);
        let report = Report {
            people: publish(Table::People, people, rules)?,
            conditions: publish(Table::Conditions, conditions, rules)?,
            organisations: publish(Table::Organisations, organisations, rules)?,
        };
        // The one-way figures are parts of the tables: proven with them, and
        // checked again on their own.
        for (table, margin) in [
            (Table::People, report.per_age_band()),
            (Table::People, report.people.row_margin(PEOPLE)),
            (Table::Conditions, report.per_condition()),
            (Table::Organisations, report.per_organisation()),
        ] {
            audited(table, margin)?;
        }
        Ok(report)
    }
}

/// The top `k` rows by total (ties by label), sorted by label, then the
/// rest and the untracked row summed into an `other` row.
fn listed<K: Ord + Display, const N: usize>(
    rows: &BTreeMap<K, [u64; N]>,
    untracked: &[u64; N],
    k: usize,
    other: &str,
) -> (Vec<String>, Vec<Vec<u64>>) {
    let mut ranked: Vec<(&K, &[u64; N])> = rows.iter().collect();
    // Stable over the map's label order, so ties keep it.
    ranked.sort_by_key(|(_, row)| std::cmp::Reverse(sum(&row[..])));
    let rest = ranked.split_off(k.min(ranked.len()));
    // Rows by label, never by count: an order by count would bound the
    // suppressed ones between their published neighbours.
    ranked.sort_by_key(|(label, _)| *label);
    let mut others = *untracked;
    for (_, row) in rest {
        add_all(&mut others, row);
    }
    ranked
        .into_iter()
        .map(|(label, row)| (label.to_string(), row.to_vec()))
        .chain([(other.to_owned(), others.to_vec())])
        .unzip()
}

/// A table suppressed and audited.
fn publish(
    table: Table,
    counts: Result<CountTable, TableError>,
    rules: &Rules,
) -> Result<Suppressed, ReportError> {
    let counts = counts.map_err(|source| ReportError::Table { table, source })?;
    audited(table, rules.suppress(counts))
}

/// A suppressed table, if the audit passes it.
fn audited(table: Table, suppressed: Suppressed) -> Result<Suppressed, ReportError> {
    audit(&suppressed).map_err(|source| ReportError::Disclosure { table, source })?;
    Ok(suppressed)
}

impl Report {
    /// People by completeness × age band.
    pub fn people(&self) -> &Suppressed {
        &self.people
    }

    /// People by condition code × age band.
    pub fn conditions(&self) -> &Suppressed {
        &self.conditions
    }

    /// People by organisation × completeness.
    pub fn organisations(&self) -> &Suppressed {
        &self.organisations
    }

    /// People per age band: the people table's column totals.
    pub fn per_age_band(&self) -> Suppressed {
        self.people.column_margin(PEOPLE)
    }

    /// People per condition code: the conditions table's row totals.
    pub fn per_condition(&self) -> Suppressed {
        self.conditions.row_margin(PEOPLE)
    }

    /// People per organisation: the organisations table's row totals.
    pub fn per_organisation(&self) -> Suppressed {
        self.organisations.row_margin(PEOPLE)
    }

    /// People extracted: the people table's grand total, as published.
    pub fn people_extracted(&self) -> Published {
        self.shown(At::GrandTotal)
    }

    /// People whose record is incomplete, as published.
    pub fn incomplete(&self) -> Published {
        self.shown(At::RowTotal(1))
    }

    fn shown(&self, at: At) -> Published {
        self.people.published(at).unwrap_or(Published::Suppressed)
    }

    /// The headline figures: (label, published value).
    fn headline(&self) -> [(String, String); 3] {
        let text = |p: Published| match p {
            Published::Count(n) => n.to_string(),
            Published::Suppressed => SUPPRESSED.to_owned(),
        };
        [
            ("People extracted".into(), text(self.people_extracted())),
            (
                "Incomplete records (a source failed)".into(),
                text(self.incomplete()),
            ),
            (
                "Counts suppressed below".into(),
                self.people.threshold().to_string(),
            ),
        ]
    }

    fn tables(&self) -> [(Table, &Suppressed); 3] {
        [
            (Table::People, &self.people),
            (Table::Conditions, &self.conditions),
            (Table::Organisations, &self.organisations),
        ]
    }

    /// The report as CSV: the headline figures, then each table under its
    /// title, a blank line between them. Deterministic for the same counts.
    pub fn csv(&self) -> String {
        let mut out = String::new();
        for (label, value) in self.headline() {
            out.push_str(&format!("{label},{value}\r\n"));
        }
        for (table, suppressed) in self.tables() {
            out.push_str(&format!("\r\n{}\r\n", table.title()));
            out.push_str(&to_csv(suppressed));
        }
        out
    }

    /// The report as Markdown: the headline figures as a list, then each
    /// table under a heading. Deterministic for the same counts.
    pub fn markdown(&self) -> String {
        let mut out = String::from("# Population health extract: summary\n\n");
        for (label, value) in self.headline() {
            out.push_str(&format!("- {label}: {value}\n"));
        }
        for (table, suppressed) in self.tables() {
            out.push_str(&format!("\n## {}\n\n", table.title()));
            out.push_str(&to_markdown(suppressed));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::counts::tests::person;
    use icr_disclosure::Suppression;

    fn rules(threshold: u64) -> Rules {
        Rules::new(threshold).unwrap()
    }

    /// 12 people in 40-44 with code A, 3 of them also with B; 2 in 65-69
    /// with A; all registered at Y00001 except the last two (Y00002);
    /// one incomplete.
    fn population() -> Counts {
        let mut c = Counts::default();
        for n in 0..14u32 {
            let age = if n < 12 { 42 } else { 67 };
            let practice = if n < 12 { "Y00001" } else { "Y00002" };
            let mut conditions = vec![("44054006", "RN3")];
            if n < 3 {
                conditions.push(("38341003", "RN3"));
            }
            c.add(&person(n, Some(age), Some(practice), &conditions), n != 5);
        }
        c
    }

    #[test]
    fn the_report_is_exact_and_suppressed() {
        let report = population().report(&Rules::default()).unwrap();
        let zeros = |n: usize| ",0".repeat(n);
        let expected = format!(
            "People extracted,14\r\n\
             Incomplete records (a source failed),*\r\n\
             Counts suppressed below,10\r\n\
             \r\n{people}\r\n\
             ,0-4,5-9,10-14,15-19,20-24,25-29,30-34,35-39,40-44,45-49,50-54,55-59,60-64,65-69,70-74,75-79,80-84,85-89,90+,Unknown,Total\r\n\
             Complete{z8},*{z4},*{z6},*\r\n\
             Incomplete (a source failed){z8},*{z4},0{z6},*\r\n\
             Total{z8},*{z4},*{z6},14\r\n\
             \r\n{conditions}\r\n\
             ,0-4,5-9,10-14,15-19,20-24,25-29,30-34,35-39,40-44,45-49,50-54,55-59,60-64,65-69,70-74,75-79,80-84,85-89,90+,Unknown,Total\r\n\
             38341003{z8},*{z4},0{z6},*\r\n\
             44054006{z8},*{z4},*{z6},*\r\n\
             Other codes{z8},0{z4},0{z6},0\r\n\
             Total{z8},*{z4},*{z6},17\r\n\
             \r\n{organisations}\r\n\
             ,Complete,Incomplete (a source failed),Total\r\n\
             RN3,*,*,14\r\n\
             Y00001,*,*,*\r\n\
             Y00002,*,0,*\r\n\
             Other organisations,0,0,0\r\n\
             Total,*,*,28\r\n",
            people = Table::People.title(),
            conditions = Table::Conditions.title(),
            organisations = Table::Organisations.title(),
            z8 = zeros(8),
            z4 = zeros(4),
            z6 = zeros(6),
        );
        assert_eq!(report.csv(), expected);
        assert_eq!(report.people_extracted(), Published::Count(14));
        assert_eq!(report.incomplete(), Published::Suppressed);
    }

    #[test]
    fn one_way_figures_are_the_tables_margins_with_their_marks() {
        let report = population().report(&Rules::default()).unwrap();
        let bands = report.per_age_band();
        // 12 and 2 people: the 2 is small, and the 12 hides it.
        assert_eq!(bands.published(cell(8)), Some(Published::Suppressed));
        assert_eq!(bands.published(cell(13)), Some(Published::Suppressed));
        assert_eq!(bands.published(At::GrandTotal), Some(Published::Count(14)));
        let conditions = report.per_condition();
        assert_eq!(conditions.table().row_labels()[1], "44054006");
        assert_eq!(conditions.published(cell(0)), Some(Published::Suppressed));
        assert_eq!(conditions.published(cell(1)), Some(Published::Suppressed));
        assert_eq!(conditions.published(cell(2)), Some(Published::Count(0)));
        assert_eq!(
            conditions.published(At::GrandTotal),
            Some(Published::Count(17)),
            "person–code pairs"
        );
        let organisations = report.per_organisation();
        assert_eq!(organisations.published(cell(0)), Some(Published::Count(14)));
        assert_eq!(
            organisations.published(cell(1)),
            Some(Published::Suppressed)
        );
        assert_eq!(
            organisations.published(cell(2)),
            Some(Published::Suppressed)
        );
        for margin in [bands, conditions, organisations] {
            assert_eq!(audit(&margin), Ok(()));
        }
    }

    fn cell(row: usize) -> At {
        At::Cell { row, column: 0 }
    }

    #[test]
    fn a_table_the_audit_rejects_is_never_published() {
        // A small count hidden alone: its row total gives it away.
        let counts =
            CountTable::one_way(PEOPLE, vec![("Y00001".into(), 40), ("Y00002".into(), 3)]).unwrap();
        let unsafe_marks = [
            (cell(1), Suppression::Primary),
            (At::RowTotal(1), Suppression::Primary),
        ];
        let table = Suppressed::with_marks(counts, Rules::default(), unsafe_marks);
        assert_eq!(
            audited(Table::Organisations, table),
            Err(ReportError::Disclosure {
                table: Table::Organisations,
                source: Disclosure::Recomputable(cell(1)),
            })
        );
    }

    #[test]
    fn codes_past_the_limit_are_summed_into_other() {
        let mut c = Counts::default();
        // Codes held by 5, 4, 3, 2 and 1 people.
        let codes = ["100005", "100004", "100003", "100002", "100001"];
        for (n, code) in codes.iter().enumerate() {
            for k in 0..(5 - n) as u32 {
                c.add(
                    &person(n as u32 * 10 + k, Some(30), None, &[(code, "RN3")]),
                    true,
                );
            }
        }
        let report = c.report_with(&rules(1), Limits::new(2, 1)).unwrap();
        let per_code = report.per_condition();
        assert_eq!(
            per_code.table().row_labels(),
            ["100004", "100005", OTHER_CODES],
            "the top two by people, by code, then the rest"
        );
        assert_eq!(per_code.published(cell(2)), Some(Published::Count(6)));
        let per_org = report.per_organisation();
        assert_eq!(per_org.table().row_labels(), ["RN3", OTHER_ORGANISATIONS]);
        assert_eq!(per_org.published(cell(1)), Some(Published::Count(0)));
        // Ties at the cut-off go by code.
        let tied: BTreeMap<String, [u64; 2]> = [("B", [2, 0]), ("A", [1, 1]), ("C", [3, 0])]
            .map(|(k, v)| (k.to_owned(), v))
            .into();
        let (labels, rows) = listed(&tied, &[0, 1], 2, "o");
        assert_eq!(labels, ["A", "C", "o"]);
        assert_eq!(rows, [vec![1, 1], vec![3, 0], vec![2, 1]]);
        let report = c.report_with(&rules(1), Limits::new(0, 0)).unwrap();
        assert_eq!(report.per_condition().table().row_labels(), [OTHER_CODES]);
        assert_eq!(
            report.per_condition().published(cell(0)),
            Some(Published::Count(15))
        );
    }

    #[test]
    fn limits_are_capped_to_what_a_table_may_hold() {
        assert_eq!(Limits::MAX_CONDITIONS, 999);
        assert_eq!(
            Limits::new(usize::MAX, usize::MAX),
            Limits {
                conditions: 999,
                organisations: 9_999
            }
        );
        let codes: BTreeMap<String, [u64; AGE_COLUMNS]> = (0..2_000)
            .map(|i| (format!("{}", 100_000 + i), [1; AGE_COLUMNS]))
            .collect();
        let (labels, rows) = listed(&codes, &[0; AGE_COLUMNS], Limits::MAX_CONDITIONS, "o");
        assert!(CountTable::new(labels, band_labels(), rows).is_ok());
    }

    #[test]
    fn an_empty_extract_reports_zeros() {
        let report = Counts::default().report(&Rules::default()).unwrap();
        assert_eq!(report.people_extracted(), Published::Count(0));
        assert_eq!(report.per_condition().table().row_labels(), [OTHER_CODES]);
        assert!(report.markdown().contains("- People extracted: 0\n"));
    }

    #[test]
    fn markdown_has_the_headline_and_each_table() {
        let md = population().report(&Rules::default()).unwrap().markdown();
        assert!(md.starts_with(
            "# Population health extract: summary\n\n\
             - People extracted: 14\n\
             - Incomplete records (a source failed): *\n\
             - Counts suppressed below: 10\n\n## People extracted"
        ));
        assert_eq!(md.matches("\n## ").count(), 3);
        assert!(md.contains("| 44054006 | 0 |"));
    }
}
