//! `user-sync-connector`: see docs/connector.md.

fn main() {}
