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
pub use super::ports::{PortIo, PortRange};
use alloc::vec::Vec;

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
    /// Interrupts `owner`'s claim of the INTx pin of `bdf` has delivered
    /// since it was made.
    fn intx_count(&self, owner: &str, bdf: Bdf) -> Result<u64, HwError> {
        let _ = (owner, bdf);
        Err(HwError::Unavailable)
    }
    /// [`Hardware::wait_msix`] for that INTx claim.
    fn wait_intx(&self, owner: &str, bdf: Bdf, seen: u64, timeout_ms: u32) -> Result<u64, HwError> {
        let _ = (owner, bdf, seen, timeout_ms);
        Err(HwError::Unavailable)
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

    /// Interrupts the INTx pin of `device` has delivered since this driver
    /// claimed it ([`Self::claim_intx`]).
    pub fn intx_count(&self, device: &Function) -> Result<u64, HwError> {
        self.hw.intx_count(&self.owner, device.bdf)
    }

    /// Waits for an interrupt on the INTx pin of `device`, as
    /// [`Self::wait_msix`] does for an MSI-X entry: until more than `seen`
    /// (a count from [`Self::intx_count`] taken before the device was told
    /// to work) or for at most `timeout_ms`; returns the count, still
    /// `seen` after a timeout. The claim's handler has run by then.
    pub fn wait_intx(&self, device: &Function, seen: u64, timeout_ms: u32) -> Result<u64, HwError> {
        self.hw.wait_intx(&self.owner, device.bdf, seen, timeout_ms)
    }

    /// Releases every claim this driver holds.
    pub fn release_all(&self) -> usize {
        self.hw.release_all(&self.owner)
    }
}
