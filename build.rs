//! Link settings for the wasm build only (the host build of `cargo test` is untouched).
fn main() {
    // file!(): bench/floor builds with this same script, from its own folder (its Cargo.toml `build` key).
    println!("cargo:rerun-if-changed={}", file!());
    if std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("wasm32") {
        // Rust gives a wasm module a 1 MiB stack inside its linear memory, and every instance's memory is
        // reset after each request (Spin keeps the first 2 MiB resident and zeroes it with memset). envapp
        // needs a few KiB of stack (serde_json's nesting limit of 128 included: tests/http), so 128 KiB
        // makes each instance ~0.3 MiB instead of ~1.2 MiB: less to reset, fewer pages to touch, on Spin,
        // on the shim and on envapp-host alike (bench/PROFILE.md).
        println!("cargo:rustc-link-arg-cdylib=-zstack-size=131072");
    }
}
