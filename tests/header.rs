//! The checked-in header must be exactly what cbindgen generates from src/ffi.rs
//! (only that file: the rest of the crate is not C API).
//! Regenerate it with `PASSWDPOP_BLESS_HEADER=1 cargo test --test header`.

use std::path::Path;

#[test]
fn header_is_up_to_date() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).unwrap();
    let mut generated = Vec::new();
    cbindgen::Builder::new()
        .with_src(crate_dir.join("src/ffi.rs"))
        .with_config(config)
        .generate()
        .expect("cbindgen generates the header")
        .write(&mut generated);
    let header_path = crate_dir.join("include/passwdpop.h");
    if std::env::var_os("PASSWDPOP_BLESS_HEADER").is_some() {
        std::fs::write(&header_path, &generated).unwrap();
    }
    let checked_in = std::fs::read(&header_path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "include/passwdpop.h differs from cbindgen's output; run \
         PASSWDPOP_BLESS_HEADER=1 cargo test --test header and commit it"
    );
}
