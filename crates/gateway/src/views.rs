//! Merged views, merged once: the merge depends only on the sources'
//! answers, so while those answers come from the cache the merged record,
//! the policy's reading of what in it is sensitive, and each item's JSON
//! are worked out once and shared by every request that gathers the same
//! answers — whoever asks, since what each caller may see is marked per
//! request ([`icr_policy::Shown`]), never edited into the shared record.
//!
//! A view is found by the person, the sections and the identity (address)
//! of each cached answer it was merged from, in order; it holds those
//! answers, so that no address can be reused while it lives. A new answer
//! from a source (the old one expired or purged) is a new address, so a
//! view is never served for answers other than its own. Views are weighed
//! in bytes (the answers they hold and the merged record) within their own
//! bound, are dropped with the person by the operator's purge, and start
//! empty on a reload (the policy that read them may have changed).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use icr_merge::MergedRecord;
use icr_model::{NhsNumber, Section, SectionSet, SourceRecord};
use icr_policy::Sensitivity;
use serde_json::value::RawValue;

/// One merged record and what is worked out once about it.
#[derive(Debug)]
pub struct View {
    /// The answers merged, in registration order (their addresses are the
    /// view's key).
    answers: Vec<Arc<SourceRecord>>,
    /// The merged record, with the merge's own warnings only.
    pub merged: MergedRecord,
    /// Which of its items the policy reads as sensitive.
    pub sensitivity: Sensitivity,
    /// Each item as the JSON view writes it, written when first needed.
    json: OnceLock<Result<Rendered, String>>,
}

/// The JSON of the patient and of every item, as `serde_json` writes them.
#[derive(Debug)]
pub(crate) struct Rendered {
    /// The merged patient.
    pub patient: Option<Box<RawValue>>,
    /// Every item of every section, in the merged record's order.
    pub items: BTreeMap<Section, Vec<Box<RawValue>>>,
    /// The bytes of all of it: what an answer showing everything needs
    /// for them (its buffer is sized from this, not grown).
    pub bytes: usize,
}

impl View {
    /// A view of `merged`, merged from `answers`.
    pub(crate) fn new(
        answers: Vec<Arc<SourceRecord>>,
        merged: MergedRecord,
        sensitivity: Sensitivity,
    ) -> Self {
        View {
            answers,
            merged,
            sensitivity,
            json: OnceLock::new(),
        }
    }

    /// Each item's JSON, written on first use and kept.
    pub(crate) fn json(&self) -> Result<&Rendered, serde_json::Error> {
        let rendered = self.json.get_or_init(|| {
            let write = || -> Result<Rendered, serde_json::Error> {
                let patient = self
                    .merged
                    .patient
                    .as_ref()
                    .map(serde_json::value::to_raw_value)
                    .transpose()?;
                let items: BTreeMap<Section, Vec<Box<RawValue>>> = self
                    .merged
                    .sections
                    .iter()
                    .map(|(s, items)| {
                        let items = items
                            .iter()
                            .map(serde_json::value::to_raw_value)
                            .collect::<Result<Vec<_>, _>>()?;
                        Ok((*s, items))
                    })
                    .collect::<Result<_, serde_json::Error>>()?;
                let bytes = patient.as_ref().map_or(0, |p| p.get().len())
                    + items
                        .values()
                        .flatten()
                        .map(|i| i.get().len() + 1)
                        .sum::<usize>();
                Ok(Rendered {
                    patient,
                    items,
                    bytes,
                })
            };
            write().map_err(|e| e.to_string())
        });
        rendered
            .as_ref()
            .map_err(<serde_json::Error as serde::ser::Error>::custom)
    }

    /// About how many bytes the view keeps alive: its answers and, about
    /// as large again, its merged record and JSON.
    fn weight(&self) -> u32 {
        let answers: usize = self.answers.iter().map(|a| a.approx_size()).sum();
        u32::try_from(answers.saturating_mul(3)).unwrap_or(u32::MAX)
    }
}

#[derive(Clone, PartialEq, Eq, Hash, Debug)]
struct ViewKey {
    nhs_number: NhsNumber,
    sections: SectionSet,
    /// The address of each answer merged, in order.
    answers: Vec<usize>,
}

/// Counters of the views' use, for metrics.
#[derive(Default, Debug)]
pub struct ViewStats {
    /// Requests served a view merged before.
    pub hits: AtomicU64,
    /// Views merged (and kept).
    pub merged: AtomicU64,
}

/// The merged views kept, bounded in bytes.
#[derive(Clone)]
pub(crate) struct Views {
    inner: moka::sync::Cache<ViewKey, Arc<View>>,
    stats: Arc<ViewStats>,
}

impl Views {
    /// Views weighing at most about `max_bytes`, counting into `stats`.
    pub(crate) fn new(max_bytes: u64, stats: Arc<ViewStats>) -> Self {
        let inner = moka::sync::Cache::builder()
            .max_capacity(max_bytes)
            .weigher(|_, v: &Arc<View>| v.weight())
            .build();
        Views { inner, stats }
    }

    /// The counters.
    pub(crate) fn stats(&self) -> &Arc<ViewStats> {
        &self.stats
    }

    /// The view of `answers` for `nhs_number` and `sections`: the one
    /// merged before if kept, else `merge`'s, kept for the next request.
    pub(crate) fn get_or_merge(
        &self,
        nhs_number: NhsNumber,
        sections: SectionSet,
        answers: &[Arc<SourceRecord>],
        merge: impl FnOnce() -> View,
    ) -> Arc<View> {
        let key = ViewKey {
            nhs_number,
            sections,
            answers: answers.iter().map(|a| Arc::as_ptr(a) as usize).collect(),
        };
        if let Some(view) = self.inner.get(&key) {
            self.stats.hits.fetch_add(1, Ordering::Relaxed);
            return view;
        }
        let view = Arc::new(merge());
        self.stats.merged.fetch_add(1, Ordering::Relaxed);
        self.inner.insert(key, Arc::clone(&view));
        view
    }

    /// Drops every view of `nhs_number`'s record (and with them the
    /// answers they hold).
    pub(crate) fn purge(&self, nhs_number: NhsNumber) {
        let keys: Vec<Arc<ViewKey>> = self
            .inner
            .iter()
            .filter(|(k, _)| k.nhs_number == nhs_number)
            .map(|(k, _)| k)
            .collect();
        for k in &keys {
            self.inner.invalidate(k.as_ref());
        }
        // Counted out at once, not at the cache's next housekeeping.
        self.inner.run_pending_tasks();
    }

    /// Views kept now (approximately).
    pub(crate) fn entry_count(&self) -> u64 {
        self.inner.entry_count()
    }
}

#[cfg(test)]
mod tests {
    use icr_policy::Policy;

    use super::*;

    fn view_of(answers: &[Arc<SourceRecord>]) -> View {
        let policy = Policy::from_toml_str(
            "[classes.c]\nroles = [\"R8000\"]\nsections = [\"allergies\"]\n[patient]\nsections = [\"demographics\"]\n",
            "policy.toml",
        )
        .unwrap();
        let refs: Vec<&SourceRecord> = answers.iter().map(Arc::as_ref).collect();
        let merged = icr_merge::merge(&refs, SectionSet::all());
        let sensitivity = policy.sensitivity(&merged, SectionSet::all());
        View::new(answers.to_vec(), merged, sensitivity)
    }

    #[test]
    fn a_view_is_found_again_only_for_the_very_same_answers() {
        let views = Views::new(1 << 20, Arc::default());
        let nhs = NhsNumber::parse("9990000018").unwrap();
        let other = NhsNumber::parse("9990000026").unwrap();
        let records = icr_merge::testdata::records(20, 2);
        let answers: Vec<Arc<SourceRecord>> = records.iter().cloned().map(Arc::new).collect();
        let all = SectionSet::all();
        let first = views.get_or_merge(nhs, all, &answers, || view_of(&answers));
        let again = views.get_or_merge(nhs, all, &answers, || panic!("merged again"));
        assert!(Arc::ptr_eq(&first, &again));
        // The same content in new answers (a source asked again) is merged anew.
        let fresh: Vec<Arc<SourceRecord>> = records.iter().cloned().map(Arc::new).collect();
        let anew = views.get_or_merge(nhs, all, &fresh, || view_of(&fresh));
        assert!(!Arc::ptr_eq(&first, &anew));
        // Other sections, or another person: another view.
        let fewer: SectionSet = [Section::Medications].into_iter().collect();
        let mut merged = 0;
        views.get_or_merge(nhs, fewer, &answers, || {
            merged += 1;
            view_of(&answers)
        });
        views.get_or_merge(other, all, &answers, || {
            merged += 1;
            view_of(&answers)
        });
        assert_eq!(merged, 2);
        assert_eq!(views.stats().hits.load(Ordering::Relaxed), 1);
        assert_eq!(views.stats().merged.load(Ordering::Relaxed), 4);
        views.purge(nhs);
        assert_eq!(views.entry_count(), 1, "only the other person's is left");
        let after = views.get_or_merge(nhs, all, &answers, || view_of(&answers));
        assert!(!Arc::ptr_eq(&first, &after), "purged: merged again");
    }

    #[test]
    fn items_are_written_once_as_serde_writes_them() {
        let records = icr_merge::testdata::records(30, 3);
        let answers: Vec<Arc<SourceRecord>> = records.into_iter().map(Arc::new).collect();
        let view = view_of(&answers);
        let json = view.json().unwrap();
        for (section, items) in &view.merged.sections {
            let written = &json.items[section];
            assert_eq!(written.len(), items.len());
            for (item, raw) in items.iter().zip(written) {
                assert_eq!(raw.get(), serde_json::to_string(item).unwrap());
            }
        }
        assert!(std::ptr::eq(json, view.json().unwrap()), "written once");
        assert!(view.weight() > 0);
    }
}
