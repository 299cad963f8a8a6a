//! The shared data types ([`datatypes`](crate::datatypes)) in the unified
//! model: text, dates, codings, quantities, names, addresses and observation
//! values, read the same way whichever FHIR version they came in. The FHIR R4
//! and GP Connect adapters map their resources with these; what is left in
//! their own `map.rs` is what their profiles add.
//!
//! Reading is forgiving the way the adapters always were: blank strings are
//! absent, codes are trimmed, an element with nothing usable is `None`.

use icr_model as m;
use icr_model::time::OffsetDateTime;
use icr_model::time::format_description::well_known::Rfc3339;

use crate::bundle::{NHS_NUMBER_SYSTEM, ODS_ORGANISATION_SYSTEM};
use crate::datatypes::*;
use crate::render::UCUM_SYSTEM;

/// A string that is not blank, as given.
pub fn text(s: &Option<String>) -> Option<String> {
    s.as_ref().filter(|s| !s.trim().is_empty()).cloned()
}

/// A code (trimmed) the model knows, read by `from`.
pub fn code_of<T>(s: &Option<String>, from: fn(&str) -> Option<T>) -> Option<T> {
    s.as_deref().and_then(|c| from(c.trim()))
}

/// A FHIR `date`, `dateTime` or `instant` in the model: `Ok(None)` when
/// absent or blank, an error when it is not a date.
pub fn date(s: &Option<String>) -> Result<Option<m::PartialDateTime>, m::DateError> {
    text(s).map(|s| m::PartialDateTime::parse(&s)).transpose()
}

/// The non-empty concepts among `v`.
pub fn concepts(v: &[CodeableConcept]) -> Vec<m::Concept> {
    v.iter()
        .map(CodeableConcept::to_model)
        .filter(|c| !c.is_empty())
        .collect()
}

/// Coded reasons, then referenced ones (a Condition, …) by their display.
pub fn reasons(codes: &[CodeableConcept], refs: &[Reference]) -> Vec<m::Concept> {
    let mut out = concepts(codes);
    out.extend(
        refs.iter()
            .filter_map(|r| text(&r.display))
            .map(m::Concept::text),
    );
    out
}

/// A reference range, unless it says nothing.
pub fn reference_range(
    low: &Option<Quantity>,
    high: &Option<Quantity>,
    range_text: &Option<String>,
) -> Option<m::ReferenceRange> {
    let r = m::ReferenceRange {
        low: low.as_ref().and_then(Quantity::to_model),
        high: high.as_ref().and_then(Quantity::to_model),
        text: text(range_text),
    };
    (r.low.is_some() || r.high.is_some() || r.text.is_some()).then_some(r)
}

/// The dosages' texts (or patient instructions), joined by `; `.
pub fn dosage_text(d: &[Dosage]) -> Option<String> {
    let parts: Vec<String> = d
        .iter()
        .filter_map(|d| text(&d.text).or_else(|| text(&d.patient_instruction)))
        .collect();
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// The first valid NHS number among `ids`.
pub fn nhs_number(ids: &[Identifier]) -> Option<m::NhsNumber> {
    ids.iter()
        .filter(|i| i.is_of(NHS_NUMBER_SYSTEM))
        .find_map(|i| m::NhsNumber::parse_formatted(i.value.as_deref()?).ok())
}

/// The ODS code an identifier holds, when it is a valid one.
pub fn ods_code(i: &Identifier) -> Option<m::OdsCode> {
    if !i.is_of(ODS_ORGANISATION_SYSTEM) {
        return None;
    }
    m::OdsCode::parse(i.value.as_deref()?).ok()
}

/// Whether (and when) a patient died, from `deceasedDateTime` (read by
/// `date`; a date that cannot be read still says the patient died) and
/// `deceasedBoolean`.
pub fn deceased(
    date_time: &Option<String>,
    boolean: Option<bool>,
    date: impl FnOnce(&Option<String>) -> Option<m::PartialDateTime>,
) -> Option<m::Deceased> {
    match (date_time, boolean) {
        (Some(_), _) => Some(date(date_time).map_or(m::Deceased::Yes, m::Deceased::At)),
        (None, Some(true)) => Some(m::Deceased::Yes),
        (None, _) => None,
    }
}

impl Identifier {
    /// True when the identifier is of `system` (compared trimmed).
    pub fn is_of(&self, system: &str) -> bool {
        self.system.as_deref().map(str::trim) == Some(system)
    }
}

impl Coding {
    /// The coding in the model, unless it has neither code nor display.
    pub fn to_model(&self) -> Option<m::Coding> {
        let code = self.code.as_deref().map(str::trim).unwrap_or_default();
        let display = text(&self.display);
        if code.is_empty() && display.is_none() {
            return None;
        }
        Some(m::Coding {
            system: m::CodeSystem::from_uri(
                self.system.as_deref().map(str::trim).unwrap_or_default(),
            ),
            code: code.to_string(),
            display,
        })
    }
}

impl CodeableConcept {
    /// The concept in the model: its usable codings and its text.
    pub fn to_model(&self) -> m::Concept {
        m::Concept {
            codings: self.coding.iter().filter_map(Coding::to_model).collect(),
            text: text(&self.text),
        }
    }
}

impl Quantity {
    /// The quantity in the model (its code only when it is UCUM or has no
    /// system), unless it has no value, unit or code.
    pub fn to_model(&self) -> Option<m::Quantity> {
        let ucum_or_none = self
            .system
            .as_deref()
            .is_none_or(|s| s.trim() == UCUM_SYSTEM);
        let out = m::Quantity {
            value: self.value.filter(|v| v.is_finite()),
            comparator: text(&self.comparator),
            unit: text(&self.unit),
            code: if ucum_or_none { text(&self.code) } else { None },
        };
        (out.value.is_some() || out.unit.is_some() || out.code.is_some()).then_some(out)
    }
}

fn not_blank(v: &[String]) -> Vec<String> {
    v.iter().filter(|s| !s.trim().is_empty()).cloned().collect()
}

impl HumanName {
    /// The name in the model, unless it has no family, given, prefix or text.
    pub fn to_model(&self) -> Option<m::HumanName> {
        let out = m::HumanName {
            use_: code_of(&self.use_, m::NameUse::from_code),
            prefix: not_blank(&self.prefix),
            given: not_blank(&self.given),
            family: text(&self.family),
            text: text(&self.text),
        };
        (out.family.is_some()
            || out.text.is_some()
            || !out.given.is_empty()
            || !out.prefix.is_empty())
        .then_some(out)
    }

    /// The name for display: its text, else prefix, given names and family
    /// name.
    pub fn display_text(&self) -> Option<String> {
        if let Some(t) = text(&self.text) {
            return Some(t);
        }
        let parts: Vec<&str> = self
            .prefix
            .iter()
            .chain(self.given.iter())
            .map(String::as_str)
            .chain(self.family.as_deref())
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        (!parts.is_empty()).then(|| parts.join(" "))
    }
}

impl Address {
    /// The address in the model (the text as its one line when it has no
    /// lines; the state when it has no district), unless it is empty.
    pub fn to_model(&self) -> Option<m::Address> {
        let mut lines = not_blank(&self.line);
        if lines.is_empty() {
            lines.extend(text(&self.text));
        }
        let out = m::Address {
            use_: code_of(&self.use_, m::ContactUse::from_code),
            lines,
            city: text(&self.city),
            district: text(&self.district).or_else(|| text(&self.state)),
            postcode: text(&self.postal_code),
            country: text(&self.country),
        };
        (!out.lines.is_empty()
            || out.city.is_some()
            || out.district.is_some()
            || out.postcode.is_some()
            || out.country.is_some())
        .then_some(out)
    }
}

impl ContactPoint {
    /// The contact in the model (a system the model does not know is
    /// `Other`), unless it has no value.
    pub fn to_model(&self) -> Option<m::Telecom> {
        Some(m::Telecom {
            system: code_of(&self.system, m::TelecomSystem::from_code)
                .unwrap_or(m::TelecomSystem::Other),
            value: text(&self.value)?,
            use_: code_of(&self.use_, m::ContactUse::from_code),
        })
    }
}

impl Meta {
    /// `lastUpdated`, when it is an RFC 3339 instant.
    pub fn last_updated_at(&self) -> Option<OffsetDateTime> {
        self.last_updated
            .as_deref()
            .and_then(|s| OffsetDateTime::parse(s.trim(), &Rfc3339).ok())
    }
}

/// The `value[x]` elements of an Observation or a component, as both FHIR
/// versions have them (`integer` is R4's only).
pub struct ValueX<'a> {
    /// `valueQuantity`.
    pub quantity: &'a Option<Quantity>,
    /// `valueCodeableConcept`.
    pub codeable_concept: &'a Option<CodeableConcept>,
    /// `valueString`.
    pub string: &'a Option<String>,
    /// `valueBoolean`.
    pub boolean: Option<bool>,
    /// `valueInteger`.
    pub integer: Option<i64>,
    /// `valueRange`.
    pub range: &'a Option<Range>,
    /// `valueDateTime`.
    pub date_time: &'a Option<String>,
    /// `valueRatio`.
    pub ratio: &'a Option<Ratio>,
    /// `valuePeriod`.
    pub period: &'a Option<Period>,
    /// `valueTime`.
    pub time: &'a Option<String>,
}

impl ValueX<'_> {
    /// The first value there is, in the model. Dates are read by `date`
    /// (which counts what it cannot read); a ratio and a period with two
    /// ends become text.
    pub fn to_model(
        &self,
        mut date: impl FnMut(&Option<String>) -> Option<m::PartialDateTime>,
    ) -> Option<m::ResultValue> {
        if let Some(q) = self.quantity.as_ref().and_then(Quantity::to_model) {
            return Some(m::ResultValue::Quantity(q));
        }
        if let Some(c) = self
            .codeable_concept
            .as_ref()
            .map(CodeableConcept::to_model)
            .filter(|c| !c.is_empty())
        {
            return Some(m::ResultValue::Coded(c));
        }
        if let Some(s) = text(self.string) {
            return Some(m::ResultValue::Text(s));
        }
        if let Some(b) = self.boolean {
            return Some(m::ResultValue::Boolean(b));
        }
        if let Some(i) = self.integer {
            return Some(m::ResultValue::Integer(i));
        }
        if let Some(r) = self.range {
            let low = r.low.as_ref().and_then(Quantity::to_model);
            let high = r.high.as_ref().and_then(Quantity::to_model);
            if low.is_some() || high.is_some() {
                return Some(m::ResultValue::Range { low, high });
            }
        }
        if self.date_time.is_some()
            && let Some(d) = date(self.date_time)
        {
            return Some(m::ResultValue::DateTime(d));
        }
        if let Some(r) = self.ratio {
            let part = |q: &Option<Quantity>| {
                q.as_ref().and_then(Quantity::to_model).and_then(|q| {
                    let mut s = q.value.map(|n| n.to_string()).unwrap_or_default();
                    if let Some(u) = q.unit.or(q.code) {
                        if !s.is_empty() {
                            s.push(' ');
                        }
                        s.push_str(&u);
                    }
                    (!s.is_empty()).then_some(s)
                })
            };
            if let (Some(n), Some(d)) = (part(&r.numerator), part(&r.denominator)) {
                return Some(m::ResultValue::Text(format!("{n}:{d}")));
            }
        }
        if let Some(p) = self.period {
            match (text(&p.start), text(&p.end)) {
                (Some(s), Some(e)) => return Some(m::ResultValue::Text(format!("{s} to {e}"))),
                (Some(_), None) => {
                    if let Some(d) = date(&p.start) {
                        return Some(m::ResultValue::DateTime(d));
                    }
                }
                (None, Some(e)) => return Some(m::ResultValue::Text(format!("until {e}"))),
                (None, None) => {}
            }
        }
        text(self.time).map(m::ResultValue::Text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Option<String> {
        Some(v.to_string())
    }

    #[test]
    fn blank_text_is_absent_and_codes_are_trimmed() {
        assert_eq!(text(&s("  ")), None);
        assert_eq!(text(&s(" a ")), s(" a "));
        assert_eq!(
            code_of(&s(" female "), m::Gender::from_code),
            Some(m::Gender::Female)
        );
    }

    #[test]
    fn dates_blank_read_and_refused() {
        assert_eq!(date(&None), Ok(None));
        assert_eq!(date(&s(" ")), Ok(None));
        assert_eq!(date(&s("2024-03")).unwrap().unwrap().to_string(), "2024-03");
        assert!(date(&s("March 2024")).is_err());
    }

    #[test]
    fn identity_from_identifiers_and_deceased() {
        let id = |system: &str, value: &str| Identifier {
            system: s(system),
            value: s(value),
            ..Default::default()
        };
        let ids = [
            id(NHS_NUMBER_SYSTEM, "9990000000"),
            id(" https://fhir.nhs.uk/Id/nhs-number ", "999 000 0018"),
        ];
        assert_eq!(nhs_number(&ids).unwrap().as_str(), "9990000018");
        assert_eq!(
            ods_code(&id(ODS_ORGANISATION_SYSTEM, "A81001"))
                .unwrap()
                .as_str(),
            "A81001"
        );
        assert_eq!(ods_code(&id(NHS_NUMBER_SYSTEM, "A81001")), None);
        assert_eq!(deceased(&None, Some(false), |_| None), None);
        assert_eq!(
            deceased(&None, Some(true), |_| None),
            Some(m::Deceased::Yes)
        );
        assert_eq!(deceased(&s("soon"), None, |_| None), Some(m::Deceased::Yes));
        let d = m::PartialDateTime::parse("2020").unwrap();
        assert_eq!(
            deceased(&s("2020"), Some(false), |_| Some(d)),
            Some(m::Deceased::At(d))
        );
    }

    #[test]
    fn a_coding_needs_a_code_or_a_display() {
        assert_eq!(Coding::default().to_model(), None);
        let c = Coding {
            system: s(" http://snomed.info/sct "),
            code: s(" 22298006 "),
            ..Default::default()
        }
        .to_model()
        .unwrap();
        assert_eq!(c.code, "22298006");
        assert_eq!(c.system, m::CodeSystem::from_uri("http://snomed.info/sct"));
        assert_eq!(c.display, None);
    }

    #[test]
    fn quantities_keep_only_ucum_codes() {
        let q = Quantity {
            value: Some(5.0),
            unit: s("mg"),
            system: s("http://example.org/units"),
            code: s("mg"),
            ..Default::default()
        };
        assert_eq!(q.to_model().unwrap().code, None);
        let q = Quantity {
            system: s(UCUM_SYSTEM),
            code: s("mg"),
            ..q
        };
        assert_eq!(q.to_model().unwrap().code, s("mg"));
        assert_eq!(
            Quantity {
                value: Some(f64::NAN),
                ..Default::default()
            }
            .to_model(),
            None
        );
    }

    #[test]
    fn names_addresses_and_contacts() {
        let n = HumanName {
            prefix: vec!["Dr".into(), " ".into()],
            given: vec!["Ann".into()],
            family: s("Lee"),
            ..Default::default()
        };
        assert_eq!(n.display_text(), s("Dr Ann Lee"));
        assert_eq!(n.to_model().unwrap().prefix, vec!["Dr".to_string()]);
        assert_eq!(HumanName::default().to_model(), None);
        let a = Address {
            text: s("1 High St"),
            state: s("Kent"),
            ..Default::default()
        }
        .to_model()
        .unwrap();
        assert_eq!(a.lines, vec!["1 High St".to_string()]);
        assert_eq!(a.district, s("Kent"));
        let t = ContactPoint {
            system: s("pager"),
            value: s("01234"),
            ..Default::default()
        }
        .to_model()
        .unwrap();
        assert_eq!(t.system, m::TelecomSystem::Pager);
        assert_eq!(ContactPoint::default().to_model(), None);
    }

    #[test]
    fn values_in_order_of_preference() {
        let none = None;
        let (q, cc, st, r, dt, ra, t) = (None, None, None, None, None, None, None);
        let ratio = Some(Ratio {
            numerator: Some(Quantity {
                value: Some(1.0),
                ..Default::default()
            }),
            denominator: Some(Quantity {
                value: Some(2.0),
                unit: s("h"),
                ..Default::default()
            }),
        });
        let v = ValueX {
            quantity: &q,
            codeable_concept: &cc,
            string: &st,
            boolean: None,
            integer: None,
            range: &r,
            date_time: &dt,
            ratio: &ratio,
            period: &none,
            time: &t,
        };
        assert_eq!(
            v.to_model(|_| None),
            Some(m::ResultValue::Text("1:2 h".into()))
        );
        let period = Some(Period {
            start: s("2024"),
            end: None,
        });
        let mut asked = 0;
        let v = ValueX {
            ratio: &ra,
            period: &period,
            ..v
        };
        assert_eq!(
            v.to_model(|d| {
                asked += 1;
                date(d).ok().flatten()
            }),
            Some(m::ResultValue::DateTime(
                m::PartialDateTime::parse("2024").unwrap()
            ))
        );
        assert_eq!(asked, 1);
    }
}
