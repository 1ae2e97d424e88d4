//! Test doubles for module authors (cargo feature `testing`): a fake of the
//! kernel's hardware service, so a driver's host tests run it against
//! modelled devices instead of hand-written buses.
//!
//! [`FakeHardware`] implements [`Hardware`](crate::services::hw::Hardware) the way the kernel does (claims
//! are exclusive, a refusal names the holder, `release_all` gives back every
//! claim of an owner) and adds what a test needs around it:
//!
//! - **port models**: what a port reads can be preset
//!   ([`FakeHardware::set_port`]), queued value by value
//!   ([`FakeHardware::queue_reads`]), or computed by a closure per port
//!   ([`FakeHardware::on_read`], [`FakeHardware::on_write`]), so a device
//!   model takes a few lines;
//! - **an access log** of every port access made through the claimed
//!   [`PortRange`](crate::services::hw::PortRange)s: port, [`Width`], [`Direction`], value;
//! - **interrupts on demand**: [`FakeHardware::raise_irq`] calls the handler
//!   a driver claimed, as the kernel's interrupt path does.
//!
//! Enable it for tests only:
//!
//! ```toml
//! [dev-dependencies]
//! helix-modules = { workspace = true, features = ["testing"] }
//! ```
//!
//! A CMOS-like device (index port 0x70, data port 0x71) and a driver's
//! traffic to it:
//!
//! ```
//! use helix_modules::services::hw::{Hardware, HwError, IrqHandler};
//! use helix_modules::testing::{Access, FakeHardware, Width};
//! use std::sync::Arc;
//! use std::sync::atomic::{AtomicU32, Ordering};
//!
//! let hw = FakeHardware::new();
//! // Writing a register number to 0x70 selects what 0x71 reads.
//! hw.on_write(0x70, |hw, _width, index| hw.set_port(0x71, index * 2));
//!
//! let ports = hw.claim_ports("rtc", 0x70, 2)?;
//! ports.write(0, 0x21)?;
//! assert_eq!(ports.read(1)?, 0x42);
//! assert_eq!(
//!     hw.accesses(),
//!     [Access::write(0x70, Width::U8, 0x21), Access::read(0x71, Width::U8, 0x42)]
//! );
//!
//! // Claims are exclusive, and a refusal names the holder.
//! assert_eq!(
//!     hw.claim_ports("other", 0x71, 1).unwrap_err().to_string(),
//!     "ports 0x71..0x72 are claimed by rtc"
//! );
//!
//! // An interrupt reaches the handler the driver claimed.
//! struct Count(AtomicU32);
//! impl IrqHandler for Count {
//!     fn handle_irq(&self) { self.0.fetch_add(1, Ordering::Relaxed); }
//! }
//! let count = Arc::new(Count(AtomicU32::new(0)));
//! hw.claim_irq("rtc", 8, count.clone())?;
//! hw.raise_irq(8)?;
//! assert_eq!(count.0.load(Ordering::Relaxed), 1);
//!
//! assert_eq!(hw.release_all("rtc"), 2);
//! assert!(hw.raise_irq(8).is_err(), "nobody holds IRQ 8 any more");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use alloc::collections::{BTreeMap, VecDeque};
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;
use spin::Mutex;

use crate::services::hw::{IrqHandler, PortIo};

mod access;
pub mod dma;
mod pci;
mod service;

pub use access::{Access, Direction, RaiseError, Width};

/// ISA interrupt lines the fake routes, like the kernel: 0..16.
pub const IRQ_LINES: u8 = 16;

/// A closure answering reads of one port: given the fake and the access
/// width, returns the value (masked to the width afterwards).
type ReadFn = Arc<dyn Fn(&FakeHardware, Width) -> u32 + Send + Sync>;
/// A closure taking writes to one port: the fake, the width and the value.
type WriteFn = Arc<dyn Fn(&FakeHardware, Width, u32) + Send + Sync>;

/// What one port does.
#[derive(Default)]
struct PortModel {
    value: Option<u32>,
    queue: VecDeque<u32>,
    on_read: Option<ReadFn>,
    on_write: Option<WriteFn>,
}

struct PortClaim {
    owner: String,
    base: u16,
    count: u16,
}

struct IrqClaim {
    owner: String,
    handler: Arc<dyn IrqHandler>,
}

#[derive(Default)]
struct Irqs {
    claims: [Option<IrqClaim>; IRQ_LINES as usize],
    /// Lines that exist but cannot be routed (bit n = IRQ n).
    unroutable: u16,
}

#[derive(Default)]
struct Shared {
    ports: Mutex<BTreeMap<u16, PortModel>>,
    log: Mutex<Vec<Access>>,
    claims: Mutex<Vec<PortClaim>>,
    irqs: Mutex<Irqs>,
    dma: Mutex<dma::DmaState>,
    pci: Mutex<pci::PciState>,
}

/// A test double of the kernel's hardware service: port claims, modelled
/// port banks, an access log and interrupts raised on demand (see the
/// [module documentation](crate::testing) for an example).
///
/// Clones share one machine: hand an `Arc::new(hw.clone())` to
/// [`RegistryBuilder::hardware`](crate::RegistryBuilder::hardware) and keep
/// `hw` to drive and inspect it.
///
/// **How a port answers.** A read returns, in this order: the next value
/// queued with [`queue_reads`](Self::queue_reads); else what the port's
/// [`on_read`](Self::on_read) closure returns; else the value set with
/// [`set_port`](Self::set_port) or last written; else all ones (`0xff`,
/// `0xffff`, `0xffff_ffff`), as a port with no device behind it reads. A
/// write goes to the port's [`on_write`](Self::on_write) closure if it has
/// one, and is otherwise kept as the port's value. Values are masked to
/// the access width. Ports are modelled one address at a time: a 16- or
/// 32-bit access to `port` is one access to `port`'s model.
///
/// Closures run with no lock of the fake held, so they may call back into
/// it (set other ports, queue values, raise an interrupt); they receive
/// the fake as their first argument for that.
#[derive(Clone, Default)]
pub struct FakeHardware {
    shared: Arc<Shared>,
}

impl fmt::Debug for FakeHardware {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ports = self.shared.claims.lock().len();
        let irqs = self
            .shared
            .irqs
            .lock()
            .claims
            .iter()
            .filter(|c| c.is_some())
            .count();
        write!(
            f,
            "FakeHardware({ports} port claims, {irqs} IRQ claims, {} accesses)",
            self.shared.log.lock().len()
        )
    }
}

/// The [`PortIo`] behind every [`PortRange`](crate::services::hw::PortRange) the fake hands out: a range
/// keeps the machine alive, as a claim in the kernel would.
struct FakePorts(FakeHardware);

impl PortIo for FakePorts {
    fn read_u8(&self, port: u16) -> u8 {
        self.0.access_read(port, Width::U8) as u8
    }
    fn write_u8(&self, port: u16, value: u8) {
        self.0.access_write(port, Width::U8, value.into());
    }
    fn read_u16(&self, port: u16) -> u16 {
        self.0.access_read(port, Width::U16) as u16
    }
    fn write_u16(&self, port: u16, value: u16) {
        self.0.access_write(port, Width::U16, value.into());
    }
    fn read_u32(&self, port: u16) -> u32 {
        self.0.access_read(port, Width::U32)
    }
    fn write_u32(&self, port: u16, value: u32) {
        self.0.access_write(port, Width::U32, value);
    }
}

/// How a read is answered: a value at hand, or a closure to call once the
/// lock is released.
enum Answer {
    Value(u32),
    Call(ReadFn),
}

impl FakeHardware {
    /// A machine with nothing claimed, every port reading all ones, and an
    /// empty access log.
    pub fn new() -> Self {
        Self::default()
    }

    fn with_port<R>(&self, port: u16, f: impl FnOnce(&mut PortModel) -> R) -> R {
        f(self.shared.ports.lock().entry(port).or_default())
    }

    /// Sets what `port` reads (when no value is queued and no `on_read`
    /// closure is installed) until the next write to it.
    pub fn set_port(&self, port: u16, value: u32) {
        self.with_port(port, |m| m.value = Some(value));
    }

    /// The value `port` holds: set with [`set_port`](Self::set_port) or
    /// last written without an `on_write` closure (`None` if neither).
    pub fn port_value(&self, port: u16) -> Option<u32> {
        self.shared.ports.lock().get(&port).and_then(|m| m.value)
    }

    /// Queues values for the next reads of `port`, one per read, before
    /// anything else answers (`hw.queue_reads(0x3f8, *b"ok")`).
    pub fn queue_reads<T: Into<u32>>(&self, port: u16, values: impl IntoIterator<Item = T>) {
        self.with_port(port, |m| m.queue.extend(values.into_iter().map(Into::into)));
    }

    /// How many queued values `port` has left.
    pub fn queued(&self, port: u16) -> usize {
        self.shared
            .ports
            .lock()
            .get(&port)
            .map_or(0, |m| m.queue.len())
    }

    /// Answers reads of `port` (once its queue is empty) with `f(fake,
    /// width)`, replacing any earlier closure.
    pub fn on_read(
        &self,
        port: u16,
        f: impl Fn(&FakeHardware, Width) -> u32 + Send + Sync + 'static,
    ) {
        self.with_port(port, |m| m.on_read = Some(Arc::new(f)));
    }

    /// Sends writes to `port` to `f(fake, width, value)` instead of keeping
    /// the value, replacing any earlier closure.
    pub fn on_write(
        &self,
        port: u16,
        f: impl Fn(&FakeHardware, Width, u32) + Send + Sync + 'static,
    ) {
        self.with_port(port, |m| m.on_write = Some(Arc::new(f)));
    }

    fn access_read(&self, port: u16, width: Width) -> u32 {
        let answer = {
            let mut ports = self.shared.ports.lock();
            match ports.get_mut(&port) {
                None => Answer::Value(u32::MAX),
                Some(m) => match (m.queue.pop_front(), &m.on_read) {
                    (Some(v), _) => Answer::Value(v),
                    (None, Some(f)) => Answer::Call(f.clone()),
                    (None, None) => Answer::Value(m.value.unwrap_or(u32::MAX)),
                },
            }
        };
        // The lock is released: the closure may use the fake.
        let value = match answer {
            Answer::Value(v) => v,
            Answer::Call(f) => f(self, width),
        } & width.mask();
        self.shared
            .log
            .lock()
            .push(Access::read(port, width, value));
        value
    }

    fn access_write(&self, port: u16, width: Width, value: u32) {
        let value = value & width.mask();
        self.shared
            .log
            .lock()
            .push(Access::write(port, width, value));
        let closure = self.with_port(port, |m| match &m.on_write {
            Some(f) => Some(f.clone()),
            None => {
                m.value = Some(value);
                None
            }
        });
        if let Some(f) = closure {
            f(self, width, value);
        }
    }

    /// Every port access so far, oldest first.
    pub fn accesses(&self) -> Vec<Access> {
        self.shared.log.lock().clone()
    }

    /// Every port access so far, oldest first, emptying the log.
    pub fn take_accesses(&self) -> Vec<Access> {
        core::mem::take(&mut *self.shared.log.lock())
    }

    /// The values written to `port` so far (any width), oldest first.
    pub fn writes_to(&self, port: u16) -> Vec<u32> {
        self.shared
            .log
            .lock()
            .iter()
            .filter(|a| a.port == port && a.direction == Direction::Write)
            .map(|a| a.value)
            .collect()
    }

    /// Who holds `port`, if anyone.
    pub fn port_owner(&self, port: u16) -> Option<String> {
        self.shared
            .claims
            .lock()
            .iter()
            .find(|c| c.base <= port && u32::from(port) < u32::from(c.base) + u32::from(c.count))
            .map(|c| c.owner.clone())
    }

    /// Who holds IRQ line `irq`, if anyone.
    pub fn irq_owner(&self, irq: u8) -> Option<String> {
        self.shared
            .irqs
            .lock()
            .claims
            .get(usize::from(irq))
            .and_then(|c| c.as_ref())
            .map(|c| c.owner.clone())
    }

    /// Makes line `irq` exist but refuse routing, so claiming it fails
    /// with [`HwError::NoSuchIrq`](crate::services::hw::HwError::NoSuchIrq) (as on a machine without that line
    /// wired).
    pub fn make_unroutable(&self, irq: u8) {
        if irq < IRQ_LINES {
            self.shared.irqs.lock().unroutable |= 1 << irq;
        }
    }

    /// Delivers interrupt `irq`: calls the handler of the driver holding
    /// the line, on the calling thread, and returns when it has run.
    pub fn raise_irq(&self, irq: u8) -> Result<(), RaiseError> {
        let handler = {
            let irqs = self.shared.irqs.lock();
            let slot = irqs
                .claims
                .get(usize::from(irq))
                .ok_or(RaiseError::NoSuchLine(irq))?;
            slot.as_ref()
                .map(|c| c.handler.clone())
                .ok_or(RaiseError::NotClaimed(irq))?
        };
        // The lock is released: the handler reads the device's ports.
        handler.handle_irq();
        Ok(())
    }
}
