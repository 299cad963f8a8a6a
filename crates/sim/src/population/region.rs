//! What the rest of the region holds about a person, beyond the four
//! trusts: their PDS record and registered GP practice.
//!
//! Generated patients draw these from a random stream of their own, after
//! the trusts' records are written, so the trusts' records (and every id
//! they were given) are the same as before the region grew.

use icr_model::OdsCode;
use time::OffsetDateTime;

use super::{Holding, Patient, REFERENCE_DATE, at, shift};
use crate::org::Org;
use crate::rng::SplitMix64;

/// Share of people whose PDS record is restricted (sensitive).
pub(crate) const SENSITIVE_SHARE: f64 = 0.01;

/// How a person is registered: with which practice, and how PDS holds them.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Registration {
    /// The GP practice.
    pub practice: Org,
    /// PDS marks the record restricted.
    pub sensitive: bool,
    /// When PDS last changed the record.
    pub pds_updated: OffsetDateTime,
    /// PDS's version of the record.
    pub version: u32,
}

/// The person's town: the city of their current home address.
pub(crate) fn town(p: &Patient) -> Option<&str> {
    p.truth.demographics.home_address()?.city.as_deref()
}

/// Draws a generated person's registration: a practice of their town,
/// about 1% restricted.
pub(crate) fn draw_registration(p: &Patient, rng: &mut SplitMix64) -> Registration {
    let practices: Vec<Org> = match town(p) {
        Some(t) => Org::practices_in(t).collect(),
        None => Vec::new(),
    };
    let practice = rng
        .pick(&practices)
        .copied()
        .or_else(|| Org::practices().next())
        .unwrap_or(Org::PDS);
    let sensitive = rng.chance(SENSITIVE_SHARE);
    let days = rng.range(20, 3000);
    let pds_updated = at(
        shift(REFERENCE_DATE, -days),
        rng.range(8, 18) as u8,
        rng.range(0, 59) as u8,
    );
    let version = 1 + rng.below(6) as u32;
    Registration {
        practice,
        sensitive,
        pds_updated,
        version,
    }
}

/// Registers the person: every organisation's copy of their demographics
/// names the practice, and PDS holds the reference record (keyed by the
/// NHS number), marked sensitive when it is restricted.
pub(crate) fn register(p: &mut Patient, r: Registration) {
    let ods = OdsCode::parse(r.practice.ods_code()).ok();
    p.truth.demographics.registered_practice = ods.clone();
    for h in &mut p.holdings {
        h.demographics.registered_practice = ods.clone();
    }
    let mut demographics = p.truth.demographics.clone();
    demographics.sensitive = r.sensitive;
    p.holdings.push(Holding {
        org: Org::PDS,
        patient_id: p.nhs_number.as_str().to_string(),
        demographics,
        last_updated: r.pds_updated,
        version: r.version,
        records: Vec::new(),
    });
}
