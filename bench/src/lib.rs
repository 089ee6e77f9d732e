//! Benchmarks that compare mapframe with other engines; see `benches/sync.rs`.
