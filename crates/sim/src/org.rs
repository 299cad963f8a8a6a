//! The region's organisations whose systems are simulated: one table of
//! data (id, name, ODS code, protocol kind, role), so that adding a GP
//! practice is one line, not a new enum variant.
//!
//! ODS codes: the NHS trusts', NHS England's and HCRG Care Group's are
//! the real ones (RN3, RD1, RVN, RNZ, RNU, X26, NDA; `config/demo/README.md`
//! gives the sources that confirm them). Every other code begins `Y9` and
//! is synthetic:
//! GP practice codes are in the practice format (a letter and five digits,
//! `Y` as for every English practice coded since 2003) from `Y90001` up,
//! far above the range issued so far; the other organisations' synthetic
//! codes are `Y9` followed by a letter and two digits. No real
//! organisation is given a made-up code, and no made-up code is meant to
//! be mistaken for a real one (`config/demo/README.md` marks each).

use std::fmt;
use std::str::FromStr;

/// The protocol a source system speaks: the adapter kind the gateway
/// registers it under, and the simulator module that serves it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub enum Kind {
    /// FHIR R4 REST (hospitals, mental health and community trusts).
    FhirR4,
    /// The Personal Demographics Service (FHIR R4 `Patient/{nhs}`).
    Pds,
    /// GP Connect Access Record: Structured (FHIR STU3).
    GpConnect,
    /// HL7 v2 query/response over MLLP (pathology, radiology).
    Hl7v2,
    /// SOAP 1.1 / XML person-summary service (council social care).
    SoapXml,
    /// Document registry and HL7 CDA R2 documents (out of hours).
    Cda,
}

impl Kind {
    /// Every kind, in a fixed order.
    pub const ALL: [Kind; 6] = [
        Kind::FhirR4,
        Kind::Pds,
        Kind::GpConnect,
        Kind::Hl7v2,
        Kind::SoapXml,
        Kind::Cda,
    ];

    /// The kind's name in configuration (`fhir-r4`, `gp-connect`, …).
    pub const fn as_str(self) -> &'static str {
        match self {
            Kind::FhirR4 => "fhir-r4",
            Kind::Pds => "pds",
            Kind::GpConnect => "gp-connect",
            Kind::Hl7v2 => "hl7v2",
            Kind::SoapXml => "soap-xml",
            Kind::Cda => "cda",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A kind name that is not one of the six.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown kind {0:?}; known kinds are fhir-r4, pds, gp-connect, hl7v2, soap-xml and cda")]
pub struct UnknownKind(pub String);

impl FromStr for Kind {
    type Err = UnknownKind;
    fn from_str(s: &str) -> Result<Self, UnknownKind> {
        Kind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownKind(s.chars().take(64).collect()))
    }
}

/// What an organisation does in the region, which decides what it holds.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Role {
    /// An acute hospital trust.
    Acute,
    /// The mental health trust.
    MentalHealth,
    /// The community health services provider.
    Community,
    /// The national demographics service.
    Demographics,
    /// A GP practice.
    GpPractice,
    /// The pathology laboratory network.
    Pathology,
    /// The imaging (radiology) network.
    Radiology,
    /// A council's adult social care service.
    SocialCare,
    /// The out-of-hours GP service.
    OutOfHours,
}

/// One row of the organisation table.
struct Info {
    id: &'static str,
    name: &'static str,
    ods: &'static str,
    kind: Kind,
    role: Role,
    /// A practice's town; a council's local authority district.
    area: &'static str,
    /// Whether the ODS code is invented (see the module documentation).
    synthetic: bool,
}

const fn org(
    id: &'static str,
    name: &'static str,
    ods: &'static str,
    kind: Kind,
    role: Role,
    area: &'static str,
    synthetic: bool,
) -> Info {
    Info {
        id,
        name,
        ods,
        kind,
        role,
        area,
        synthetic,
    }
}

const fn practice(
    id: &'static str,
    name: &'static str,
    ods: &'static str,
    town: &'static str,
) -> Info {
    org(id, name, ods, Kind::GpConnect, Role::GpPractice, town, true)
}

/// Number of organisations.
pub const COUNT: usize = 36;

/// The organisations. The first four keep their positions (ids of records
/// depend on them); new organisations go at the end.
static TABLE: [Info; COUNT] = [
    org(
        "gwh",
        "Great Western Hospitals NHS Foundation Trust",
        "RN3",
        Kind::FhirR4,
        Role::Acute,
        "",
        false,
    ),
    org(
        "ruh",
        "Royal United Hospitals Bath NHS Foundation Trust",
        "RD1",
        Kind::FhirR4,
        Role::Acute,
        "",
        false,
    ),
    org(
        "awp",
        "Avon and Wiltshire Mental Health Partnership NHS Trust",
        "RVN",
        Kind::FhirR4,
        Role::MentalHealth,
        "",
        false,
    ),
    org(
        "sft",
        "Salisbury NHS Foundation Trust",
        "RNZ",
        Kind::FhirR4,
        Role::Acute,
        "",
        false,
    ),
    org(
        "whc",
        "Wiltshire Health and Care",
        "Y9C01",
        Kind::FhirR4,
        Role::Community,
        "",
        true,
    ),
    org(
        "pds",
        "Personal Demographics Service (NHS England)",
        "X26",
        Kind::Pds,
        Role::Demographics,
        "",
        false,
    ),
    practice("gp-y90001", "Larkspur Medical Centre", "Y90001", "Swindon"),
    practice("gp-y90002", "Wheelwright Surgery", "Y90002", "Swindon"),
    practice("gp-y90003", "Ropewalk Health Centre", "Y90003", "Swindon"),
    practice("gp-y90004", "Mallard Way Practice", "Y90004", "Swindon"),
    practice("gp-y90005", "Saddler's Court Surgery", "Y90005", "Swindon"),
    practice("gp-y90006", "Threshers Lane Surgery", "Y90006", "Highworth"),
    practice("gp-y90007", "Tannery Row Surgery", "Y90007", "Marlborough"),
    practice(
        "gp-y90008",
        "Cooper's Yard Medical Practice",
        "Y90008",
        "Royal Wootton Bassett",
    ),
    practice("gp-y90009", "Weavers Green Surgery", "Y90009", "Bath"),
    practice("gp-y90010", "Sorrel Close Medical Centre", "Y90010", "Bath"),
    practice("gp-y90011", "Lacemakers Row Practice", "Y90011", "Bath"),
    practice("gp-y90012", "Fulling Mill Surgery", "Y90012", "Chippenham"),
    practice(
        "gp-y90013",
        "Brackenbury Road Health Centre",
        "Y90013",
        "Chippenham",
    ),
    practice(
        "gp-y90014",
        "Foxglove Crescent Surgery",
        "Y90014",
        "Trowbridge",
    ),
    practice(
        "gp-y90015",
        "Stonechat Medical Practice",
        "Y90015",
        "Melksham",
    ),
    practice("gp-y90016", "Quarrymans Walk Surgery", "Y90016", "Corsham"),
    practice(
        "gp-y90017",
        "Elderberry Close Surgery",
        "Y90017",
        "Bradford-on-Avon",
    ),
    practice(
        "gp-y90018",
        "Harebell Mews Medical Centre",
        "Y90018",
        "Salisbury",
    ),
    practice("gp-y90019", "Chalkpit Lane Surgery", "Y90019", "Salisbury"),
    practice("gp-y90020", "Greensand Practice", "Y90020", "Amesbury"),
    practice("gp-y90021", "Beechcroft Surgery", "Y90021", "Warminster"),
    practice(
        "gp-y90022",
        "Nightjar Way Medical Centre",
        "Y90022",
        "Tidworth",
    ),
    org(
        "pathology",
        "Wiltshire and Bath Pathology Network",
        "Y9P01",
        Kind::Hl7v2,
        Role::Pathology,
        "",
        true,
    ),
    org(
        "radiology",
        "Wiltshire and Bath Imaging Network",
        "Y9R01",
        Kind::Hl7v2,
        Role::Radiology,
        "",
        true,
    ),
    org(
        "wiltshire-council",
        "Wiltshire Council",
        "Y9L01",
        Kind::SoapXml,
        Role::SocialCare,
        "Wiltshire",
        true,
    ),
    org(
        "swindon-council",
        "Swindon Borough Council",
        "Y9L02",
        Kind::SoapXml,
        Role::SocialCare,
        "Swindon",
        true,
    ),
    org(
        "banes-council",
        "Bath and North East Somerset Council",
        "Y9L03",
        Kind::SoapXml,
        Role::SocialCare,
        "Bath and North East Somerset",
        true,
    ),
    org(
        "medvivo",
        "Medvivo",
        "Y9U01",
        Kind::Cda,
        Role::OutOfHours,
        "",
        true,
    ),
    // The two organisations the region published as taking part later:
    // Oxford Health's child and adolescent mental health services (CAMHS)
    // across Bath and North East Somerset, Swindon and Wiltshire, and HCRG
    // Care Group's (formerly Virgin Care's) community services in Bath and
    // North East Somerset.
    org(
        "oxford-health",
        "Oxford Health NHS Foundation Trust",
        "RNU",
        Kind::FhirR4,
        Role::MentalHealth,
        "",
        false,
    ),
    org(
        "hcrg",
        "HCRG Care Group",
        "NDA",
        Kind::FhirR4,
        Role::Community,
        "Bath and North East Somerset",
        false,
    ),
];

/// One of the simulated organisations: a position in the organisation
/// table, cheap to copy and compare.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Org(u8);

impl Org {
    /// Great Western Hospitals NHS Foundation Trust (Swindon).
    pub const GWH: Org = Org(0);
    /// Royal United Hospitals Bath NHS Foundation Trust.
    pub const RUH: Org = Org(1);
    /// Avon and Wiltshire Mental Health Partnership NHS Trust.
    pub const AWP: Org = Org(2);
    /// Salisbury NHS Foundation Trust.
    pub const SFT: Org = Org(3);
    /// Wiltshire Health and Care (community services).
    pub const WHC: Org = Org(4);
    /// The Personal Demographics Service.
    pub const PDS: Org = Org(5);
    /// The pathology laboratory network.
    pub const PATHOLOGY: Org = Org(28);
    /// The imaging network.
    pub const RADIOLOGY: Org = Org(29);
    /// Wiltshire Council.
    pub const WILTSHIRE_COUNCIL: Org = Org(30);
    /// Swindon Borough Council.
    pub const SWINDON_COUNCIL: Org = Org(31);
    /// Bath and North East Somerset Council.
    pub const BANES_COUNCIL: Org = Org(32);
    /// Medvivo, the out-of-hours service.
    pub const MEDVIVO: Org = Org(33);
    /// Oxford Health NHS Foundation Trust: the region's child and
    /// adolescent mental health services (CAMHS).
    pub const OXFORD_HEALTH: Org = Org(34);
    /// HCRG Care Group (formerly Virgin Care): community health services in
    /// Bath and North East Somerset.
    pub const HCRG: Org = Org(35);

    /// Every organisation, in table order.
    pub const ALL: [Org; COUNT] = {
        let mut all = [Org(0); COUNT];
        let mut i = 0;
        while i < COUNT {
            all[i] = Org(i as u8);
            i += 1;
        }
        all
    };

    /// The four trusts the region started with, whose FHIR R4 servers
    /// serve the acute and mental health records.
    pub const TRUSTS: [Org; 4] = [Org::GWH, Org::RUH, Org::AWP, Org::SFT];

    fn info(self) -> &'static Info {
        // Every Org is built from a position below COUNT.
        &TABLE[usize::from(self.0) % COUNT]
    }

    /// The source id the organisation's system is registered under.
    pub fn id(self) -> &'static str {
        self.info().id
    }

    /// The organisation's name.
    pub fn name(self) -> &'static str {
        self.info().name
    }

    /// The organisation's ODS code.
    pub fn ods_code(self) -> &'static str {
        self.info().ods
    }

    /// True when the ODS code is invented (it begins `Y9`).
    pub fn synthetic_code(self) -> bool {
        self.info().synthetic
    }

    /// The protocol its system speaks.
    pub fn kind(self) -> Kind {
        self.info().kind
    }

    /// What it does in the region.
    pub fn role(self) -> Role {
        self.info().role
    }

    /// A practice's town, or the local authority district a council or
    /// a community provider serves (`Wiltshire`, `Swindon`, `Bath and North
    /// East Somerset`).
    pub fn area(self) -> Option<&'static str> {
        Some(self.info().area).filter(|a| !a.is_empty())
    }

    /// The organisation with this source id.
    pub fn from_id(id: &str) -> Option<Org> {
        Org::ALL.into_iter().find(|o| o.id() == id)
    }

    /// The organisation with this ODS code (any case).
    pub fn from_ods(code: &str) -> Option<Org> {
        Org::ALL
            .into_iter()
            .find(|o| o.ods_code().eq_ignore_ascii_case(code.trim()))
    }

    /// Every organisation of a kind, in table order.
    pub fn of_kind(kind: Kind) -> impl Iterator<Item = Org> {
        Org::ALL.into_iter().filter(move |o| o.kind() == kind)
    }

    /// The GP practices, in table order.
    pub fn practices() -> impl Iterator<Item = Org> {
        Org::ALL
            .into_iter()
            .filter(|o| o.role() == Role::GpPractice)
    }

    /// The practices of a town.
    pub fn practices_in(town: &str) -> impl Iterator<Item = Org> + '_ {
        Org::practices().filter(move |o| o.area() == Some(town))
    }

    /// The council whose adult social care covers a local authority
    /// district; Wiltshire Council for anywhere not otherwise covered.
    pub fn council_for(district: &str) -> Org {
        Org::ALL
            .into_iter()
            .find(|o| o.role() == Role::SocialCare && o.area() == Some(district))
            .unwrap_or(Org::WILTSHIRE_COUNCIL)
    }

    /// Position in [`Org::ALL`].
    pub(crate) const fn index(self) -> usize {
        self.0 as usize
    }

    /// True for the acute hospital trusts.
    pub fn is_acute(self) -> bool {
        self.role() == Role::Acute
    }
}

impl fmt::Display for Org {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

impl fmt::Debug for Org {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Org({})", self.id())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn ids_round_trip_and_codes_are_ods() {
        let mut ids = HashSet::new();
        let mut codes = HashSet::new();
        for o in Org::ALL {
            assert_eq!(Org::from_id(o.id()), Some(o));
            assert_eq!(Org::from_ods(o.ods_code()), Some(o));
            assert_eq!(Org::ALL[o.index()], o);
            assert!(icr_model::OdsCode::parse(o.ods_code()).is_ok(), "{o:?}");
            assert!(icr_model::SourceId::parse(o.id()).is_ok(), "{o:?}");
            assert!(!o.name().is_empty());
            assert!(ids.insert(o.id()), "{o:?}");
            assert!(codes.insert(o.ods_code()), "{o:?}");
            // Invented codes, and only they, begin Y9.
            assert_eq!(o.synthetic_code(), o.ods_code().starts_with("Y9"), "{o:?}");
        }
        assert_eq!(Org::from_id("gp"), None);
        let named = [
            (Org::GWH, "gwh"),
            (Org::RUH, "ruh"),
            (Org::AWP, "awp"),
            (Org::SFT, "sft"),
            (Org::WHC, "whc"),
            (Org::PDS, "pds"),
            (Org::PATHOLOGY, "pathology"),
            (Org::RADIOLOGY, "radiology"),
            (Org::WILTSHIRE_COUNCIL, "wiltshire-council"),
            (Org::SWINDON_COUNCIL, "swindon-council"),
            (Org::BANES_COUNCIL, "banes-council"),
            (Org::MEDVIVO, "medvivo"),
            (Org::OXFORD_HEALTH, "oxford-health"),
            (Org::HCRG, "hcrg"),
        ];
        for (o, id) in named {
            assert_eq!(o.id(), id);
        }
        assert_eq!(Org::PDS.ods_code(), "X26");
        assert_eq!(Org::PDS.kind(), Kind::Pds);
    }

    /// The organisations the region published as taking part: their real
    /// ODS codes (sources in `config/demo/README.md`), spoken to over FHIR
    /// R4 like the region's other trusts and community provider.
    #[test]
    fn oxford_health_and_hcrg_have_their_real_codes_and_speak_fhir_r4() {
        let expected = [
            (
                Org::OXFORD_HEALTH,
                "Oxford Health NHS Foundation Trust",
                "RNU",
                Role::MentalHealth,
            ),
            (Org::HCRG, "HCRG Care Group", "NDA", Role::Community),
        ];
        for (org, name, ods, role) in expected {
            assert_eq!(org.name(), name);
            assert_eq!(org.ods_code(), ods);
            assert!(!org.synthetic_code(), "{org:?}");
            assert_eq!(org.kind(), Kind::FhirR4);
            assert_eq!(org.role(), role);
        }
        assert_eq!(Org::HCRG.area(), Some("Bath and North East Somerset"));
        assert_eq!(Org::OXFORD_HEALTH.area(), None);
        // Neither is a council: social care by district is unchanged.
        assert_eq!(
            Org::council_for("Bath and North East Somerset"),
            Org::BANES_COUNCIL
        );
        // The first trusts keep their places (record ids depend on them).
        assert_eq!(Org::TRUSTS, [Org::GWH, Org::RUH, Org::AWP, Org::SFT]);
        assert_eq!(Org::ALL.len(), COUNT);
    }

    #[test]
    fn practices_are_in_the_practice_format_with_an_id_from_the_code() {
        let practices: Vec<Org> = Org::practices().collect();
        assert!(practices.len() >= 20, "{}", practices.len());
        for p in practices {
            let code = p.ods_code();
            let (letter, digits) = code.split_at(1);
            assert_eq!(letter, "Y");
            assert!(digits.len() == 5 && digits.bytes().all(|b| b.is_ascii_digit()));
            assert!(digits.starts_with('9'));
            assert_eq!(p.id(), format!("gp-{}", code.to_ascii_lowercase()));
            assert_eq!(p.kind(), Kind::GpConnect);
            assert!(p.area().is_some());
        }
    }

    #[test]
    fn councils_by_district() {
        assert_eq!(Org::council_for("Swindon"), Org::SWINDON_COUNCIL);
        assert_eq!(
            Org::council_for("Bath and North East Somerset"),
            Org::BANES_COUNCIL
        );
        assert_eq!(Org::council_for("Wiltshire"), Org::WILTSHIRE_COUNCIL);
        assert_eq!(Org::council_for("elsewhere"), Org::WILTSHIRE_COUNCIL);
    }

    #[test]
    fn kinds_round_trip() {
        for k in Kind::ALL {
            assert_eq!(k.as_str().parse::<Kind>(), Ok(k));
            assert!(Org::of_kind(k).next().is_some(), "{k}");
        }
        let e = "mllp".parse::<Kind>().unwrap_err();
        assert!(e.to_string().contains("gp-connect"));
    }
}
