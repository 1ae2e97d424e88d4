//! The ABI note: an ELF note (name [`NOTE_NAME`], type [`NOTE_TYPE`]) that
//! [`crate::export_module!`] puts in every module binary, holding the
//! magic, ABI version and layout hash the binary was built with, so the
//! kernel can refuse a binary built for another interface before it maps
//! anything (`helix_loader::elf::find_note` reads it from the file).

/// The note's name (without its NUL).
pub const NOTE_NAME: &[u8] = b"Helix";
/// The note's type: "HXAB" in little-endian bytes.
pub const NOTE_TYPE: u32 = u32::from_le_bytes(*b"HXAB");
/// Length of the note's descriptor: magic (8), ABI major (2), ABI minor
/// (2), reserved (4), layout hash (8), all little-endian.
pub const NOTE_DESC_LEN: usize = 24;

/// What the ABI note says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AbiStamp {
    /// [`crate::MAGIC`] for a Helix module.
    pub magic: u64,
    /// The ABI major version.
    pub abi_major: u16,
    /// The ABI minor version.
    pub abi_minor: u16,
    /// The layout hash.
    pub layout_hash: u64,
}

impl AbiStamp {
    /// What this build of the interface stamps.
    pub const CURRENT: AbiStamp = AbiStamp {
        magic: crate::MAGIC,
        abi_major: crate::ABI_MAJOR,
        abi_minor: crate::ABI_MINOR,
        layout_hash: crate::LAYOUT_HASH,
    };

    /// Reads a note descriptor; `None` if it has the wrong length.
    pub fn parse(desc: &[u8]) -> Option<AbiStamp> {
        let desc: &[u8; NOTE_DESC_LEN] = desc.try_into().ok()?;
        let u64_at = |i: usize| {
            let mut b = [0; 8];
            b.copy_from_slice(&desc[i..i + 8]);
            u64::from_le_bytes(b)
        };
        Some(AbiStamp {
            magic: u64_at(0),
            abi_major: u16::from_le_bytes([desc[8], desc[9]]),
            abi_minor: u16::from_le_bytes([desc[10], desc[11]]),
            layout_hash: u64_at(16),
        })
    }
}

/// The whole note as it sits in the binary (`#[repr(C)]`, 4-byte fields,
/// so the layout is the ELF note format exactly).
#[repr(C, align(4))]
#[derive(Debug, Clone, Copy)]
pub struct AbiNote {
    namesz: u32,
    descsz: u32,
    kind: u32,
    name: [u8; 8],
    desc: [u8; NOTE_DESC_LEN],
}

impl AbiNote {
    /// The note for `stamp`.
    pub const fn new(stamp: AbiStamp) -> Self {
        let mut desc = [0u8; NOTE_DESC_LEN];
        let magic = stamp.magic.to_le_bytes();
        let hash = stamp.layout_hash.to_le_bytes();
        let major = stamp.abi_major.to_le_bytes();
        let minor = stamp.abi_minor.to_le_bytes();
        let mut i = 0;
        while i < 8 {
            desc[i] = magic[i];
            desc[16 + i] = hash[i];
            i += 1;
        }
        desc[8] = major[0];
        desc[9] = major[1];
        desc[10] = minor[0];
        desc[11] = minor[1];
        AbiNote {
            namesz: NOTE_NAME.len() as u32 + 1,
            descsz: NOTE_DESC_LEN as u32,
            kind: NOTE_TYPE,
            name: *b"Helix\0\0\0",
            desc,
        }
    }

    /// The note of this build of the interface (with the test-only
    /// `test-wrong-abi` feature, one major version ahead, like the
    /// descriptor).
    pub const CURRENT: AbiNote = AbiNote::new(AbiStamp {
        abi_major: crate::ABI_MAJOR
            + if cfg!(feature = "test-wrong-abi") {
                1
            } else {
                0
            },
        ..AbiStamp::CURRENT
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_note_reads_back_as_its_stamp() {
        let note = AbiNote::new(AbiStamp::CURRENT);
        assert_eq!(note.namesz, 6);
        assert_eq!(AbiStamp::parse(&note.desc), Some(AbiStamp::CURRENT));
        assert_eq!(AbiStamp::parse(&note.desc[..23]), None);
        assert_eq!(core::mem::size_of::<AbiNote>(), 12 + 8 + NOTE_DESC_LEN);
    }
}
