//! The connection limits in force, and the cap on open connections derived
//! from the open-file limit.

use super::*;

/// The connection limits in force: `[connections]` in `gateway.toml`, the
/// cap on open connections derived from the open-file limit when not set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectionLimits {
    pub(super) request_timeout: Duration,
    pub(super) idle_timeout: Duration,
    pub(super) stall_timeout: Duration,
    pub(super) max_open: usize,
    pub(super) h2_max_streams: u32,
    pub(super) max_unsent: u64,
    pub(super) max_unsent_per_connection: u64,
}

impl ConnectionLimits {
    /// The limits `config` sets; when it sets no `max_open`, 80 % of this
    /// process's open-file soft limit now, less 64 (at most 16384).
    pub fn from_config(config: &icr_config::ConnectionsConfig) -> Self {
        let ms = Duration::from_millis;
        Self {
            request_timeout: ms(config.request_timeout_ms),
            idle_timeout: ms(config.idle_timeout_ms),
            stall_timeout: ms(config.stall_timeout_ms),
            max_open: config
                .max_open
                .map_or_else(|| max_open_for(open_file_limit()), |n| n as usize),
            h2_max_streams: config.h2_max_streams,
            max_unsent: config.max_unsent_bytes,
            max_unsent_per_connection: config.max_unsent_bytes_per_connection,
        }
    }
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self::from_config(&icr_config::ConnectionsConfig::default())
    }
}

/// This process's open-file soft limit; `None` when unlimited.
pub(super) fn open_file_limit() -> Option<u64> {
    rustix::process::getrlimit(rustix::process::Resource::Nofile).current
}

/// The cap on open connections for an open-file soft limit (`None`:
/// unlimited): 80 % of it less [`FD_RESERVE`], never under a quarter of
/// it, at most [`MAX_OPEN_CEILING`].
fn max_open_for(soft: Option<u64>) -> usize {
    let cap = match soft {
        None => MAX_OPEN_CEILING,
        Some(n) => (n.saturating_mul(4) / 5)
            .saturating_sub(FD_RESERVE)
            .max(n / 4)
            .clamp(1, MAX_OPEN_CEILING),
    };
    usize::try_from(cap).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_open_is_derived_from_the_open_file_limit() {
        for (soft, max_open) in [
            (None, 16_384),
            (Some(512), 345),
            (Some(1_024), 755),
            (Some(100), 25),
            (Some(40), 10),
            (Some(1), 1),
            (Some(0), 1),
            (Some(65_536), 16_384),
            (Some(u64::MAX), 16_384),
        ] {
            assert_eq!(max_open_for(soft), max_open, "soft limit {soft:?}");
        }
    }
}
