//! The person summary (a `GetPersonSummaryResponse` element, already read
//! by [`crate::xml`]) into the unified model: pure functions, no I/O, no
//! panics on any input.
//!
//! Children are read by namespace and local name, in any order; elements
//! of other namespaces are extensions and are ignored; elements of the
//! service's own namespace that this version of the contract does not
//! define are counted and reported in a `note` issue (the council may
//! publish data this adapter does not show yet). A value that cannot be
//! read (a date, a status code, a coded value without its system, a
//! document link that is not http or https) is left out and counted; a
//! record missing what the contract requires of it is left out and counted
//! as `unreadable`. No issue message quotes the document.

use std::collections::HashSet;

use icr_model::time::OffsetDateTime;
use icr_model::{
    Address, Alert, Appointment, AppointmentKind, Attachment, CareTeam, CareTeamMember, CodeSystem,
    Coding, Concept, Contact, ContactUse, Deceased, Demographics, Document, Entry, Gender,
    HumanName, IssueKind, NameUse, NhsNumber, PartialDateTime, Section, SectionSet, SourceIssue,
    Telecom, TelecomSystem,
};

use icr_soap::List;

use crate::codes::{self, ContactRole};
use crate::xml::{Element, Ns};

const PS: Ns = Ns::PersonSummary;

/// The section a list's records belong to.
pub const fn section(list: List) -> Section {
    match list {
        List::Allocations | List::Services => Section::CareTeam,
        List::Contacts => Section::Contacts,
        List::Alerts => Section::Alerts,
        List::Documents => Section::Documents,
        List::Visits => Section::Appointments,
    }
}

/// The lists that hold `sections`, in the contract's order.
pub fn lists_for(sections: SectionSet) -> impl Iterator<Item = List> {
    List::ALL
        .into_iter()
        .filter(move |l| sections.contains(section(*l)))
}

/// The sections a person summary can provide.
pub fn provided_sections() -> SectionSet {
    let mut set: SectionSet = List::ALL.into_iter().map(section).collect();
    set.insert(Section::Demographics);
    set
}

/// The person, as the summary describes them.
#[derive(Clone, Debug, PartialEq)]
pub struct MappedPerson {
    /// The record id (`Person/{id}`).
    pub local_id: String,
    /// When the council last changed the person's details.
    pub last_updated: Option<OffsetDateTime>,
    /// The demographics (the NHS number only when it is a valid one).
    pub demographics: Demographics,
    /// The `NhsNumber` element was present but is not a valid NHS number.
    pub invalid_nhs_number: bool,
}

/// One record of a list, in the model.
#[derive(Clone, Debug, PartialEq)]
pub struct MappedRecord {
    /// The record id (`Alert/{id}`, or `Alert/#{position}` when the record
    /// has no usable id).
    pub local_id: String,
    /// When the council last changed the record.
    pub last_updated: Option<OffsetDateTime>,
    /// The item.
    pub entry: Entry,
    /// The council labels the record restricted: it is shown only to
    /// roles cleared for sensitive items. A `restricted` value that is not
    /// an `xs:boolean` counts as restricted.
    pub restricted: bool,
}

/// What a person summary says.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Summary {
    /// The `CorrelationId` the service echoed, if any.
    pub correlation_id: Option<String>,
    /// The person, if the summary has a `Person`.
    pub person: Option<MappedPerson>,
    /// The records of the wanted lists, list by list in document order.
    pub records: Vec<MappedRecord>,
    /// What could not be read, what was missing, what was held back.
    pub issues: Vec<SourceIssue>,
}

/// Reads a `GetPersonSummaryResponse` element: the person, and the records
/// of the lists that hold `wanted` sections, at most `max_items` in all.
pub fn map_summary(response: &Element, wanted: SectionSet, max_items: usize) -> Summary {
    let mut summary = Summary {
        correlation_id: response
            .child(PS, "CorrelationId")
            .and_then(Element::value)
            .map(str::to_string),
        ..Summary::default()
    };
    let mut unknown = count_unknown(
        response,
        &[
            "CorrelationId",
            "Person",
            "Allocations",
            "Services",
            "Contacts",
            "Alerts",
            "Documents",
            "Visits",
            // A fault in the answer: read by `answer`, which says so.
            "PersonSummaryFault",
        ],
    );
    if let Some(person) = response.child(PS, "Person") {
        let mut r = Reader::default();
        summary.person = Some(r.person(person));
        unknown += r.unknown;
        if wanted.contains(Section::Demographics) {
            r.issues(Section::Demographics, "Person", &mut summary.issues);
        }
    }
    for part in lists_for(wanted) {
        let section = section(part);
        let Some(list) = response.child(PS, part.name()) else {
            summary.issues.push(SourceIssue {
                kind: IssueKind::SectionFailed,
                section: Some(section),
                message: format!(
                    "the answer has no {} list, so its {section} are missing",
                    part.name()
                ),
            });
            continue;
        };
        unknown += count_unknown(list, &[part.record()]);
        let mut r = Reader::default();
        let mut seen = HashSet::new();
        let mut dropped = 0u32;
        for (n, el) in list.children_named(PS, part.record()).enumerate() {
            let Some(record) = r.record(part, el, n + 1) else {
                r.counts.unreadable += 1;
                continue;
            };
            if !seen.insert(record.local_id.clone()) {
                r.counts.duplicate += 1;
                continue;
            }
            if summary.records.len() >= max_items {
                dropped += 1;
                continue;
            }
            summary.records.push(record);
        }
        unknown += r.unknown;
        r.issues(section, part.record(), &mut summary.issues);
        let mut issue = |kind, message: String| {
            summary.issues.push(SourceIssue {
                kind,
                section: Some(section),
                message,
            })
        };
        if dropped > 0 {
            issue(
                IssueKind::Truncated,
                format!(
                    "{dropped} {} record(s) beyond the limit of {max_items} items were not read",
                    part.record()
                ),
            );
        }
        if let Some(n) = list
            .attribute("withheld")
            .and_then(|v| v.parse::<u32>().ok())
            && n > 0
        {
            issue(
                IssueKind::Withheld,
                format!(
                    "the council withheld {n} {} record(s) from this requester",
                    part.record()
                ),
            );
        }
        if list.attribute("moreAvailable").and_then(xs_boolean) == Some(true) {
            issue(
                IssueKind::Truncated,
                format!("the council returned only part of its {} list", part.name()),
            );
        }
    }
    if unknown > 0 {
        summary.issues.push(SourceIssue {
            kind: IssueKind::Note,
            section: None,
            message: format!(
                "{unknown} element(s) of the person-summary namespace that this adapter does not know were ignored (the service may be newer than the adapter)"
            ),
        });
    }
    summary
}

/// An `xs:boolean`.
pub fn xs_boolean(v: &str) -> Option<bool> {
    match v.trim() {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => None,
    }
}

/// Children of the service's namespace not in `known`.
fn count_unknown(el: &Element, known: &[&str]) -> u32 {
    let n = el
        .children
        .iter()
        .filter(|c| c.ns == PS && !known.contains(&&*c.name))
        .count();
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// A usable record id: what [`icr_model::RecordId`] accepts once prefixed.
fn usable_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 400 && !id.chars().any(char::is_control)
}

#[derive(Default)]
struct Counts {
    unreadable: u32,
    duplicate: u32,
    positional: u32,
    bad_dates: u32,
    bad_codes: u32,
    bad_urls: u32,
}

/// Reads records of one list (or the person), counting what it leaves out.
#[derive(Default)]
struct Reader {
    counts: Counts,
    unknown: u32,
}

impl Reader {
    /// The issues for what was counted, for records named `what`.
    fn issues(&self, section: Section, what: &str, out: &mut Vec<SourceIssue>) {
        let c = &self.counts;
        let mut push = |kind, n: u32, text: &str| {
            if n > 0 {
                out.push(SourceIssue {
                    kind,
                    section: Some(section),
                    message: format!("{n} {what} {text}"),
                });
            }
        };
        push(
            IssueKind::Unreadable,
            c.unreadable,
            "record(s) lacked what the contract requires and were left out",
        );
        push(
            IssueKind::Unreadable,
            c.duplicate,
            "record(s) repeated an id already read and were left out",
        );
        push(
            IssueKind::Note,
            c.positional,
            "record(s) had no usable id; positional ids were used",
        );
        push(
            IssueKind::Note,
            c.bad_dates,
            "date(s) could not be read and were left out",
        );
        push(
            IssueKind::Note,
            c.bad_codes,
            "coded value(s) were not of the contract (unknown status or code without a system) and were left out",
        );
        push(
            IssueKind::Note,
            c.bad_urls,
            "link(s) were not absolute http or https URLs and were left out",
        );
    }

    fn known(&mut self, el: &Element, known: &[&str]) {
        self.unknown = self.unknown.saturating_add(count_unknown(el, known));
    }

    fn date(&mut self, el: &Element, name: &str) -> Option<PartialDateTime> {
        let v = el.child(PS, name)?.value()?;
        match PartialDateTime::parse(v) {
            Ok(d) => Some(d),
            Err(_) => {
                self.counts.bad_dates += 1;
                None
            }
        }
    }

    fn last_updated(&mut self, el: &Element) -> Option<OffsetDateTime> {
        let v = el.attribute("lastUpdated")?;
        match PartialDateTime::parse(v) {
            Ok(PartialDateTime::DateTime(dt)) => Some(dt),
            _ => {
                self.counts.bad_dates += 1;
                None
            }
        }
    }

    /// A contract enumeration; a value not of the contract is counted.
    fn code<T>(&mut self, el: &Element, name: &str, parse: fn(&str) -> Option<T>) -> Option<T> {
        let v = el.child(PS, name)?.value()?;
        let parsed = parse(v);
        if parsed.is_none() {
            self.counts.bad_codes += 1;
        }
        parsed
    }

    /// A coded value: `code` and `system` attributes, the display as text.
    fn concept(&mut self, el: &Element) -> Concept {
        let display = el.value().map(str::to_string);
        match (el.attribute("code"), el.attribute("system")) {
            (Some(code), Some(system)) => Concept::coded(Coding {
                system: CodeSystem::from_uri(system),
                code: code.to_string(),
                display,
            }),
            (Some(_), None) => {
                self.counts.bad_codes += 1;
                Concept {
                    codings: Vec::new(),
                    text: display,
                }
            }
            (None, _) => Concept {
                codings: Vec::new(),
                text: display,
            },
        }
    }

    fn coded(&mut self, el: &Element, name: &str) -> Option<Concept> {
        let c = self.concept(el.child(PS, name)?);
        (!c.is_empty()).then_some(c)
    }

    fn name(&mut self, el: &Element) -> HumanName {
        self.known(el, &["Title", "Given", "Family"]);
        HumanName {
            use_: el.attribute("use").and_then(|u| {
                let v = NameUse::from_code(u);
                if v.is_none() {
                    self.counts.bad_codes += 1;
                }
                v
            }),
            prefix: texts(el, "Title"),
            given: texts(el, "Given"),
            family: text(el, "Family"),
            text: None,
        }
    }

    fn address(&mut self, el: &Element) -> Address {
        self.known(el, &["Line", "Town", "County", "Postcode", "Country"]);
        Address {
            use_: self.contact_use(el),
            lines: texts(el, "Line"),
            city: text(el, "Town"),
            district: text(el, "County"),
            postcode: text(el, "Postcode"),
            country: text(el, "Country"),
        }
    }

    fn contact_use(&mut self, el: &Element) -> Option<ContactUse> {
        let u = el.attribute("use")?;
        let v = ContactUse::from_code(u);
        if v.is_none() {
            self.counts.bad_codes += 1;
        }
        v
    }

    /// `Phone` and `Email` children as contact points, phones first.
    fn telecom(&mut self, el: &Element) -> Vec<Telecom> {
        let mut out = Vec::new();
        for (name, system) in [
            ("Phone", TelecomSystem::Phone),
            ("Email", TelecomSystem::Email),
        ] {
            for t in el.children_named(PS, name) {
                if let Some(value) = t.value() {
                    out.push(Telecom {
                        system,
                        value: value.to_string(),
                        use_: self.contact_use(t),
                    });
                }
            }
        }
        out
    }

    /// A work phone number given as `<ps:Phone>` of `el`.
    fn work_phone(&mut self, el: &Element) -> Option<Telecom> {
        let t = el.child(PS, "Phone")?;
        let value = t.value()?;
        Some(Telecom {
            system: TelecomSystem::Phone,
            value: value.to_string(),
            use_: self.contact_use(t).or(Some(ContactUse::Work)),
        })
    }

    fn person(&mut self, el: &Element) -> MappedPerson {
        self.known(
            el,
            &[
                "NhsNumber",
                "Name",
                "Gender",
                "BirthDate",
                "DeathDate",
                "Address",
                "Phone",
                "Email",
            ],
        );
        let last_updated = self.last_updated(el);
        let local_id = match el.attribute("id").filter(|id| usable_id(id)) {
            Some(id) => format!("Person/{id}"),
            None => {
                self.counts.positional += 1;
                "Person/#1".to_string()
            }
        };
        let nhs_text = text(el, "NhsNumber");
        let nhs_number = nhs_text
            .as_deref()
            .and_then(|n| NhsNumber::parse_formatted(n).ok());
        let names = el
            .children_named(PS, "Name")
            .map(|n| self.name(n))
            .collect();
        let addresses = el
            .children_named(PS, "Address")
            .map(|a| self.address(a))
            .collect();
        let demographics = Demographics {
            nhs_number,
            names,
            birth_date: self.date(el, "BirthDate"),
            gender: self.code(el, "Gender", Gender::from_code),
            addresses,
            telecom: self.telecom(el),
            deceased: self.date(el, "DeathDate").map(Deceased::At),
            registered_practice: None,
            sensitive: el.attribute("confidential").and_then(xs_boolean) == Some(true),
        };
        MappedPerson {
            local_id,
            last_updated,
            demographics,
            invalid_nhs_number: nhs_text.is_some() && nhs_number.is_none(),
        }
    }

    /// One record of `part`, at `position` in its list; `None` when it
    /// lacks what the contract requires.
    fn record(&mut self, part: List, el: &Element, position: usize) -> Option<MappedRecord> {
        let entry = match part {
            List::Allocations => self.allocation(el)?,
            List::Services => self.service(el)?,
            List::Contacts => self.contact(el)?,
            List::Alerts => self.alert(el)?,
            List::Documents => self.document(el)?,
            List::Visits => self.visit(el)?,
        };
        let local_id = match el.attribute("id").filter(|id| usable_id(id)) {
            Some(id) => format!("{}/{id}", part.record()),
            None => {
                self.counts.positional += 1;
                format!("{}/#{position}", part.record())
            }
        };
        let restricted = match el.attribute("restricted") {
            None => false,
            Some(v) => xs_boolean(v).unwrap_or_else(|| {
                self.counts.bad_codes += 1;
                true
            }),
        };
        Some(MappedRecord {
            local_id,
            last_updated: self.last_updated(el),
            entry,
            restricted,
        })
    }

    fn allocation(&mut self, el: &Element) -> Option<Entry> {
        self.known(el, &["Team", "Worker", "Status", "Start", "End"]);
        let team = el.child(PS, "Team");
        let worker = el.child(PS, "Worker");
        if team.is_none() && worker.is_none() {
            return None;
        }
        let mut telecom = Vec::new();
        let mut category = Vec::new();
        let mut name = None;
        if let Some(team) = team {
            self.known(team, &["Name", "Type", "Phone"]);
            name = text(team, "Name");
            category.extend(self.coded(team, "Type"));
            telecom.extend(self.work_phone(team));
        }
        let mut participants = Vec::new();
        if let Some(worker) = worker {
            self.known(worker, &["Name", "Role", "Phone"]);
            participants.push(CareTeamMember {
                roles: self.coded(worker, "Role").into_iter().collect(),
                name: text(worker, "Name"),
            });
            telecom.extend(self.work_phone(worker));
        }
        Some(Entry::CareTeam(CareTeam {
            name,
            status: self.code(el, "Status", codes::allocation_status),
            category,
            period_start: self.date(el, "Start"),
            period_end: self.date(el, "End"),
            participants,
            managing_organisations: Vec::new(),
            telecom,
        }))
    }

    fn service(&mut self, el: &Element) -> Option<Entry> {
        self.known(el, &["Type", "Name", "Provider", "Status", "Start", "End"]);
        let kind = self.coded(el, "Type")?;
        let mut managing_organisations = Vec::new();
        let mut telecom = Vec::new();
        if let Some(provider) = el.child(PS, "Provider") {
            self.known(provider, &["Name", "Phone"]);
            managing_organisations.extend(text(provider, "Name"));
            telecom.extend(self.work_phone(provider));
        }
        Some(Entry::CareTeam(CareTeam {
            name: text(el, "Name"),
            status: self.code(el, "Status", codes::service_status),
            category: vec![kind],
            period_start: self.date(el, "Start"),
            period_end: self.date(el, "End"),
            participants: Vec::new(),
            managing_organisations,
            telecom,
        }))
    }

    fn contact(&mut self, el: &Element) -> Option<Entry> {
        self.known(
            el,
            &[
                "Name",
                "Relationship",
                "Role",
                "Phone",
                "Email",
                "Address",
                "Active",
                "Start",
            ],
        );
        let name = self.name(el.child(PS, "Name")?);
        if name.given.is_empty() && name.family.is_none() {
            return None;
        }
        let mut relationship: Vec<Concept> = self.coded(el, "Relationship").into_iter().collect();
        for role in el.children_named(PS, "Role") {
            match role.value().and_then(ContactRole::parse) {
                Some(r) => relationship.push(r.concept()),
                None => self.counts.bad_codes += 1,
            }
        }
        let address = el.child(PS, "Address").map(|a| self.address(a));
        Some(Entry::Contact(Contact {
            name,
            relationship,
            telecom: self.telecom(el),
            address,
            active: self.code(el, "Active", xs_boolean),
            period_start: self.date(el, "Start"),
        }))
    }

    fn alert(&mut self, el: &Element) -> Option<Entry> {
        self.known(
            el,
            &[
                "Type",
                "Category",
                "Description",
                "Status",
                "Start",
                "End",
                "ContactPerson",
            ],
        );
        let mut code = self.concept(el.child(PS, "Type")?);
        if let Some(description) = text(el, "Description") {
            code.text = Some(description);
        }
        if code.is_empty() {
            return None;
        }
        let author = el.child(PS, "ContactPerson").and_then(|c| {
            self.known(c, &["Name", "Role", "Phone"]);
            let parts: Vec<String> = ["Name", "Role", "Phone"]
                .into_iter()
                .filter_map(|n| text(c, n))
                .collect();
            (!parts.is_empty()).then(|| parts.join(", "))
        });
        Some(Entry::Alert(Alert {
            code,
            status: self.code(el, "Status", codes::alert_status),
            category: self.coded(el, "Category").into_iter().collect(),
            period_start: self.date(el, "Start"),
            period_end: self.date(el, "End"),
            author,
        }))
    }

    fn document(&mut self, el: &Element) -> Option<Entry> {
        self.known(
            el,
            &[
                "Type",
                "Title",
                "Status",
                "Date",
                "Author",
                "Url",
                "ContentType",
            ],
        );
        let doc_type = self.coded(el, "Type")?;
        let content = match text(el, "Url") {
            Some(u) if is_web_url(&u) => vec![Attachment {
                content_type: text(el, "ContentType"),
                url: Some(u),
                title: None,
                size: None,
                inline_content_omitted: false,
            }],
            Some(_) => {
                self.counts.bad_urls += 1;
                Vec::new()
            }
            None => Vec::new(),
        };
        Some(Entry::Document(Document {
            doc_type,
            category: Vec::new(),
            title: text(el, "Title"),
            status: self.code(el, "Status", codes::document_status).flatten(),
            date: self.date(el, "Date"),
            authors: texts(el, "Author"),
            content,
            // Care plans and assessments are linked, not carried.
            text: None,
            care_plan: None,
        }))
    }

    fn visit(&mut self, el: &Element) -> Option<Entry> {
        self.known(
            el,
            &[
                "Start",
                "End",
                "Service",
                "Status",
                "Worker",
                "Location",
                "Description",
            ],
        );
        let start = self.date(el, "Start")?;
        Some(Entry::Appointment(Appointment {
            kind: Some(AppointmentKind::Appointment),
            status: self.code(el, "Status", codes::visit_status),
            class: None,
            service_type: self.coded(el, "Service").into_iter().collect(),
            description: text(el, "Description"),
            start: Some(start),
            end: self.date(el, "End"),
            location: text(el, "Location"),
            participants: texts(el, "Worker"),
            reasons: Vec::new(),
        }))
    }
}

/// The text of the first child named `name`.
fn text(el: &Element, name: &str) -> Option<String> {
    el.child(PS, name)
        .and_then(Element::value)
        .map(str::to_string)
}

/// The texts of every child named `name`, blanks left out.
fn texts(el: &Element, name: &str) -> Vec<String> {
    el.children_named(PS, name)
        .filter_map(Element::value)
        .map(str::to_string)
        .collect()
}

/// An absolute http or https URL: a link a reader can safely follow.
fn is_web_url(u: &str) -> bool {
    url::Url::parse(u).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.has_host())
}
