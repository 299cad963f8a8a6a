//! Small enums of codes (statuses, uses, kinds) whose text form is the
//! FHIR code, so adapters and renderers share one spelling.

/// Declares an enum whose variants each have one code string, with
/// `as_code`, `from_code` and serde as that string.
macro_rules! code_enum {
    ($(#[$m:meta])* pub enum $name:ident { $($(#[$vm:meta])* $var:ident = $code:literal,)+ }) => {
        $(#[$m])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
        pub enum $name { $($(#[$vm])* $var,)+ }

        impl $name {
            /// Every value.
            pub const ALL: &'static [$name] = &[$($name::$var,)+];

            /// The code, as FHIR spells it.
            pub const fn as_code(self) -> &'static str {
                match self { $($name::$var => $code,)+ }
            }

            /// The value for a code, or `None` if the code is not one of ours.
            pub fn from_code(code: &str) -> Option<Self> {
                match code { $($code => Some($name::$var),)+ _ => None }
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_code())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                Self::from_code(&s).ok_or_else(|| serde::de::Error::custom(format!(
                    "unknown {} code {:?}", stringify!($name), s
                )))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_code())
            }
        }
    };
}

pub(crate) use code_enum;
