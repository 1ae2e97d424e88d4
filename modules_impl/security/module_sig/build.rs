//! Embeds the module-signing public key: `$HELIX_MODULE_KEY_DIR/module-signing.pub`,
//! or by default the workspace's `.keys/module-signing.pub` (made by
//! `scripts/setup.sh`). Without the file no key is embedded, so every
//! signed module is "signed by an unknown key"; cargo prints a warning.

use std::env;
use std::fs;
use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-env-changed=HELIX_MODULE_KEY_DIR");
    let dir = match env::var_os("HELIX_MODULE_KEY_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => {
            let manifest =
                env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
            PathBuf::from(manifest).join("../../../.keys")
        }
    };
    let path = dir.join("module-signing.pub");
    println!("cargo:rerun-if-changed={}", path.display());
    let entries = match fs::read(&path) {
        Ok(bytes) if bytes.len() == 32 => {
            let bytes: Vec<String> = bytes.iter().map(|b| format!("{b:#04x}")).collect();
            format!(
                "PublicKeyEntry {{ name: \"helix-dev\", key: [{}] }}",
                bytes.join(", ")
            )
        }
        Ok(bytes) => {
            println!(
                "cargo:warning={} is {} bytes, not a 32-byte Ed25519 public key: no module-signing key embedded",
                path.display(),
                bytes.len()
            );
            String::new()
        }
        Err(_) => {
            println!(
                "cargo:warning=no {}: no module-signing key embedded, every signed module will be refused as signed by an unknown key (run scripts/setup.sh)",
                path.display()
            );
            String::new()
        }
    };
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("keys.rs");
    let code = format!(
        "/// The public keys embedded at build time.\npub static EMBEDDED_KEYS: &[PublicKeyEntry] = &[{entries}];\n"
    );
    fs::write(&out, code).expect("write keys.rs");
}
