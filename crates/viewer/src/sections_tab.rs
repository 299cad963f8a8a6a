//! The full record: every section the caller may see, every item with all
//! it holds, each with its provenance (every organisation that holds it)
//! and the sources' disagreements on it. A section the role may not see
//! says so; an empty one says why it may be empty.

use std::fmt::Write as _;

use icr_merge::MergedItem;
use icr_model::{Concept, Entry, PartialDateTime, Section};

use crate::html::Esc;
use crate::tabs::section_body;
use crate::{RecordView, banner, documents, format, provenance, results};

/// A section's name in words.
pub(crate) const fn section_name(section: Section) -> &'static str {
    match section {
        Section::Demographics => "Personal details",
        Section::Contacts => "Contacts",
        Section::CareTeam => "Care team",
        Section::Medications => "Medications",
        Section::Allergies => "Allergies and adverse reactions",
        Section::Conditions => "Problems and diagnoses",
        Section::Results => "Results",
        Section::Documents => "Documents",
        Section::Procedures => "Procedures and immunisations",
        Section::Referrals => "Referrals",
        Section::Appointments => "Appointments and encounters",
        Section::Alerts => "Alerts",
    }
}

/// The rows of one item: a fixed label and its value as text.
#[derive(Default)]
struct Rows(Vec<(&'static str, String)>);

impl Rows {
    fn text(&mut self, label: &'static str, value: Option<&str>) {
        if let Some(v) = value.filter(|v| !v.trim().is_empty()) {
            self.0.push((label, v.to_owned()));
        }
    }

    fn code(&mut self, label: &'static str, code: Option<&'static str>) {
        self.text(label, code.map(format::code_words).as_deref());
    }

    fn concept(&mut self, label: &'static str, c: Option<&Concept>) {
        self.text(label, c.and_then(Concept::label));
    }

    fn concepts(&mut self, label: &'static str, cs: &[Concept]) {
        let labels: Vec<&str> = cs.iter().filter_map(Concept::label).collect();
        self.text(label, Some(&labels.join(", ")));
    }

    fn texts(&mut self, label: &'static str, texts: &[String]) {
        self.text(label, Some(&texts.join("; ")));
    }

    fn date(&mut self, label: &'static str, d: Option<&PartialDateTime>) {
        self.text(label, d.map(format::partial).as_deref());
    }
}

/// Everything an item holds, as rows (its name is the heading; a
/// document's text follows the rows, in paragraphs).
fn rows(entry: &Entry) -> Rows {
    let mut r = Rows::default();
    match entry {
        Entry::Contact(c) => {
            r.text("Name", Some(&c.name.display()));
            r.concepts("Relationship", &c.relationship);
            let telecom: Vec<String> = c.telecom.iter().map(|t| t.value.clone()).collect();
            r.texts("Telephone or email", &telecom);
            r.text(
                "Address",
                c.address.as_ref().map(banner::address).as_deref(),
            );
            r.text("Current", c.active.map(|a| if a { "Yes" } else { "No" }));
            r.date("Since", c.period_start.as_ref());
        }
        Entry::CareTeam(t) => {
            r.text("Name", t.name.as_deref());
            r.code("Status", t.status.map(|s| s.as_code()));
            r.concepts("Kind", &t.category);
            r.date("Since", t.period_start.as_ref());
            r.date("Until", t.period_end.as_ref());
            let members: Vec<String> = t
                .participants
                .iter()
                .map(|m| {
                    let roles: Vec<&str> = m.roles.iter().filter_map(Concept::label).collect();
                    match (m.name.as_deref(), roles.is_empty()) {
                        (Some(n), false) => format!("{n} ({})", roles.join(", ")),
                        (Some(n), true) => n.to_owned(),
                        (None, _) => roles.join(", "),
                    }
                })
                .collect();
            r.texts("Members", &members);
            r.texts("Managed by", &t.managing_organisations);
            let telecom: Vec<String> = t.telecom.iter().map(|t| t.value.clone()).collect();
            r.texts("Contact", &telecom);
        }
        Entry::Medication(m) => {
            r.code("Kind", m.kind.map(|k| k.as_code()));
            r.code("Status", m.status.map(|s| s.as_code()));
            r.text("Dosage", m.dosage.as_deref());
            r.date("Started", m.start.as_ref());
            r.date("Ended", m.end.as_ref());
            r.date("Recorded", m.recorded.as_ref());
            r.concepts("Reason", &m.reasons);
            r.text("Prescriber", m.prescriber.as_deref());
            r.texts("Notes", &m.notes);
        }
        Entry::Allergy(a) => {
            r.code("Status", a.clinical_status.map(|s| s.as_code()));
            r.code("Verification", a.verification.map(|s| s.as_code()));
            let cats: Vec<String> = a
                .category
                .iter()
                .map(|c| format::code_words(c.as_code()))
                .collect();
            r.texts("Category", &cats);
            r.code("Criticality", a.criticality.map(|c| c.as_code()));
            let reactions: Vec<String> = a
                .reactions
                .iter()
                .map(|x| {
                    let what: Vec<&str> = x
                        .manifestations
                        .iter()
                        .filter_map(Concept::label)
                        .chain(x.description.as_deref())
                        .collect();
                    match x.severity {
                        Some(s) => format!("{} ({})", what.join(", "), s.as_code()),
                        None => what.join(", "),
                    }
                })
                .collect();
            r.texts("Reactions", &reactions);
            r.date("Onset", a.onset.as_ref());
            r.date("Recorded", a.recorded.as_ref());
            r.texts("Notes", &a.notes);
        }
        Entry::Condition(c) => {
            r.code("Status", c.clinical_status.map(|s| s.as_code()));
            r.code("Verification", c.verification.map(|s| s.as_code()));
            r.concepts("Category", &c.category);
            r.concept("Severity", c.severity.as_ref());
            r.date("Onset", c.onset.as_ref());
            r.date("Resolved", c.abatement.as_ref());
            r.date("Recorded", c.recorded.as_ref());
            r.texts("Notes", &c.notes);
        }
        Entry::Result(x) => {
            r.code("Kind", x.kind.map(|k| k.as_code()));
            r.concepts("Category", &x.category);
            r.code("Status", x.status.map(|s| s.as_code()));
            r.date("Taken", x.effective.as_ref());
            r.date("Issued", x.issued.as_ref());
            r.text("Value", results::value_text(x.value.as_ref()).as_deref());
            r.concept("No value because", x.absent_reason.as_ref());
            r.concepts("Flag", &x.interpretation);
            r.text(
                "Reference range",
                results::range_text(&x.reference_range).as_deref(),
            );
            let parts: Vec<String> = x
                .components
                .iter()
                .map(|c| {
                    format!(
                        "{}: {}",
                        c.code.label().unwrap_or("Part"),
                        results::value_text(c.value.as_ref()).unwrap_or_default()
                    )
                })
                .collect();
            r.texts("Parts", &parts);
            r.text("Conclusion", x.conclusion.as_deref());
            r.text("Performed by", x.performer.as_deref());
            r.texts("Notes", &x.notes);
        }
        Entry::Document(d) => {
            r.text("Title", d.title.as_deref());
            r.concepts("Category", &d.category);
            r.code("Status", d.status.map(|s| s.as_code()));
            r.date("Date", d.date.as_ref());
            r.texts("Authors", &d.authors);
            if let Some(p) = &d.care_plan {
                r.code("Plan status", p.status.map(|s| s.as_code()));
                r.date("Plan from", p.period_start.as_ref());
                r.date("Plan until", p.period_end.as_ref());
                r.texts("Planned", &p.activities);
            }
        }
        Entry::Procedure(p) => {
            r.code("Status", p.status.map(|s| s.as_code()));
            r.date("Performed", p.performed.as_ref());
            r.date("Ended", p.performed_end.as_ref());
            r.concepts("Body site", &p.body_site);
            r.concept("Outcome", p.outcome.as_ref());
            r.texts("Performed by", &p.performers);
            if let Some(i) = &p.immunisation {
                r.concept("Vaccine", Some(&i.vaccine));
                r.text("Dose", i.dose.as_deref());
                r.text("Batch", i.lot_number.as_deref());
                r.concept("Not given because", i.reason_not_given.as_ref());
            }
            r.texts("Notes", &p.notes);
        }
        Entry::Referral(x) => {
            r.concepts("Kind", &x.category);
            r.code("Status", x.status.map(|s| s.as_code()));
            r.code("Priority", x.priority.map(|p| p.as_code()));
            r.date("Made", x.authored.as_ref());
            r.text("Referred by", x.requester.as_deref());
            r.texts("Referred to", &x.performers);
            r.concepts("Reason", &x.reasons);
            r.texts("Notes", &x.notes);
        }
        Entry::Appointment(a) => {
            r.code("Kind", a.kind.map(|k| k.as_code()));
            r.code("Status", a.status.map(|s| s.as_code()));
            r.concept("Setting", a.class.as_ref());
            r.text("Description", a.description.as_deref());
            r.date("Start", a.start.as_ref());
            r.date("End", a.end.as_ref());
            r.text("Location", a.location.as_deref());
            r.texts("With", &a.participants);
            r.concepts("Reason", &a.reasons);
        }
        Entry::Alert(a) => {
            r.code("Status", a.status.map(|s| s.as_code()));
            r.concepts("Category", &a.category);
            r.date("From", a.period_start.as_ref());
            r.date("Until", a.period_end.as_ref());
            r.text("Raised by", a.author.as_deref());
        }
    }
    r
}

/// An item's name: its concept's label, else its title, else its kind.
pub(crate) fn item_name(entry: &Entry) -> &str {
    let title = match entry {
        Entry::Document(d) => d.title.as_deref(),
        Entry::CareTeam(t) => t.name.as_deref(),
        Entry::Appointment(a) => a.description.as_deref(),
        _ => None,
    };
    title
        .or_else(|| entry.code().and_then(Concept::label))
        .unwrap_or("Not named")
}

/// One item: its name, every field, every holder, every disagreement.
fn item(out: &mut String, item: &MergedItem) {
    let _ = write!(
        out,
        "<div class=\"nhsuk-card\"><div class=\"nhsuk-card__content\"><h3 class=\"nhsuk-card__heading nhsuk-heading-s\">{}</h3><dl class=\"nhsuk-summary-list\">",
        Esc(item_name(&item.entry))
    );
    for (key, value) in rows(&item.entry).0 {
        banner::row(out, key, &value);
    }
    out.push_str("<div class=\"nhsuk-summary-list__row\"><dt class=\"nhsuk-summary-list__key\">Held by</dt><dd class=\"nhsuk-summary-list__value\">");
    provenance::holders(out, &item.provenance);
    out.push_str("</dd></div></dl>");
    if let Entry::Document(d) = &item.entry {
        documents::text(out, d);
    }
    provenance::conflicts(out, item);
    out.push_str("</div></div>");
}

/// The tab: personal details' provenance, then every section in order,
/// each a second-level heading as the summary's lists are.
pub(crate) fn sections(out: &mut String, view: &RecordView<'_>) {
    if let Some(patient) = &view.record.patient {
        out.push_str("<section aria-labelledby=\"section-demographics\"><h2 class=\"nhsuk-heading-m\" id=\"section-demographics\">Personal details</h2><p>The details in the banner are from the most recently updated of:</p>");
        provenance::holders(out, &patient.provenance);
        out.push_str("</section>\n");
    }
    for &section in Section::ALL {
        if section == Section::Demographics {
            continue;
        }
        let id = section.as_str();
        let _ = write!(
            out,
            "<section aria-labelledby=\"section-{id}\"><h2 class=\"nhsuk-heading-m\" id=\"section-{id}\">{}</h2>",
            section_name(section)
        );
        section_body(out, view, section, |out, items| {
            let _ = write!(
                out,
                "<p class=\"nhsuk-body-s\">{}, most recent first.</p>",
                format::count(items.len(), "item", "items")
            );
            for i in items {
                item(out, i);
            }
        });
        out.push_str("</section>\n");
    }
}
