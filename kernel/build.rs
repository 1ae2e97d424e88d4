//! Links every kernel image (the binary and each test kernel) with the
//! boot crate's linker script, non-PIE, at the physical addresses the PVH
//! loader uses.

fn main() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../boot/linker.ld");
    println!("cargo:rerun-if-changed={script}");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("none") {
        println!("cargo:rustc-link-arg=-T{script}");
        println!("cargo:rustc-link-arg=--no-pie");
    }
}
