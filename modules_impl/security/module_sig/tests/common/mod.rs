//! Test keys and signed files: key pairs made from fixed seeds in the test
//! (never the dev key), and module files signed with them.
#![allow(dead_code)]

use ed25519_compact::{KeyPair, Seed};
use helix_loader::sig;
use module_sig::PublicKeyEntry;

/// A key pair from a seed filled with `n`.
pub fn pair(n: u8) -> KeyPair {
    KeyPair::from_seed(Seed::new([n; 32]))
}

/// The trusted entry for `pair`.
pub fn entry(name: &'static str, pair: &KeyPair) -> PublicKeyEntry {
    PublicKeyEntry {
        name,
        key: *pair.pk,
    }
}

/// `entries` as the `'static` slice the module keeps.
pub fn leak(entries: Vec<PublicKeyEntry>) -> &'static [PublicKeyEntry] {
    Box::leak(entries.into_boxed_slice())
}

/// `payload` signed by `pair` as `signer`.
pub fn sign(payload: &[u8], signer: &str, pair: &KeyPair) -> Vec<u8> {
    let mut id = [0; 8];
    id.copy_from_slice(&pair.pk[..8]);
    sig::append(payload, signer, id, *pair.sk.sign(payload, None)).expect("append")
}

/// A stand-in module binary.
pub const ELF: &[u8] = b"\x7fELF\x02\x01\x01\0 a module binary, as far as signing cares";
