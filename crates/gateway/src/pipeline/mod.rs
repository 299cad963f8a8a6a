//! The request pipeline: one record request, step by step, in the order
//! of the flow in README.md. Each step is a module named for it:
//!
//! 1. [`admit`] — an in-flight permit (taken at the edge), and an audit
//!    log that can record the access;
//! 2. [`authenticate`] — who is asking (the bearer token, the caller);
//! 3. [`decide`] (before fetching) — may they ask, for which sections,
//!    from which sources (the person's objections);
//! 4. [`plan`] — which sources to ask for what (pure), given what the
//!    gateway knows of where the person's records are ([`plan::Hints`]:
//!    the sources that answered lately that they hold none, the practice
//!    remembered, the record-location index; none of it on a refresh);
//! 5. [`fetch`] — execute the plan through each source's chain, then
//!    teach the memories what the sources said;
//! 6. [`identity_guard`] — answers about someone else are dropped (pure);
//! 7. [`report`] — a status for every source asked;
//! 8. [`decide`] (after fetching) — is there a relationship?
//! 9. [`merge`] — one view (merged once while its answers are cached),
//!    then mark what the role may not see;
//! 10. render — by the HTTP edge's renderer ([`crate::view`],
//!     [`crate::fhir`]), given to the pipeline: the answer, and the source
//!     records it holds (what the caller is shown);
//! 11. [`audit`] — await the durability of the access's begun entry
//!     (queued after step 3 and synced while the sources answered), queue
//!     its completion (unawaited), listing the source records shown, and
//!     only then release.
//!
//! Every step that refuses returns a typed [`Stop`]; every refusal after
//! admission is audited (and synced) before it is answered. The HTTP status of a stop
//! or a released record is decided in [`crate::outcome`], never here.
//! The audit read ([`audit_read`]) is the same shape, shorter.

pub(crate) mod admit;
pub(crate) mod audit;
pub(crate) mod audit_read;
pub(crate) mod authenticate;
pub(crate) mod break_glass;
pub(crate) mod decide;
pub(crate) mod extract;
pub(crate) mod fetch;
pub(crate) mod identity_guard;
pub(crate) mod merge;
pub(crate) mod plan;
pub(crate) mod recall;
pub(crate) mod report;
#[cfg(test)]
mod test_support;

use std::borrow::Cow;
use std::sync::atomic::Ordering;
use std::time::Duration;

use icr_adapter_sdk::{RequestContext, Routing};
use icr_audit::{AuditRecord, Interaction, ReleasedRecords};
use icr_model::{NhsNumber, SectionSet};
use icr_policy::{Basis, Shown, SourceFilter, Withheld};
use tokio::time::Instant;

use self::audit::{Draft, bounded_reason};
use self::merge::RecordOutcome;
use self::recall::Recalled;
use crate::Gateway;
use crate::extract_lane::Traffic;
use crate::headers::HeaderError;
use crate::outcome::Stop;
use crate::sources::State;

/// What one record request asks, as the API layer parsed it.
pub(crate) struct RecordRequest<'a> {
    /// Which interface.
    pub interaction: Interaction,
    /// The `Authorization` header, if any, or why it cannot be read.
    pub authorization: Result<Option<&'a str>, HeaderError>,
    /// The break-glass reason as text, if any, or why it cannot be read.
    pub break_glass: Result<Option<Cow<'a, str>>, HeaderError>,
    /// The calling system, from its verified TLS client certificate.
    pub calling_system: Option<&'a str>,
    /// A shorter deadline the caller asked for (`Prefer: wait=N`).
    pub wait: Option<Duration>,
    /// The NHS number as written in the path.
    pub nhs: &'a str,
    /// A clinician's explicit refresh (`Cache-Control: no-cache`): every
    /// source is asked itself — no cached answer, no memory, no index.
    pub refresh: bool,
    /// The sections asked for, or why the query could not be understood
    /// (error family and message).
    pub sections: Result<SectionSet, (&'static str, String)>,
}

/// What the edge makes of a record the caller may see, before the access
/// is audited: the answer's body, and the source records it holds (what
/// the caller is shown, listed in the audit record; never a record the
/// policy withholds).
pub(crate) struct Answer<T> {
    /// The answer's body (or why it could not be made).
    pub body: T,
    /// The source records the body holds.
    pub shown: ReleasedRecords,
}

/// A record that may be released.
pub(crate) struct Released<T> {
    /// The request's id (also the trace id sources were told).
    pub request_id: String,
    /// The merged record, its sources and its verdict.
    pub outcome: RecordOutcome,
    /// The access as audited (further pages of it are audited alike).
    pub audited: AuditRecord,
    /// The answer's body, rendered before the audit so that the audit
    /// lists what it holds.
    pub body: T,
}

/// Unwraps a step's result, or audits its stop and returns it.
macro_rules! or_stop {
    ($gw:expr, $draft:expr, $step:expr) => {
        match $step {
            Ok(v) => v,
            Err(stop) => return Err($gw.audit_stop($draft, stop).await),
        }
    };
}

impl Gateway {
    /// Runs one record request through the whole pipeline; `render`
    /// makes the answer of what the caller may see, before the audit
    /// records the source records it holds.
    pub(crate) async fn access_record<T>(
        &self,
        r: RecordRequest<'_>,
        render: impl FnOnce(&RecordOutcome, &Shown<'_>, &Withheld) -> Answer<T>,
    ) -> Result<Released<T>, Stop> {
        let request_id = uuid::Uuid::new_v4().to_string();
        let mut draft = Draft::new(&request_id, r.interaction);
        // Recorded even when refused early: who tried which record.
        draft.record.nhs_number = NhsNumber::parse(r.nhs).ok();
        draft.record.calling_system = r.calling_system.map(str::to_owned);
        // The configuration this request is served under, whatever reloads
        // happen while it runs.
        let state = self.state();
        let access = &state.access;

        // Admit: can the access be recorded at all? (unaudited: it cannot be)
        admit::recordable(access, &request_id)?;
        // Headers that cannot be read as one value each: refused first.
        let (authorization, break_glass) = or_stop!(
            self,
            draft,
            match (r.authorization, r.break_glass) {
                (Ok(a), Ok(b)) => Ok((a, b)),
                (Err(e), _) | (_, Err(e)) => Err(e.stop(request_id.clone())),
            }
        );
        draft.record.break_glass_reason = break_glass.as_deref().map(bounded_reason);

        // Authenticate: who is asking.
        let identity = or_stop!(
            self,
            draft,
            authenticate::verify(&access.verifier, authorization)
                .map_err(|e| Stop::unauthenticated(request_id.clone(), &e))
        );
        draft.authenticated(&identity);
        let caller = or_stop!(
            self,
            draft,
            authenticate::caller(&identity, break_glass.as_deref())
                .map_err(|refusal| Stop::refused(request_id.clone(), refusal))
        );

        // What is asked: the person and the sections.
        let nhs = or_stop!(self, draft, parse_nhs(r.nhs, &request_id));
        let requested = or_stop!(
            self,
            draft,
            r.sections.map_err(|(error, message)| {
                Stop::invalid(
                    request_id.clone(),
                    error,
                    error.to_ascii_uppercase(),
                    message,
                )
            })
        );
        draft.record.sections_requested = requested;

        // Decide before fetching: role, own record, objections, break-glass rules.
        let allowed = or_stop!(
            self,
            draft,
            decide::before_fetch(access, &caller, nhs, requested)
                .map_err(|(why, message)| Stop::new(request_id.clone(), why, message))
        );

        // Audit, first entry: who is accessing whose record, synced while
        // the sources answer.
        let begun = self.begin_audit(&draft, &request_id)?;

        // Plan, fetch, guard identity, report: what they may see, from the
        // sources they may see.
        let context = authenticate::context(&identity, &request_id);
        let sections = allowed.sections();
        let asking = Asking {
            sections,
            permitted: allowed.sources(),
            wait: r.wait,
            refresh: r.refresh,
            traffic: Traffic::Interactive,
        };
        let (report, warnings, waited) = gather(&state, context, nhs, asking).await;
        draft.asked(&report.sources);

        // Decide after fetching: is there a relationship? (A refusal
        // completes the begun entry, synced before it is answered.)
        let holders = report::holders(&state, &report.sources);
        let decided = decide::after_fetch(
            &access.policy,
            allowed,
            &holders,
            &report.unanswered,
            &report.sources,
        );
        let granted = match decided {
            Ok(granted) => granted,
            Err((why, message)) => {
                let stop = Stop::new(request_id.clone(), why, message);
                return Err(self.audit_stop_begun(draft, stop, begun).await);
            }
        };
        if let Basis::BreakGlass { reason } = granted.basis() {
            access.break_glass.fetch_add(1, Ordering::Relaxed);
            draft.record.break_glass_reason = Some(reason.as_str().to_string());
        }

        // Merge (or find the view merged before), and mark what the role
        // may not see.
        let outcome = merge::merge(&state, nhs, sections, report, warnings, waited);
        let (shown, withheld) = merge::mark(&access.policy, &granted, &outcome.view);

        // Render what they may see, so that the audit can list the source
        // records the answer holds.
        let rendered = render(&outcome, &shown, &withheld);

        // Audit: the begun entry durable (normally synced while the sources
        // answered), the completion queued, before anything leaves.
        draft.released(&granted, &outcome, &shown, &withheld, rendered.shown);
        self.audit_release_begun(&draft.record, begun, &request_id)
            .await?;
        Ok(Released {
            request_id,
            outcome,
            audited: draft.record,
            body: rendered.body,
        })
    }

    /// Fetches, merges and judges the record of one person, without the
    /// access policy (every source asked for every wanted section it
    /// offers, `permitted` aside).
    ///
    /// Sources routed to everyone and the demographics service are asked at
    /// once; when the demographics service answers, the person's registered
    /// GP practice (if it is in the directory and offers a wanted section)
    /// is asked too, within the same deadline — or at once, when it is
    /// remembered for the person. Sources are skipped as for a record
    /// request (remembered "no record", the record-location index).
    pub async fn record(
        &self,
        context: RequestContext,
        nhs_number: NhsNumber,
        sections: SectionSet,
        permitted: &SourceFilter,
        wait: Option<Duration>,
    ) -> RecordOutcome {
        let state = self.state();
        let asking = Asking {
            sections,
            permitted,
            wait,
            refresh: false,
            traffic: Traffic::Interactive,
        };
        let (report, warnings, waited) = gather(&state, context, nhs_number, asking).await;
        merge::merge(&state, nhs_number, sections, report, warnings, waited)
    }
}

/// The NHS number as written in the path, or the 400 saying why not.
fn parse_nhs(raw: &str, request_id: &str) -> Result<NhsNumber, Stop> {
    NhsNumber::parse(raw).map_err(|e| {
        let shown: String = raw
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .take(16)
            .collect();
        Stop::invalid(
            request_id.to_owned(),
            "invalid_nhs_number",
            "INVALID_NHS_NUMBER",
            format!("{shown:?} is not a valid NHS number: {e}"),
        )
    })
}

/// What is asked of the sources.
struct Asking<'a> {
    sections: SectionSet,
    permitted: &'a SourceFilter,
    wait: Option<Duration>,
    refresh: bool,
    traffic: Traffic,
}

/// Recall → plan → fetch → guard identity → learn → report, under the
/// request's deadline (the configured one, or less if the caller asked
/// for less with `Prefer: wait=N`, never more).
async fn gather(
    state: &State,
    context: RequestContext,
    nhs_number: NhsNumber,
    asking: Asking<'_>,
) -> (report::Report, Vec<icr_merge::Warning>, Duration) {
    let Asking {
        sections,
        permitted,
        wait,
        refresh,
        traffic,
    } = asking;
    let mut budget = wait.map_or(state.deadline, |w| w.min(state.deadline));
    // An extract's calls may first wait in their lanes (the demographics
    // service's, then the practice's): that wait is not the sources' time.
    if traffic == Traffic::Extract {
        budget += 2 * crate::extract_lane::MAX_WAIT;
    }
    let deadline = Instant::now() + budget;
    let recalled = if refresh {
        Recalled::default()
    } else {
        recall::recall(state, nhs_number, deadline).await
    };
    let mut hints = recalled.hints();
    hints.fresh = refresh;
    let plan = plan::plan(&state.sources, sections, permitted, &hints);
    recall::count_skips(state, &plan);
    // An extract neither reads nor fills the cache: it would evict the
    // answers clinicians are reading now.
    let cache = state
        .cache
        .as_ref()
        .filter(|_| traffic == Traffic::Interactive);
    let mut gathered = fetch::execute(
        &state.sources,
        cache,
        plan,
        nhs_number,
        sections,
        permitted,
        context,
        deadline,
        traffic,
    )
    .await;
    let demographics = state
        .sources
        .iter()
        .position(|s| s.spec.routing == Routing::Demographics);
    identity_guard::guard_birth_dates(&mut gathered.results, demographics);
    recall::learn(state, &gathered, nhs_number, demographics).await;
    gathered.warnings.extend(recalled.warning);
    let report = report::report(&state.sources, &mut gathered, budget);
    (report, gathered.warnings, gathered.waited)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_nhs_number_that_is_not_one_is_a_400_naming_what_was_sent_bounded() {
        let stop = parse_nhs("12<script>34567890123456789", "r").unwrap_err();
        assert_eq!(stop.code(), "INVALID_NHS_NUMBER");
        assert_eq!(stop.error(), "invalid_nhs_number");
        assert_eq!(stop.status().as_u16(), 400);
        assert!(
            stop.message
                .starts_with("\"12script34567890\" is not a valid NHS number: ")
        );
        assert_eq!(
            parse_nhs("9990000018", "r").unwrap().to_string(),
            "9990000018"
        );
    }
}
