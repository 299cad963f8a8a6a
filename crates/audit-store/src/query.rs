//! Reading the store: a person's accesses across replicas, the break-glass
//! list with its reviews, and recording a review. Keyset-paged, newest
//! first, bounded.

use std::fmt;
use std::str::FromStr;

use icr_audit::{
    DEFAULT_PAGE, Event, Logged, LoggedAccess, MAX_PAGE, Sequence, Timestamp, parse_line,
};
use icr_model::NhsNumber;
use time::{Duration, OffsetDateTime};

use crate::error::StoreError;
use crate::ingest::to_i64;
use crate::pool::AuditStore;
use crate::replica::ReplicaId;

/// One access in the store: which replica's chain, and its position there.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AccessRef {
    /// The replica whose log recorded it.
    pub replica: ReplicaId,
    /// Its first entry's sequence in that log.
    pub seq: Sequence,
}

/// Where a page ends: the last access shown (time, replica, sequence).
/// Written `MICROS.REPLICA.SEQ` for `next` links.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessCursor {
    /// The access's time.
    pub time: Timestamp,
    /// The access.
    pub access: AccessRef,
}

/// Why a cursor was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("not a page cursor (MICROS.REPLICA.SEQ)")]
pub struct CursorError;

impl fmt::Display for AccessCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{}.{}",
            self.time.unix_micros(),
            self.access.replica,
            self.access.seq
        )
    }
}

impl FromStr for AccessCursor {
    type Err = CursorError;
    fn from_str(s: &str) -> Result<Self, CursorError> {
        let mut parts = s.split('.');
        let (Some(micros), Some(replica), Some(seq), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(CursorError);
        };
        let time = micros
            .parse()
            .ok()
            .and_then(Timestamp::from_unix_micros)
            .ok_or(CursorError)?;
        let seq = seq
            .parse::<i64>()
            .ok()
            .filter(|s| *s > 0)
            .ok_or(CursorError)?;
        Ok(AccessCursor {
            time,
            access: AccessRef {
                replica: ReplicaId::parse(replica).map_err(|_| CursorError)?,
                seq: Sequence::new(seq as u64),
            },
        })
    }
}

/// A page of results, newest first.
#[derive(Clone, Debug, PartialEq)]
pub struct StorePage<T> {
    /// The items on this page.
    pub items: Vec<T>,
    /// The cursor for the next (older) page; `None` on the last.
    pub next: Option<AccessCursor>,
}

/// One access to a person's record, from whichever replica served it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredAccess {
    /// The replica that recorded it.
    pub replica: ReplicaId,
    /// When it began (its first entry's time): what pages are ordered by.
    pub time: Timestamp,
    /// The access as its log records it (whole, or outcome not recorded),
    /// read back from the stored lines with the log's own parser.
    pub access: LoggedAccess,
}

/// Which of a person's accesses to list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PersonQuery {
    /// The earliest time included.
    pub since: Timestamp,
    /// The time before which accesses are included; `None`: up to now.
    pub until: Option<Timestamp>,
    /// Accesses a page, 1 to [`MAX_PAGE`].
    pub count: usize,
    /// Older than this (the previous page's `next`).
    pub before: Option<AccessCursor>,
}

impl PersonQuery {
    /// The first page of the last twelve months (366 days) before `now`,
    /// [`DEFAULT_PAGE`] a page: what a person is shown of their record.
    pub fn last_twelve_months(now: Timestamp) -> Self {
        Self {
            since: year_before(now),
            until: None,
            count: DEFAULT_PAGE,
            before: None,
        }
    }

    /// The end of its time range as the queries take it: `until`, or past
    /// everything.
    fn until_or_past_everything(&self) -> OffsetDateTime {
        self.until.map_or_else(past_everything, |u| u.as_offset())
    }
}

/// The outcome a privacy officer gives a break-glass access.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReviewOutcome {
    /// The access was justified.
    Justified,
    /// It was not: to be followed up.
    NotJustified,
    /// Referred for further investigation.
    Referred,
}

impl ReviewOutcome {
    /// The outcome as stored (`justified`, `not-justified`, `referred`).
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewOutcome::Justified => "justified",
            ReviewOutcome::NotJustified => "not-justified",
            ReviewOutcome::Referred => "referred",
        }
    }

    /// Parses the stored form.
    pub fn parse(s: &str) -> Option<Self> {
        [
            ReviewOutcome::Justified,
            ReviewOutcome::NotJustified,
            ReviewOutcome::Referred,
        ]
        .into_iter()
        .find(|o| o.as_str() == s)
    }
}

/// A review to record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewReview {
    /// Who reviewed (their user id), 1 to 256 bytes.
    pub reviewer: String,
    /// Their outcome.
    pub outcome: ReviewOutcome,
    /// Their note, at most 4096 bytes.
    pub note: String,
}

/// A recorded review.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Review {
    /// Who reviewed.
    pub reviewer: String,
    /// Their outcome.
    pub outcome: ReviewOutcome,
    /// Their note.
    pub note: String,
    /// When.
    pub reviewed_at: Timestamp,
}

/// One break-glass access: who, whose record, why, when, and its latest
/// review.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BreakGlassAccess {
    /// The access.
    pub access: AccessRef,
    /// When.
    pub time: Timestamp,
    /// Whose record.
    pub nhs_number: Option<NhsNumber>,
    /// Who: their user id.
    pub user_sub: Option<String>,
    /// Who: their name.
    pub user_name: Option<String>,
    /// Their organisation (ODS code).
    pub organisation: Option<String>,
    /// Their role.
    pub role: Option<String>,
    /// Why: the reason they gave.
    pub reason: String,
    /// Whether it was allowed (`None`: outcome not recorded).
    pub allowed: Option<bool>,
    /// The latest review, if any.
    pub review: Option<Review>,
}

/// Which break-glass accesses to list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BreakGlassQuery {
    /// The earliest time included.
    pub since: Timestamp,
    /// Only those not yet reviewed.
    pub unreviewed_only: bool,
    /// Accesses a page, 1 to [`MAX_PAGE`].
    pub count: usize,
    /// Older than this (the previous page's `next`).
    pub before: Option<AccessCursor>,
}

/// A time after every access stored (a century from now).
fn past_everything() -> OffsetDateTime {
    OffsetDateTime::now_utc() + Duration::days(36_600)
}

/// The time a year (366 days) before `now`.
fn year_before(now: Timestamp) -> Timestamp {
    Timestamp::from_offset(now.as_offset() - Duration::days(366))
}

impl BreakGlassQuery {
    /// The first page, all reviewed or not, of the last year (366 days)
    /// before `now`, [`DEFAULT_PAGE`] a page.
    pub fn last_twelve_months(now: Timestamp) -> Self {
        Self {
            since: year_before(now),
            unreviewed_only: false,
            count: DEFAULT_PAGE,
            before: None,
        }
    }
}

/// Bounds on the keyset: the cursor's values, or past everything.
fn keyset(before: &Option<AccessCursor>) -> Result<(OffsetDateTime, String, i64), StoreError> {
    Ok(match before {
        Some(c) => (
            c.time.as_offset(),
            c.access.replica.to_string(),
            to_i64(c.access.seq)?,
        ),
        None => (past_everything(), String::from("~"), i64::MAX),
    })
}

fn check_count(count: usize) -> Result<i64, StoreError> {
    if (1..=MAX_PAGE).contains(&count) {
        Ok(count as i64)
    } else {
        Err(StoreError::Invalid("page size (1 to MAX_PAGE)"))
    }
}

/// The page's items and the cursor after them, from `count + 1` rows.
fn paged<T>(mut items: Vec<(AccessCursor, T)>, count: usize) -> StorePage<T> {
    let more = items.len() > count;
    items.truncate(count);
    let next = if more {
        items.last().map(|(c, _)| c.clone())
    } else {
        None
    };
    StorePage {
        items: items.into_iter().map(|(_, t)| t).collect(),
        next,
    }
}

impl AuditStore {
    /// `nhs`'s accesses in the query's time range, across replicas, newest
    /// first (then by replica and sequence, descending), one page.
    pub async fn person_accesses(
        &self,
        nhs: &NhsNumber,
        query: &PersonQuery,
    ) -> Result<StorePage<StoredAccess>, StoreError> {
        let limit = check_count(query.count)? + 1;
        let (t, r, s) = keyset(&query.before)?;
        let until = query.until_or_past_everything();
        let conn = self.conn().await?;
        let rows = conn
            .query(
                "SELECT a.replica, a.seq, a.time, b.line, c.line
                 FROM audit_accesses a
                 JOIN audit_entries b ON b.replica = a.replica AND b.seq = a.seq
                 LEFT JOIN audit_entries c ON c.replica = a.replica AND c.seq = a.completed_by
                 WHERE a.nhs_number = $1 AND a.time >= $2 AND a.time < $3
                   AND (a.time, a.replica, a.seq) < ($4, $5, $6)
                 ORDER BY a.time DESC, a.replica DESC, a.seq DESC
                 LIMIT $7",
                &[
                    &nhs.as_str(),
                    &query.since.as_offset(),
                    &until,
                    &t,
                    &r,
                    &s,
                    &limit,
                ],
            )
            .await
            .map_err(StoreError::db("read a person's accesses"))?;
        let mut items = Vec::with_capacity(rows.len());
        for row in rows {
            let replica: String = row.get(0);
            let seq: i64 = row.get(1);
            let time: OffsetDateTime = row.get(2);
            let first: String = row.get(3);
            let completion: Option<String> = row.get(4);
            let corrupt = |why: &str| StoreError::Corrupt {
                replica: replica.clone(),
                seq,
                why: why.to_owned(),
            };
            let mut access = logged_access(&first, completion.as_deref()).map_err(corrupt)?;
            let replica = ReplicaId::parse(&replica).map_err(|_| corrupt("replica id"))?;
            access.replica = Some(replica.to_string());
            let time = Timestamp::from_offset(time);
            let cursor = AccessCursor {
                time,
                access: AccessRef {
                    replica: replica.clone(),
                    seq: access.seq,
                },
            };
            items.push((
                cursor,
                StoredAccess {
                    replica,
                    time,
                    access,
                },
            ));
        }
        Ok(paged(items, query.count))
    }

    /// How many of `nhs`'s accesses are in the query's time range (its
    /// `count` and `before` aside), and how many of those are older than
    /// `last` (the last access on a page): the page's total, and what later
    /// pages hold.
    pub async fn person_access_counts(
        &self,
        nhs: &NhsNumber,
        query: &PersonQuery,
        last: Option<&AccessCursor>,
    ) -> Result<(u64, u64), StoreError> {
        let until = query.until_or_past_everything();
        // With no page shown, nothing is older than it.
        let (t, r, s) = match last {
            Some(c) => (
                c.time.as_offset(),
                c.access.replica.to_string(),
                to_i64(c.access.seq)?,
            ),
            None => (
                OffsetDateTime::UNIX_EPOCH - Duration::days(36_600),
                String::new(),
                0,
            ),
        };
        let conn = self.conn().await?;
        let row = conn
            .query_one(
                "SELECT count(*), count(*) FILTER (WHERE (time, replica, seq) < ($4, $5, $6))
                 FROM audit_accesses
                 WHERE nhs_number = $1 AND time >= $2 AND time < $3",
                &[&nhs.as_str(), &query.since.as_offset(), &until, &t, &r, &s],
            )
            .await
            .map_err(StoreError::db("count a person's accesses"))?;
        let n = |i: usize| u64::try_from(row.get::<_, i64>(i)).unwrap_or(0);
        Ok((n(0), n(1)))
    }

    /// Break-glass accesses since the query's time, across replicas,
    /// newest first, each with its latest review; one page.
    pub async fn break_glass(
        &self,
        query: &BreakGlassQuery,
    ) -> Result<StorePage<BreakGlassAccess>, StoreError> {
        let limit = check_count(query.count)? + 1;
        let (t, r, s) = keyset(&query.before)?;
        let conn = self.conn().await?;
        let rows = conn
            .query(
                "SELECT a.replica, a.seq, a.time, a.nhs_number, a.user_sub, a.user_name,
                        a.organisation, a.role, a.break_glass_reason, a.decision,
                        v.reviewer, v.outcome, v.note, v.reviewed_at
                 FROM audit_accesses a
                 LEFT JOIN LATERAL (
                     SELECT reviewer, outcome, note, reviewed_at FROM audit_break_glass_reviews w
                     WHERE w.replica = a.replica AND w.seq = a.seq
                     ORDER BY reviewed_at DESC, id DESC LIMIT 1
                 ) v ON true
                 WHERE a.break_glass_reason IS NOT NULL AND a.time >= $1
                   AND (a.time, a.replica, a.seq) < ($2, $3, $4)
                   AND (NOT $5 OR v.outcome IS NULL)
                 ORDER BY a.time DESC, a.replica DESC, a.seq DESC
                 LIMIT $6",
                &[
                    &query.since.as_offset(),
                    &t,
                    &r,
                    &s,
                    &query.unreviewed_only,
                    &limit,
                ],
            )
            .await
            .map_err(StoreError::db("read the break-glass accesses"))?;
        let mut items = Vec::with_capacity(rows.len());
        for row in rows {
            let replica: String = row.get(0);
            let seq: i64 = row.get(1);
            let corrupt = |why: &str| StoreError::Corrupt {
                replica: replica.clone(),
                seq,
                why: why.to_owned(),
            };
            let access = AccessRef {
                replica: ReplicaId::parse(&replica).map_err(|_| corrupt("replica id"))?,
                seq: Sequence::new(u64::try_from(seq).map_err(|_| corrupt("sequence"))?),
            };
            let time = Timestamp::from_offset(row.get(2));
            let nhs: Option<String> = row.get(3);
            let nhs_number = nhs
                .map(|n| NhsNumber::parse(&n).map_err(|_| corrupt("NHS number")))
                .transpose()?;
            let decision: Option<String> = row.get(9);
            let review = match row.get::<_, Option<String>>(10) {
                Some(reviewer) => Some(Review {
                    reviewer,
                    outcome: ReviewOutcome::parse(row.get(11))
                        .ok_or_else(|| corrupt("review outcome"))?,
                    note: row.get(12),
                    reviewed_at: Timestamp::from_offset(row.get(13)),
                }),
                None => None,
            };
            let cursor = AccessCursor {
                time,
                access: access.clone(),
            };
            items.push((
                cursor,
                BreakGlassAccess {
                    access,
                    time,
                    nhs_number,
                    user_sub: row.get(4),
                    user_name: row.get(5),
                    organisation: row.get(6),
                    role: row.get(7),
                    reason: row.get(8),
                    allowed: decision.map(|d| d == "allowed"),
                    review,
                },
            ));
        }
        Ok(paged(items, query.count))
    }

    /// Records a privacy officer's review of break-glass access `access`
    /// (the latest review is the one listed).
    pub async fn record_review(
        &self,
        access: &AccessRef,
        review: &NewReview,
    ) -> Result<(), StoreError> {
        if !(1..=256).contains(&review.reviewer.len()) {
            return Err(StoreError::Invalid("reviewer (1 to 256 bytes)"));
        }
        if review.note.len() > 4096 {
            return Err(StoreError::Invalid("review note (at most 4096 bytes)"));
        }
        let conn = self.conn().await?;
        let n = conn
            .execute(
                "INSERT INTO audit_break_glass_reviews (replica, seq, reviewer, outcome, note)
                 SELECT replica, seq, $3, $4, $5 FROM audit_accesses
                 WHERE replica = $1 AND seq = $2 AND break_glass_reason IS NOT NULL",
                &[
                    &access.replica.as_str(),
                    &to_i64(access.seq)?,
                    &review.reviewer,
                    &review.outcome.as_str(),
                    &review.note,
                ],
            )
            .await
            .map_err(StoreError::db("record a review"))?;
        if n == 0 {
            return Err(StoreError::NoSuchBreakGlass {
                replica: access.replica.clone(),
                seq: access.seq,
            });
        }
        Ok(())
    }
}

/// The access that a stored first line (and its completion's line, if
/// attached) records, parsed and checked by the log's own parser.
fn logged_access(first: &str, completion: Option<&str>) -> Result<LoggedAccess, &'static str> {
    let first = parse_line(first.as_bytes()).map_err(|_| "stored line is not a valid entry")?;
    let logged = match (first.event, completion) {
        (Event::Access(r), _) => Logged::Whole(*r),
        (Event::Begun(b), None) => Logged::OutcomeNotRecorded(*b),
        (Event::Begun(_), Some(c)) => {
            let c =
                parse_line(c.as_bytes()).map_err(|_| "stored completion is not a valid entry")?;
            match (c.event, c.completes) {
                (Event::Access(r), Some(s)) if s == first.seq => Logged::Whole(*r),
                _ => return Err("stored completion does not complete its access"),
            }
        }
        (Event::Recovery(_), _) => return Err("a recovery entry stored as an access"),
    };
    Ok(LoggedAccess {
        seq: first.seq,
        replica: None,
        logged,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_what_is_not_one() {
        let c = AccessCursor {
            time: Timestamp::parse("2026-11-26T09:14:03.120512Z").unwrap(),
            access: AccessRef {
                replica: ReplicaId::parse("icr-1").unwrap(),
                seq: Sequence::new(42),
            },
        };
        assert_eq!(c.to_string(), "1795684443120512.icr-1.42");
        assert_eq!("1795684443120512.icr-1.42".parse(), Ok(c));
        for bad in [
            "",
            "1.icr-1",
            "1.icr-1.0",
            "1.ICR.2",
            "x.icr-1.2",
            "1.icr-1.2.3",
            "1.icr-1.-2",
        ] {
            assert_eq!(bad.parse::<AccessCursor>(), Err(CursorError), "{bad:?}");
        }
    }

    #[test]
    fn review_outcomes_round_trip() {
        for o in [
            ReviewOutcome::Justified,
            ReviewOutcome::NotJustified,
            ReviewOutcome::Referred,
        ] {
            assert_eq!(ReviewOutcome::parse(o.as_str()), Some(o));
        }
        assert_eq!(ReviewOutcome::parse("maybe"), None);
    }
}
