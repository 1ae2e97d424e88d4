//! ELF notes: [`find_note`] reads the `PT_NOTE` segments of a module binary
//! without mapping anything, so that facts a binary declares about itself
//! (the module ABI it was built for) can be checked before it is loaded.
//!
//! A note is `namesz`, `descsz`, `type` (three little-endian `u32`s), the
//! name (`namesz` bytes, NUL included) padded to 4 bytes, then the
//! descriptor padded to 4 bytes. Malformed notes end the walk of their
//! segment; nothing here panics on any input.

use super::{EHDR_LEN, PHDR_LEN, u32_at, u64_at};

/// Program header type: notes.
pub const PT_NOTE: u32 = 4;

fn pad4(n: usize) -> Option<usize> {
    n.checked_add(3).map(|v| v & !3)
}

/// The descriptor of the first note named `name` (without its NUL) with
/// type `kind` in the `PT_NOTE` segments of `image`, if there is one.
pub fn find_note<'a>(image: &'a [u8], name: &[u8], kind: u32) -> Option<&'a [u8]> {
    let ehdr = image.get(..EHDR_LEN)?;
    let phoff = usize::try_from(u64_at(ehdr, 32)?).ok()?;
    let phnum = usize::from(u16::from_le_bytes([*ehdr.get(56)?, *ehdr.get(57)?]));
    let phdrs = image.get(phoff..phoff.checked_add(phnum.checked_mul(PHDR_LEN)?)?)?;
    phdrs
        .chunks_exact(PHDR_LEN)
        .filter(|ph| u32_at(ph, 0) == Some(PT_NOTE))
        .find_map(|ph| {
            let offset = usize::try_from(u64_at(ph, 8)?).ok()?;
            let size = usize::try_from(u64_at(ph, 32)?).ok()?;
            let notes = image.get(offset..offset.checked_add(size)?)?;
            in_segment(notes, name, kind)
        })
}

/// The descriptor of the matching note in one segment's bytes.
fn in_segment<'a>(mut notes: &'a [u8], name: &[u8], kind: u32) -> Option<&'a [u8]> {
    while notes.len() >= 12 {
        let namesz = usize::try_from(u32_at(notes, 0)?).ok()?;
        let descsz = usize::try_from(u32_at(notes, 4)?).ok()?;
        let ntype = u32_at(notes, 8)?;
        let name_end = 12usize.checked_add(namesz)?;
        let desc_start = 12usize.checked_add(pad4(namesz)?)?;
        let desc_end = desc_start.checked_add(descsz)?;
        let note_name = notes.get(12..name_end)?;
        let desc = notes.get(desc_start..desc_end)?;
        if ntype == kind && note_name.strip_suffix(&[0]) == Some(name) {
            return Some(desc);
        }
        notes = notes.get(desc_start.checked_add(pad4(descsz)?)?..)?;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    /// An ELF header with one `PT_NOTE` header pointing at `notes`.
    fn image(notes: &[u8]) -> Vec<u8> {
        let mut img = alloc::vec![0u8; EHDR_LEN + PHDR_LEN];
        img[32..40].copy_from_slice(&(EHDR_LEN as u64).to_le_bytes());
        img[56..58].copy_from_slice(&1u16.to_le_bytes());
        let ph = EHDR_LEN;
        img[ph..ph + 4].copy_from_slice(&PT_NOTE.to_le_bytes());
        img[ph + 8..ph + 16].copy_from_slice(&((EHDR_LEN + PHDR_LEN) as u64).to_le_bytes());
        img[ph + 32..ph + 40].copy_from_slice(&(notes.len() as u64).to_le_bytes());
        img.extend_from_slice(notes);
        img
    }

    fn note(name: &[u8], kind: u32, desc: &[u8]) -> Vec<u8> {
        let mut n = Vec::new();
        n.extend_from_slice(&(name.len() as u32 + 1).to_le_bytes());
        n.extend_from_slice(&(desc.len() as u32).to_le_bytes());
        n.extend_from_slice(&kind.to_le_bytes());
        n.extend_from_slice(name);
        n.push(0);
        n.resize(n.len().next_multiple_of(4), 0);
        n.extend_from_slice(desc);
        n.resize(n.len().next_multiple_of(4), 0);
        n
    }

    #[test]
    fn the_matching_note_is_found_among_others() {
        let mut notes = note(b"GNU", 3, b"build-id");
        notes.extend(note(b"Helix", 7, b"wrong type"));
        notes.extend(note(b"Helix", 9, b"the one"));
        let img = image(&notes);
        assert_eq!(find_note(&img, b"Helix", 9), Some(&b"the one"[..]));
        assert_eq!(find_note(&img, b"Helix", 8), None);
        assert_eq!(find_note(&img, b"Heli", 9), None);
    }

    #[test]
    fn malformed_notes_and_headers_find_nothing() {
        let good = note(b"Helix", 9, b"desc");
        // A descriptor size past the segment, a segment past the file, no
        // program headers at all, and every truncation of a good image.
        let mut bad = good.clone();
        bad[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(find_note(&image(&bad), b"Helix", 9), None);
        let mut img = image(&good);
        img[EHDR_LEN + 32..EHDR_LEN + 40].copy_from_slice(&u64::MAX.to_le_bytes());
        assert_eq!(find_note(&img, b"Helix", 9), None);
        let img = image(&good);
        for cut in 0..img.len() {
            assert_eq!(find_note(&img[..cut], b"Helix", 9), None, "cut at {cut}");
        }
        assert_eq!(find_note(&img, b"Helix", 9), Some(&b"desc"[..]));
    }
}
