//! The signature trailer: a round trip, unsigned files, and every way a
//! trailer can be malformed (truncated, lengths that disagree with the
//! file, bad signer names, unknown versions), each with its typed error.

use helix_loader::sig::{self, FOOTER_LEN, KEY_ID_LEN, MAGIC, SIGNATURE_LEN, SigError};

const PAYLOAD: &[u8] = b"\x7fELF\x02\x01\x01 pretend module body";

fn signed(signer: &str) -> Vec<u8> {
    sig::append(PAYLOAD, signer, [0xab; 8], [0x5a; 64]).expect("append")
}

/// Offset of footer byte `i` in `file`.
fn footer(file: &[u8], i: usize) -> usize {
    file.len() - FOOTER_LEN + i
}

#[test]
fn round_trip_keeps_payload_and_fields() {
    let file = signed("helix-dev");
    assert_eq!(
        file.len(),
        PAYLOAD.len() + SIGNATURE_LEN + 9 + KEY_ID_LEN + FOOTER_LEN
    );
    assert!(file.ends_with(MAGIC));
    let (payload, trailer) = sig::split(&file).unwrap();
    let trailer = trailer.expect("signed");
    assert_eq!(payload, PAYLOAD);
    assert_eq!(trailer.signer, "helix-dev");
    assert_eq!(trailer.key_id, [0xab; 8]);
    assert_eq!(trailer.signature, [0x5a; 64]);
}

#[test]
fn unsigned_file_is_its_own_payload() {
    assert_eq!(sig::split(PAYLOAD), Ok((PAYLOAD, None)));
    assert_eq!(sig::split(b""), Ok((&b""[..], None)));
    // The magic cut by one byte is no trailer at all.
    let mut file = signed("a");
    file.pop();
    assert_eq!(sig::split(&file), Ok((&file[..], None)));
}

#[test]
fn magic_alone_is_truncated() {
    assert!(matches!(
        sig::split(MAGIC),
        Err(SigError::Truncated { len: 24, .. })
    ));
    // A footer that announces more than the file holds.
    let file = signed("helix-dev");
    let tail = &file[file.len() - FOOTER_LEN - 10..];
    assert_eq!(
        sig::split(tail),
        Err(SigError::Truncated {
            len: FOOTER_LEN + 10,
            needed: SIGNATURE_LEN + 9 + KEY_ID_LEN + FOOTER_LEN
        })
    );
}

#[test]
fn payload_length_must_match_the_file() {
    let file = signed("helix-dev");
    // Bytes cut from the front: the footer still says the old length.
    assert_eq!(
        sig::split(&file[3..]),
        Err(SigError::PayloadLength {
            stated: PAYLOAD.len() as u64,
            actual: PAYLOAD.len() - 3
        })
    );
    // A length past the end of the file.
    let mut bad = file.clone();
    let at = footer(&bad, 4);
    bad[at..at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    assert_eq!(
        sig::split(&bad),
        Err(SigError::PayloadLength {
            stated: u64::from(u32::MAX),
            actual: PAYLOAD.len()
        })
    );
}

#[test]
fn signer_length_out_of_range() {
    let mut file = signed("helix-dev");
    let at = footer(&file, 2);
    file[at] = 0;
    assert_eq!(sig::split(&file), Err(SigError::BadSignerLength(0)));
    file[at] = 33;
    assert_eq!(sig::split(&file), Err(SigError::BadSignerLength(33)));
    // A different (valid) length moves the payload boundary: caught there.
    file[at] = 10;
    assert!(matches!(
        sig::split(&file),
        Err(SigError::PayloadLength { .. })
    ));
}

#[test]
fn bad_signer_names_are_refused() {
    for name in ["", "has space", "naïve", "tab\t", &"x".repeat(33)] {
        assert!(
            sig::append(PAYLOAD, name, [0; 8], [0; 64]).is_err(),
            "{name:?} accepted"
        );
    }
    assert_eq!(
        sig::append(PAYLOAD, "a/b", [0; 8], [0; 64]),
        Err(SigError::BadSignerName)
    );
    // A non-ASCII byte written into a trailer.
    let mut file = signed("helix-dev");
    let at = PAYLOAD.len() + SIGNATURE_LEN;
    file[at] = 0xff;
    assert_eq!(sig::split(&file), Err(SigError::BadSignerName));
    assert!(sig::append(PAYLOAD, &"x".repeat(32), [0; 8], [0; 64]).is_ok());
}

#[test]
fn unknown_version_algorithm_reserved() {
    let file = signed("helix-dev");
    for (i, value, want) in [
        (0, 2, SigError::UnsupportedVersion(2)),
        (1, 7, SigError::UnsupportedAlgorithm(7)),
        (3, 1, SigError::ReservedNotZero),
    ] {
        let mut bad = file.clone();
        let at = footer(&bad, i);
        bad[at] = value;
        assert_eq!(sig::split(&bad), Err(want));
    }
}

#[test]
fn signing_twice_is_refused() {
    let file = signed("helix-dev");
    assert_eq!(
        sig::append(&file, "helix-dev", [0; 8], [0; 64]),
        Err(SigError::AlreadySigned)
    );
}

#[test]
fn every_truncation_is_an_error_or_unsigned() {
    let file = signed("helix-dev");
    for cut in 0..file.len() {
        match sig::split(&file[cut..]) {
            Ok((_, Some(_))) => assert_eq!(cut, 0, "a cut file parsed as signed"),
            Ok((_, None)) => assert!(
                file.len() - cut < MAGIC.len(),
                "cut {cut} parsed as unsigned"
            ),
            Err(e) => assert!(!e.to_string().is_empty()),
        }
        // Cut from the back: the magic is gone, so the file is unsigned.
        if cut > 0 {
            assert_eq!(sig::split(&file[..file.len() - cut]).unwrap().1, None);
        }
    }
}
