//! The objection register: the people who have objected to sharing their
//! record (or to some organisations sharing it), re-read whenever its file
//! changes. When the file cannot be read no one's objections can be known,
//! and every request is refused until it is fixed.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use icr_policy::Objections;

/// Why no one's objections can be known now.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum RegisterError {
    /// The file changed and cannot be read (the log names why).
    #[error("the objection register cannot be read, so no one's objections can be known")]
    Unreadable,
    /// A thread panicked while holding the register.
    #[error("the objection register's state is poisoned")]
    Poisoned,
}

/// The objection register, re-read whenever its file changes.
pub(crate) struct ObjectionRegister {
    pub(crate) file: Option<PathBuf>,
    state: Mutex<RegisterState>,
}

struct RegisterState {
    seen: Option<(SystemTime, u64)>,
    current: Result<Arc<Objections>, RegisterError>,
}

impl ObjectionRegister {
    pub(crate) fn new(file: Option<PathBuf>, initial: Arc<Objections>) -> Self {
        let seen = file.as_deref().and_then(stamp);
        Self {
            file,
            state: Mutex::new(RegisterState {
                seen,
                current: Ok(initial),
            }),
        }
    }

    /// The register as the file says now. When the file has changed and
    /// cannot be read, no one's objections can be known: the error is
    /// returned (and every request refused) until it is fixed.
    pub(crate) fn current(&self) -> Result<Arc<Objections>, RegisterError> {
        let Ok(mut state) = self.state.lock() else {
            return Err(RegisterError::Poisoned);
        };
        if let Some(file) = &self.file {
            let now = stamp(file);
            if now != state.seen || now.is_none() {
                state.seen = now;
                state.current = match icr_config::load_objections(file) {
                    Ok(o) => {
                        tracing::info!(entries = o.len(), "objection register reloaded");
                        Ok(Arc::new(o))
                    }
                    Err(e) => {
                        // The error names the file and key, never an NHS number.
                        tracing::error!(error = %e, "objection register unreadable: refusing every request until it is fixed");
                        Err(RegisterError::Unreadable)
                    }
                };
            }
        }
        state.current.clone()
    }
}

fn stamp(file: &std::path::Path) -> Option<(SystemTime, u64)> {
    let meta = std::fs::metadata(file).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_file_the_register_is_what_it_was_built_with() {
        let initial = Arc::new(Objections::default());
        let register = ObjectionRegister::new(None, Arc::clone(&initial));
        assert!(Arc::ptr_eq(&register.current().unwrap(), &initial));
    }

    #[test]
    fn a_register_file_that_cannot_be_read_refuses_until_it_is_fixed() {
        let dir = std::env::temp_dir().join(format!("icr-objections-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("objections.toml");
        std::fs::write(&file, "this is not toml [").unwrap();
        let register = ObjectionRegister::new(Some(file.clone()), Arc::new(Objections::default()));
        // Written after the register was built: a change, read now.
        std::fs::write(&file, "still not toml [[").unwrap();
        let refused = register.current().unwrap_err();
        assert_eq!(refused, RegisterError::Unreadable);
        assert_eq!(
            refused.to_string(),
            "the objection register cannot be read, so no one's objections can be known"
        );
        std::fs::remove_file(&file).unwrap();
        assert!(register.current().is_err());
        let _ = std::fs::remove_dir(&dir);
    }
}
