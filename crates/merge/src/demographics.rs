//! Demographics from several sources: one shown, every disagreement named.

use icr_model::{Demographics, PatientRecord, Provenance, SourceId};
use serde::Serialize;

use crate::Warning;

/// The person's demographics as shown, with every source that gave some.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MergedPatient {
    /// The demographics shown: the reference source's copy (the
    /// demographics service), else the most recently updated source's.
    #[serde(flatten)]
    pub demographics: Demographics,
    /// Every source holding demographics; the first is the one shown.
    pub provenance: Vec<Provenance>,
}

/// Picks the copy to show — the `reference` source's (the demographics
/// service) when it gave one, else the most recently updated (ties to the
/// smallest source id) — and warns about every field another source
/// disagrees on: name, date of birth, gender, NHS number, home postcode,
/// death.
///
/// When any source marks the record sensitive, the person's addresses and
/// contact details are withheld from the shown copy and postcodes are not
/// compared (a warning would reveal them).
pub fn merge_demographics<'a>(
    records: impl Iterator<Item = &'a PatientRecord>,
    reference: Option<&SourceId>,
) -> (Option<MergedPatient>, Vec<Warning>) {
    let mut all: Vec<&PatientRecord> = records.collect();
    if all.is_empty() {
        return (None, Vec::new());
    }
    all.sort_by(|a, b| {
        let is_ref = |r: &PatientRecord| Some(&r.provenance.origin.id) == reference;
        is_ref(b)
            .cmp(&is_ref(a))
            .then_with(|| b.provenance.last_updated.cmp(&a.provenance.last_updated))
            .then_with(|| a.provenance.record.cmp(&b.provenance.record))
    });
    let shown = all[0];
    let sensitive = all.iter().any(|r| r.demographics.sensitive);
    let mut warnings = Vec::new();
    type Getter = fn(&Demographics) -> Option<String>;
    let fields: [(&str, Getter); 6] = [
        ("NHS number", |d| d.nhs_number.map(|n| n.to_string())),
        ("Name", |d| {
            d.preferred_name().map(|n| {
                let mut s = n.given.join(" ");
                if let Some(f) = &n.family {
                    s.push(' ');
                    s.push_str(f);
                }
                s.trim().to_string()
            })
        }),
        ("Date of birth", |d| d.birth_date.map(|b| b.to_string())),
        ("Gender", |d| d.gender.map(|g| g.as_code().to_string())),
        ("Home postcode", |d| {
            d.home_address()
                .and_then(|a| a.postcode.as_deref())
                .map(|p| p.trim().to_string())
        }),
        ("Deceased", |d| {
            d.deceased.as_ref().map(|_| "yes".to_string())
        }),
    ];
    // Values are compared ignoring case and spacing ("SN1 1AA" = "sn11aa"),
    // and shown as the first source holding them wrote them.
    let key = |v: &Option<String>| {
        v.as_ref().map(|s| {
            s.chars()
                .filter(|c| !c.is_whitespace())
                .flat_map(char::to_lowercase)
                .collect::<String>()
        })
    };
    for (label, get) in fields {
        if sensitive && label == "Home postcode" {
            continue;
        }
        let mut groups: Vec<(Option<String>, Vec<&Provenance>)> = Vec::new();
        for r in &all {
            let v = get(&r.demographics);
            // A source that does not record a field does not disagree on it,
            // except for death, where silence is a claim worth flagging.
            if v.is_none() && label != "Deceased" {
                continue;
            }
            match groups.iter_mut().find(|(gv, _)| key(gv) == key(&v)) {
                Some((_, ps)) => ps.push(&r.provenance),
                None => groups.push((v, vec![&r.provenance])),
            }
        }
        if groups.len() > 1 {
            let parts: Vec<String> = groups
                .iter()
                .map(|(v, ps)| {
                    let who: Vec<String> = ps
                        .iter()
                        .map(|p| format!("{} ({})", p.origin.organisation, p.origin.id))
                        .collect();
                    format!(
                        "{} {} {}",
                        who.join(" and "),
                        if ps.len() > 1 { "have" } else { "has" },
                        v.as_deref().unwrap_or("nothing recorded")
                    )
                })
                .collect();
            let mut sources: Vec<_> = groups
                .iter()
                .flat_map(|(_, ps)| ps.iter().map(|p| p.origin.id.clone()))
                .collect();
            sources.sort();
            sources.dedup();
            warnings.push(Warning {
                code: "demographics-differ",
                message: format!("{label} differs between sources: {}", parts.join("; ")),
                sources,
            });
        }
    }
    let mut demographics = shown.demographics.clone();
    if sensitive {
        demographics.sensitive = true;
        demographics.addresses.clear();
        demographics.telecom.clear();
    }
    let patient = MergedPatient {
        demographics,
        provenance: all.iter().map(|r| r.provenance.clone()).collect(),
    };
    (Some(patient), warnings)
}
