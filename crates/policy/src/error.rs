//! Errors in the policy and objection files, each naming the file, the key
//! and (when the TOML parser knows it) the line.

use std::fmt;

/// One problem in a policy or objection file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// Where the text came from, as the caller named it (usually a path).
    pub origin: String,
    /// Line number, when known.
    pub line: Option<usize>,
    /// The key, as written in the file (`classes.admin.roles[2]`).
    pub key: Option<String>,
    /// What is wrong. Never contains an NHS number or other patient data.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.origin)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(key) = &self.key {
            write!(f, ": {key}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Every problem found in one file; never empty.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl ConfigErrors {
    /// The problems, in the order found.
    pub fn problems(&self) -> &[ConfigError] {
        &self.0
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

/// Collects problems for one file.
pub(crate) struct Problems<'a> {
    origin: &'a str,
    found: Vec<ConfigError>,
}

impl<'a> Problems<'a> {
    pub(crate) fn new(origin: &'a str) -> Self {
        Self {
            origin,
            found: Vec::new(),
        }
    }

    /// Records a problem at `key`.
    pub(crate) fn at(&mut self, key: impl Into<String>, message: impl Into<String>) {
        // A hostile file could produce a problem per line; a few hundred
        // are plenty to fix and bound the report.
        if self.found.len() < MAX_PROBLEMS {
            self.found.push(ConfigError {
                origin: self.origin.to_string(),
                line: None,
                key: Some(key.into()),
                message: message.into(),
            });
        }
    }

    /// `Ok(value)` when nothing was found, else every problem.
    pub(crate) fn finish<T>(self, value: T) -> Result<T, ConfigErrors> {
        if self.found.is_empty() {
            Ok(value)
        } else {
            Err(ConfigErrors(self.found))
        }
    }
}

const MAX_PROBLEMS: usize = 200;

/// Parses TOML `text` into `T`; a failure names `origin`, the key and the
/// line. Messages are the parser's own and name keys and types only.
pub(crate) fn parse_toml<T: serde::de::DeserializeOwned>(
    text: &str,
    origin: &str,
) -> Result<T, ConfigErrors> {
    let line_of = |span: Option<std::ops::Range<usize>>| {
        span.map(|s| {
            let end = s.start.min(text.len());
            text.as_bytes()
                .get(..end)
                .map_or(0, |b| b.iter().filter(|c| **c == b'\n').count())
                + 1
        })
    };
    let de = toml::Deserializer::parse(text).map_err(|e| {
        ConfigErrors(vec![ConfigError {
            origin: origin.to_string(),
            line: line_of(e.span()),
            key: None,
            message: e.message().trim().to_string(),
        }])
    })?;
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        ConfigErrors(vec![ConfigError {
            origin: origin.to_string(),
            line: line_of(inner.span()),
            key: (path != ".").then_some(path),
            message: inner.message().trim().to_string(),
        }])
    })
}
