//! The kernel side of the hardware service: what DRIVER modules may claim.
//!
//! Ports are claimed as exclusive ranges and reached through bounds-checked
//! [`PortRange`]s backed by real port I/O. ISA interrupt lines are routed
//! through the I/O APIC to vectors [`IRQ_VECTOR_BASE`]`+irq` on the CPU
//! that made the claim; the vector's handler calls the driver's [`IrqHandler`], then counts
//! the interrupt and wakes kernel threads waiting on that line
//! ([`wait_for_irq`]), so a thread can sleep until a device has news
//! without polling. Everything a module claimed is released when it stops
//! or fails, by the driver's own `stop` and, whatever the module did, by
//! the kernel's stop hook (`crate::modules`), so a faulty driver cannot
//! keep its ports and lines.
//!
//! **The kernel's own ports** ([`reserved_ports`]) are in the claim table
//! for good, held by the kernel, so no driver can claim them: the 8259
//! PICs (0x20-0x21, 0xa0-0xa1), the 8254 PIT (0x40-0x43) and its channel-2
//! gate (0x61), QEMU's debug exit (0xf4-0xf7, written 32 bits wide), the
//! ACPI ports power-off uses (PM1a control and the SMI command port, from
//! the FADT), and COM1 (0x3f8-0x3ff). A claim that overlaps one is refused
//! with [`HwError::PortsInUse`] naming the holder as `kernel (WHAT)`.
//!
//! **COM1 is the one shared device, by design.** The kernel owns its
//! transmit side (its log output, `crate::serial`) and lends the whole
//! UART to one driver at a time for the receive side: a claim of exactly
//! [`COM1`](crate::serial::COM1)`, 8` is granted while no other driver holds it (the
//! `serial_console` module makes it), any other claim touching COM1 is
//! refused as the kernel's. The borrower owns received data, the interrupt
//! enable and modem control (and may loop the UART back to test itself);
//! the line settings stay as the kernel set them. Both sides may write the
//! transmit register: at worst their bytes interleave.

use crate::arch::x86_64::entry::InterruptFrame;
use crate::arch::x86_64::{acpi, apic, cpu, interrupts, ioapic};
use crate::thread::EventCount;
use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use helix_modules::services::dma::DmaBuffer;
use helix_modules::services::hw::{Hardware, HwError, IrqHandler, PortIo, PortRange};
use helix_modules::services::mmio::Mmio;
use helix_modules::services::pci::{Bdf, DeviceId, Function};
use spin::{Mutex, Once};
use x86_64::instructions::port::Port;

mod reserved;

use reserved::kernel_refusal;
pub use reserved::{KERNEL_OWNER, ReservedPorts, reserved_ports};

/// Vector of ISA IRQ 0; IRQ n arrives on `IRQ_VECTOR_BASE + n`.
pub const IRQ_VECTOR_BASE: u8 = 0x30;
/// ISA interrupt lines drivers may claim.
pub const ISA_IRQS: usize = 16;

/// Real port I/O, 8, 16 and 32 bits wide (`in`/`out` with `al`, `ax`,
/// `eax`).
#[derive(Debug)]
struct KernelPorts;

impl PortIo for KernelPorts {
    fn read_u8(&self, port: u16) -> u8 {
        // SAFETY: `KernelPorts` is private, and the only way to it is a
        // `PortRange` made by `claim_ports`, which bounds-checks every access
        // against the range it granted. That range never overlaps the
        // kernel's own ports (`reserved_ports`) except COM1, lent whole to
        // one driver on terms the kernel's log output tolerates (module
        // docs), and overlapped no other driver's claim when it was granted
        // (a driver that keeps using a range after `release_all` shares a
        // device with its next owner: a driver bug, but never one of the
        // kernel's devices). Port I/O reads and writes no memory the
        // compiler knows of. What a device then does is the driver's to
        // manage; a driver that programmed a bus-mastering device to write
        // memory (DMA) could corrupt it, which claims do not prevent:
        // drivers are reviewed kernel code (docs/architecture.md §10).
        unsafe { Port::<u8>::new(port).read() }
    }

    fn write_u8(&self, port: u16, value: u8) {
        // SAFETY: as in `read_u8`: `port` is inside a granted claim, and the
        // write touches no memory the compiler knows of.
        unsafe { Port::<u8>::new(port).write(value) }
    }

    fn read_u16(&self, port: u16) -> u16 {
        // SAFETY: as in `read_u8`; `PortRange::read16` checked that both
        // ports the access spans (`port`, `port + 1`) are inside the claim.
        unsafe { Port::<u16>::new(port).read() }
    }

    fn write_u16(&self, port: u16, value: u16) {
        // SAFETY: as in `read_u16`: both ports are inside the claim.
        unsafe { Port::<u16>::new(port).write(value) }
    }

    fn read_u32(&self, port: u16) -> u32 {
        // SAFETY: as in `read_u8`; `PortRange::read32` checked that all four
        // ports the access spans (`port..port + 4`) are inside the claim.
        unsafe { Port::<u32>::new(port).read() }
    }

    fn write_u32(&self, port: u16, value: u32) {
        // SAFETY: as in `read_u32`: all four ports are inside the claim.
        unsafe { Port::<u32>::new(port).write(value) }
    }
}

struct IrqClaim {
    owner: String,
    handler: Arc<dyn IrqHandler>,
    gsi: u32,
}

/// The kernel's [`Hardware`]: claim tables plus routing.
#[derive(Debug)]
pub struct KernelHardware {
    /// Drivers' claims: owner, base, count. The kernel's own ports are not
    /// here (so no `release_all` can drop them) but in [`reserved_ports`].
    ports: Mutex<Vec<(String, u16, u16)>>,
}

static IRQS: Mutex<[Option<IrqClaim>; ISA_IRQS]> = Mutex::new([const { None }; ISA_IRQS]);
/// Interrupts on each ISA line since boot, with the threads waiting.
static IRQ_COUNTS: [EventCount; ISA_IRQS] = [const { EventCount::new() }; ISA_IRQS];
static HARDWARE: Once<Arc<KernelHardware>> = Once::new();
/// Device interrupts on any ISA line since boot.
static ACTIVITY: EventCount = EventCount::new();
static IOAPIC_READY: Once<bool> = Once::new();

/// The kernel's hardware service (created on first use).
pub fn hardware() -> Arc<KernelHardware> {
    HARDWARE
        .call_once(|| {
            Arc::new(KernelHardware {
                ports: Mutex::new(Vec::new()),
            })
        })
        .clone()
}

/// Whether the I/O APIC is set up (doing it the first time), for anything
/// that routes a line through it: ISA lines here, PCI INTx (`intx`).
pub(crate) fn ioapic_ready() -> bool {
    *IOAPIC_READY.call_once(|| match acpi::platform() {
        Ok(p) => match p.ioapic {
            Some((base, gsi_base))
                if crate::arch::x86_64::paging::UNCACHED_IDENTITY_MAP.contains(&base) =>
            {
                // SAFETY: `base` is the first I/O APIC's MMIO address as the
                // firmware's MADT gives it, inside the identity map's
                // uncached top gigabyte (checked; that is where I/O APICs
                // live). This `Once` runs it once, and nothing else drives
                // the I/O APIC: only this module and `intx` call `ioapic`,
                // both after this.
                unsafe { ioapic::init(base, gsi_base) };
                true
            }
            Some(_) | None => false,
        },
        Err(_) => false,
    })
}

/// Interrupts seen on ISA line `irq` since boot.
pub fn irq_count(irq: u8) -> u64 {
    IRQ_COUNTS.get(usize::from(irq)).map_or(0, EventCount::get)
}

/// Blocks the calling thread until line `irq` has fired more than `seen`
/// times in total (take `seen` from [`irq_count`] before checking the
/// device, so an interrupt in between is not missed).
pub fn wait_for_irq(irq: u8, seen: u64) {
    if let Some(c) = IRQ_COUNTS.get(usize::from(irq)) {
        c.wait_past(seen, None);
    }
}

/// Device interrupts on any line since boot.
pub fn irq_activity() -> u64 {
    ACTIVITY.get()
}

/// Blocks the calling thread until some device interrupt arrives after the
/// [`irq_activity`] count `seen` (for consumers that do not know which line
/// their device uses, such as the console reading through IPC).
pub fn wait_for_irq_activity(seen: u64) {
    ACTIVITY.wait_past(seen, None);
}

fn on_irq(frame: &mut InterruptFrame) {
    let irq = usize::from(frame.vector as u8 - IRQ_VECTOR_BASE);
    let handler = IRQS.lock()[irq].as_ref().map(|c| c.handler.clone());
    if let Some(h) = handler {
        // Module code: contained; a fault masks the line until the driver,
        // failed and restarted, claims it again.
        if let Err(fault) = crate::contain::run_in_interrupt(&mut || h.handle_irq())
            && let Some(c) = IRQS.lock()[irq].as_ref()
        {
            crate::contain::queue_irq_fault(&c.owner, &fault);
            ioapic::mask(c.gsi);
        }
    }
    IRQ_COUNTS[irq].record();
    ACTIVITY.record();
}

impl Hardware for KernelHardware {
    fn claim_ports(&self, owner: &str, base: u16, count: u16) -> Result<PortRange, HwError> {
        let end = u32::from(base) + u32::from(count);
        if count == 0 || end > 0x1_0000 {
            return Err(HwError::BadRange { base, count });
        }
        // The kernel's own ports first: never granted, except COM1, lent
        // whole (the table below then refuses a second borrower).
        if let Some(r) = kernel_refusal(base, count) {
            return Err(HwError::PortsInUse {
                base,
                count,
                owner: format!("{KERNEL_OWNER} ({})", r.what),
            });
        }
        // A PCI device's I/O BAR goes only to the driver it is bound to.
        if let Some(holder) = crate::pci::io_holder_other_than(owner, base, count) {
            return Err(HwError::PortsInUse {
                base,
                count,
                owner: holder,
            });
        }
        cpu::without_interrupts(|| {
            let mut ports = self.ports.lock();
            if let Some((holder, _, _)) = ports.iter().find(|(_, b, n)| {
                u32::from(base) < u32::from(*b) + u32::from(*n) && u32::from(*b) < end
            }) {
                return Err(HwError::PortsInUse {
                    base,
                    count,
                    owner: holder.clone(),
                });
            }
            ports.push((owner.into(), base, count));
            Ok(PortRange::new(base, count, Arc::new(KernelPorts)))
        })
    }

    fn claim_irq(&self, owner: &str, irq: u8, handler: Arc<dyn IrqHandler>) -> Result<(), HwError> {
        if usize::from(irq) >= ISA_IRQS || !ioapic_ready() {
            return Err(HwError::NoSuchIrq(irq));
        }
        let platform = acpi::platform().map_err(|_| HwError::NoSuchIrq(irq))?;
        let (gsi, flags) = platform.isa_irq(irq);
        let vector = IRQ_VECTOR_BASE + irq;
        cpu::without_interrupts(|| {
            let mut irqs = IRQS.lock();
            if let Some(c) = &irqs[usize::from(irq)] {
                return Err(HwError::IrqInUse {
                    irq,
                    owner: c.owner.clone(),
                });
            }
            irqs[usize::from(irq)] = Some(IrqClaim {
                owner: owner.into(),
                handler,
                gsi,
            });
            interrupts::clear_handler(vector);
            let _ = interrupts::set_handler(vector, on_irq);
            if ioapic::route(gsi, vector, apic::id(), flags) {
                Ok(())
            } else {
                irqs[usize::from(irq)] = None;
                Err(HwError::NoSuchIrq(irq))
            }
        })
    }

    fn release_all(&self, owner: &str) -> usize {
        // Register mappings end, then devices go back (bus mastering off)
        // before the DMA memory they were given is freed below.
        let mappings =
            crate::mmio::release(owner) + crate::msi::release(owner) + crate::intx::release(owner);
        let devices = mappings + crate::pci::release(owner);
        devices
            + cpu::without_interrupts(|| {
                let mut released = 0;
                let mut irqs = IRQS.lock();
                for slot in irqs.iter_mut() {
                    if slot.as_ref().is_some_and(|c| c.owner == owner) {
                        if let Some(c) = slot.take() {
                            ioapic::mask(c.gsi);
                        }
                        released += 1;
                    }
                }
                let mut ports = self.ports.lock();
                let before = ports.len();
                ports.retain(|(o, _, _)| o != owner);
                released + before - ports.len()
            })
            + crate::dma::release(owner)
    }

    fn alloc_dma(&self, owner: &str, len: usize) -> Result<DmaBuffer, HwError> {
        crate::dma::alloc(owner, len)
    }

    fn bind_pci(&self, owner: &str, ids: &[DeviceId]) -> Vec<Function> {
        crate::pci::bind(owner, ids)
    }

    fn map_bar(&self, owner: &str, bdf: Bdf, bar: u8) -> Result<Mmio, HwError> {
        crate::mmio::map(owner, bdf, bar)
    }

    fn claim_msix(
        &self,
        owner: &str,
        bdf: Bdf,
        entry: u16,
        handler: Arc<dyn IrqHandler>,
    ) -> Result<(), HwError> {
        crate::msi::claim(owner, bdf, entry, handler)
    }

    fn claim_intx(
        &self,
        owner: &str,
        bdf: Bdf,
        handler: Arc<dyn IrqHandler>,
    ) -> Result<u32, HwError> {
        crate::intx::claim(owner, bdf, handler)
    }

    fn msix_count(&self, owner: &str, bdf: Bdf, entry: u16) -> Result<u64, HwError> {
        crate::msi::delivered(owner, bdf, entry)
    }

    fn wait_msix(
        &self,
        owner: &str,
        bdf: Bdf,
        entry: u16,
        seen: u64,
        timeout_ms: u32,
    ) -> Result<u64, HwError> {
        crate::msi::wait(owner, bdf, entry, seen, u64::from(timeout_ms) * 1_000_000)
    }

    fn intx_count(&self, owner: &str, bdf: Bdf) -> Result<u64, HwError> {
        crate::intx::delivered(owner, bdf)
    }

    fn wait_intx(&self, owner: &str, bdf: Bdf, seen: u64, timeout_ms: u32) -> Result<u64, HwError> {
        crate::intx::wait(owner, bdf, seen, u64::from(timeout_ms) * 1_000_000)
    }
}
