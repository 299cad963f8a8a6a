//! Any bytes as one audit log line: the parser must never panic, and a line
//! it accepts must be exactly what the log itself would write for that
//! entry (the canonical form round-trips).
#![no_main]

use icr_audit::{ChainPoint, Sequence, parse_line, seal};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(entry) = parse_line(data)
        && let Some(before) = entry.seq.get().checked_sub(1)
    {
        let after = ChainPoint {
            seq: Sequence::new(before),
            hash: entry.prev,
        };
        let (again, head) = seal(after, &entry.event).expect("an accepted entry re-seals");
        assert_eq!(&again[..again.len() - 1], data);
        assert_eq!(head, entry.point());
    }
});
