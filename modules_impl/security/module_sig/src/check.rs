//! The signature check itself, a pure function of the file and the trusted
//! keys: [`verify`] splits the trailer off ([`helix_loader::sig`]), finds
//! the key by its id and checks the Ed25519 signature over the payload.

use alloc::string::String;
use core::fmt;

use ed25519_compact::{PublicKey, Signature};
use helix_loader::sig::{self, KEY_ID_LEN, SigError};

/// A trusted public key and the name it is known by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PublicKeyEntry {
    /// Who holds the secret half (e.g. `helix-dev`).
    pub name: &'static str,
    /// The Ed25519 public key.
    pub key: [u8; 32],
}

impl PublicKeyEntry {
    /// The key id: the first 8 bytes of the key, as the trailer records it.
    pub fn key_id(&self) -> [u8; KEY_ID_LEN] {
        let mut id = [0; KEY_ID_LEN];
        id.copy_from_slice(&self.key[..KEY_ID_LEN]);
        id
    }
}

/// Who signed a module whose signature checked out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signer {
    /// The signer name in the trailer.
    pub signer: String,
    /// The name of the trusted key that verified it.
    pub key_name: &'static str,
    /// The key id.
    pub key_id: [u8; KEY_ID_LEN],
}

/// Writes `bytes` as lowercase hex.
pub(crate) struct Hex<'a>(pub(crate) &'a [u8]);

impl fmt::Display for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

/// `signed by helix-dev (key helix-dev 0123456789abcdef)`.
impl fmt::Display for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "signed by {} (key {} {})",
            self.signer,
            self.key_name,
            Hex(&self.key_id)
        )
    }
}

/// Why a module file's signature was not accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SigCheckError {
    /// The file carries no signature trailer.
    Unsigned,
    /// The trailer is malformed.
    Trailer(SigError),
    /// No trusted key has the trailer's key id.
    UnknownKey {
        /// The signer name the trailer claims.
        signer: String,
        /// The key id in the trailer.
        key_id: [u8; KEY_ID_LEN],
    },
    /// The signature does not match the payload: the file was changed
    /// after signing (or signed by another key with the same id).
    BadSignature {
        /// The signer name the trailer claims.
        signer: String,
    },
}

impl fmt::Display for SigCheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SigCheckError::Unsigned => f.write_str("the module is not signed"),
            SigCheckError::Trailer(e) => write!(f, "bad signature trailer: {e}"),
            SigCheckError::UnknownKey { signer, key_id } => write!(
                f,
                "signed by {signer} with an unknown key ({})",
                Hex(key_id)
            ),
            SigCheckError::BadSignature { signer } => write!(
                f,
                "the signature by {signer} does not match: the module was modified after signing"
            ),
        }
    }
}

impl core::error::Error for SigCheckError {}

/// Checks the signature of the module file `file` against `keys`.
pub fn verify(file: &[u8], keys: &[PublicKeyEntry]) -> Result<Signer, SigCheckError> {
    let (payload, trailer) = sig::split(file).map_err(SigCheckError::Trailer)?;
    let trailer = trailer.ok_or(SigCheckError::Unsigned)?;
    let signer = String::from(trailer.signer);
    let Some(entry) = keys.iter().find(|k| k.key_id() == trailer.key_id) else {
        return Err(SigCheckError::UnknownKey {
            signer,
            key_id: trailer.key_id,
        });
    };
    PublicKey::new(entry.key)
        .verify(payload, &Signature::new(trailer.signature))
        .map_err(|_| SigCheckError::BadSignature {
            signer: signer.clone(),
        })?;
    Ok(Signer {
        signer,
        key_name: entry.name,
        key_id: trailer.key_id,
    })
}
