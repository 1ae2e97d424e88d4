//! The module-signing tool's work: making a key pair, signing a module
//! binary by appending the trailer of [`helix_loader::sig`], and checking a
//! signed file against a public key. `main.rs` only parses arguments.
//!
//! Key files are raw bytes: `module-signing.key` holds the 32-byte Ed25519
//! seed (mode 0600), `module-signing.pub` the 32-byte public key. A key id
//! is the first 8 bytes of the public key.
//!
//! Ed25519 comes from `ed25519-compact`, the same crate the kernel's
//! `module_sig` module verifies with: it is `no_std`, has no dependencies
//! with the features used here, is small enough to read, is maintained,
//! and its verification runs in constant time.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use ed25519_compact::{KeyPair, PublicKey, Seed, Signature};
use helix_loader::sig::{self, KEY_ID_LEN, SigError};

mod error;

pub use error::{Error, IoOp, Usage};

/// The name of the secret key file in a key directory.
pub const KEY_FILE: &str = "module-signing.key";
/// The name of the public key file in a key directory.
pub const PUB_FILE: &str = "module-signing.pub";
/// The signer name written when none is given.
pub const DEFAULT_SIGNER: &str = "helix-dev";

/// The key id of `public`: its first 8 bytes.
pub fn key_id(public: &[u8; 32]) -> [u8; KEY_ID_LEN] {
    let mut id = [0; KEY_ID_LEN];
    id.copy_from_slice(&public[..KEY_ID_LEN]);
    id
}

/// `bytes` as lowercase hexadecimal.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn io_err(op: IoOp, path: &Path) -> impl FnOnce(io::Error) -> Error + '_ {
    move |e| Error::Io {
        op,
        path: path.to_path_buf(),
        kind: e.kind(),
    }
}

fn read(path: &Path) -> Result<Vec<u8>, Error> {
    fs::read(path).map_err(io_err(IoOp::Read, path))
}

/// Reads a 32-byte key file.
fn read_key(path: &Path) -> Result<[u8; 32], Error> {
    let bytes = read(path)?;
    <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| Error::BadKeyFile {
        path: path.to_path_buf(),
        len: bytes.len(),
    })
}

/// Writes `bytes` to a new file with `mode`; an existing file is replaced
/// only when `force`.
fn write_new(path: &Path, bytes: &[u8], mode: u32, force: bool) -> Result<(), Error> {
    let mut options = OpenOptions::new();
    options.write(true).mode(mode);
    if force {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    let mut file = options.open(path).map_err(io_err(IoOp::Create, path))?;
    // `mode` applies to new files only; a forced overwrite keeps it too.
    let perms = std::os::unix::fs::PermissionsExt::from_mode(mode);
    file.set_permissions(perms)
        .map_err(io_err(IoOp::Write, path))?;
    file.write_all(bytes).map_err(io_err(IoOp::Write, path))
}

/// Creates `dir` (if needed) with a new key pair in it, the seed from
/// `/dev/urandom`. Existing key files are an error unless `force`.
/// Returns the paths written (secret, public).
pub fn keygen(dir: &Path, force: bool) -> Result<(PathBuf, PathBuf), Error> {
    let (key, public) = (dir.join(KEY_FILE), dir.join(PUB_FILE));
    if !force {
        for path in [&key, &public] {
            if path.exists() {
                return Err(Error::KeyExists(path.clone()));
            }
        }
    }
    fs::create_dir_all(dir).map_err(io_err(IoOp::Create, dir))?;
    let urandom = Path::new("/dev/urandom");
    let mut seed = [0u8; 32];
    File::open(urandom)
        .and_then(|mut f| f.read_exact(&mut seed))
        .map_err(io_err(IoOp::Read, urandom))?;
    let pair = KeyPair::try_from_seed(Seed::new(seed)).map_err(|_| Error::BadSeed)?;
    write_new(&key, &seed, 0o600, force)?;
    write_new(&public, &pair.pk[..], 0o644, force)?;
    Ok((key, public))
}

/// Signs the module file `input` with the seed in `key` as `signer` and
/// writes the signed file to `output`. Returns the key id used.
pub fn sign(key: &Path, signer: &str, input: &Path, output: &Path) -> Result<[u8; 8], Error> {
    let seed = read_key(key)?;
    let pair = KeyPair::try_from_seed(Seed::new(seed)).map_err(|_| Error::BadSeed)?;
    let payload = read(input)?;
    if !matches!(sig::split(&payload), Ok((_, None))) {
        return Err(Error::Sig(SigError::AlreadySigned));
    }
    let id = key_id(&pair.pk);
    let signature = pair.sk.sign(&payload, None);
    let signed = sig::append(&payload, signer, id, *signature).map_err(Error::Sig)?;
    fs::write(output, signed).map_err(io_err(IoOp::Write, output))?;
    Ok(id)
}

/// What [`verify`] found in a good signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    /// The signer name in the trailer.
    pub signer: String,
    /// The key id in the trailer.
    pub key_id: [u8; KEY_ID_LEN],
    /// How many payload bytes the signature covers.
    pub payload_len: usize,
}

/// Checks the signed file `input` against the public key in `public`.
pub fn verify(public: &Path, input: &Path) -> Result<Verified, Error> {
    let pk = PublicKey::new(read_key(public)?);
    let file = read(input)?;
    let (payload, trailer) = sig::split(&file).map_err(Error::Sig)?;
    let trailer = trailer.ok_or(Error::Unsigned)?;
    if trailer.key_id != key_id(&pk) {
        return Err(Error::OtherKey {
            key_id: trailer.key_id,
            expected: key_id(&pk),
        });
    }
    pk.verify(payload, &Signature::new(trailer.signature))
        .map_err(|_| Error::BadSignature)?;
    Ok(Verified {
        signer: String::from(trailer.signer),
        key_id: trailer.key_id,
        payload_len: payload.len(),
    })
}
