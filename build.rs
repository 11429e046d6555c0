//! SONAME and link settings only. The SONAME's major comes from the crate
//! version, the one source of truth for the library's version.

fn main() {
    let major = std::env::var("CARGO_PKG_VERSION_MAJOR").expect("cargo sets the version");
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libpasswdpop.so.{major}");
    println!("cargo:rerun-if-changed=build.rs");
}
