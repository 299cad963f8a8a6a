//! Merges the records of several sources into one view: pure, no I/O
