//! Invented people and places: names, streets and phone numbers from
//! ranges set aside for fiction. Towns and postcode districts are real so
//! the region looks like itself; every street address is made up.

use icr_model::{Address, ContactUse, HumanName, NameUse, Telecom, TelecomSystem};

use crate::org::Org;
use crate::rng::SplitMix64;

pub(crate) const FEMALE_GIVEN: &[&str] = &[
    "Margaret",
    "Joan",
    "Patricia",
    "Susan",
    "Helen",
    "Catherine",
    "Rachel",
    "Emma",
    "Sophie",
    "Olivia",
    "Amelia",
    "Isla",
    "Grace",
    "Hannah",
    "Chloe",
    "Lucy",
    "Ruth",
    "Eileen",
    "Brenda",
    "Janet",
    "Gillian",
    "Karen",
    "Nicola",
    "Joanne",
    "Priya",
    "Aisha",
    "Fatima",
    "Zofia",
    "Megan",
    "Bethan",
    "Siobhan",
    "Niamh",
    "Freya",
    "Poppy",
    "Evie",
    "Imogen",
    "Harriet",
    "Lydia",
    "Yvonne",
    "Dorothy",
];

pub(crate) const MALE_GIVEN: &[&str] = &[
    "Robert", "John", "David", "Michael", "Peter", "Richard", "Stephen", "Andrew", "Mark", "Paul",
    "James", "Thomas", "Oliver", "Harry", "George", "Jack", "Noah", "Leo", "Arthur", "Alfie",
    "Dennis", "Kenneth", "Brian", "Graham", "Colin", "Trevor", "Gareth", "Rhys", "Owen", "Callum",
    "Kieran", "Declan", "Tomasz", "Arjun", "Imran", "Kwame", "Samuel", "Daniel", "Lewis",
    "Stanley",
];

pub(crate) const FAMILY: &[&str] = &[
    "Ashworth",
    "Bramwell",
    "Cartwright",
    "Dunmore",
    "Ellery",
    "Fairbrother",
    "Gosling",
    "Hartnell",
    "Ingleby",
    "Jessop",
    "Kettleby",
    "Lambourne",
    "Marchant",
    "Netherton",
    "Oakley",
    "Pennington",
    "Quarrell",
    "Rushworth",
    "Stainton",
    "Thackeray",
    "Underhill",
    "Vickery",
    "Wetherall",
    "Yardley",
    "Ainsworth",
    "Blackmore",
    "Chesterman",
    "Dimmock",
    "Eastwood",
    "Fenwick",
    "Garside",
    "Holloway",
    "Kaur",
    "Okafor",
    "Mensah",
    "Nowak",
    "Kowalczyk",
    "Rahman",
    "Patel",
    "Begum",
    "Osei",
    "Lindqvist",
    "Moreau",
    "Fitzgerald",
    "Brannigan",
    "Llewellyn",
    "Pritchard",
    "Merriman",
    "Sowerby",
    "Tilbury",
    "Wakeley",
    "Harcourt",
    "Penrose",
    "Coldicott",
    "Brightwell",
    "Edgerton",
    "Fortescue",
    "Greenhalgh",
    "Haddington",
    "Iveson",
];

const STREETS: &[&str] = &[
    "Larkspur Way",
    "Cobbler's Lane",
    "Wheelwright Close",
    "Orchard Rise",
    "Kestrel Drive",
    "Tannery Row",
    "Millbrook Road",
    "Saddler's Court",
    "Beechcroft Avenue",
    "Hollowfield Lane",
    "Quarrymans Walk",
    "Elderberry Close",
    "Foxglove Crescent",
    "Stonechat Road",
    "Ropewalk Gardens",
    "Mallard Way",
    "Threshers Lane",
    "Cooper's Yard",
    "Pennyroyal Drive",
    "Wheatsheaf Close",
    "Lacemakers Row",
    "Thistledown Road",
    "Harebell Mews",
    "Weavers Green",
    "Chalkpit Lane",
    "Sorrel Close",
    "Brackenbury Road",
    "Nightjar Way",
    "Fulling Mill Lane",
    "Greensand Close",
];

/// A town of the region with its postcode districts and county or district.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Town {
    pub name: &'static str,
    pub district: &'static str,
    pub postcode_districts: &'static [&'static str],
}

const GWH_TOWNS: &[Town] = &[
    Town {
        name: "Swindon",
        district: "Swindon",
        postcode_districts: &["SN1", "SN2", "SN3", "SN5", "SN25"],
    },
    Town {
        name: "Marlborough",
        district: "Wiltshire",
        postcode_districts: &["SN8"],
    },
    Town {
        name: "Royal Wootton Bassett",
        district: "Wiltshire",
        postcode_districts: &["SN4"],
    },
    Town {
        name: "Highworth",
        district: "Swindon",
        postcode_districts: &["SN6"],
    },
];

const RUH_TOWNS: &[Town] = &[
    Town {
        name: "Bath",
        district: "Bath and North East Somerset",
        postcode_districts: &["BA1", "BA2"],
    },
    Town {
        name: "Chippenham",
        district: "Wiltshire",
        postcode_districts: &["SN14", "SN15"],
    },
    Town {
        name: "Trowbridge",
        district: "Wiltshire",
        postcode_districts: &["BA14"],
    },
    Town {
        name: "Melksham",
        district: "Wiltshire",
        postcode_districts: &["SN12"],
    },
    Town {
        name: "Corsham",
        district: "Wiltshire",
        postcode_districts: &["SN13"],
    },
    Town {
        name: "Bradford-on-Avon",
        district: "Wiltshire",
        postcode_districts: &["BA15"],
    },
];

const SFT_TOWNS: &[Town] = &[
    Town {
        name: "Salisbury",
        district: "Wiltshire",
        postcode_districts: &["SP1", "SP2"],
    },
    Town {
        name: "Amesbury",
        district: "Wiltshire",
        postcode_districts: &["SP4"],
    },
    Town {
        name: "Warminster",
        district: "Wiltshire",
        postcode_districts: &["BA12"],
    },
    Town {
        name: "Tidworth",
        district: "Wiltshire",
        postcode_districts: &["SP9"],
    },
];

/// The towns whose residents the acute trust mostly serves.
pub(crate) fn towns(org: Org) -> &'static [Town] {
    match org {
        Org::GWH => GWH_TOWNS,
        Org::RUH => RUH_TOWNS,
        _ => SFT_TOWNS,
    }
}

/// The acute trust whose hospital serves a town (Salisbury's for a town
/// the region does not list).
pub(crate) fn home_trust(town: &str) -> Org {
    [Org::GWH, Org::RUH, Org::SFT]
        .into_iter()
        .find(|o| towns(*o).iter().any(|t| t.name == town))
        .unwrap_or(Org::SFT)
}

/// The hospital site an acute trust's encounters happen at.
pub(crate) fn site(org: Org) -> &'static str {
    match org {
        Org::GWH => "Great Western Hospital, Swindon",
        Org::RUH => "Royal United Hospital, Bath",
        Org::SFT => "Salisbury District Hospital",
        Org::AWP => "Community mental health base",
        _ => "Community health services",
    }
}

/// Letters allowed in the inward part of a postcode.
const INWARD_LETTERS: &[u8] = b"ABDEFGHJLNPQRSTUWXYZ";

/// An invented home address in `town`.
pub(crate) fn address(rng: &mut SplitMix64, town: &Town) -> Address {
    let number = rng.range(1, 148);
    let street = rng.pick(STREETS).copied().unwrap_or("Orchard Rise");
    let outward = rng.pick(town.postcode_districts).copied().unwrap_or("SN1");
    let digit = rng.range(1, 9);
    let l1 = INWARD_LETTERS[rng.below(INWARD_LETTERS.len() as u64) as usize] as char;
    let l2 = INWARD_LETTERS[rng.below(INWARD_LETTERS.len() as u64) as usize] as char;
    Address {
        use_: Some(ContactUse::Home),
        lines: vec![format!("{number} {street}")],
        city: Some(town.name.to_string()),
        district: Some(town.district.to_string()),
        postcode: Some(format!("{outward} {digit}{l1}{l2}")),
        country: Some("United Kingdom".to_string()),
    }
}

/// A mobile number from Ofcom's range for drama (07700 900000–900999).
pub(crate) fn mobile(rng: &mut SplitMix64) -> Telecom {
    Telecom {
        system: TelecomSystem::Phone,
        value: format!("07700 900{:03}", rng.below(1000)),
        use_: Some(ContactUse::Mobile),
    }
}

/// A landline number from Ofcom's range for drama (01632 960000–960999).
pub(crate) fn landline(rng: &mut SplitMix64) -> Telecom {
    Telecom {
        system: TelecomSystem::Phone,
        value: format!("01632 960{:03}", rng.below(1000)),
        use_: Some(ContactUse::Home),
    }
}

/// A name in the usual form.
pub(crate) fn name(prefix: Option<&str>, given: &[&str], family: &str) -> HumanName {
    HumanName {
        use_: Some(NameUse::Official),
        prefix: prefix.map(str::to_string).into_iter().collect(),
        given: given.iter().map(|g| g.to_string()).collect(),
        family: Some(family.to_string()),
        text: None,
    }
}

/// A clinician's name as sources display it ("Dr A Lambourne").
pub(crate) fn clinician(rng: &mut SplitMix64) -> String {
    let initial = (b'A' + rng.below(26) as u8) as char;
    let family = rng.pick(FAMILY).copied().unwrap_or("Oakley");
    format!("Dr {initial} {family}")
}

/// A nurse's or care coordinator's name ("Sam Penrose").
pub(crate) fn staff(rng: &mut SplitMix64) -> String {
    let given = if rng.chance(0.5) {
        rng.pick(FEMALE_GIVEN).copied().unwrap_or("Ruth")
    } else {
        rng.pick(MALE_GIVEN).copied().unwrap_or("Owen")
    };
    let family = rng.pick(FAMILY).copied().unwrap_or("Oakley");
    format!("{given} {family}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_and_numbers_are_in_fiction_ranges() {
        let mut rng = SplitMix64::new(3);
        for _ in 0..500 {
            let town = rng.pick(towns(Org::RUH)).copied().unwrap_or(RUH_TOWNS[0]);
            let a = address(&mut rng, &town);
            let pc = a.postcode.unwrap_or_default();
            let (out, inward) = pc.split_once(' ').unwrap_or(("", ""));
            assert!(town.postcode_districts.contains(&out), "{pc}");
            assert_eq!(inward.len(), 3);
            assert!(mobile(&mut rng).value.starts_with("07700 900"));
            assert!(landline(&mut rng).value.starts_with("01632 960"));
        }
    }
}
