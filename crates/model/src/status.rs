//! How one source's part of a request went: the one vocabulary the
//! adapters (through their errors), the gateway's responses and the audit
//! record share.

use serde::{Deserialize, Serialize};

/// How one source's part of a request went.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceStatus {
    /// Answered in full.
    Ok,
    /// Answered, but some of what it holds could not be fetched or read.
    Partial,
    /// Answered that it holds no record for the person.
    NotFound,
    /// Did not answer in time.
    Timeout,
    /// Could not be reached.
    Unavailable,
    /// Answered with an error or with something unreadable.
    Error,
    /// Holds a record but withholds it (the person's dissent, or the
    /// source's own rule).
    Withheld,
    /// Not asked this time, for a reason the response states: it answered
    /// lately that it holds no record for the person, or the
    /// record-location index names other organisations as the holders.
    /// Counts as holding no record the gateway knows of, like
    /// [`SourceStatus::NotFound`]; a clinician's explicit refresh asks it.
    Skipped,
}

impl SourceStatus {
    /// Every status, in the order above.
    pub const ALL: [SourceStatus; 8] = [
        SourceStatus::Ok,
        SourceStatus::Partial,
        SourceStatus::NotFound,
        SourceStatus::Timeout,
        SourceStatus::Unavailable,
        SourceStatus::Error,
        SourceStatus::Withheld,
        SourceStatus::Skipped,
    ];

    /// The status as written in responses, metrics and the audit log.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceStatus::Ok => "ok",
            SourceStatus::Partial => "partial",
            SourceStatus::NotFound => "not_found",
            SourceStatus::Timeout => "timeout",
            SourceStatus::Unavailable => "unavailable",
            SourceStatus::Error => "error",
            SourceStatus::Withheld => "withheld",
            SourceStatus::Skipped => "skipped",
        }
    }

    /// True when the source's items are in the view.
    pub fn answered(self) -> bool {
        matches!(self, SourceStatus::Ok | SourceStatus::Partial)
    }

    /// True when the source gave no definite answer (timed out, could not
    /// be reached, or failed), so whether it holds a record is unknown.
    pub fn failed(self) -> bool {
        matches!(
            self,
            SourceStatus::Timeout | SourceStatus::Unavailable | SourceStatus::Error
        )
    }

    /// True when the source holds no record the gateway knows of: it
    /// answered that it holds none, or it was skipped for that reason or
    /// because the record-location index names other holders.
    pub fn holds_none_known(self) -> bool {
        matches!(self, SourceStatus::NotFound | SourceStatus::Skipped)
    }
}

impl std::fmt::Display for SourceStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_status_is_written_as_its_serde_name() {
        for s in SourceStatus::ALL {
            let json = serde_json::to_string(&s).unwrap();
            assert_eq!(json, format!("\"{}\"", s.as_str()));
            assert_eq!(serde_json::from_str::<SourceStatus>(&json).unwrap(), s);
        }
        let names: Vec<&str> = SourceStatus::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(
            names,
            [
                "ok",
                "partial",
                "not_found",
                "timeout",
                "unavailable",
                "error",
                "withheld",
                "skipped"
            ]
        );
    }

    #[test]
    fn answered_and_failed_split_the_statuses() {
        let answered: Vec<_> = SourceStatus::ALL
            .into_iter()
            .filter(|s| s.answered())
            .collect();
        assert_eq!(answered, [SourceStatus::Ok, SourceStatus::Partial]);
        let failed: Vec<_> = SourceStatus::ALL
            .into_iter()
            .filter(|s| s.failed())
            .collect();
        assert_eq!(
            failed,
            [
                SourceStatus::Timeout,
                SourceStatus::Unavailable,
                SourceStatus::Error
            ]
        );
        let none_known: Vec<_> = SourceStatus::ALL
            .into_iter()
            .filter(|s| s.holds_none_known())
            .collect();
        assert_eq!(none_known, [SourceStatus::NotFound, SourceStatus::Skipped]);
    }
}
