//! Where a source may send the gateway: links a source gives (`next`
//! pages, document URLs) are followed only when they lead back to the
//! source itself — its endpoint's origin, or another name for it that its
//! registration lists in `extra_origins` — so that a source can never make
//! the gateway call anywhere else, nor carry credentials in a URL.

use url::Url;

/// The origins (scheme, host, port) one source answers on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origins {
    base: Url,
    known: Vec<(String, String, u16)>,
}

/// A URL's origin, when it has one the gateway would call: http or https,
/// a host, a port.
fn origin(url: &Url) -> Option<(String, String, u16)> {
    if !matches!(url.scheme(), "http" | "https") {
        return None;
    }
    Some((
        url.scheme().to_string(),
        url.host_str()?.to_ascii_lowercase(),
        url.port_or_known_default()?,
    ))
}

impl Origins {
    /// The origins of a source at `base` that also answers on `extra`
    /// (other names for the same server; their paths are ignored).
    pub fn new(base: &Url, extra: &[Url]) -> Self {
        let known = std::iter::once(base)
            .chain(extra)
            .filter_map(origin)
            .collect();
        Self {
            base: base.clone(),
            known,
        }
    }

    /// The base relative links are resolved against.
    pub fn base(&self) -> &Url {
        &self.base
    }

    /// `link` resolved against the base, when it leads to one of the
    /// source's origins and carries no user name or password; the fragment
    /// is dropped. `None` for anything else.
    pub fn resolve(&self, link: &str) -> Option<Url> {
        let mut url = self.base.join(link.trim()).ok()?;
        if !url.username().is_empty() || url.password().is_some() {
            return None;
        }
        let at = origin(&url)?;
        if !self.known.contains(&at) {
            return None;
        }
        url.set_fragment(None);
        Some(url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_only_the_sources_own_origins() {
        let base = Url::parse("https://reg.example.nhs.uk:8443/fhir/").unwrap();
        let alias = Url::parse("https://REG-2.example.nhs.uk:8443/other/path").unwrap();
        let origins = Origins::new(&base, &[alias]);
        let ok = |u: &str| origins.resolve(u).map(|u| u.to_string());
        assert_eq!(
            ok("Binary/1").as_deref(),
            Some("https://reg.example.nhs.uk:8443/fhir/Binary/1")
        );
        assert_eq!(
            ok("/docs/2.xml#frag").as_deref(),
            Some("https://reg.example.nhs.uk:8443/docs/2.xml")
        );
        assert_eq!(
            ok(" https://reg-2.example.nhs.uk:8443/fhir/Observation?page=2 ").as_deref(),
            Some("https://reg-2.example.nhs.uk:8443/fhir/Observation?page=2")
        );
        for bad in [
            "https://evil.example/x",
            "http://reg.example.nhs.uk:8443/x",
            "https://reg.example.nhs.uk/x",
            "//evil.example/x",
            "https://user:pw@reg.example.nhs.uk:8443/x",
            "https://user@reg.example.nhs.uk:8443/x",
            "https://reg-2.example.nhs.uk/x",
            "file:///etc/passwd",
            "data:text/xml,<x/>",
            "javascript:alert(1)",
        ] {
            assert_eq!(ok(bad), None, "{bad}");
        }
    }

    #[test]
    fn localhost_and_loopback_are_different_names_unless_listed() {
        let base = Url::parse("http://127.0.0.1:8081/R4/").unwrap();
        let strict = Origins::new(&base, &[]);
        assert_eq!(
            strict.resolve("http://localhost:8081/R4/Condition?p=2"),
            None
        );
        let listed = Origins::new(&base, &[Url::parse("http://localhost:8081").unwrap()]);
        assert_eq!(
            listed
                .resolve("http://localhost:8081/R4/Condition?p=2")
                .map(String::from),
            Some("http://localhost:8081/R4/Condition?p=2".to_string())
        );
    }
}
