//! The static files the pages link, compiled in: the vendored nhsuk-frontend
//! (`assets/nhsuk-frontend`, see its README) and the viewer's own script.
//! Served under `/assets/` where the design system's CSS expects its icons
//! (`url(/assets/images/…)`).

/// One static file.
#[derive(Debug)]
pub struct Asset {
    /// Its URL path, e.g. `/assets/nhsuk-frontend.min.css`.
    pub path: &'static str,
    /// Its `Content-Type`.
    pub content_type: &'static str,
    /// Its bytes.
    pub bytes: &'static [u8],
}

macro_rules! assets {
    ($($path:literal => $file:literal, $type:literal;)+) => {
        /// Every static file, by path.
        pub const ASSETS: &[Asset] = &[$(Asset {
            path: $path,
            content_type: $type,
            bytes: include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/", $file)),
        },)+];
    };
}

assets! {
    "/assets/nhsuk-frontend.min.css" => "nhsuk-frontend/nhsuk-frontend.min.css", "text/css; charset=utf-8";
    "/assets/nhsuk-frontend.min.js" => "nhsuk-frontend/nhsuk-frontend.min.js", "text/javascript; charset=utf-8";
    "/assets/images/favicon.svg" => "nhsuk-frontend/images/favicon.svg", "image/svg+xml";
    "/assets/images/nhsuk-icon-arrow-down.svg" => "nhsuk-frontend/images/nhsuk-icon-arrow-down.svg", "image/svg+xml";
    "/assets/images/nhsuk-icon-arrow-up-down.svg" => "nhsuk-frontend/images/nhsuk-icon-arrow-up-down.svg", "image/svg+xml";
    "/assets/images/nhsuk-icon-arrow-up.svg" => "nhsuk-frontend/images/nhsuk-icon-arrow-up.svg", "image/svg+xml";
    "/assets/images/nhsuk-icon-cross.svg" => "nhsuk-frontend/images/nhsuk-icon-cross.svg", "image/svg+xml";
    "/assets/viewer/init.js" => "viewer/init.js", "text/javascript; charset=utf-8";
}

/// The static file at `path`, if there is one.
pub fn asset(path: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.path == path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_the_pages_and_the_css_link_is_served() {
        let css = asset("/assets/nhsuk-frontend.min.css").unwrap();
        let css = std::str::from_utf8(css.bytes).unwrap();
        let mut linked: Vec<&str> = css
            .match_indices("url(/assets/")
            .map(|(i, _)| {
                let rest = &css[i + 4..];
                &rest[..rest.find(')').unwrap()]
            })
            .collect();
        linked.sort_unstable();
        linked.dedup();
        assert_eq!(linked.len(), 4, "{linked:?}");
        for path in linked.iter().copied().chain(crate::page::LINKED) {
            assert!(asset(path).is_some_and(|a| !a.bytes.is_empty()), "{path}");
        }
        assert!(asset("/assets/../Cargo.toml").is_none());
    }

    #[test]
    fn the_vendored_version_is_pinned() {
        let version = include_str!("../assets/nhsuk-frontend/VERSION");
        assert!(version.starts_with("version: 10."), "{version}");
        assert!(version.contains("integrity: sha512-"), "{version}");
        let js =
            std::str::from_utf8(asset("/assets/nhsuk-frontend.min.js").unwrap().bytes).unwrap();
        let pinned = version
            .lines()
            .next()
            .unwrap()
            .trim_start_matches("version: ");
        assert!(js.contains(&format!("const version=\"{pinned}\"")));
    }
}
