//! The `icr` command.
fn main() {}
