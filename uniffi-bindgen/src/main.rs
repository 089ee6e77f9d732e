//! `uniffi-bindgen`: uniffi's command line at the version `mobile-bindings` is built with.
//!
//! `cargo run -p uniffi-bindgen -- generate --library target/debug/libmobile_bindings.so
//! --language kotlin --out-dir out/kotlin` (see `mobile-bindings/generate.sh`).

fn main() {
    uniffi::uniffi_bindgen_main()
}
