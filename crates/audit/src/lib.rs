//! The tamper-evident audit log: hash-chained JSON lines, group-committed with fsync, verified
