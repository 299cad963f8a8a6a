//! Reading the shared audit store back in the end-to-end tests.

use icr_audit::Timestamp;
use icr_audit_store::{AuditStore, PersonQuery, StoredAccess};
use icr_model::NhsNumber;

/// Every access to `nhs`'s record in the store at `url` over the last
/// twelve months, every page, newest first; `None` while the store cannot
/// be read.
pub async fn person_history(url: &str, nhs: &str) -> Option<Vec<StoredAccess>> {
    let store = AuditStore::connect(url, 1).await.ok()?;
    let nhs = NhsNumber::parse(nhs).ok()?;
    let mut query = PersonQuery::last_twelve_months(Timestamp::now());
    let mut all = Vec::new();
    loop {
        let page = store.person_accesses(&nhs, &query).await.ok()?;
        all.extend(page.items);
        match page.next {
            Some(next) => query.before = Some(next),
            None => return Some(all),
        }
    }
}
