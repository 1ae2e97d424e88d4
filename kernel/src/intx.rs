//! Legacy PCI interrupts (INTx) for drivers whose function has no MSI-X:
//! the function's interrupt pin routed through the I/O APIC to the
//! driver's `IrqHandler`, level-triggered and active low as PCI wants.
//!
//! Where a pin arrives is the board's wiring, which a full kernel reads
//! from the ACPI `_PRT` methods (AML we do not interpret). The one board
//! we run on is QEMU's q35 (host bridge 8086:29c0), whose wiring is fixed
//! by its ICH9 chipset model: on bus 0, device `d` (below 0x18) pin `p`
//! (1 = INTA) reaches PIRQ E + ((d + p - 1) mod 4), and PIRQ A-H are GSIs
//! 16-23 in APIC mode; that is what [`route`] computes, and on any other
//! board, bus or device it says there is no known route rather than
//! guess. A GSI is claimed by one driver at a time (a second function on
//! the same line is refused, not shared). Delivered interrupts are counted
//! per GSI, and the driver's threads can sleep until the next one
//! ([`wait`], as for MSI-X). The handler runs contained, like an MSI-X handler: a fault
//! masks the pin and fails the driver. The handler must make the device
//! drop the line (virtio: read its ISR register); the local APIC's EOI
//! after it then lets the I/O APIC deliver the next one.

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use helix_modules::services::hw::{HwError, IrqHandler};
use helix_modules::services::pci::Bdf;

use crate::arch::x86_64::entry::InterruptFrame;
use crate::arch::x86_64::{apic, cpu, interrupts, ioapic};
use crate::thread::EventCount;

/// First GSI of the q35 PIRQ lines.
const PIRQ_GSI_BASE: u32 = 16;
/// How many (PIRQ A-H).
const PIRQ_LINES: usize = 8;
/// Vector of PIRQ A (GSI 16); the others follow.
pub const INTX_VECTOR_BASE: u8 = 0x40;
/// MPS INTI flags for a PCI line: level-triggered (0b11 << 2), active low
/// (0b11).
const PCI_LINE_FLAGS: u16 = 0b1111;

struct Claim {
    owner: String,
    bdf: Bdf,
    handler: Arc<dyn IrqHandler>,
}

static CLAIMS: spin::Mutex<Vec<Option<Claim>>> = spin::Mutex::new(Vec::new());
/// Interrupts delivered on each line since its current claim was made,
/// with the threads waiting for the next.
static DELIVERED: [EventCount; PIRQ_LINES] = [const { EventCount::new() }; PIRQ_LINES];

/// The GSI pin `pin` (1 = INTA .. 4 = INTD) of the function at `bdf`
/// reaches, on the board this kernel knows (see the module docs).
pub fn route(bdf: Bdf, pin: u8) -> Result<u32, HwError> {
    let no_route = |why: &str| HwError::NoIntxRoute(alloc::format!("{bdf}: {why}"));
    if !(1..=4).contains(&pin) {
        return Err(no_route("the function has no interrupt pin"));
    }
    let q35 = Bdf::new(0, 0, 0)
        .and_then(crate::pci::find)
        .is_some_and(|f| (f.vendor, f.device) == (0x8086, 0x29c0));
    if !q35 {
        return Err(no_route("unknown board (only QEMU's q35 wiring is known)"));
    }
    if bdf.bus() != 0 || bdf.device() >= 0x18 {
        return Err(no_route("not a q35 bus-0 slot below 0x18"));
    }
    let pirq = 4 + (u32::from(bdf.device()) + u32::from(pin) - 1) % 4;
    Ok(PIRQ_GSI_BASE + pirq)
}

fn on_intx(frame: &mut InterruptFrame) {
    let line = usize::from((frame.vector as u8).wrapping_sub(INTX_VECTOR_BASE));
    let handler = CLAIMS
        .lock()
        .get(line)
        .and_then(Option::as_ref)
        .map(|c| c.handler.clone());
    if let Some(h) = handler
        && let Err(fault) = crate::contain::run_in_interrupt(&mut || h.handle_irq())
        && let Some(c) = CLAIMS.lock().get(line).and_then(Option::as_ref)
    {
        // A handler that faulted did not quiet its device: the pin stays
        // masked until the driver, failed and restarted, claims it again.
        crate::contain::queue_irq_fault(&c.owner, &fault);
        ioapic::mask(PIRQ_GSI_BASE + line as u32);
    }
    if let Some(n) = DELIVERED.get(line) {
        n.record();
    }
}

/// Routes the INTx pin of the function at `bdf`, bound to `owner`, to
/// `handler`; returns the GSI.
pub fn claim(owner: &str, bdf: Bdf, handler: Arc<dyn IrqHandler>) -> Result<u32, HwError> {
    let f = crate::pci::bound(owner, bdf)?;
    let gsi = route(bdf, f.interrupt_pin)?;
    if !crate::hw::ioapic_ready() {
        return Err(HwError::NoIntxRoute(alloc::format!("{bdf}: no I/O APIC")));
    }
    let line = (gsi - PIRQ_GSI_BASE) as usize;
    let vector = INTX_VECTOR_BASE + line as u8;
    cpu::without_interrupts(|| {
        let mut claims = CLAIMS.lock();
        if claims.is_empty() {
            claims.resize_with(PIRQ_LINES, || None);
        }
        if let Some(c) = &claims[line] {
            return Err(HwError::IrqInUse {
                irq: gsi as u8,
                owner: c.owner.clone(),
            });
        }
        claims[line] = Some(Claim {
            owner: String::from(owner),
            bdf,
            handler,
        });
        DELIVERED[line].reset();
        interrupts::clear_handler(vector);
        let _ = interrupts::set_handler(vector, on_intx);
        if ioapic::route(gsi, vector, apic::id(), PCI_LINE_FLAGS) {
            Ok(())
        } else {
            claims[line] = None;
            Err(HwError::NoIntxRoute(alloc::format!(
                "{bdf}: no I/O APIC serves GSI {gsi}"
            )))
        }
    })?;
    Ok(gsi)
}

/// Masks and frees every line `owner` claimed; returns how many.
pub fn release(owner: &str) -> usize {
    cpu::without_interrupts(|| {
        let mut claims = CLAIMS.lock();
        let mut n = 0;
        for (line, slot) in claims.iter_mut().enumerate() {
            if slot.as_ref().is_some_and(|c| c.owner == owner) {
                *slot = None;
                ioapic::mask(PIRQ_GSI_BASE + line as u32);
                interrupts::clear_handler(INTX_VECTOR_BASE + line as u8);
                n += 1;
            }
        }
        n
    })
}

/// The line `owner` claimed for the function at `bdf`.
fn line_of(owner: &str, bdf: Bdf) -> Result<usize, HwError> {
    cpu::without_interrupts(|| {
        CLAIMS
            .lock()
            .iter()
            .position(|c| c.as_ref().is_some_and(|c| c.owner == owner && c.bdf == bdf))
            .ok_or(HwError::NotClaimed)
    })
}

/// Interrupts `owner`'s claim of the INTx pin of `bdf` has delivered since
/// it was made.
pub fn delivered(owner: &str, bdf: Bdf) -> Result<u64, HwError> {
    Ok(DELIVERED[line_of(owner, bdf)?].get())
}

/// Blocks the calling thread until `owner`'s claim of the INTx pin of
/// `bdf` has delivered more than `seen` interrupts, or for at most
/// `timeout_ns`; returns the count then (still `seen` after a timeout).
/// Interrupts must be on (the caller is a thread: a driver's call).
pub fn wait(owner: &str, bdf: Bdf, seen: u64, timeout_ns: u64) -> Result<u64, HwError> {
    let deadline = crate::time::now_ns().saturating_add(timeout_ns);
    Ok(DELIVERED[line_of(owner, bdf)?].wait_past(seen, Some(deadline)))
}
