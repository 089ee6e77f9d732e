//! The phone library: an on-device store plus `sync-core`, exported to Kotlin, Swift and Python
//! through uniffi.
//!
//! An app holds one [`FieldStore`]: it opens an SQLite file on the device ([`storage`]), signs
//! in, syncs over HTTP with bounded retries ([`http`]) — or hands the sync messages to the app's
//! own HTTP stack (`prepare_push` / `apply_ack` / `prepare_pull` / `apply_pull`) — lists and
//! edits the buildings and dwellings of its areas with the server's self-check, and runs
//! interviews with the shared form engine. Everything it validates and merges, it validates and
//! merges with the same `sync-core` code as the server.
//!
//! The public surface is small and made of plain records and enums ([`records`]) and one error
//! enum ([`FieldError`]); this crate is the only one in the workspace that knows uniffi. Bindings
//! are generated from the compiled library by the workspace's `uniffi-bindgen` (see
//! `mobile-bindings/generate.sh`).

uniffi::setup_scaffolding!();

pub mod error;
pub mod http;
mod interview;
mod listing;
pub mod records;
pub mod storage;
mod store;

pub use error::FieldError;
pub use http::RetryPolicy;
pub use records::*;
pub use store::FieldStore;

/// The version of the shared core this library was built with.
#[uniffi::export]
pub fn core_version() -> String {
    sync_core::VERSION.to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn links_the_shared_core() {
        assert_eq!(super::core_version(), env!("CARGO_PKG_VERSION"));
    }
}
