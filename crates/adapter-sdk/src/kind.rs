//! What an adapter kind is: its name, the endpoints and sections it
//! accepts, its typed options and how it is built. [`Kind::build`] checks a
//! registration once — the registration's own limits, the endpoint, the
//! sections, the options — before the adapter's own build sees it, so that
//! an adapter keeps only the checks of its protocol.

use std::marker::PhantomData;
use std::sync::Arc;

use icr_model::{Section, SectionSet};
use serde::de::DeserializeOwned;
use url::Url;

use crate::{BuildError, SourceAdapter, SourceSpec};

/// An adapter kind the registry can build sources of.
pub trait AdapterKind: Send + Sync + 'static {
    /// The kind's name, as written in a registration (`kind = "fhir-r4"`).
    fn name(&self) -> &'static str;

    /// Checks `spec` and builds its adapter.
    fn build(&self, spec: &SourceSpec) -> Result<Arc<dyn SourceAdapter>, BuildError>;
}

/// The `[options]` of one adapter kind: read with serde (unknown keys
/// refused), then checked against what serde cannot say.
pub trait KindOptions: DeserializeOwned + 'static {
    /// What the adapter is built from: the options checked, and completed
    /// from the registration where a default comes from it.
    type Checked;

    /// Checks the values serde cannot (ranges, formats, what the
    /// registration allows); errors name the key
    /// ([`BuildError::option`]).
    fn check(self, spec: &SourceSpec) -> Result<Self::Checked, BuildError>;
}

/// A kind without settings: any key in `[options]` is refused, so that a
/// typo is not silently ignored.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoOptions {}

impl KindOptions for NoOptions {
    type Checked = Self;

    fn check(self, _: &SourceSpec) -> Result<Self, BuildError> {
        Ok(self)
    }
}

/// The endpoints a kind accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// The URL schemes (`http`, `https`; `mllp`, `tcp`).
    pub schemes: &'static [&'static str],
    /// What is said of an endpoint with another scheme (or none a base
    /// can be made of).
    pub must_be: &'static str,
    /// What is said of an endpoint without a host.
    pub no_host: &'static str,
}

impl Endpoint {
    /// An HTTP service: `http://` or `https://`, with a host.
    pub const HTTP: Endpoint = Endpoint {
        schemes: &["http", "https"],
        must_be: "must be an http or https URL",
        no_host: "must be an http or https URL",
    };

    /// Checks `url`: a base URL with one of the schemes and a host.
    pub fn check(&self, url: &Url) -> Result<(), BuildError> {
        let invalid = |message: &str| BuildError::Option {
            key: "endpoint".into(),
            message: message.into(),
        };
        if url.cannot_be_a_base() || !self.schemes.contains(&url.scheme()) {
            return Err(invalid(self.must_be));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(invalid(self.no_host));
        }
        Ok(())
    }
}

/// The sections a kind can provide.
#[derive(Clone, Copy, Debug)]
pub enum Offers {
    /// Whatever the registration lists (the protocol itself does not
    /// limit them).
    Any,
    /// Only these; a registration listing others is refused with
    /// `refusal(the others)`.
    Only {
        /// The sections the protocol can provide.
        sections: &'static [Section],
        /// What is said of a registration listing the others.
        refusal: fn(SectionSet) -> String,
    },
}

impl Offers {
    /// The sections offered.
    pub fn sections(&self) -> SectionSet {
        match self {
            Offers::Any => SectionSet::all(),
            Offers::Only { sections, .. } => sections.iter().copied().collect(),
        }
    }

    /// Checks that `listed` asks only for what the kind can provide.
    pub fn check(&self, listed: SectionSet) -> Result<(), BuildError> {
        let Offers::Only { refusal, .. } = self else {
            return Ok(());
        };
        let others: SectionSet = listed
            .iter()
            .filter(|s| !self.sections().contains(*s))
            .collect();
        if others.is_empty() {
            Ok(())
        } else {
            Err(BuildError::Option {
                key: "sections".into(),
                message: refusal(others),
            })
        }
    }
}

/// Builds an adapter from a checked registration and its checked options.
pub type Build<C> = fn(&SourceSpec, C) -> Result<Arc<dyn SourceAdapter>, BuildError>;

/// One adapter kind, as its crate declares it (`pub static KIND`).
pub struct Kind<O: KindOptions> {
    /// The name written in registrations.
    pub name: &'static str,
    /// The endpoints it accepts.
    pub endpoint: Endpoint,
    /// The sections it can provide.
    pub offers: Offers,
    /// Builds the adapter from a registration that passed every check,
    /// with its checked options.
    pub build: Build<O::Checked>,
    options: PhantomData<fn() -> O>,
}

impl<O: KindOptions> Kind<O> {
    /// The kind `name`, built by `build`.
    pub const fn new(
        name: &'static str,
        endpoint: Endpoint,
        offers: Offers,
        build: Build<O::Checked>,
    ) -> Self {
        Self {
            name,
            endpoint,
            offers,
            build,
            options: PhantomData,
        }
    }

    /// Every check of a registration of this kind, in order: its own
    /// limits ([`SourceSpec::validate`]), the endpoint, the sections, the
    /// options. Gives the checked options.
    pub fn check(&self, spec: &SourceSpec) -> Result<O::Checked, BuildError> {
        spec.validate()?;
        self.endpoint.check(&spec.endpoint)?;
        self.offers.check(spec.sections)?;
        spec.options::<O>()?.check(spec)
    }
}

impl<O: KindOptions> AdapterKind for Kind<O> {
    fn name(&self) -> &'static str {
        self.name
    }

    fn build(&self, spec: &SourceSpec) -> Result<Arc<dyn SourceAdapter>, BuildError> {
        let options = self.check(spec)?;
        (self.build)(spec, options)
    }
}

impl BuildError {
    /// A bad value of `options.{key}`.
    pub fn option(key: &str, message: impl Into<String>) -> Self {
        BuildError::Option {
            key: format!("options.{key}"),
            message: message.into(),
        }
    }
}

/// Checks that `options.{key}` is within `range`: else "must be between
/// {start} and {end}".
pub fn within<T: PartialOrd + std::fmt::Display>(
    key: &str,
    value: T,
    range: std::ops::RangeInclusive<T>,
) -> Result<(), BuildError> {
    if range.contains(&value) {
        Ok(())
    } else {
        Err(BuildError::option(
            key,
            format!("must be between {} and {}", range.start(), range.end()),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Nothing;

    #[async_trait::async_trait]
    impl SourceAdapter for Nothing {
        async fn fetch(
            &self,
            _: &crate::FetchRequest,
        ) -> Result<icr_model::SourceRecord, crate::SourceError> {
            Ok(icr_model::SourceRecord::default())
        }
    }

    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields, default)]
    struct Opts {
        page_size: u32,
    }

    impl Default for Opts {
        fn default() -> Self {
            Self { page_size: 10 }
        }
    }

    impl KindOptions for Opts {
        type Checked = u32;
        fn check(self, _: &SourceSpec) -> Result<u32, BuildError> {
            within("page_size", self.page_size, 1..=100)?;
            Ok(self.page_size)
        }
    }

    static TEST: Kind<Opts> = Kind::new(
        "test",
        Endpoint::HTTP,
        Offers::Only {
            sections: &[Section::Documents, Section::Appointments],
            refusal: |others| format!("a test source cannot provide {others}"),
        },
        |_, page_size| {
            assert_eq!(page_size, 20);
            Ok(Arc::new(Nothing))
        },
    );

    fn spec(endpoint: &str, sections: &str, options: &str) -> SourceSpec {
        toml::from_str(&format!(
            "id = \"t\"\norganisation = \"T\"\nods_code = \"RA1\"\nkind = \"test\"\nendpoint = \"{endpoint}\"\nsections = {sections}\n[options]\n{options}\n"
        ))
        .unwrap()
    }

    fn error(spec: &SourceSpec) -> String {
        match TEST.build(spec) {
            Err(e) => e.to_string(),
            Ok(_) => "built".into(),
        }
    }

    #[test]
    fn checks_the_registration_once_in_order() {
        let ok = spec(
            "https://x.example/fhir",
            "[\"documents\"]",
            "page_size = 20",
        );
        assert_eq!(error(&ok), "built");
        assert_eq!(
            error(&spec("mllp://x.example:1", "[\"documents\"]", "")),
            "endpoint: must be an http or https URL"
        );
        assert_eq!(
            error(&spec("mailto:x@example.org", "[\"documents\"]", "")),
            "endpoint: must be an absolute URL"
        );
        assert_eq!(
            error(&spec(
                "https://x.example/",
                "[\"documents\", \"results\", \"alerts\"]",
                ""
            )),
            "sections: a test source cannot provide results,alerts"
        );
        assert_eq!(
            error(&spec(
                "https://x.example/",
                "[\"documents\"]",
                "page_size = 0"
            )),
            "options.page_size: must be between 1 and 100"
        );
        assert_eq!(
            error(&spec(
                "https://x.example/",
                "[\"documents\"]",
                "page_sise = 20"
            )),
            "options.page_sise: unknown field `page_sise`, expected `page_size`"
        );
        assert_eq!(
            error(&spec(
                "https://x.example/",
                "[\"documents\"]",
                "page_size = \"x\""
            )),
            "options.page_size: invalid type: string \"x\", expected u32\nin `page_size`"
        );
        assert_eq!(TEST.offers.sections().len(), 2);
        assert_eq!(Offers::Any.sections(), SectionSet::all());
    }

    #[test]
    fn endpoints_need_a_scheme_and_a_host() {
        let mllp = Endpoint {
            schemes: &["mllp", "tcp"],
            must_be: "must be mllp",
            no_host: "must name a host",
        };
        let check = |e: &Endpoint, u: &str| {
            e.check(&Url::parse(u).unwrap())
                .err()
                .map(|e| e.to_string())
        };
        assert_eq!(check(&mllp, "mllp://lab:2575"), None);
        assert_eq!(check(&mllp, "tcp://[::1]:2575"), None);
        assert_eq!(
            check(&mllp, "https://lab:2575").as_deref(),
            Some("endpoint: must be mllp")
        );
        assert_eq!(
            check(&mllp, "mllp:lab").as_deref(),
            Some("endpoint: must be mllp")
        );
        assert_eq!(
            check(&mllp, "mllp:///x").as_deref(),
            Some("endpoint: must name a host")
        );
        assert_eq!(check(&Endpoint::HTTP, "http://127.0.0.1:9/"), None);
        assert_eq!(
            check(&Endpoint::HTTP, "file:///etc/passwd").as_deref(),
            Some("endpoint: must be an http or https URL")
        );
    }

    #[test]
    fn ranges_say_their_bounds() {
        assert!(within("n", 5u64, 0..=600_000).is_ok());
        assert_eq!(
            within("max_text_chars", 10usize, 1_000..=1_000_000)
                .unwrap_err()
                .to_string(),
            "options.max_text_chars: must be between 1000 and 1000000"
        );
    }
}
