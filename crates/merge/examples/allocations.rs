//! Counts the heap allocations one merge makes, per item, at 100 to 100k
//! items (the benchmark's synthetic records). For BENCHMARKS.md:
//! `cargo run --release -p icr-merge --example allocations`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use icr_model::{SectionSet, SourceRecord};

/// The system allocator, counting calls and bytes.
struct Counting;

static CALLS: AtomicUsize = AtomicUsize::new(0);
static BYTES: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        CALLS.fetch_add(1, Ordering::Relaxed);
        BYTES.fetch_add(layout.size(), Ordering::Relaxed);
        // SAFETY: the caller's contract is passed on as it is.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        CALLS.fetch_add(1, Ordering::Relaxed);
        BYTES.fetch_add(new_size, Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn main() {
    println!("| items | allocations | per item | bytes allocated | per item |");
    println!("|---:|---:|---:|---:|---:|");
    for n in [100usize, 1_000, 10_000, 100_000] {
        let records = icr_merge::testdata::records(n, 3);
        let refs: Vec<&SourceRecord> = records.iter().collect();
        let (calls, bytes) = (CALLS.load(Ordering::Relaxed), BYTES.load(Ordering::Relaxed));
        let merged = icr_merge::merge(&refs, SectionSet::all());
        let calls = CALLS.load(Ordering::Relaxed) - calls;
        let bytes = BYTES.load(Ordering::Relaxed) - bytes;
        drop(merged);
        println!(
            "| {n} | {calls} | {:.1} | {bytes} | {:.0} |",
            calls as f64 / n as f64,
            bytes as f64 / n as f64
        );
    }
}
