//! Reading the parts of the start info that live elsewhere in physical
//! memory: the command line, the memory map and the module list, each
//! bounds-checked through [`super::PhysRead`].

use heapless::{String, Vec};

use super::{
    BootModule, CMDLINE_CHUNK, CmdlineCut, MAX_CMDLINE, MAX_MEMORY_REGIONS, MAX_MODULES,
    MAX_PHYS_ADDR, MEMMAP_ENTRY_SIZE, MODLIST_ENTRY_SIZE, MemoryKind, MemoryRegion, PhysRead,
    StartInfoError,
};

/// Reads the NUL-terminated command line at `paddr` into `out` (empty):
/// whole if it fits in [`MAX_CMDLINE`] bytes, else cut after the last
/// whole word that does (nothing if its first word alone is longer) and
/// reported as cut.
pub(super) fn read_cmdline(
    mem: &dyn PhysRead,
    paddr: u64,
    out: &mut String<MAX_CMDLINE>,
) -> Result<Option<CmdlineCut>, StartInfoError> {
    // Read in chunks that stop at 64-byte boundaries: a chunk then never
    // crosses a page, so a command line ending just before unreadable
    // memory parses as long as the page holding its NUL is readable.
    // Characters go straight into `out`; a multi-byte one waits in
    // `pending` until it is complete (and valid).
    let mut chunk = [0u8; CMDLINE_CHUNK];
    let mut pending = [0u8; 4];
    let mut held = 0;
    loop {
        let read = out.len() + held;
        let addr = paddr
            .checked_add(read as u64)
            .ok_or(StartInfoError::BadAddress { paddr, len: read })?;
        let len = CMDLINE_CHUNK - (addr % CMDLINE_CHUNK as u64) as usize;
        mem.read(addr, &mut chunk[..len])?;
        for &b in &chunk[..len] {
            if b == 0 {
                return if held == 0 {
                    Ok(None)
                } else {
                    Err(StartInfoError::CmdlineNotUtf8)
                };
            }
            if out.len() + held == MAX_CMDLINE {
                // One byte past the limit and still no NUL: keep the words
                // that end within it. `b` is the first byte left out, so a
                // word that ends exactly at the limit is whole.
                let keep = if b.is_ascii_whitespace() && held == 0 {
                    out.len()
                } else {
                    out.rfind(|c: char| c.is_ascii_whitespace()).unwrap_or(0)
                };
                // Whitespace is one byte, so `keep` is a character boundary;
                // whitespace left at the end is no word.
                out.truncate(keep);
                let end = out
                    .trim_end_matches(|c: char| c.is_ascii_whitespace())
                    .len();
                out.truncate(end);
                return Ok(Some(CmdlineCut { kept: out.len() }));
            }
            if held == 0 && b.is_ascii() {
                // Cannot fail: `out` is below its capacity.
                let _ = out.push(char::from(b));
                continue;
            }
            pending[held] = b;
            held += 1;
            match core::str::from_utf8(&pending[..held]) {
                Ok(c) => {
                    // Fits: `out.len() + held` was at most the limit.
                    let _ = out.push_str(c);
                    held = 0;
                }
                // The start of a character: wait for the rest.
                Err(e) if e.error_len().is_none() && held < pending.len() => {}
                Err(_) => return Err(StartInfoError::CmdlineNotUtf8),
            }
        }
    }
}

/// Reads `entries` memory map entries at `paddr` into `map` (emptied
/// first).
pub(super) fn read_memory_map(
    mem: &dyn PhysRead,
    paddr: u64,
    entries: u32,
    map: &mut Vec<MemoryRegion, MAX_MEMORY_REGIONS>,
) -> Result<(), StartInfoError> {
    map.clear();
    if entries as usize > MAX_MEMORY_REGIONS {
        return Err(StartInfoError::TooManyRegions(entries));
    }
    for i in 0..entries {
        let raw: [u8; MEMMAP_ENTRY_SIZE] = read_entry(mem, paddr, i)?;
        let kind = MemoryKind::from_raw(u32::from_le_bytes([raw[16], raw[17], raw[18], raw[19]]));
        let region = MemoryRegion {
            start: u64_le(&raw, 0),
            len: u64_le(&raw, 8),
            kind,
        };
        map.push(region)
            .map_err(|_| StartInfoError::TooManyRegions(entries))?;
    }
    Ok(())
}

/// Reads `entries` module list entries at `paddr` into `modules` (emptied
/// first), checking each module's range.
pub(super) fn read_modules(
    mem: &dyn PhysRead,
    paddr: u64,
    entries: u32,
    modules: &mut Vec<BootModule, MAX_MODULES>,
) -> Result<(), StartInfoError> {
    modules.clear();
    if entries as usize > MAX_MODULES {
        return Err(StartInfoError::TooManyModules(entries));
    }
    for index in 0..entries {
        let raw: [u8; MODLIST_ENTRY_SIZE] = read_entry(mem, paddr, index)?;
        let (module_paddr, size, cmdline_paddr) =
            (u64_le(&raw, 0), u64_le(&raw, 8), u64_le(&raw, 16));
        let end = module_paddr
            .checked_add(size)
            .ok_or(StartInfoError::ModuleWraps {
                index,
                paddr: module_paddr,
                size,
            })?;
        if module_paddr == 0 || end > MAX_PHYS_ADDR {
            return Err(StartInfoError::ModuleOutOfRange {
                index,
                paddr: module_paddr,
                size,
            });
        }
        let module = BootModule {
            paddr: module_paddr,
            size,
            cmdline_paddr: (cmdline_paddr != 0).then_some(cmdline_paddr),
        };
        modules
            .push(module)
            .map_err(|_| StartInfoError::TooManyModules(entries))?;
    }
    Ok(())
}

/// Entry `index` of a table of `N`-byte entries at `paddr`.
fn read_entry<const N: usize>(
    mem: &dyn PhysRead,
    paddr: u64,
    index: u32,
) -> Result<[u8; N], StartInfoError> {
    let addr = paddr
        .checked_add(u64::from(index) * N as u64)
        .ok_or(StartInfoError::BadAddress { paddr, len: N })?;
    let mut raw = [0u8; N];
    mem.read(addr, &mut raw)?;
    Ok(raw)
}

/// The little-endian `u64` at `off` (callers pass offsets inside `raw`).
fn u64_le(raw: &[u8], off: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&raw[off..off + 8]);
    u64::from_le_bytes(b)
}
