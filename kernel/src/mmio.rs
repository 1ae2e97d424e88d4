//! Mapped BARs for drivers (the kernel's side of
//! `helix_modules::services::mmio`): a memory BAR of a PCI function bound
//! to the driver, reached through the identity map's top gigabyte, which
//! boot maps uncached (memory-mapped I/O lives there on q35: firmware puts
//! 32-bit and, with little RAM, 64-bit BARs below 4 GiB). A BAR elsewhere
//! is refused, typed, rather than mapped cached.
//!
//! Each mapping is released with its driver's device (`pci::release`):
//! accesses and the release take the same lock, with interrupts masked,
//! so no access reaches the device after it was taken back.

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use helix_modules::services::hw::HwError;
use helix_modules::services::mmio::{Mmio, MmioIo};
use helix_modules::services::pci::{BarKind, Bdf};
use helix_modules::sync::IrqMutex;

/// The uncached window of the identity map: `[3 GiB, 4 GiB)`.
const WINDOW: core::ops::Range<u64> = crate::arch::x86_64::paging::UNCACHED_IDENTITY_MAP;

struct Bar {
    base: u64,
    live: IrqMutex<bool>,
}

/// Mappings handed out, with their owners.
static MAPPED: spin::Mutex<Vec<(String, Arc<Bar>)>> = spin::Mutex::new(Vec::new());

impl MmioIo for Bar {
    fn read(&self, offset: u64, bytes: u8) -> Result<u64, HwError> {
        let live = self.live.lock();
        if !*live {
            return Err(HwError::Released);
        }
        let p = (self.base + offset) as usize;
        // SAFETY: `Mmio` checked `offset + bytes` against the BAR's size and
        // the natural alignment; the BAR lies in the uncached identity
        // window (checked by `map`), belongs to a function bound to this
        // driver while `live` (cleared under this lock before the device is
        // taken back), and volatile accesses of the register's width are
        // what a device register needs.
        Ok(unsafe {
            match bytes {
                1 => u64::from((p as *const u8).read_volatile()),
                2 => u64::from((p as *const u16).read_volatile()),
                4 => u64::from((p as *const u32).read_volatile()),
                _ => (p as *const u64).read_volatile(),
            }
        })
    }

    fn write(&self, offset: u64, bytes: u8, value: u64) -> Result<(), HwError> {
        let live = self.live.lock();
        if !*live {
            return Err(HwError::Released);
        }
        let p = (self.base + offset) as usize;
        // SAFETY: as in `read`.
        unsafe {
            match bytes {
                1 => (p as *mut u8).write_volatile(value as u8),
                2 => (p as *mut u16).write_volatile(value as u16),
                4 => (p as *mut u32).write_volatile(value as u32),
                _ => (p as *mut u64).write_volatile(value),
            }
        }
        Ok(())
    }
}

/// Maps memory BAR `index` of the function at `bdf` for `owner`, which
/// must hold it.
pub fn map(owner: &str, bdf: Bdf, index: u8) -> Result<Mmio, HwError> {
    let bar = crate::pci::bound(owner, bdf)?
        .bar(index)
        .filter(|b| b.kind != BarKind::Io && b.base != 0)
        .ok_or(HwError::NoSuchBar(index))?;
    let inside = bar
        .base
        .checked_add(bar.size)
        .is_some_and(|end| WINDOW.start <= bar.base && end <= WINDOW.end);
    if !inside {
        return Err(HwError::BarNotMappable(bar.base));
    }
    let mapped = Arc::new(Bar {
        base: bar.base,
        live: IrqMutex::new(true),
    });
    MAPPED.lock().push((String::from(owner), mapped.clone()));
    Ok(Mmio::new(mapped, bar.size))
}

/// Ends every mapping of `owner`; returns how many there were.
pub fn release(owner: &str) -> usize {
    let mut mapped = MAPPED.lock();
    let before = mapped.len();
    mapped.retain(|(o, bar)| {
        let keep = o != owner;
        if !keep {
            *bar.live.lock() = false;
        }
        keep
    });
    before - mapped.len()
}
