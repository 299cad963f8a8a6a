//! Writing a person summary: the `Person` and the lists of a
//! `GetPersonSummaryResponse` from model values, in the contract's
//! elements and order, through [`ResponseWriter`] (every value escaped).
//!
//! The simulated councils and the adapter's tests write their answers with
//! it. What a caller holds becomes the contract's parts by the caller's own
//! choices (which care team is an allocation, which telecom is the team's
//! phone, which coding is the relationship): those are the typed parts
//! here ([`Person`], [`Allocation`], [`Service`], [`Contact`], [`Party`],
//! [`Coded`], [`ContactPoint`]). How a model value is spelt in the contract
//! (names, addresses, dates, codes, statuses) is written once, here.
//!
//! Text values are written trimmed and blank ones left out; phones are
//! written before emails.

use icr_model::time::OffsetDateTime;
use icr_model::{
    Address, Alert, Appointment, AppointmentStatus, Attachment, CareTeamStatus, Coding, Concept,
    ContactUse, Deceased, Demographics, Document, HumanName, NhsNumber, PartialDateTime, Telecom,
    TelecomSystem,
};

use crate::List;
use crate::response::{ResponseWriter, Style};

/// The attributes of one record in a list: the service's id for it, when
/// it last changed, and whether it is restricted.
#[derive(Clone, Copy, Debug)]
pub struct Record<'a> {
    /// `id`.
    pub id: &'a str,
    /// `lastUpdated`, when known.
    pub last_updated: Option<OffsetDateTime>,
    /// `restricted="true"` when set.
    pub restricted: bool,
}

/// The `Person`.
#[derive(Clone, Copy, Debug)]
pub struct Person<'a> {
    /// `id`.
    pub id: &'a str,
    /// `lastUpdated`, when known.
    pub last_updated: Option<OffsetDateTime>,
    /// `NhsNumber`, when known.
    pub nhs_number: Option<NhsNumber>,
    /// Names, gender, dates of birth and death, addresses, telecoms; a
    /// sensitive record is written `confidential="true"`.
    pub demographics: &'a Demographics,
}

/// A coded value (`Type`, `Role`, `Relationship`, …): a code and its
/// system as attributes with the display as text, or text alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Coded<'a> {
    /// `code` and `system` attributes, the display as text.
    Coding {
        /// `code`.
        code: &'a str,
        /// `system`.
        system: &'a str,
        /// The text (empty when there is no display).
        display: &'a str,
    },
    /// Text alone.
    Text(&'a str),
}

impl<'a> Coded<'a> {
    /// A concept: its first coding, else its text (empty when it has none).
    pub fn of(c: &'a Concept) -> Self {
        match c.codings.first() {
            Some(coding) => Coded::coding(coding),
            None => Coded::Text(c.text.as_deref().unwrap_or("")),
        }
    }

    /// One coding, with its display.
    pub fn coding(c: &'a Coding) -> Self {
        Coded::Coding {
            code: &c.code,
            system: c.system.uri(),
            display: c.display.as_deref().unwrap_or(""),
        }
    }
}

/// A `Phone` or an `Email`, with its `use`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ContactPoint<'a> {
    /// An `Email` rather than a `Phone`.
    pub email: bool,
    /// The number or address.
    pub value: &'a str,
    /// `use`, when given.
    pub use_: Option<ContactUse>,
}

impl<'a> ContactPoint<'a> {
    /// A phone number with no `use`.
    pub fn phone(value: &'a str) -> Self {
        ContactPoint {
            email: false,
            value,
            use_: None,
        }
    }
}

impl<'a> From<&'a Telecom> for ContactPoint<'a> {
    /// An email address is an `Email`, every other contact point a `Phone`.
    fn from(t: &'a Telecom) -> Self {
        ContactPoint {
            email: t.system == TelecomSystem::Email,
            value: &t.value,
            use_: t.use_,
        }
    }
}

/// An allocation's `Team` or `Worker`, or a service's `Provider`: a name,
/// what it is (the team's `Type`, the worker's `Role`; a provider has
/// none) and a phone.
#[derive(Clone, Copy, Debug, Default)]
pub struct Party<'a> {
    /// `Name`.
    pub name: Option<&'a str>,
    /// `Type` of a team, `Role` of a worker.
    pub kind: Option<Coded<'a>>,
    /// `Phone` or `Email`.
    pub phone: Option<ContactPoint<'a>>,
}

/// An `Allocation`: a team and a worker allocated to the person.
#[derive(Clone, Copy, Debug)]
pub struct Allocation<'a> {
    /// Its attributes.
    pub record: Record<'a>,
    /// `Team`.
    pub team: Option<Party<'a>>,
    /// `Worker`.
    pub worker: Option<Party<'a>>,
    /// `Status`: `active` when active, else `ended`.
    pub status: Option<CareTeamStatus>,
    /// `Start`.
    pub start: Option<&'a PartialDateTime>,
    /// `End`.
    pub end: Option<&'a PartialDateTime>,
}

/// A `Service` provided to the person.
#[derive(Clone, Copy, Debug)]
pub struct Service<'a> {
    /// Its attributes.
    pub record: Record<'a>,
    /// `Type`.
    pub kind: Option<Coded<'a>>,
    /// `Name`.
    pub name: Option<&'a str>,
    /// `Provider` (its `kind` is not written).
    pub provider: Option<Party<'a>>,
    /// `Status`.
    pub status: Option<CareTeamStatus>,
    /// `Start`.
    pub start: Option<&'a PartialDateTime>,
    /// `End`.
    pub end: Option<&'a PartialDateTime>,
}

/// A `Contact` of the person's.
#[derive(Clone, Debug)]
pub struct Contact<'a> {
    /// Its attributes.
    pub record: Record<'a>,
    /// `Name`.
    pub name: &'a HumanName,
    /// `Relationship`.
    pub relationship: Option<Coded<'a>>,
    /// `Role`s, as the contract spells them (`NextOfKin`, `Carer`, …).
    pub roles: Vec<&'a str>,
    /// `Phone`s and `Email`s.
    pub telecom: &'a [Telecom],
    /// `Address`.
    pub address: Option<&'a Address>,
    /// `Active`.
    pub active: Option<bool>,
    /// `Start`.
    pub start: Option<&'a PartialDateTime>,
}

/// Writes one `GetPersonSummaryResponse`: the person, then the lists.
#[derive(Debug)]
pub struct SummaryWriter {
    x: ResponseWriter,
}

impl SummaryWriter {
    /// Opens the response, with the `CorrelationId` when there is one, and
    /// writes the person.
    pub fn new(style: Style, correlation_id: Option<&str>, person: &Person<'_>) -> Self {
        let mut w = SummaryWriter {
            x: ResponseWriter::new(style, correlation_id),
        };
        w.person(person);
        w
    }

    /// One list: its element around what `items` writes.
    pub fn list(&mut self, list: List, items: impl FnOnce(&mut Self)) {
        self.x.open(list.name(), &[]);
        items(self);
        self.x.close(list.name());
    }

    /// Closes the response and its envelope.
    pub fn finish(self) -> String {
        self.x.finish()
    }

    fn person(&mut self, p: &Person<'_>) {
        let d = p.demographics;
        let updated = p.last_updated.map(rfc3339);
        let mut attrs = vec![("id", p.id)];
        if let Some(u) = &updated {
            attrs.push(("lastUpdated", u));
        }
        if d.sensitive {
            attrs.push(("confidential", "true"));
        }
        self.x.open("Person", &attrs);
        if let Some(n) = p.nhs_number {
            self.x.leaf("NhsNumber", &[], n.as_str());
        }
        for n in &d.names {
            self.name(n);
        }
        if let Some(g) = d.gender {
            self.x.leaf("Gender", &[], g.as_code());
        }
        self.date("BirthDate", d.birth_date.as_ref());
        if let Some(Deceased::At(at)) = &d.deceased {
            self.date("DeathDate", Some(at));
        }
        for a in &d.addresses {
            self.address(a);
        }
        self.telecoms(&d.telecom);
        self.x.close("Person");
    }

    /// An `Allocation`.
    pub fn allocation(&mut self, a: &Allocation<'_>) {
        self.record("Allocation", &a.record);
        if let Some(team) = &a.team {
            self.party("Team", "Type", team);
        }
        if let Some(worker) = &a.worker {
            self.party("Worker", "Role", worker);
        }
        if let Some(s) = a.status {
            let s = match s {
                CareTeamStatus::Active => "active",
                _ => "ended",
            };
            self.x.leaf("Status", &[], s);
        }
        self.date("Start", a.start);
        self.date("End", a.end);
        self.x.close("Allocation");
    }

    /// A `Service`.
    pub fn service(&mut self, s: &Service<'_>) {
        self.record("Service", &s.record);
        if let Some(kind) = s.kind {
            self.coded("Type", kind);
        }
        self.x.opt("Name", s.name);
        if let Some(p) = &s.provider {
            let provider = Party { kind: None, ..*p };
            self.party("Provider", "", &provider);
        }
        if let Some(status) = s.status {
            let status = match status {
                CareTeamStatus::Proposed => "proposed",
                CareTeamStatus::Active => "active",
                CareTeamStatus::Suspended => "suspended",
                CareTeamStatus::Inactive => "ended",
                CareTeamStatus::EnteredInError => "entered-in-error",
            };
            self.x.leaf("Status", &[], status);
        }
        self.date("Start", s.start);
        self.date("End", s.end);
        self.x.close("Service");
    }

    /// A `Contact`.
    pub fn contact(&mut self, c: &Contact<'_>) {
        self.record("Contact", &c.record);
        self.name(c.name);
        if let Some(r) = c.relationship {
            self.coded("Relationship", r);
        }
        for role in &c.roles {
            self.x.leaf("Role", &[], role);
        }
        self.telecoms(c.telecom);
        if let Some(a) = c.address {
            self.address(a);
        }
        if let Some(a) = c.active {
            self.x.leaf("Active", &[], if a { "true" } else { "false" });
        }
        self.date("Start", c.start);
        self.x.close("Contact");
    }

    /// An `Alert`: the code as `Type` (with the text as `Description`
    /// when there is a coding), the author as `ContactPerson`.
    pub fn alert(&mut self, record: &Record<'_>, a: &Alert) {
        self.record("Alert", record);
        self.coded("Type", Coded::of(&a.code));
        if !a.code.codings.is_empty() {
            self.x.opt("Description", a.code.text.as_deref());
        }
        if let Some(c) = a.category.first() {
            self.coded("Category", Coded::of(c));
        }
        if let Some(s) = a.status {
            self.x.leaf("Status", &[], s.as_code());
        }
        self.date("Start", a.period_start.as_ref());
        self.date("End", a.period_end.as_ref());
        if let Some(author) = a.author.as_deref() {
            self.x.open("ContactPerson", &[]);
            self.x.leaf("Name", &[], author);
            self.x.close("ContactPerson");
        }
        self.x.close("Alert");
    }

    /// A `Document`, with `link` (one of its attachments) as its `Url` and
    /// `ContentType`.
    pub fn document(&mut self, record: &Record<'_>, d: &Document, link: Option<&Attachment>) {
        self.record("Document", record);
        self.coded("Type", Coded::of(&d.doc_type));
        self.x.opt("Title", d.title.as_deref());
        if let Some(s) = d.status {
            self.x.leaf("Status", &[], s.as_code());
        }
        self.date("Date", d.date.as_ref());
        for a in &d.authors {
            self.x.opt("Author", Some(a));
        }
        if let Some(link) = link {
            self.x.opt("Url", link.url.as_deref());
            self.x.opt("ContentType", link.content_type.as_deref());
        }
        self.x.close("Document");
    }

    /// A `Visit`: an appointment's times, service, status, workers,
    /// location and description. A status the contract has no word for
    /// is left out.
    pub fn visit(&mut self, record: &Record<'_>, a: &Appointment) {
        self.record("Visit", record);
        self.date("Start", a.start.as_ref());
        self.date("End", a.end.as_ref());
        if let Some(s) = a.service_type.first() {
            self.coded("Service", Coded::of(s));
        }
        let status = match a.status {
            Some(AppointmentStatus::Booked | AppointmentStatus::Pending) => Some("planned"),
            Some(
                AppointmentStatus::Fulfilled
                | AppointmentStatus::Arrived
                | AppointmentStatus::CheckedIn
                | AppointmentStatus::Finished,
            ) => Some("completed"),
            Some(AppointmentStatus::Cancelled) => Some("cancelled"),
            Some(AppointmentStatus::Noshow) => Some("missed"),
            _ => None,
        };
        if let Some(s) = status {
            self.x.leaf("Status", &[], s);
        }
        for p in &a.participants {
            self.x.opt("Worker", Some(p));
        }
        self.x.opt("Location", a.location.as_deref());
        self.x.opt("Description", a.description.as_deref());
        self.x.close("Visit");
    }

    /// Opens a record's element with its attributes.
    fn record(&mut self, el: &str, r: &Record<'_>) {
        let updated = r.last_updated.map(rfc3339);
        let mut attrs = vec![("id", r.id)];
        if let Some(u) = &updated {
            attrs.push(("lastUpdated", u));
        }
        if r.restricted {
            attrs.push(("restricted", "true"));
        }
        self.x.open(el, &attrs);
    }

    /// A team, worker or provider; `kind_el` names its coded value.
    fn party(&mut self, el: &str, kind_el: &str, p: &Party<'_>) {
        self.x.open(el, &[]);
        self.x.opt("Name", p.name);
        if let Some(kind) = p.kind {
            self.coded(kind_el, kind);
        }
        if let Some(phone) = p.phone {
            self.contact_point(phone);
        }
        self.x.close(el);
    }

    fn coded(&mut self, el: &str, c: Coded<'_>) {
        match c {
            Coded::Coding {
                code,
                system,
                display,
            } => self
                .x
                .leaf(el, &[("code", code), ("system", system)], display),
            Coded::Text(t) => self.x.leaf(el, &[], t),
        }
    }

    fn date(&mut self, el: &str, d: Option<&PartialDateTime>) {
        if let Some(d) = d {
            self.x.leaf(el, &[], &d.to_string());
        }
    }

    /// A `Name`; a name held only as text is written as the family name.
    fn name(&mut self, n: &HumanName) {
        self.x.open("Name", &use_attr(n.use_.map(|u| u.as_code())));
        for t in &n.prefix {
            self.x.opt("Title", Some(t));
        }
        for g in &n.given {
            self.x.opt("Given", Some(g));
        }
        match (&n.family, n.given.is_empty()) {
            (Some(f), _) => self.x.opt("Family", Some(f)),
            (None, true) => self.x.opt("Family", n.text.as_deref()),
            (None, false) => {}
        }
        self.x.close("Name");
    }

    fn address(&mut self, a: &Address) {
        self.x
            .open("Address", &use_attr(a.use_.map(|u| u.as_code())));
        for l in &a.lines {
            self.x.opt("Line", Some(l));
        }
        self.x.opt("Town", a.city.as_deref());
        self.x.opt("County", a.district.as_deref());
        self.x.opt("Postcode", a.postcode.as_deref());
        self.x.opt("Country", a.country.as_deref());
        self.x.close("Address");
    }

    /// Phones (every contact point but email) first, then emails.
    fn telecoms(&mut self, t: &[Telecom]) {
        for email in [false, true] {
            for c in t
                .iter()
                .map(ContactPoint::from)
                .filter(|c| c.email == email)
            {
                self.contact_point(c);
            }
        }
    }

    fn contact_point(&mut self, c: ContactPoint<'_>) {
        let el = if c.email { "Email" } else { "Phone" };
        self.x
            .leaf(el, &use_attr(c.use_.map(|u| u.as_code())), c.value);
    }
}

fn use_attr(code: Option<&'static str>) -> Vec<(&'static str, &'static str)> {
    code.map(|c| vec![("use", c)]).unwrap_or_default()
}

fn rfc3339(t: OffsetDateTime) -> String {
    PartialDateTime::DateTime(t).to_string()
}

#[cfg(test)]
mod tests {
    use icr_model::{
        AlertStatus, CodeSystem, DocumentStatus, Gender, NameUse, TelecomSystem as Sys,
    };

    use super::*;
    use crate::xml::{Limits, Ns, parse};

    fn telecom(system: Sys, value: &str, use_: Option<ContactUse>) -> Telecom {
        Telecom {
            system,
            value: value.into(),
            use_,
        }
    }

    #[test]
    fn coded_values_and_contact_points() {
        let snomed = Coding::new(CodeSystem::Snomed, "1", "One");
        assert_eq!(
            Coded::of(&Concept::coded(snomed.clone())),
            Coded::Coding {
                code: "1",
                system: "http://snomed.info/sct",
                display: "One"
            }
        );
        let bare = Coding {
            display: None,
            ..snomed
        };
        assert_eq!(
            Coded::coding(&bare),
            Coded::Coding {
                code: "1",
                system: "http://snomed.info/sct",
                display: ""
            }
        );
        assert_eq!(Coded::of(&Concept::text("free")), Coded::Text("free"));
        assert_eq!(Coded::of(&Concept::default()), Coded::Text(""));
        let email = telecom(Sys::Email, "a@b.example", Some(ContactUse::Work));
        assert_eq!(
            ContactPoint::from(&email),
            ContactPoint {
                email: true,
                value: "a@b.example",
                use_: Some(ContactUse::Work)
            }
        );
        let fax = telecom(Sys::Fax, "01632 960000", None);
        assert!(!ContactPoint::from(&fax).email);
        assert_eq!(
            ContactPoint::phone("0"),
            ContactPoint {
                email: false,
                value: "0",
                use_: None
            }
        );
    }

    #[test]
    fn writes_every_part_in_the_contracts_order() {
        let day = |s: &str| PartialDateTime::parse(s).unwrap();
        let PartialDateTime::DateTime(at) = day("2026-10-01T09:30:00Z") else {
            panic!("an instant")
        };
        let demographics = Demographics {
            names: vec![
                HumanName {
                    use_: Some(NameUse::Official),
                    prefix: vec!["Mrs".into()],
                    given: vec![" Ann ".into(), " ".into()],
                    family: Some("O'Neill & Co".into()),
                    text: None,
                },
                HumanName {
                    text: Some("Annie".into()),
                    ..HumanName::default()
                },
            ],
            gender: Some(Gender::Female),
            birth_date: Some(day("1940-02-03")),
            deceased: Some(Deceased::At(day("2026-01"))),
            addresses: vec![Address {
                lines: vec!["1 High St".into()],
                city: Some("Devizes".into()),
                postcode: Some(" ".into()),
                ..Address::default()
            }],
            telecom: vec![
                telecom(Sys::Email, "ann@home.example", None),
                telecom(Sys::Phone, "01632 960001", Some(ContactUse::Home)),
            ],
            sensitive: true,
            ..Demographics::default()
        };
        let person = Person {
            id: "p<1>",
            last_updated: Some(at),
            nhs_number: NhsNumber::parse("9990000018").ok(),
            demographics: &demographics,
        };
        let record = |id| Record {
            id,
            last_updated: None,
            restricted: false,
        };
        let start = day("2025-01-02");
        let worker_phone = telecom(Sys::Phone, "01632 960100", Some(ContactUse::Work));
        let kin = Contact {
            record: record("c1"),
            name: &demographics.names[1],
            relationship: Some(Coded::Text("friend")),
            roles: vec!["NextOfKin", "Carer"],
            telecom: &[],
            address: None,
            active: Some(false),
            start: None,
        };
        let alert = Alert {
            code: Concept {
                codings: vec![Coding::new(CodeSystem::Snomed, "2", "Risk")],
                text: Some("Call first".into()),
            },
            status: Some(AlertStatus::Active),
            author: Some("Sam & co".into()),
            ..Alert::default()
        };
        let document = Document {
            doc_type: Concept::text("Care plan"),
            title: Some("Plan".into()),
            status: Some(DocumentStatus::Current),
            authors: vec!["Sam".into(), "".into()],
            content: vec![Attachment {
                url: Some("https://x.example/d?a=1&b=2".into()),
                content_type: Some("application/pdf".into()),
                ..Attachment::default()
            }],
            ..Document::default()
        };
        let planned = Appointment {
            status: Some(AppointmentStatus::Pending),
            start: Some(start),
            participants: vec!["Sam".into()],
            location: Some("Home".into()),
            ..Appointment::default()
        };
        let proposed = Appointment {
            status: Some(AppointmentStatus::Proposed),
            ..Appointment::default()
        };

        let mut w = SummaryWriter::new(Style::Prefix("ps"), Some("c-1"), &person);
        w.list(List::Allocations, |w| {
            w.allocation(&Allocation {
                record: Record {
                    id: "a1",
                    last_updated: Some(at),
                    restricted: true,
                },
                team: Some(Party {
                    name: Some("Team"),
                    kind: Some(Coded::Text("Adults")),
                    phone: Some(ContactPoint::phone("01632 960000")),
                }),
                worker: Some(Party {
                    name: Some("Sam Lee"),
                    kind: Some(Coded::Coding {
                        code: "106328005",
                        system: "http://snomed.info/sct",
                        display: "Social worker",
                    }),
                    phone: Some(ContactPoint::from(&worker_phone)),
                }),
                status: Some(CareTeamStatus::Suspended),
                start: Some(&start),
                end: None,
            });
        });
        w.list(List::Services, |w| {
            w.service(&Service {
                record: record("s1"),
                kind: None,
                name: Some("Home care"),
                provider: Some(Party {
                    name: Some("Kingfisher"),
                    kind: Some(Coded::Text("never written")),
                    phone: None,
                }),
                status: Some(CareTeamStatus::Inactive),
                start: None,
                end: Some(&start),
            });
        });
        w.list(List::Contacts, |w| w.contact(&kin));
        w.list(List::Alerts, |w| w.alert(&record("al1"), &alert));
        w.list(List::Documents, |w| {
            w.document(&record("d1"), &document, document.content.first());
            w.document(&record("d2"), &document, None);
        });
        w.list(List::Visits, |w| {
            w.visit(&record("v1"), &planned);
            w.visit(&record("v2"), &proposed);
        });
        let xml = w.finish();
        assert_eq!(
            xml,
            r#"<?xml version="1.0" encoding="utf-8"?>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">
  <soap:Body>
    <ps:GetPersonSummaryResponse xmlns:ps="urn:icr:socialcare:personsummary:1">
      <ps:CorrelationId>c-1</ps:CorrelationId>
      <ps:Person id="p&lt;1&gt;" lastUpdated="2026-10-01T09:30:00Z" confidential="true">
        <ps:NhsNumber>9990000018</ps:NhsNumber>
        <ps:Name use="official">
          <ps:Title>Mrs</ps:Title>
          <ps:Given>Ann</ps:Given>
          <ps:Family>O'Neill &amp; Co</ps:Family>
        </ps:Name>
        <ps:Name>
          <ps:Family>Annie</ps:Family>
        </ps:Name>
        <ps:Gender>female</ps:Gender>
        <ps:BirthDate>1940-02-03</ps:BirthDate>
        <ps:DeathDate>2026-01</ps:DeathDate>
        <ps:Address>
          <ps:Line>1 High St</ps:Line>
          <ps:Town>Devizes</ps:Town>
        </ps:Address>
        <ps:Phone use="home">01632 960001</ps:Phone>
        <ps:Email>ann@home.example</ps:Email>
      </ps:Person>
      <ps:Allocations>
        <ps:Allocation id="a1" lastUpdated="2026-10-01T09:30:00Z" restricted="true">
          <ps:Team>
            <ps:Name>Team</ps:Name>
            <ps:Type>Adults</ps:Type>
            <ps:Phone>01632 960000</ps:Phone>
          </ps:Team>
          <ps:Worker>
            <ps:Name>Sam Lee</ps:Name>
            <ps:Role code="106328005" system="http://snomed.info/sct">Social worker</ps:Role>
            <ps:Phone use="work">01632 960100</ps:Phone>
          </ps:Worker>
          <ps:Status>ended</ps:Status>
          <ps:Start>2025-01-02</ps:Start>
        </ps:Allocation>
      </ps:Allocations>
      <ps:Services>
        <ps:Service id="s1">
          <ps:Name>Home care</ps:Name>
          <ps:Provider>
            <ps:Name>Kingfisher</ps:Name>
          </ps:Provider>
          <ps:Status>ended</ps:Status>
          <ps:End>2025-01-02</ps:End>
        </ps:Service>
      </ps:Services>
      <ps:Contacts>
        <ps:Contact id="c1">
          <ps:Name>
            <ps:Family>Annie</ps:Family>
          </ps:Name>
          <ps:Relationship>friend</ps:Relationship>
          <ps:Role>NextOfKin</ps:Role>
          <ps:Role>Carer</ps:Role>
          <ps:Active>false</ps:Active>
        </ps:Contact>
      </ps:Contacts>
      <ps:Alerts>
        <ps:Alert id="al1">
          <ps:Type code="2" system="http://snomed.info/sct">Risk</ps:Type>
          <ps:Description>Call first</ps:Description>
          <ps:Status>active</ps:Status>
          <ps:ContactPerson>
            <ps:Name>Sam &amp; co</ps:Name>
          </ps:ContactPerson>
        </ps:Alert>
      </ps:Alerts>
      <ps:Documents>
        <ps:Document id="d1">
          <ps:Type>Care plan</ps:Type>
          <ps:Title>Plan</ps:Title>
          <ps:Status>current</ps:Status>
          <ps:Author>Sam</ps:Author>
          <ps:Url>https://x.example/d?a=1&amp;b=2</ps:Url>
          <ps:ContentType>application/pdf</ps:ContentType>
        </ps:Document>
        <ps:Document id="d2">
          <ps:Type>Care plan</ps:Type>
          <ps:Title>Plan</ps:Title>
          <ps:Status>current</ps:Status>
          <ps:Author>Sam</ps:Author>
        </ps:Document>
      </ps:Documents>
      <ps:Visits>
        <ps:Visit id="v1">
          <ps:Start>2025-01-02</ps:Start>
          <ps:Status>planned</ps:Status>
          <ps:Worker>Sam</ps:Worker>
          <ps:Location>Home</ps:Location>
        </ps:Visit>
        <ps:Visit id="v2">
        </ps:Visit>
      </ps:Visits>
    </ps:GetPersonSummaryResponse>
  </soap:Body>
</soap:Envelope>
"#
        );
        // read back: the escaped values come back whole
        let root = parse(xml.as_bytes(), &Limits::default()).unwrap();
        let person = root
            .child(Ns::Soap11, "Body")
            .and_then(|b| b.child(Ns::PersonSummary, "GetPersonSummaryResponse"))
            .and_then(|r| r.child(Ns::PersonSummary, "Person"))
            .unwrap();
        assert_eq!(person.attr("id"), Some("p<1>"));
    }
}
