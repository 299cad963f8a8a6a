//! What a search cut short says it read: how many of how many, which ones
//! (the most recent, or the server's first), whether every current item
//! was asked for separately, and why the rest was not read. Pure.

use crate::map::RecordType;

/// Why a search stopped before its last page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Why {
    /// It had more than `max_pages` pages.
    MorePages(u32),
    /// Its next page is on another server, which is never called.
    Elsewhere,
}

/// What the separate search for current items found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Current {
    /// The type has no current items to ask for.
    NoneToAsk,
    /// All of them were read.
    All,
    /// This many were read, and there are more.
    Some(usize),
    /// Not asked: the server does not declare this search parameter.
    Undeclared(&'static str),
    /// Asked, and the search failed.
    Failed(String),
}

/// A search cut short.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Truncation {
    /// The type searched.
    pub ty: RecordType,
    /// Items kept, in all.
    pub read: usize,
    /// `Bundle.total` of the first page, when the server gave it.
    pub total: Option<u64>,
    /// Items the search itself kept, before the current ones were added.
    pub first: usize,
    /// Whether the search asked for the most recent first.
    pub sorted: bool,
    /// Why it stopped.
    pub why: Why,
    /// What the search for current items found.
    pub current: Current,
}

/// `n` with thousands separated by commas: `3,412`.
fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

impl Truncation {
    /// The warning: `read 2,000 of 3,412 MedicationStatement (the most
    /// recent, and every active one): the search had more than 20 pages`.
    pub fn message(&self) -> String {
        let name = self.ty.name();
        let read = count(self.read as u64);
        let head = match self.total {
            Some(total) => format!("read {read} of {} {name}", count(total)),
            None => format!("read {read} {name}, not all"),
        };
        let which = if self.sorted {
            "the most recent".to_string()
        } else {
            format!(
                "the first {} in the server's order",
                count(self.first as u64)
            )
        };
        let current = match &self.current {
            Current::NoneToAsk => String::new(),
            Current::All => ", and every active one".into(),
            Current::Some(n) => format!(
                ", and {} active {}; there are more active ones, not read",
                count(*n as u64),
                if *n == 1 { "one" } else { "ones" }
            ),
            Current::Undeclared(param) => format!(
                "; active ones could not be asked for: the server does not declare the {param} search parameter"
            ),
            Current::Failed(e) => format!("; active ones could not be asked for: {e}"),
        };
        let why = match self.why {
            Why::MorePages(1) => "the search had more than 1 page".to_string(),
            Why::MorePages(n) => format!("the search had more than {n} pages"),
            Why::Elsewhere => "the next page is on another server and was not read".into(),
        };
        format!("{head} ({which}{current}): {why}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(current: Current) -> Truncation {
        Truncation {
            ty: RecordType::MedicationStatement,
            read: 2_000,
            total: Some(3_412),
            first: 2_000,
            sorted: true,
            why: Why::MorePages(20),
            current,
        }
    }

    #[test]
    fn says_what_was_read_and_why_the_rest_was_not() {
        assert_eq!(
            t(Current::All).message(),
            "read 2,000 of 3,412 MedicationStatement (the most recent, and every active one): the search had more than 20 pages"
        );
        assert_eq!(
            Truncation {
                total: None,
                sorted: false,
                read: 1_234_567,
                first: 999,
                why: Why::Elsewhere,
                ..t(Current::Some(1))
            }
            .message(),
            "read 1,234,567 MedicationStatement, not all (the first 999 in the server's order, and 1 active one; there are more active ones, not read): the next page is on another server and was not read"
        );
        assert_eq!(
            Truncation {
                ty: RecordType::Observation,
                ..t(Current::NoneToAsk)
            }
            .message(),
            "read 2,000 of 3,412 Observation (the most recent): the search had more than 20 pages"
        );
        assert_eq!(
            t(Current::Failed(
                "HTTP 500 from MedicationStatement search".into()
            ))
            .message(),
            "read 2,000 of 3,412 MedicationStatement (the most recent; active ones could not be asked for: HTTP 500 from MedicationStatement search): the search had more than 20 pages"
        );
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1_000), "1,000");
    }
}
