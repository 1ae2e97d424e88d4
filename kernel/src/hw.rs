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

use crate::arch::x86_64::entry::InterruptFrame;
use crate::arch::x86_64::{acpi, apic, cpu, interrupts, ioapic};
use crate::thread::WaitQueue;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};
use helix_modules::services::hw::{Hardware, HwError, IrqHandler, PortIo, PortRange};
use spin::{Mutex, Once};
use x86_64::instructions::port::Port;

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
        // SAFETY: `KernelPorts` is only reachable through a `PortRange`
        // made by `claim_ports`, which bounds-checks every access, so `port`
        // lies in a range this service granted exclusively to a driver for
        // its device. Port I/O reads and writes no memory the compiler
        // knows of; its effect on the device is that driver's to manage.
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
    ports: Mutex<Vec<(String, u16, u16)>>,
}

static IRQS: Mutex<[Option<IrqClaim>; ISA_IRQS]> = Mutex::new([const { None }; ISA_IRQS]);
static IRQ_COUNTS: [AtomicU64; ISA_IRQS] = [const { AtomicU64::new(0) }; ISA_IRQS];
static IRQ_WAITERS: [WaitQueue; ISA_IRQS] = [const { WaitQueue::new() }; ISA_IRQS];
static HARDWARE: Once<Arc<KernelHardware>> = Once::new();
static ACTIVITY: AtomicU64 = AtomicU64::new(0);
static ACTIVITY_WAITERS: WaitQueue = WaitQueue::new();
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

fn ioapic_ready() -> bool {
    *IOAPIC_READY.call_once(|| match acpi::platform(crate::startup::start_info().rsdp) {
        Ok(p) => match p.ioapic {
            Some((base, gsi_base)) => {
                ioapic::init(base, gsi_base);
                true
            }
            None => false,
        },
        Err(_) => false,
    })
}

/// Interrupts seen on ISA line `irq` since boot.
pub fn irq_count(irq: u8) -> u64 {
    IRQ_COUNTS
        .get(usize::from(irq))
        .map_or(0, |c| c.load(Ordering::Acquire))
}

/// Blocks the calling thread until line `irq` has fired more than `seen`
/// times in total (take `seen` from [`irq_count`] before checking the
/// device, so an interrupt in between is not missed).
pub fn wait_for_irq(irq: u8, seen: u64) {
    if let Some(q) = IRQ_WAITERS.get(usize::from(irq)) {
        q.wait_until(|| irq_count(irq) > seen);
    }
}

/// Device interrupts on any line since boot.
pub fn irq_activity() -> u64 {
    ACTIVITY.load(Ordering::Acquire)
}

/// Blocks the calling thread until some device interrupt arrives after the
/// [`irq_activity`] count `seen` (for consumers that do not know which line
/// their device uses, such as the console reading through IPC).
pub fn wait_for_irq_activity(seen: u64) {
    ACTIVITY_WAITERS.wait_until(|| irq_activity() > seen);
}

fn on_irq(frame: &mut InterruptFrame) {
    let irq = usize::from(frame.vector as u8 - IRQ_VECTOR_BASE);
    let handler = IRQS.lock()[irq].as_ref().map(|c| c.handler.clone());
    if let Some(h) = handler {
        h.handle_irq();
    }
    IRQ_COUNTS[irq].fetch_add(1, Ordering::AcqRel);
    IRQ_WAITERS[irq].wake_all();
    ACTIVITY.fetch_add(1, Ordering::AcqRel);
    ACTIVITY_WAITERS.wake_all();
}

impl Hardware for KernelHardware {
    fn claim_ports(&self, owner: &str, base: u16, count: u16) -> Result<PortRange, HwError> {
        let end = u32::from(base) + u32::from(count);
        if count == 0 || end > 0x1_0000 {
            return Err(HwError::BadRange { base, count });
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
        let platform = acpi::platform(crate::startup::start_info().rsdp)
            .map_err(|_| HwError::NoSuchIrq(irq))?;
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
        cpu::without_interrupts(|| {
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
    }
}
