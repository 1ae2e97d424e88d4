//! The dynamic section's relocation table: found through `PT_DYNAMIC`
//! (`DT_RELA`, `DT_RELASZ`, `DT_RELAENT`), checked entry by entry, and
//! turned into the RELATIVE relocations a [`super::Plan`] carries.

use alloc::vec::Vec;

use super::{ElfError, Plan, R_X86_64_NONE, R_X86_64_RELATIVE, Relocation, u64_at};

const DYN_LEN: usize = 16;
pub(crate) const RELA_LEN: usize = 24;
pub(crate) const DT_NULL: i64 = 0;
const DT_NEEDED: i64 = 1;
const DT_PLTRELSZ: i64 = 2;
pub(crate) const DT_RELA: i64 = 7;
pub(crate) const DT_RELASZ: i64 = 8;
pub(crate) const DT_RELAENT: i64 = 9;
const DT_REL: i64 = 17;
const DT_RELSZ: i64 = 18;
const DT_JMPREL: i64 = 23;
const DT_RELRSZ: i64 = 35;
const DT_RELR: i64 = 36;

/// Reads the dynamic section and the `DT_RELA` table it points at.
pub(super) fn relocations(
    image: &[u8],
    dyn_bytes: &[u8],
    plan: &Plan,
) -> Result<Vec<Relocation>, ElfError> {
    let (mut rela, mut relasz, mut relaent) = (None, None, None);
    let mut terminated = false;
    for entry in dyn_bytes.chunks_exact(DYN_LEN) {
        let tag = u64_at(entry, 0).unwrap_or(0) as i64;
        let val = u64_at(entry, 8).unwrap_or(0);
        match tag {
            DT_NULL => {
                terminated = true;
                break;
            }
            DT_RELA => rela = Some(val),
            DT_RELASZ => relasz = Some(val),
            DT_RELAENT => relaent = Some(val),
            DT_NEEDED | DT_REL | DT_RELR | DT_JMPREL => {
                return Err(ElfError::UnsupportedDynamicTag { tag });
            }
            DT_PLTRELSZ | DT_RELSZ | DT_RELRSZ if val != 0 => {
                return Err(ElfError::UnsupportedDynamicTag { tag });
            }
            _ => {}
        }
    }
    if !terminated {
        return Err(ElfError::DynamicNotTerminated);
    }
    let bad = ElfError::BadRelocationTable {
        address: rela.unwrap_or(0),
        size: relasz.unwrap_or(0),
        entsize: relaent.unwrap_or(0),
    };
    let (address, size) = match (rela, relasz, relaent) {
        (None, None | Some(0), _) => return Ok(Vec::new()),
        (Some(address), Some(size), Some(24)) if size % 24 == 0 => (address, size),
        _ => return Err(bad),
    };
    let table_out = ElfError::RelocationTableOutOfFile { address, size };
    // The table must lie in one segment's file-backed bytes.
    let table = plan
        .segments
        .iter()
        .find_map(|s| {
            let rel = address.checked_sub(s.vaddr)?;
            let rel_end = rel.checked_add(size)?;
            if rel_end > u64::try_from(s.filesz).ok()? {
                return None;
            }
            let start = s.file_offset.checked_add(usize::try_from(rel).ok()?)?;
            let end = start.checked_add(usize::try_from(size).ok()?)?;
            image.get(start..end)
        })
        .ok_or(table_out)?;

    let image_end = plan.link_base.saturating_add(plan.span);
    let mut out = Vec::with_capacity(table.len() / RELA_LEN);
    for rel in table.chunks_exact(RELA_LEN) {
        let offset = u64_at(rel, 0).unwrap_or(0);
        let info = u64_at(rel, 8).unwrap_or(0);
        let addend = u64_at(rel, 16).unwrap_or(0) as i64;
        let kind = (info & 0xffff_ffff) as u32;
        let symbol = info >> 32;
        match kind {
            R_X86_64_NONE => continue,
            R_X86_64_RELATIVE => {}
            _ => return Err(ElfError::UnsupportedRelocation { kind }),
        }
        if symbol != 0 {
            return Err(ElfError::RelocationWithSymbol { offset });
        }
        let target = plan
            .segment_containing(offset, 8)
            .ok_or(ElfError::RelocationOutOfImage { offset })?;
        if !target.perms.write {
            return Err(ElfError::RelocationNotWritable { offset });
        }
        let value = addend as u64;
        if addend < 0 || value < plan.link_base || value > image_end {
            return Err(ElfError::AddendOutOfImage { offset, addend });
        }
        out.push(Relocation {
            offset,
            addend: value,
        });
    }
    Ok(out)
}
