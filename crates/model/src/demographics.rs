//! Who the person is, as one source records them.

use serde::{Deserialize, Serialize};

use crate::codes::code_enum;
use crate::{NhsNumber, OdsCode, PartialDateTime};

code_enum! {
    /// Administrative gender.
    pub enum Gender {
        /// Male.
        Male = "male",
        /// Female.
        Female = "female",
        /// Other.
        Other = "other",
        /// Not known.
        Unknown = "unknown",
    }
}

code_enum! {
    /// The use of a name.
    pub enum NameUse {
        /// Usual name.
        Usual = "usual",
        /// Official (registered) name.
        Official = "official",
        /// Temporary name.
        Temp = "temp",
        /// Nickname.
        Nickname = "nickname",
        /// Anonymous.
        Anonymous = "anonymous",
        /// No longer used.
        Old = "old",
        /// Name before marriage.
        Maiden = "maiden",
    }
}

code_enum! {
    /// The use of an address or contact point.
    pub enum ContactUse {
        /// Home.
        Home = "home",
        /// Work.
        Work = "work",
        /// Temporary.
        Temp = "temp",
        /// No longer in use.
        Old = "old",
        /// Billing address.
        Billing = "billing",
        /// Mobile phone.
        Mobile = "mobile",
    }
}

code_enum! {
    /// The kind of a contact point.
    pub enum TelecomSystem {
        /// Telephone.
        Phone = "phone",
        /// Fax.
        Fax = "fax",
        /// Email.
        Email = "email",
        /// Pager.
        Pager = "pager",
        /// Web address.
        Url = "url",
        /// Text messages.
        Sms = "sms",
        /// Anything else.
        Other = "other",
    }
}

/// A person's name.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Default, Serialize, Deserialize)]
pub struct HumanName {
    /// How the name is used.
    #[serde(default, rename = "use", skip_serializing_if = "Option::is_none")]
    pub use_: Option<NameUse>,
    /// Titles such as Mrs or Dr.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prefix: Vec<String>,
    /// Given names, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub given: Vec<String>,
    /// Family name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
    /// The whole name as text, when the source gives it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

impl HumanName {
    /// The name as one line: `Given Names FAMILY`, or the source's text.
    pub fn display(&self) -> String {
        if let Some(t) = &self.text {
            return t.clone();
        }
        let mut parts: Vec<String> = self.given.clone();
        if let Some(f) = &self.family {
            parts.push(f.to_uppercase());
        }
        parts.join(" ")
    }
}

/// A postal address.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Default, Serialize, Deserialize)]
pub struct Address {
    /// How the address is used.
    #[serde(default, rename = "use", skip_serializing_if = "Option::is_none")]
    pub use_: Option<ContactUse>,
    /// Street lines.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lines: Vec<String>,
    /// Town or city.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    /// County or district.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub district: Option<String>,
    /// Postcode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postcode: Option<String>,
    /// Country.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
}

/// A phone number, email address or similar.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct Telecom {
    /// Phone, email, …
    pub system: TelecomSystem,
    /// The number or address.
    pub value: String,
    /// Home, work, mobile, …
    #[serde(default, rename = "use", skip_serializing_if = "Option::is_none")]
    pub use_: Option<ContactUse>,
}

/// The person's demographics as one source holds them.
#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
pub struct Demographics {
    /// The NHS number the source holds for the person, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nhs_number: Option<NhsNumber>,
    /// Names, the current official or usual one first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub names: Vec<HumanName>,
    /// Date of birth.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birth_date: Option<PartialDateTime>,
    /// Administrative gender.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gender: Option<Gender>,
    /// Addresses, the current home address first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<Address>,
    /// Phone numbers and email addresses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub telecom: Vec<Telecom>,
    /// Whether, and when, the person died.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deceased: Option<Deceased>,
    /// ODS code of the GP practice the person is registered with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registered_practice: Option<OdsCode>,
    /// The demographics service marks the record sensitive (restricted):
    /// the person's address and contact details must not be shown.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sensitive: bool,
}

/// A recorded death.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Deceased {
    /// Recorded as deceased, date not given.
    Yes,
    /// Died at this date or time.
    At(PartialDateTime),
}

impl Demographics {
    /// The name to show: the first official name, else the first usual one,
    /// else the first name not marked old.
    pub fn preferred_name(&self) -> Option<&HumanName> {
        self.names
            .iter()
            .find(|n| n.use_ == Some(NameUse::Official))
            .or_else(|| self.names.iter().find(|n| n.use_ == Some(NameUse::Usual)))
            .or_else(|| self.names.iter().find(|n| n.use_ != Some(NameUse::Old)))
    }

    /// The current home address: the first marked home, else the first not
    /// marked old.
    pub fn home_address(&self) -> Option<&Address> {
        self.addresses
            .iter()
            .find(|a| a.use_ == Some(ContactUse::Home))
            .or_else(|| {
                self.addresses
                    .iter()
                    .find(|a| a.use_ != Some(ContactUse::Old))
            })
    }
}
