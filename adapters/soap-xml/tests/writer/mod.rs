//! A writer of the contract for tests: a council's holdings (model values)
//! as a `GetPersonSummaryResponse` envelope, the inverse of the adapter's
//! mapping for everything the contract can carry. Written with the
//! contract's response writer (`icr_soap::ResponseWriter`), so every value
//! is escaped.

use icr_adapter_soap_xml::codes::ContactRole;
use icr_model::time::OffsetDateTime;
use icr_model::*;
pub use icr_soap::Style;
use icr_soap::response::ResponseWriter;

/// One record: the council's id, when it changed, and what it says.
#[derive(Clone, Debug)]
pub struct Rec<T> {
    pub id: String,
    pub last_updated: Option<OffsetDateTime>,
    pub restricted: bool,
    pub value: T,
}

/// Everything a council holds for one person.
#[derive(Clone, Debug)]
pub struct Holdings {
    pub person: Rec<Demographics>,
    pub allocations: Vec<Rec<CareTeam>>,
    pub services: Vec<Rec<CareTeam>>,
    pub contacts: Vec<Rec<Contact>>,
    pub alerts: Vec<Rec<Alert>>,
    pub documents: Vec<Rec<Document>>,
    pub visits: Vec<Rec<Appointment>>,
}

pub struct W {
    w: ResponseWriter,
}

type R = std::io::Result<()>;

impl W {
    fn start(&mut self, local: &str, attrs: &[(&str, &str)]) -> R {
        self.w.open(local, attrs);
        Ok(())
    }

    fn end(&mut self, local: &str) -> R {
        self.w.close(local);
        Ok(())
    }

    fn leaf(&mut self, local: &str, attrs: &[(&str, &str)], text: &str) -> R {
        self.w.leaf(local, attrs, text);
        Ok(())
    }

    fn opt(&mut self, local: &str, text: Option<&str>) -> R {
        match text {
            Some(t) => self.leaf(local, &[], t),
            None => Ok(()),
        }
    }

    fn date(&mut self, local: &str, d: Option<&PartialDateTime>) -> R {
        match d {
            Some(d) => self.leaf(local, &[], &d.to_string()),
            None => Ok(()),
        }
    }

    fn coded(&mut self, local: &str, c: &Concept) -> R {
        match c.codings.first() {
            Some(coding) => self.leaf(
                local,
                &[("code", &coding.code), ("system", coding.system.uri())],
                coding.display.as_deref().unwrap_or(""),
            ),
            None => self.leaf(local, &[], c.text.as_deref().unwrap_or("")),
        }
    }

    fn name_el(&mut self, local: &str, n: &HumanName) -> R {
        let use_ = n.use_.map(|u| u.as_code());
        let attrs: Vec<(&str, &str)> = use_.iter().map(|u| ("use", *u)).collect();
        self.start(local, &attrs)?;
        for t in &n.prefix {
            self.leaf("Title", &[], t)?;
        }
        for g in &n.given {
            self.leaf("Given", &[], g)?;
        }
        self.opt("Family", n.family.as_deref())?;
        self.end(local)
    }

    fn address(&mut self, a: &Address) -> R {
        let use_ = a.use_.map(|u| u.as_code());
        let attrs: Vec<(&str, &str)> = use_.iter().map(|u| ("use", *u)).collect();
        self.start("Address", &attrs)?;
        for l in &a.lines {
            self.leaf("Line", &[], l)?;
        }
        self.opt("Town", a.city.as_deref())?;
        self.opt("County", a.district.as_deref())?;
        self.opt("Postcode", a.postcode.as_deref())?;
        self.opt("Country", a.country.as_deref())?;
        self.end("Address")
    }

    fn telecom(&mut self, t: &Telecom) -> R {
        let local = match t.system {
            TelecomSystem::Email => "Email",
            _ => "Phone",
        };
        let use_ = t.use_.map(|u| u.as_code());
        let attrs: Vec<(&str, &str)> = use_.iter().map(|u| ("use", *u)).collect();
        self.leaf(local, &attrs, &t.value)
    }

    fn record_start<T>(&mut self, local: &str, r: &Rec<T>) -> R {
        let lu = r
            .last_updated
            .map(|t| PartialDateTime::DateTime(t).to_string());
        let mut attrs = vec![("id", r.id.as_str())];
        if let Some(lu) = &lu {
            attrs.push(("lastUpdated", lu));
        }
        if r.restricted {
            attrs.push(("restricted", "true"));
        }
        self.start(local, &attrs)
    }
}

fn allocation_status(s: CareTeamStatus) -> &'static str {
    match s {
        CareTeamStatus::Active => "active",
        _ => "ended",
    }
}

fn service_status(s: CareTeamStatus) -> &'static str {
    match s {
        CareTeamStatus::Proposed => "proposed",
        CareTeamStatus::Active => "active",
        CareTeamStatus::Suspended => "suspended",
        CareTeamStatus::Inactive => "ended",
        CareTeamStatus::EnteredInError => "entered-in-error",
    }
}

fn visit_status(s: AppointmentStatus) -> &'static str {
    match s {
        AppointmentStatus::Booked => "planned",
        AppointmentStatus::Fulfilled => "completed",
        AppointmentStatus::Cancelled => "cancelled",
        _ => "missed",
    }
}

/// The holdings as a response envelope.
pub fn write(h: &Holdings, correlation_id: &str, style: Style) -> std::io::Result<Vec<u8>> {
    let mut w = W {
        w: ResponseWriter::new(style, Some(correlation_id)),
    };

    // the person
    let p = &h.person;
    let d = &p.value;
    let mut attrs = Vec::new();
    let lu = p
        .last_updated
        .map(|t| PartialDateTime::DateTime(t).to_string());
    attrs.push(("id", p.id.as_str()));
    if let Some(lu) = &lu {
        attrs.push(("lastUpdated", lu.as_str()));
    }
    if d.sensitive {
        attrs.push(("confidential", "true"));
    }
    w.start("Person", &attrs)?;
    if let Some(n) = d.nhs_number {
        w.leaf("NhsNumber", &[], n.as_str())?;
    }
    for n in &d.names {
        w.name_el("Name", n)?;
    }
    if let Some(g) = d.gender {
        w.leaf("Gender", &[], g.as_code())?;
    }
    w.date("BirthDate", d.birth_date.as_ref())?;
    if let Some(Deceased::At(at)) = &d.deceased {
        w.date("DeathDate", Some(at))?;
    }
    for a in &d.addresses {
        w.address(a)?;
    }
    for t in &d.telecom {
        w.telecom(t)?;
    }
    w.end("Person")?;

    w.start("Allocations", &[])?;
    for r in &h.allocations {
        let c = &r.value;
        w.record_start("Allocation", r)?;
        let (team_phone, worker_phone) = (c.telecom.first(), c.telecom.get(1));
        if c.name.is_some() || !c.category.is_empty() || team_phone.is_some() {
            w.start("Team", &[])?;
            w.opt("Name", c.name.as_deref())?;
            if let Some(t) = c.category.first() {
                w.coded("Type", t)?;
            }
            if let Some(t) = team_phone {
                w.telecom(t)?;
            }
            w.end("Team")?;
        }
        if let Some(m) = c.participants.first() {
            w.start("Worker", &[])?;
            w.opt("Name", m.name.as_deref())?;
            if let Some(r) = m.roles.first() {
                w.coded("Role", r)?;
            }
            if let Some(t) = worker_phone {
                w.telecom(t)?;
            }
            w.end("Worker")?;
        }
        if let Some(s) = c.status {
            w.leaf("Status", &[], allocation_status(s))?;
        }
        w.date("Start", c.period_start.as_ref())?;
        w.date("End", c.period_end.as_ref())?;
        w.end("Allocation")?;
    }
    w.end("Allocations")?;

    w.start("Services", &[])?;
    for r in &h.services {
        let c = &r.value;
        w.record_start("Service", r)?;
        if let Some(t) = c.category.first() {
            w.coded("Type", t)?;
        }
        w.opt("Name", c.name.as_deref())?;
        if !c.managing_organisations.is_empty() || !c.telecom.is_empty() {
            w.start("Provider", &[])?;
            w.opt("Name", c.managing_organisations.first().map(String::as_str))?;
            if let Some(t) = c.telecom.first() {
                w.telecom(t)?;
            }
            w.end("Provider")?;
        }
        if let Some(s) = c.status {
            w.leaf("Status", &[], service_status(s))?;
        }
        w.date("Start", c.period_start.as_ref())?;
        w.date("End", c.period_end.as_ref())?;
        w.end("Service")?;
    }
    w.end("Services")?;

    w.start("Contacts", &[])?;
    for r in &h.contacts {
        let c = &r.value;
        w.record_start("Contact", r)?;
        w.name_el("Name", &c.name)?;
        let (roles, others): (Vec<&Concept>, Vec<&Concept>) = c
            .relationship
            .iter()
            .partition(|r| ContactRole::of_concept(r).is_some());
        if let Some(rel) = others.first() {
            w.coded("Relationship", rel)?;
        }
        for role in roles {
            if let Some(role) = ContactRole::of_concept(role) {
                w.leaf("Role", &[], role.as_str())?;
            }
        }
        for t in &c.telecom {
            w.telecom(t)?;
        }
        if let Some(a) = &c.address {
            w.address(a)?;
        }
        if let Some(a) = c.active {
            w.leaf("Active", &[], if a { "true" } else { "false" })?;
        }
        w.date("Start", c.period_start.as_ref())?;
        w.end("Contact")?;
    }
    w.end("Contacts")?;

    w.start("Alerts", &[])?;
    for r in &h.alerts {
        let a = &r.value;
        w.record_start("Alert", r)?;
        match a.code.codings.first() {
            Some(_) => {
                w.coded("Type", &a.code)?;
                w.opt("Description", a.code.text.as_deref())?;
            }
            None => w.leaf("Type", &[], a.code.text.as_deref().unwrap_or(""))?,
        }
        if let Some(c) = a.category.first() {
            w.coded("Category", c)?;
        }
        if let Some(s) = a.status {
            w.leaf("Status", &[], s.as_code())?;
        }
        w.date("Start", a.period_start.as_ref())?;
        w.date("End", a.period_end.as_ref())?;
        if let Some(author) = &a.author {
            w.start("ContactPerson", &[])?;
            w.leaf("Name", &[], author)?;
            w.end("ContactPerson")?;
        }
        w.end("Alert")?;
    }
    w.end("Alerts")?;

    w.start("Documents", &[])?;
    for r in &h.documents {
        let doc = &r.value;
        w.record_start("Document", r)?;
        w.coded("Type", &doc.doc_type)?;
        w.opt("Title", doc.title.as_deref())?;
        if let Some(s) = doc.status {
            w.leaf("Status", &[], s.as_code())?;
        }
        w.date("Date", doc.date.as_ref())?;
        for a in &doc.authors {
            w.leaf("Author", &[], a)?;
        }
        if let Some(att) = doc.content.first() {
            w.opt("Url", att.url.as_deref())?;
            w.opt("ContentType", att.content_type.as_deref())?;
        }
        w.end("Document")?;
    }
    w.end("Documents")?;

    w.start("Visits", &[])?;
    for r in &h.visits {
        let v = &r.value;
        w.record_start("Visit", r)?;
        w.date("Start", v.start.as_ref())?;
        w.date("End", v.end.as_ref())?;
        if let Some(s) = v.service_type.first() {
            w.coded("Service", s)?;
        }
        if let Some(s) = v.status {
            w.leaf("Status", &[], visit_status(s))?;
        }
        for p in &v.participants {
            w.leaf("Worker", &[], p)?;
        }
        w.opt("Location", v.location.as_deref())?;
        w.opt("Description", v.description.as_deref())?;
        w.end("Visit")?;
    }
    w.end("Visits")?;

    Ok(w.w.finish().into_bytes())
}
