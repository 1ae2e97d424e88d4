//! Hardware access for DRIVER modules: I/O ports and interrupt lines,
//! granted by the kernel, exclusively, one owner at a time.
//!
//! A module flagged [`ModuleFlags::DRIVER`](crate::ModuleFlags::DRIVER)
//! gets a [`HardwareAccess`] from [`Context::hardware`](crate::v2::Context::hardware)
//! in `init`; every other module gets [`HwError::NotADriver`]. Through it
//! the driver claims the port range and IRQ line of its device. A claim
//! either succeeds exclusively or names the current owner, so two drivers
//! never fight over one device. The kernel implements [`Hardware`] and
//! releases whatever a module still holds when it stops, so a driver that
//! forgets to clean up cannot keep a device.
//!
//! Ports are reached only through the [`PortRange`] a claim returns, which
//! checks every access against the claimed size (a 16- or 32-bit access
//! must lie wholly inside it), so a driver (which stays
//! `#![forbid(unsafe_code)]`) cannot touch another device's registers.
//!
//! On the host, `helix_modules::testing::FakeHardware` (cargo feature
//! `testing`) stands in for the kernel: claims, port models, an access log
//! and interrupts raised on demand.

use alloc::string::String;
use alloc::sync::Arc;
use core::fmt;

use super::dma::DmaBuffer;
pub use super::hw_error::HwError;
use super::mmio::Mmio;
use super::pci::{Bdf, DeviceId, Function};
use alloc::vec::Vec;

/// Raw port I/O, implemented by the kernel.
///
/// The 16- and 32-bit accesses have default implementations that split
/// them into byte accesses at consecutive ports, lowest byte first: what
/// the bus does when a wide access reaches an 8-bit device. The kernel
/// (and any model of a device with wide registers) overrides them with
/// real wide accesses.
pub trait PortIo: Send + Sync {
    /// Reads the byte at `port`.
    fn read_u8(&self, port: u16) -> u8;
    /// Writes `value` to `port`.
    fn write_u8(&self, port: u16, value: u8);

    /// Reads 16 bits at `port` (by default, bytes at `port` and `port + 1`).
    fn read_u16(&self, port: u16) -> u16 {
        u16::from_le_bytes([self.read_u8(port), self.read_u8(port.wrapping_add(1))])
    }

    /// Writes 16 bits to `port` (by default, bytes to `port` and `port + 1`).
    fn write_u16(&self, port: u16, value: u16) {
        let [lo, hi] = value.to_le_bytes();
        self.write_u8(port, lo);
        self.write_u8(port.wrapping_add(1), hi);
    }

    /// Reads 32 bits at `port` (by default, bytes at `port..port + 4`).
    fn read_u32(&self, port: u16) -> u32 {
        let mut bytes = [0; 4];
        for (i, b) in (0u16..).zip(bytes.iter_mut()) {
            *b = self.read_u8(port.wrapping_add(i));
        }
        u32::from_le_bytes(bytes)
    }

    /// Writes 32 bits to `port` (by default, bytes to `port..port + 4`).
    fn write_u32(&self, port: u16, value: u32) {
        for (i, b) in (0u16..).zip(value.to_le_bytes()) {
            self.write_u8(port.wrapping_add(i), b);
        }
    }
}

/// A driver's interrupt handler. Runs in interrupt context on the CPU that
/// took the interrupt: it must be short, must not block, and may only take
/// [`IrqMutex`](crate::sync::IrqMutex) locks. The kernel acknowledges the
/// interrupt after it returns.
pub trait IrqHandler: Send + Sync {
    /// Services the device.
    fn handle_irq(&self);
}

/// What the kernel offers drivers.
pub trait Hardware: Send + Sync + fmt::Debug {
    /// Claims `count` ports from `base` for `owner`.
    fn claim_ports(&self, owner: &str, base: u16, count: u16) -> Result<PortRange, HwError>;
    /// Routes ISA interrupt `irq` to `handler` for `owner` and unmasks it.
    fn claim_irq(&self, owner: &str, irq: u8, handler: Arc<dyn IrqHandler>) -> Result<(), HwError>;
    /// Gives up every claim of `owner` (masking its IRQs first) and frees
    /// its DMA buffers; returns how many claims and buffers there were.
    fn release_all(&self, owner: &str) -> usize;
    /// Allocates a zeroed, physically contiguous DMA buffer of `len` bytes
    /// for `owner` (see [`crate::services::dma`]). The default offers none.
    fn alloc_dma(&self, owner: &str, len: usize) -> Result<DmaBuffer, HwError> {
        let _ = (owner, len);
        Err(HwError::Unavailable)
    }
    /// Binds to `owner` every PCI function matching one of `ids` that no
    /// other owner holds, and returns all the functions `owner` holds that
    /// match (see [`crate::services::pci`]). The default has no bus.
    fn bind_pci(&self, owner: &str, ids: &[DeviceId]) -> Vec<Function> {
        let _ = (owner, ids);
        Vec::new()
    }
    /// Maps memory BAR `bar` of the function at `bdf`, which must be bound
    /// to `owner`, uncached (see [`crate::services::mmio`]). The default
    /// maps nothing.
    fn map_bar(&self, owner: &str, bdf: Bdf, bar: u8) -> Result<Mmio, HwError> {
        let _ = (owner, bdf, bar);
        Err(HwError::Unavailable)
    }
    /// Routes MSI-X table entry `entry` of the function at `bdf` (bound to
    /// `owner`) to `handler`, with MSI-X enabled on the function. The
    /// default has no interrupts for devices.
    fn claim_msix(
        &self,
        owner: &str,
        bdf: Bdf,
        entry: u16,
        handler: Arc<dyn IrqHandler>,
    ) -> Result<(), HwError> {
        let _ = (owner, bdf, entry, handler);
        Err(HwError::Unavailable)
    }
    /// Routes the legacy INTx pin of the function at `bdf` (bound to
    /// `owner`) to `handler`, level-triggered; returns the interrupt line
    /// (GSI). For functions without MSI-X. The default has none.
    fn claim_intx(
        &self,
        owner: &str,
        bdf: Bdf,
        handler: Arc<dyn IrqHandler>,
    ) -> Result<u32, HwError> {
        let _ = (owner, bdf, handler);
        Err(HwError::Unavailable)
    }
    /// Interrupts `owner`'s claim of MSI-X entry `entry` of `bdf` has
    /// delivered since it was made.
    fn msix_count(&self, owner: &str, bdf: Bdf, entry: u16) -> Result<u64, HwError> {
        let _ = (owner, bdf, entry);
        Err(HwError::Unavailable)
    }
    /// Blocks the calling thread until that claim has delivered more than
    /// `seen` interrupts, or for at most `timeout_ms`; returns the count
    /// (still `seen` after a timeout).
    fn wait_msix(
        &self,
        owner: &str,
        bdf: Bdf,
        entry: u16,
        seen: u64,
        timeout_ms: u32,
    ) -> Result<u64, HwError> {
        let _ = (owner, bdf, entry, seen, timeout_ms);
        Err(HwError::Unavailable)
    }
}

/// A claimed, bounds-checked range of I/O ports.
#[derive(Clone)]
pub struct PortRange {
    base: u16,
    count: u16,
    io: Arc<dyn PortIo>,
}

impl fmt::Debug for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PortRange({:#x}+{})", self.base, self.count)
    }
}

impl PortRange {
    /// A range over `io`. Called by [`Hardware`] implementations when a
    /// claim succeeds (and by tests, over a test double of a device).
    pub fn new(base: u16, count: u16, io: Arc<dyn PortIo>) -> Self {
        Self { base, count, io }
    }

    /// First port of the range.
    pub fn base(&self) -> u16 {
        self.base
    }

    /// Number of ports in the range.
    pub fn count(&self) -> u16 {
        self.count
    }

    fn port(&self, offset: u16) -> Result<u16, HwError> {
        match self.base.checked_add(offset) {
            Some(port) if offset < self.count => Ok(port),
            _ => Err(HwError::OutOfRange {
                offset,
                count: self.count,
            }),
        }
    }

    /// The port of a `bits`-wide access at `offset`, if the whole access
    /// (`offset..offset + bits / 8`) lies inside the range.
    fn wide_port(&self, offset: u16, bits: u8) -> Result<u16, HwError> {
        let end = u32::from(offset) + u32::from(bits / 8);
        let last_port = u32::from(self.base) + end - 1;
        match u16::try_from(u32::from(self.base) + u32::from(offset)) {
            Ok(port) if end <= u32::from(self.count) && last_port <= 0xffff => Ok(port),
            _ => Err(HwError::WideOutOfRange {
                offset,
                bits,
                count: self.count,
            }),
        }
    }

    /// Reads the port at `offset` within the range.
    pub fn read(&self, offset: u16) -> Result<u8, HwError> {
        Ok(self.io.read_u8(self.port(offset)?))
    }

    /// Writes the port at `offset` within the range.
    pub fn write(&self, offset: u16, value: u8) -> Result<(), HwError> {
        self.io.write_u8(self.port(offset)?, value);
        Ok(())
    }

    /// Reads 16 bits at `offset`; both bytes (`offset`, `offset + 1`) must
    /// be inside the range, or the access is refused with
    /// [`HwError::WideOutOfRange`].
    pub fn read16(&self, offset: u16) -> Result<u16, HwError> {
        Ok(self.io.read_u16(self.wide_port(offset, 16)?))
    }

    /// Writes 16 bits at `offset`, bounds-checked as [`PortRange::read16`].
    pub fn write16(&self, offset: u16, value: u16) -> Result<(), HwError> {
        self.io.write_u16(self.wide_port(offset, 16)?, value);
        Ok(())
    }

    /// Reads 32 bits at `offset`; all four bytes (`offset..offset + 4`)
    /// must be inside the range, or the access is refused with
    /// [`HwError::WideOutOfRange`].
    pub fn read32(&self, offset: u16) -> Result<u32, HwError> {
        Ok(self.io.read_u32(self.wide_port(offset, 32)?))
    }

    /// Writes 32 bits at `offset`, bounds-checked as [`PortRange::read32`].
    pub fn write32(&self, offset: u16, value: u32) -> Result<(), HwError> {
        self.io.write_u32(self.wide_port(offset, 32)?, value);
        Ok(())
    }
}

/// A driver's handle on the kernel's [`Hardware`], with its name attached
/// to every claim.
#[derive(Clone)]
pub struct HardwareAccess {
    hw: Arc<dyn Hardware>,
    owner: String,
    pci_ids: &'static [DeviceId],
}

impl fmt::Debug for HardwareAccess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HardwareAccess({})", self.owner)
    }
}

impl HardwareAccess {
    pub(crate) fn new(hw: Arc<dyn Hardware>, owner: String) -> Self {
        Self {
            hw,
            owner,
            pci_ids: &[],
        }
    }

    /// The same access, for a driver that declared `ids`.
    pub(crate) fn with_pci_ids(mut self, ids: &'static [DeviceId]) -> Self {
        self.pci_ids = ids;
        self
    }

    /// The PCI functions bound to this driver: every one that matches its
    /// declared table ([`ModuleInfo::pci_ids`](crate::v2::ModuleInfo::pci_ids))
    /// and that no other driver holds, bound now if not yet (see
    /// [`crate::services::pci`]). Empty for a driver that declared none.
    pub fn pci_devices(&self) -> Vec<Function> {
        if self.pci_ids.is_empty() {
            return Vec::new();
        }
        self.hw.bind_pci(&self.owner, self.pci_ids)
    }

    /// Claims `count` ports from `base`.
    pub fn claim_ports(&self, base: u16, count: u16) -> Result<PortRange, HwError> {
        self.hw.claim_ports(&self.owner, base, count)
    }

    /// Claims the ports of `device`'s I/O BAR `bar`: refused
    /// ([`HwError::NoIoBar`]) unless it is an I/O BAR the firmware gave
    /// ports (a base of 0 is unassigned, and would name the legacy
    /// devices' ports), within the 16-bit port space.
    pub fn claim_io_bar(&self, device: &Function, bar: u8) -> Result<PortRange, HwError> {
        let b = device
            .bar(bar)
            .filter(|b| b.kind == super::pci::BarKind::Io && b.base != 0)
            .ok_or(HwError::NoIoBar(bar))?;
        let base = u16::try_from(b.base).map_err(|_| HwError::NoIoBar(bar))?;
        let count = u16::try_from(b.size).map_err(|_| HwError::NoIoBar(bar))?;
        self.claim_ports(base, count)
    }

    /// Routes ISA interrupt `irq` to `handler`.
    pub fn claim_irq(&self, irq: u8, handler: Arc<dyn IrqHandler>) -> Result<(), HwError> {
        self.hw.claim_irq(&self.owner, irq, handler)
    }

    /// A zeroed, physically contiguous DMA buffer of `len` bytes, freed
    /// when the driver stops or faults (see [`crate::services::dma`]).
    pub fn alloc_dma(&self, len: usize) -> Result<DmaBuffer, HwError> {
        self.hw.alloc_dma(&self.owner, len)
    }

    /// Memory BAR `bar` of `device` (one of [`Self::pci_devices`]),
    /// mapped uncached, with bounds-checked accesses.
    pub fn map_bar(&self, device: &Function, bar: u8) -> Result<Mmio, HwError> {
        self.hw.map_bar(&self.owner, device.bdf, bar)
    }

    /// Routes MSI-X entry `entry` of `device` (one of
    /// [`Self::pci_devices`]) to `handler`, in interrupt context like an
    /// IRQ line's handler; released with the driver's other claims.
    pub fn claim_msix(
        &self,
        device: &Function,
        entry: u16,
        handler: Arc<dyn IrqHandler>,
    ) -> Result<(), HwError> {
        self.hw.claim_msix(&self.owner, device.bdf, entry, handler)
    }

    /// Routes `device`'s legacy INTx pin to `handler` (in interrupt
    /// context, like an IRQ line's handler), for a function without MSI-X;
    /// returns the interrupt line. The line is level-triggered: the
    /// handler must make the device drop it (a virtio device: read its ISR
    /// register). Released with the driver's other claims.
    pub fn claim_intx(
        &self,
        device: &Function,
        handler: Arc<dyn IrqHandler>,
    ) -> Result<u32, HwError> {
        self.hw.claim_intx(&self.owner, device.bdf, handler)
    }

    /// Interrupts MSI-X entry `entry` of `device` has delivered since this
    /// driver claimed it ([`Self::claim_msix`]).
    pub fn msix_count(&self, device: &Function, entry: u16) -> Result<u64, HwError> {
        self.hw.msix_count(&self.owner, device.bdf, entry)
    }

    /// Waits for an interrupt: blocks the calling thread until MSI-X entry
    /// `entry` of `device` has delivered more than `seen` interrupts (a
    /// count from [`Self::msix_count`] taken before the device was told to
    /// work, so an interrupt that came first is not missed), or for at
    /// most `timeout_ms`. Returns the count, still `seen` after a timeout.
    /// The handler given to [`Self::claim_msix`] has run by then.
    pub fn wait_msix(
        &self,
        device: &Function,
        entry: u16,
        seen: u64,
        timeout_ms: u32,
    ) -> Result<u64, HwError> {
        self.hw
            .wait_msix(&self.owner, device.bdf, entry, seen, timeout_ms)
    }

    /// Releases every claim this driver holds.
    pub fn release_all(&self) -> usize {
        self.hw.release_all(&self.owner)
    }
}
