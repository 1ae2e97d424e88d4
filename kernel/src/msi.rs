//! MSI-X for drivers: an entry of a bound function's MSI-X table routed to
//! the driver's `IrqHandler` on a vector of its own, counted per device.
//!
//! Vectors [`MSI_BASE`]`..+`[`MSI_VECTORS`] are handed out one per claimed
//! entry. A claim writes the entry (message address: this CPU's local
//! APIC; data: the vector; unmasked) through the identity map (the table
//! lives in a memory BAR in the uncached window, like any mapped BAR) and
//! turns MSI-X on in the function's capability. [`release`] masks the
//! owner's entries and frees their vectors. The handler runs in interrupt
//! context, contained (`contain::run_in_interrupt`): a panic or CPU
//! exception in it masks the entry and fails the driver, which the
//! supervisor restarts; an endless loop is not caught.
//!
//! A driver can also wait for its interrupts ([`wait`]): each claimed
//! entry counts what it delivered, and a thread that waits for the count
//! to pass what it saw blocks on the entry's wait queue, woken by the
//! interrupt (after the handler ran) or by its deadline. That is how a
//! driver completes requests on interrupts instead of polling.

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use helix_modules::services::hw::{HwError, IrqHandler};
use helix_modules::services::pci::Bdf;
use helix_pci::ConfigSpace;

use crate::arch::x86_64::entry::InterruptFrame;
use crate::arch::x86_64::{apic, cpu, interrupts};
use crate::thread::EventCount;

/// First vector for device interrupts.
pub const MSI_BASE: u8 = 0x60;
/// How many.
pub const MSI_VECTORS: usize = 32;

struct Claim {
    owner: String,
    bdf: Bdf,
    /// Address of the entry in the identity map.
    entry_addr: u64,
    /// The MSI-X table entry.
    entry: u16,
    handler: Arc<dyn IrqHandler>,
}

static CLAIMS: spin::Mutex<Vec<Option<Claim>>> = spin::Mutex::new(Vec::new());
/// Interrupts delivered on each vector since it was last claimed, with the
/// threads waiting for the next.
static DELIVERED: [EventCount; MSI_VECTORS] = [const { EventCount::new() }; MSI_VECTORS];

fn on_msi(frame: &mut InterruptFrame) {
    let i = usize::from((frame.vector as u8).wrapping_sub(MSI_BASE));
    let Some(handler) = CLAIMS
        .lock()
        .get(i)
        .and_then(Option::as_ref)
        .map(|c| c.handler.clone())
    else {
        return;
    };
    // Module code: contained. A fault masks the entry until the driver,
    // failed by the events thread and restarted, claims it again.
    if let Err(fault) = crate::contain::run_in_interrupt(&mut || handler.handle_irq())
        && let Some(c) = CLAIMS.lock().get(i).and_then(Option::as_ref)
    {
        crate::contain::queue_irq_fault(&c.owner, &fault);
        // SAFETY: the entry `claim` wrote for this function, still bound
        // (its release, which would take it, runs later, from the events
        // thread).
        unsafe { mask_entry(c.entry_addr) };
    }
    DELIVERED[i].record();
}

/// Masks an MSI-X table entry (its vector control only: a masked entry's
/// address and data are not used).
///
/// # Safety
/// `at` must be the address of an entry of a bound function's MSI-X table
/// in the uncached identity window.
unsafe fn mask_entry(at: u64) {
    // SAFETY: the caller's contract; a 32-bit volatile write, as the table
    // wants it.
    unsafe { (at as *mut u32).add(3).write_volatile(1) };
}

/// Points a masked MSI-X table entry at `vector` on this CPU, then
/// unmasks it: the device never sees a half-written message.
///
/// # Safety
/// As [`mask_entry`].
unsafe fn route_entry(at: u64, vector: u8) {
    let p = at as *mut u32;
    // SAFETY: the caller's contract; 32-bit volatile writes, as the table
    // wants them, the mask first and the unmask last.
    unsafe {
        p.add(3).write_volatile(1);
        p.write_volatile(0xfee0_0000 | (apic::id() << 12));
        p.add(1).write_volatile(0);
        p.add(2).write_volatile(u32::from(vector));
        p.add(3).write_volatile(0);
    }
}

/// Routes MSI-X entry `entry` of `bdf`, held by `owner`, to `handler`.
pub fn claim(
    owner: &str,
    bdf: Bdf,
    entry: u16,
    handler: Arc<dyn IrqHandler>,
) -> Result<(), HwError> {
    let f = crate::pci::bound(owner, bdf)?;
    let msix = f.msix().ok_or(HwError::NoMsiX)?;
    if entry >= msix.table_size {
        return Err(HwError::MsiEntry {
            entry,
            size: msix.table_size,
        });
    }
    let bar = f
        .bar(msix.table_bar)
        .ok_or(HwError::NoSuchBar(msix.table_bar))?;
    let entry_addr = bar.base + u64::from(msix.table_offset) + u64::from(entry) * 16;
    if !crate::arch::x86_64::paging::UNCACHED_IDENTITY_MAP.contains(&entry_addr) || bar.base == 0 {
        return Err(HwError::BarNotMappable(bar.base));
    }
    cpu::without_interrupts(|| {
        let mut claims = CLAIMS.lock();
        if claims.is_empty() {
            claims.resize_with(MSI_VECTORS, || None);
        }
        // One vector per entry: a second claim of the same entry would
        // leave the first one's vector (and its waiters) stale.
        if let Some((j, c)) = claims
            .iter()
            .enumerate()
            .filter_map(|(j, c)| Some((j, c.as_ref()?)))
            .find(|(_, c)| c.bdf == bdf && c.entry == entry)
        {
            return Err(HwError::IrqInUse {
                irq: MSI_BASE + j as u8,
                owner: c.owner.clone(),
            });
        }
        let i = claims
            .iter()
            .position(Option::is_none)
            .ok_or(HwError::NoVector)?;
        let vector = MSI_BASE + i as u8;
        interrupts::clear_handler(vector);
        let _ = interrupts::set_handler(vector, on_msi);
        // SAFETY: `entry_addr` is an entry of the MSI-X table of a function
        // bound to `owner`, in the uncached identity window (checked above).
        unsafe { route_entry(entry_addr, vector) };
        DELIVERED[i].reset();
        claims[i] = Some(Claim {
            owner: String::from(owner),
            bdf,
            entry_addr,
            entry,
            handler,
        });
        Ok(())
    })?;
    // MSI-X on, function mask off (message control is the capability's
    // upper half-word).
    let cs = crate::pci::access();
    let at = u16::from(msix.offset);
    let dword = cs.read32(bdf, at);
    cs.write32(bdf, at, (dword | (1 << 31)) & !(1 << 30));
    Ok(())
}

/// The vector slot of `owner`'s claim of entry `entry` of `bdf`.
fn slot_of(owner: &str, bdf: Bdf, entry: u16) -> Result<usize, HwError> {
    cpu::without_interrupts(|| {
        CLAIMS
            .lock()
            .iter()
            .position(|c| {
                c.as_ref()
                    .is_some_and(|c| c.owner == owner && c.bdf == bdf && c.entry == entry)
            })
            .ok_or(HwError::NotClaimed)
    })
}

/// Interrupts `owner`'s claim of entry `entry` of `bdf` delivered since
/// it was made.
pub fn delivered(owner: &str, bdf: Bdf, entry: u16) -> Result<u64, HwError> {
    Ok(DELIVERED[slot_of(owner, bdf, entry)?].get())
}

/// Blocks the calling thread until `owner`'s claim of entry `entry` of
/// `bdf` has delivered more than `seen` interrupts, or for at most
/// `timeout_ns`; returns the count then (still `seen` after a timeout).
/// Interrupts must be on (the caller is a thread: a driver's call).
pub fn wait(owner: &str, bdf: Bdf, entry: u16, seen: u64, timeout_ns: u64) -> Result<u64, HwError> {
    let deadline = crate::time::now_ns().saturating_add(timeout_ns);
    Ok(DELIVERED[slot_of(owner, bdf, entry)?].wait_past(seen, Some(deadline)))
}

/// Masks and frees every entry `owner` claimed, and turns MSI-X off on
/// those functions (so the next driver finds the function as the kernel
/// found it: interrupts on its INTx pin until someone claims MSI-X);
/// returns how many entries.
pub fn release(owner: &str) -> usize {
    let (n, functions) = cpu::without_interrupts(|| {
        let mut claims = CLAIMS.lock();
        let mut n = 0;
        let mut functions = Vec::new();
        for (i, slot) in claims.iter_mut().enumerate() {
            if slot.as_ref().is_some_and(|c| c.owner == owner) {
                if let Some(c) = slot.take() {
                    // SAFETY: the entry was written by `claim` for this
                    // function, still bound (devices go back after this).
                    unsafe { mask_entry(c.entry_addr) };
                    if !functions.contains(&c.bdf) {
                        functions.push(c.bdf);
                    }
                }
                interrupts::clear_handler(MSI_BASE + i as u8);
                n += 1;
            }
        }
        (n, functions)
    });
    let cs = crate::pci::access();
    for bdf in functions {
        if let Some(msix) = crate::pci::find(bdf).and_then(|f| f.msix()) {
            let at = u16::from(msix.offset);
            let dword = cs.read32(bdf, at);
            cs.write32(bdf, at, dword & !(1 << 31));
        }
    }
    n
}
