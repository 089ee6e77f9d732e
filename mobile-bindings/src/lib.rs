//! The phone library: an on-device store plus `sync-core`, exported to Kotlin, Swift and Python
//! through uniffi.
//!
//! For now a skeleton that links the shared core, so that the workspace's invariant holds from the
//! start: phones validate with exactly the code the server runs. The uniffi surface (`FieldStore`)
//! arrives with the bindings issue.

/// The version of the shared core this library was built with.
pub fn core_version() -> &'static str {
    sync_core::VERSION
}

#[cfg(test)]
mod tests {
    #[test]
    fn links_the_shared_core() {
        assert_eq!(super::core_version(), env!("CARGO_PKG_VERSION"));
    }
}
