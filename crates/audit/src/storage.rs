//! The files the writer appends to, behind a small trait so that tests can
//! inject write and sync failures. The real implementation opens files in
//! append mode, readable and writable by the owner only.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

/// A log file open for appending.
pub trait LogFile: Send {
    /// Appends all of `buf`.
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()>;
    /// Makes everything written so far durable (`fdatasync`).
    fn sync_data(&mut self) -> io::Result<()>;
}

/// Opens the log's files for the writer.
pub trait FileOpener: Send + Sync + 'static {
    /// Opens `path` for appending, creating it (mode 0600) if it does not
    /// exist.
    fn open_append(&self, path: &Path) -> io::Result<Box<dyn LogFile>>;
}

/// Real files on the file system.
#[derive(Clone, Copy, Debug, Default)]
pub struct StdFiles;

impl FileOpener for StdFiles {
    fn open_append(&self, path: &Path) -> io::Result<Box<dyn LogFile>> {
        let mut options = OpenOptions::new();
        options.append(true).create(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        Ok(Box::new(StdFile(options.open(path)?)))
    }
}

struct StdFile(File);

impl LogFile for StdFile {
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.0.write_all(buf)
    }

    fn sync_data(&mut self) -> io::Result<()> {
        self.0.sync_data()
    }
}

/// Makes a directory entry durable (a new or truncated file's name and
/// size), by syncing the directory itself.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}
