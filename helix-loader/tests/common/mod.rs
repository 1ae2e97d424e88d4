//! A small ELF64 image builder for the tests: it writes an ELF header,
//! program headers, a dynamic section and a `.rela.dyn` table into a
//! `Vec<u8>`, so no binary file is committed. [`Image::valid`] is a
//! well-formed module (text R+X at 0, data R+W at 0x1000 with bss, three
//! `R_X86_64_RELATIVE` relocations); tests change one field and build.
#![allow(dead_code)]

pub const PT_LOAD: u32 = 1;
pub const PT_DYNAMIC: u32 = 2;
pub const PT_INTERP: u32 = 3;
pub const PT_TLS: u32 = 7;
pub const PT_GNU_STACK: u32 = 0x6474_e551;
pub const PF_X: u32 = 1;
pub const PF_W: u32 = 2;
pub const PF_R: u32 = 4;

pub const DT_NULL: i64 = 0;
pub const DT_NEEDED: i64 = 1;
pub const DT_PLTRELSZ: i64 = 2;
pub const DT_RELA: i64 = 7;
pub const DT_RELASZ: i64 = 8;
pub const DT_RELAENT: i64 = 9;
pub const DT_REL: i64 = 17;
pub const DT_JMPREL: i64 = 23;
pub const DT_RELR: i64 = 36;
pub const DT_RELACOUNT: i64 = 0x6fff_fff9;

pub const R_NONE: u64 = 0;
pub const R_64: u64 = 1;
pub const R_RELATIVE: u64 = 8;

/// File offset (and address) of the dynamic section in [`Image::valid`].
pub const DYN_AT: usize = 0x1000;
/// File offset (and address) of the relocation table in [`Image::valid`].
pub const RELA_AT: usize = 0x1100;

/// One program header.
#[derive(Debug, Clone, Copy)]
pub struct Phdr {
    pub p_type: u32,
    pub flags: u32,
    pub offset: u64,
    pub vaddr: u64,
    pub filesz: u64,
    pub memsz: u64,
    pub align: u64,
}

impl Phdr {
    pub fn load(flags: u32, offset: u64, vaddr: u64, filesz: u64, memsz: u64) -> Self {
        Self {
            p_type: PT_LOAD,
            flags,
            offset,
            vaddr,
            filesz,
            memsz,
            align: 0x1000,
        }
    }
}

/// Everything the builder writes; fields are public so tests can break one.
#[derive(Debug, Clone)]
pub struct Image {
    pub ident: [u8; 16],
    pub kind: u16,
    pub machine: u16,
    pub version: u32,
    pub entry: u64,
    pub phoff: u64,
    pub ehsize: u16,
    pub phentsize: u16,
    /// `None`: the number of `phdrs`.
    pub phnum: Option<u16>,
    pub phdrs: Vec<Phdr>,
    /// Written at [`DYN_AT`] (the dynamic segment's size follows it in `valid`).
    pub dynamic: Vec<(i64, u64)>,
    /// `(r_offset, r_info, r_addend)`, written at [`RELA_AT`].
    pub relas: Vec<(u64, u64, i64)>,
    /// Length of the file.
    pub len: usize,
}

impl Image {
    /// A valid module image.
    pub fn valid() -> Self {
        let mut ident = [0u8; 16];
        ident[..7].copy_from_slice(b"\x7fELF\x02\x01\x01");
        let mut image = Self {
            ident,
            kind: 3,
            machine: 62,
            version: 1,
            entry: 0x200,
            phoff: 64,
            ehsize: 64,
            phentsize: 56,
            phnum: None,
            phdrs: vec![
                Phdr::load(PF_R | PF_X, 0, 0, 0x1000, 0x1000),
                Phdr::load(PF_R | PF_W, 0x1000, 0x1000, 0x400, 0x3000),
                Phdr {
                    p_type: PT_DYNAMIC,
                    flags: PF_R | PF_W,
                    offset: DYN_AT as u64,
                    vaddr: DYN_AT as u64,
                    filesz: 0,
                    memsz: 0,
                    align: 8,
                },
                Phdr {
                    p_type: PT_GNU_STACK,
                    flags: PF_R | PF_W,
                    offset: 0,
                    vaddr: 0,
                    filesz: 0,
                    memsz: 0,
                    align: 16,
                },
            ],
            dynamic: vec![
                (DT_RELA, RELA_AT as u64),
                (DT_RELASZ, 72),
                (DT_RELAENT, 24),
                (DT_RELACOUNT, 3),
                (DT_NULL, 0),
            ],
            relas: vec![
                (0x1200, R_RELATIVE, 0x200),
                (0x1208, R_RELATIVE, 0x1000),
                (0x1210, R_RELATIVE, 0x2000),
            ],
            len: 0x1400,
        };
        image.fit_dynamic();
        image
    }

    /// Sets the dynamic segment's sizes to the dynamic entries' size.
    pub fn fit_dynamic(&mut self) {
        let size = (self.dynamic.len() * 16) as u64;
        for ph in &mut self.phdrs {
            if ph.p_type == PT_DYNAMIC {
                ph.filesz = size;
                ph.memsz = size;
            }
        }
    }

    /// Sets `DT_RELASZ` to fit `relas`.
    pub fn fit_relas(&mut self) {
        let size = (self.relas.len() * 24) as u64;
        for (tag, val) in &mut self.dynamic {
            if *tag == DT_RELASZ {
                *val = size;
            }
        }
    }

    pub fn build(&self) -> Vec<u8> {
        let mut out = vec![0u8; self.len];
        let mut put = |at: usize, bytes: &[u8]| {
            if let Some(end) = at.checked_add(bytes.len())
                && let Some(slot) = out.get_mut(at..end)
            {
                slot.copy_from_slice(bytes);
            }
        };
        put(0, &self.ident);
        put(16, &self.kind.to_le_bytes());
        put(18, &self.machine.to_le_bytes());
        put(20, &self.version.to_le_bytes());
        put(24, &self.entry.to_le_bytes());
        put(32, &self.phoff.to_le_bytes());
        put(52, &self.ehsize.to_le_bytes());
        put(54, &self.phentsize.to_le_bytes());
        let phnum = self.phnum.unwrap_or(self.phdrs.len() as u16);
        put(56, &phnum.to_le_bytes());
        put(58, &64u16.to_le_bytes()); // e_shentsize; no section headers
        let mut at = self.phoff as usize;
        // Headers that do not fit the file (broken on purpose) are not written.
        for ph in self
            .phdrs
            .iter()
            .take_while(|_| self.phoff < self.len as u64)
        {
            put(at, &ph.p_type.to_le_bytes());
            put(at + 4, &ph.flags.to_le_bytes());
            put(at + 8, &ph.offset.to_le_bytes());
            put(at + 16, &ph.vaddr.to_le_bytes());
            put(at + 24, &ph.vaddr.to_le_bytes());
            put(at + 32, &ph.filesz.to_le_bytes());
            put(at + 40, &ph.memsz.to_le_bytes());
            put(at + 48, &ph.align.to_le_bytes());
            at += 56;
        }
        put(0x200, &[0xc3]); // ret
        for (i, (tag, val)) in self.dynamic.iter().enumerate() {
            put(DYN_AT + i * 16, &tag.to_le_bytes());
            put(DYN_AT + i * 16 + 8, &val.to_le_bytes());
        }
        for (i, (offset, info, addend)) in self.relas.iter().enumerate() {
            put(RELA_AT + i * 24, &offset.to_le_bytes());
            put(RELA_AT + i * 24 + 8, &info.to_le_bytes());
            put(RELA_AT + i * 24 + 16, &addend.to_le_bytes());
        }
        out
    }
}
