//! A writer of the contract for tests: a council's holdings (model values)
//! as a `GetPersonSummaryResponse` envelope, the inverse of the adapter's
//! mapping for everything the contract can carry. Written with the
//! contract's person-summary writer (`icr_soap::SummaryWriter`), so every
//! value is escaped; what is chosen here is only which model value goes
//! where.

use icr_adapter_soap_xml::codes::ContactRole;
use icr_model::time::OffsetDateTime;
use icr_model::*;
use icr_soap::List;
pub use icr_soap::Style;
use icr_soap::summary::{self, Coded, ContactPoint, Party, Person, Record, SummaryWriter};

/// One record: the council's id, when it changed, and what it says.
#[derive(Clone, Debug)]
pub struct Rec<T> {
    pub id: String,
    pub last_updated: Option<OffsetDateTime>,
    pub restricted: bool,
    pub value: T,
}

impl<T> Rec<T> {
    fn record(&self) -> Record<'_> {
        Record {
            id: &self.id,
            last_updated: self.last_updated,
            restricted: self.restricted,
        }
    }
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

/// An allocation: the team when it has anything to say, with the first
/// telecom; the first participant as the worker, with the second.
fn allocation(r: &Rec<CareTeam>) -> summary::Allocation<'_> {
    let c = &r.value;
    let (team_phone, worker_phone) = (c.telecom.first(), c.telecom.get(1));
    let team =
        (c.name.is_some() || !c.category.is_empty() || team_phone.is_some()).then(|| Party {
            name: c.name.as_deref(),
            kind: c.category.first().map(Coded::of),
            phone: team_phone.map(ContactPoint::from),
        });
    summary::Allocation {
        record: r.record(),
        team,
        worker: c.participants.first().map(|m| Party {
            name: m.name.as_deref(),
            kind: m.roles.first().map(Coded::of),
            phone: worker_phone.map(ContactPoint::from),
        }),
        status: c.status,
        start: c.period_start.as_ref(),
        end: c.period_end.as_ref(),
    }
}

/// A service: its category as the type, its managing organisation and
/// first telecom as the provider.
fn service(r: &Rec<CareTeam>) -> summary::Service<'_> {
    let c = &r.value;
    let provider = (!c.managing_organisations.is_empty() || !c.telecom.is_empty()).then(|| Party {
        name: c.managing_organisations.first().map(String::as_str),
        kind: None,
        phone: c.telecom.first().map(ContactPoint::from),
    });
    summary::Service {
        record: r.record(),
        kind: c.category.first().map(Coded::of),
        name: c.name.as_deref(),
        provider,
        status: c.status,
        start: c.period_start.as_ref(),
        end: c.period_end.as_ref(),
    }
}

/// A contact: the relationships that are contact roles as `Role`s, the
/// first other one as the `Relationship`.
fn contact(r: &Rec<Contact>) -> summary::Contact<'_> {
    let c = &r.value;
    let (roles, others): (Vec<&Concept>, Vec<&Concept>) = c
        .relationship
        .iter()
        .partition(|r| ContactRole::of_concept(r).is_some());
    summary::Contact {
        record: r.record(),
        name: &c.name,
        relationship: others.first().map(|r| Coded::of(r)),
        roles: roles
            .into_iter()
            .filter_map(ContactRole::of_concept)
            .map(ContactRole::as_str)
            .collect(),
        telecom: &c.telecom,
        address: c.address.as_ref(),
        active: c.active,
        start: c.period_start.as_ref(),
    }
}

/// The holdings as a response envelope.
pub fn write(h: &Holdings, correlation_id: &str, style: Style) -> std::io::Result<Vec<u8>> {
    let person = Person {
        id: &h.person.id,
        last_updated: h.person.last_updated,
        nhs_number: h.person.value.nhs_number,
        demographics: &h.person.value,
    };
    let mut w = SummaryWriter::new(style, Some(correlation_id), &person);
    w.list(List::Allocations, |w| {
        h.allocations
            .iter()
            .for_each(|r| w.allocation(&allocation(r)));
    });
    w.list(List::Services, |w| {
        h.services.iter().for_each(|r| w.service(&service(r)));
    });
    w.list(List::Contacts, |w| {
        h.contacts.iter().for_each(|r| w.contact(&contact(r)));
    });
    w.list(List::Alerts, |w| {
        h.alerts.iter().for_each(|r| w.alert(&r.record(), &r.value));
    });
    w.list(List::Documents, |w| {
        for r in &h.documents {
            w.document(&r.record(), &r.value, r.value.content.first());
        }
    });
    w.list(List::Visits, |w| {
        h.visits.iter().for_each(|r| w.visit(&r.record(), &r.value));
    });
    Ok(w.finish().into_bytes())
}
