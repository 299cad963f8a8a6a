//! The lists of a person summary: the contract's names for them and for
//! their records, shared by whoever reads and writes answers.

/// One list of a person summary, each holding one kind of record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum List {
    /// `Allocations` of `Allocation`s: allocated workers and their teams.
    Allocations,
    /// `Services` of `Service`s: home care, reablement, day care, respite.
    Services,
    /// `Contacts` of `Contact`s: carers, next of kin and other contacts.
    Contacts,
    /// `Alerts` of `Alert`s: safeguarding and other alerts.
    Alerts,
    /// `Documents` of `Document`s: care plans and assessments.
    Documents,
    /// `Visits` of `Visit`s: planned and past visits.
    Visits,
}

impl List {
    /// Every list, in the contract's order ([`LISTS`](crate::LISTS)).
    pub const ALL: [List; 6] = [
        List::Allocations,
        List::Services,
        List::Contacts,
        List::Alerts,
        List::Documents,
        List::Visits,
    ];

    /// The list element's local name (also the `<ps:Include>` value).
    pub const fn name(self) -> &'static str {
        match self {
            List::Allocations => "Allocations",
            List::Services => "Services",
            List::Contacts => "Contacts",
            List::Alerts => "Alerts",
            List::Documents => "Documents",
            List::Visits => "Visits",
        }
    }

    /// The local name of the list's records.
    pub const fn record(self) -> &'static str {
        match self {
            List::Allocations => "Allocation",
            List::Services => "Service",
            List::Contacts => "Contact",
            List::Alerts => "Alert",
            List::Documents => "Document",
            List::Visits => "Visit",
        }
    }

    /// The list a list element's name (or an `Include`) names.
    pub fn of_name(name: &str) -> Option<List> {
        List::ALL.into_iter().find(|l| l.name() == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_the_contracts_in_its_order() {
        let names: Vec<&str> = List::ALL.iter().map(|l| l.name()).collect();
        assert_eq!(names, crate::LISTS.to_vec());
        let records: Vec<&str> = List::ALL.iter().map(|l| l.record()).collect();
        assert_eq!(
            records,
            [
                "Allocation",
                "Service",
                "Contact",
                "Alert",
                "Document",
                "Visit"
            ]
        );
        for l in List::ALL {
            assert_eq!(List::of_name(l.name()), Some(l));
        }
        assert_eq!(List::of_name("Person"), None);
        assert_eq!(List::of_name("alerts"), None);
        assert_eq!(List::of_name("Alert"), None);
    }
}
