//! mapframe's shared domain: pure logic used by the server and by phones alike.
//!
//! Nothing here does I/O, knows HTTP, SQL or uniffi, or reads a clock it was not given: inputs are
//! plain data (strings, structs), outputs are plain data. See `ARCHITECTURE.md` for the code map.

pub mod aapor;
pub mod coverage;
pub mod crs;
pub mod export;
pub mod fieldwork;
pub mod form;
pub mod geometry;
pub mod ids;
pub mod listing;
pub mod random;
pub mod sampling;
pub mod selfcheck;
pub mod serpentine;
pub mod stats;
pub mod sync;
pub mod synthetic;
pub mod table;

/// The version of this crate, recorded in selection records and reports.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
