//! Base address registers: decoding the flag bits and probing the size
//! the way hardware expects, by writing all ones, reading back which
//! address bits stuck, and restoring the original value. A 64-bit memory
//! BAR takes two slots and is sized across both.

use crate::{Bdf, ConfigSpace, reg};
use alloc::vec::Vec;
use core::fmt;

/// What kind of space a BAR decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BarKind {
    /// Memory below 4 GiB (one slot).
    Memory32,
    /// Memory anywhere in the 64-bit space (two slots).
    Memory64,
    /// I/O ports.
    Io,
}

impl fmt::Display for BarKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Memory32 => "mem32",
            Self::Memory64 => "mem64",
            Self::Io => "io",
        })
    }
}

/// One implemented BAR, decoded and sized.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bar {
    /// Its slot (0-5; a 64-bit BAR is named by its first slot).
    pub index: u8,
    /// Memory (32 or 64-bit) or I/O.
    pub kind: BarKind,
    /// Memory only: reads have no side effects (may be prefetched).
    pub prefetchable: bool,
    /// The address firmware assigned (0: none yet).
    pub base: u64,
    /// The size in bytes, a power of two.
    pub size: u64,
}

impl fmt::Display for Bar {
    /// `BAR1 mem32 0xfebd1000 size 4 KiB`, ` prefetchable` appended.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BAR{} {} {:#x} size ", self.index, self.kind, self.base)?;
        match self.size {
            s if s >= 1 << 30 && s % (1 << 30) == 0 => write!(f, "{} GiB", s >> 30)?,
            s if s >= 1 << 20 && s % (1 << 20) == 0 => write!(f, "{} MiB", s >> 20)?,
            s if s >= 1 << 10 && s % (1 << 10) == 0 => write!(f, "{} KiB", s >> 10)?,
            s => write!(f, "{s} bytes")?,
        }
        if self.prefetchable {
            f.write_str(" prefetchable")?;
        }
        Ok(())
    }
}

/// Flag bits of a BAR's low dword.
const IO_SPACE: u32 = 1;
const MEM_TYPE_MASK: u32 = 0b110;
const MEM_TYPE_64: u32 = 0b100;
const PREFETCHABLE: u32 = 1 << 3;

/// Writes all ones to the register at `offset`, reads back what stuck and
/// puts the original value back. Returns (original, read-back).
fn probe_register(cs: &impl ConfigSpace, addr: Bdf, offset: u16) -> (u32, u32) {
    let original = cs.read32(addr, offset);
    cs.write32(addr, offset, u32::MAX);
    let stuck = cs.read32(addr, offset);
    cs.write32(addr, offset, original);
    (original, stuck)
}

/// Decodes and sizes the first `slots` BARs of the function at `addr`.
/// The caller turns off the function's decoding while this runs (a BAR
/// holding all ones would otherwise claim addresses it should not).
/// Slots that read back as zero are not implemented and are left out; a
/// 64-bit BAR in the last slot, which has no upper half, is left out too.
pub(crate) fn read_bars(cs: &impl ConfigSpace, addr: Bdf, slots: u8) -> Vec<Bar> {
    let mut bars = Vec::new();
    let mut index = 0;
    while index < slots {
        let offset = reg::BAR0 + u16::from(index) * 4;
        let (low, stuck) = probe_register(cs, addr, offset);
        if low & IO_SPACE != 0 {
            let mut mask = stuck & !0b11;
            if mask != 0 {
                // A 16-bit decoder reads its upper half back as zeros.
                if mask & 0xffff_0000 == 0 {
                    mask |= 0xffff_0000;
                }
                bars.push(Bar {
                    index,
                    kind: BarKind::Io,
                    prefetchable: false,
                    base: u64::from(low & !0b11),
                    size: u64::from((!mask).wrapping_add(1)),
                });
            }
            index += 1;
            continue;
        }
        let prefetchable = low & PREFETCHABLE != 0;
        if low & MEM_TYPE_MASK == MEM_TYPE_64 {
            if index + 1 >= slots {
                break;
            }
            let (high, stuck_high) = probe_register(cs, addr, offset + 4);
            let mask = (u64::from(stuck_high) << 32) | u64::from(stuck & !0xf);
            if mask != 0 {
                bars.push(Bar {
                    index,
                    kind: BarKind::Memory64,
                    prefetchable,
                    base: (u64::from(high) << 32) | u64::from(low & !0xf),
                    size: (!mask).wrapping_add(1),
                });
            }
            index += 2;
            continue;
        }
        let mask = stuck & !0xf;
        if mask != 0 {
            bars.push(Bar {
                index,
                kind: BarKind::Memory32,
                prefetchable,
                base: u64::from(low & !0xf),
                size: u64::from((!mask).wrapping_add(1)),
            });
        }
        index += 1;
    }
    bars
}
