//! `verify`, the pure signature check: a good signature names its signer
//! and key; unsigned, tampered, malformed and unknown-key files each get
//! their own error.

mod common;

use common::{ELF, entry, pair, sign};
use helix_loader::sig::SigError;
use module_sig::{SigCheckError, verify};

#[test]
fn good_signature_names_signer_and_key() {
    let p = pair(7);
    let keys = [entry("other", &pair(8)), entry("test-key", &p)];
    let signer = verify(&sign(ELF, "alice", &p), &keys).unwrap();
    assert_eq!(signer.signer, "alice");
    assert_eq!(signer.key_name, "test-key");
    assert_eq!(signer.key_id[..], p.pk[..8]);
    let text = signer.to_string();
    assert!(text.starts_with("signed by alice (key test-key "), "{text}");
}

#[test]
fn unsigned_is_refused() {
    let keys = [entry("k", &pair(7))];
    assert_eq!(verify(ELF, &keys), Err(SigCheckError::Unsigned));
    assert_eq!(verify(b"", &keys), Err(SigCheckError::Unsigned));
}

#[test]
fn every_tampered_payload_byte_is_caught() {
    let p = pair(7);
    let keys = [entry("k", &p)];
    let file = sign(ELF, "alice", &p);
    for i in 0..ELF.len() {
        let mut bad = file.clone();
        bad[i] ^= 0x20;
        assert_eq!(
            verify(&bad, &keys),
            Err(SigCheckError::BadSignature {
                signer: "alice".into()
            }),
            "byte {i}"
        );
    }
    // A flipped signature byte too.
    let mut bad = file.clone();
    bad[ELF.len() + 3] ^= 1;
    assert!(matches!(
        verify(&bad, &keys),
        Err(SigCheckError::BadSignature { .. })
    ));
}

#[test]
fn unknown_key_is_refused() {
    let file = sign(ELF, "mallory", &pair(9));
    let err = verify(&file, &[entry("k", &pair(7))]).unwrap_err();
    assert!(matches!(&err, SigCheckError::UnknownKey { signer, .. } if signer == "mallory"));
    assert!(err.to_string().contains("unknown key"), "{err}");
    assert!(matches!(
        verify(&file, &[]),
        Err(SigCheckError::UnknownKey { .. })
    ));
}

#[test]
fn malformed_trailer_is_refused() {
    let p = pair(7);
    let file = sign(ELF, "alice", &p);
    // Cut from the front: the trailer's payload length no longer fits.
    let err = verify(&file[1..], &[entry("k", &p)]).unwrap_err();
    assert!(
        matches!(err, SigCheckError::Trailer(SigError::PayloadLength { .. })),
        "{err}"
    );
}
