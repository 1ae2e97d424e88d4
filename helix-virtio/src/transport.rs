//! The legacy virtio PCI transport: the device's registers in its I/O BAR
//! (BAR 0), reached through a claimed [`PortRange`].
//!
//! Register map (offsets in the BAR): device features (u32) at 0x00, guest
//! features (u32) 0x04, queue address as a page frame number (u32) 0x08,
//! queue size (u16) 0x0c, queue select (u16) 0x0e, queue notify (u16)
//! 0x10, device status (u8) 0x12, ISR status (u8) 0x13, and the
//! device-specific configuration from 0x14 (while MSI-X is off, as here).

use helix_modules::services::hw::PortRange;

use crate::VirtioError;

/// Device status bits.
pub mod status {
    /// The driver saw the device.
    pub const ACKNOWLEDGE: u8 = 1;
    /// The driver knows how to drive it.
    pub const DRIVER: u8 = 2;
    /// The driver is ready.
    pub const DRIVER_OK: u8 = 4;
    /// Something went wrong (device or driver).
    pub const FAILED: u8 = 0x80;
}

const DEVICE_FEATURES: u16 = 0x00;
const GUEST_FEATURES: u16 = 0x04;
const QUEUE_PFN: u16 = 0x08;
const QUEUE_SIZE: u16 = 0x0c;
const QUEUE_SELECT: u16 = 0x0e;
const QUEUE_NOTIFY: u16 = 0x10;
const DEVICE_STATUS: u16 = 0x12;
const ISR_STATUS: u16 = 0x13;
/// Where the device-specific configuration starts (MSI-X off).
pub const DEVICE_CONFIG: u16 = 0x14;
/// With MSI-X on: the configuration-change vector (u16) and the selected
/// queue's vector (u16), then the device configuration at 0x18.
const CONFIG_VECTOR: u16 = 0x14;
const QUEUE_VECTOR: u16 = 0x16;
/// "No vector".
const NO_VECTOR: u16 = 0xffff;

/// A legacy virtio device's registers.
#[derive(Clone)]
pub struct LegacyTransport {
    ports: PortRange,
    /// Where the device-specific configuration starts: 0x14, or 0x18 once
    /// MSI-X is on (two vector registers come first then).
    config: u16,
}

impl core::fmt::Debug for LegacyTransport {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "LegacyTransport({:#x})", self.ports.base())
    }
}

impl LegacyTransport {
    /// The device whose BAR 0 is `ports`.
    pub fn new(ports: PortRange) -> Self {
        LegacyTransport {
            ports,
            config: DEVICE_CONFIG,
        }
    }

    /// Resets the device, acknowledges it, accepts `wanted` of the features
    /// it offers (refusing a device that lacks one of `required`), and
    /// returns the features accepted. Queues are set up next, then
    /// [`LegacyTransport::ready`].
    pub fn begin(&self, required: u32, wanted: u32) -> Result<u32, VirtioError> {
        self.set_status(0)?;
        self.set_status(status::ACKNOWLEDGE)?;
        self.set_status(status::ACKNOWLEDGE | status::DRIVER)?;
        let offered = self.ports.read32(DEVICE_FEATURES)?;
        if let Some(bit) = (0..32).find(|b| required & (1 << b) != 0 && offered & (1 << b) == 0) {
            self.set_status(status::FAILED)?;
            return Err(VirtioError::MissingFeature(bit));
        }
        let accepted = offered & (wanted | required);
        self.ports.write32(GUEST_FEATURES, accepted)?;
        Ok(accepted)
    }

    /// Declares the driver ready (DRIVER_OK); fails if the device set
    /// FAILED meanwhile.
    pub fn ready(&self) -> Result<(), VirtioError> {
        let s = self.status()?;
        if s & status::FAILED != 0 {
            return Err(VirtioError::DeviceFailed(s));
        }
        self.set_status(s | status::DRIVER_OK)
    }

    /// The device status.
    pub fn status(&self) -> Result<u8, VirtioError> {
        Ok(self.ports.read(DEVICE_STATUS)?)
    }

    fn set_status(&self, s: u8) -> Result<(), VirtioError> {
        Ok(self.ports.write(DEVICE_STATUS, s)?)
    }

    /// The size of queue `index` (0: no such queue).
    pub fn queue_size(&self, index: u16) -> Result<u16, VirtioError> {
        self.ports.write16(QUEUE_SELECT, index)?;
        Ok(self.ports.read16(QUEUE_SIZE)?)
    }

    /// Gives the device queue `index`, laid out at `device_addr` (page
    /// aligned), or takes it back with 0.
    pub fn set_queue(&self, index: u16, device_addr: u64) -> Result<(), VirtioError> {
        let align = crate::queue::LEGACY_ALIGN as u64;
        let pfn = u32::try_from(device_addr / align)
            .ok()
            .filter(|_| device_addr.is_multiple_of(align))
            .ok_or(VirtioError::QueueAddress(device_addr))?;
        self.ports.write16(QUEUE_SELECT, index)?;
        Ok(self.ports.write32(QUEUE_PFN, pfn)?)
    }

    /// Tells the device that queue `index` has new buffers.
    pub fn notify(&self, index: u16) -> Result<(), VirtioError> {
        Ok(self.ports.write16(QUEUE_NOTIFY, index)?)
    }

    /// Reads and clears the interrupt status (bit 0: a queue was used;
    /// bit 1: the configuration changed).
    pub fn isr(&self) -> Result<u8, VirtioError> {
        Ok(self.ports.read(ISR_STATUS)?)
    }

    /// Reads the byte at `offset` of the device-specific configuration.
    pub fn config_u8(&self, offset: u16) -> Result<u8, VirtioError> {
        Ok(self.ports.read(self.config + offset)?)
    }

    /// Reads the `u32` at `offset` of the device-specific configuration.
    pub fn config_u32(&self, offset: u16) -> Result<u32, VirtioError> {
        Ok(self.ports.read32(self.config + offset)?)
    }

    /// With MSI-X on for the function: sends queue `queue`'s interrupts to
    /// MSI-X entry `entry` (and configuration changes nowhere); the device
    /// configuration moves to 0x18 from now on.
    pub fn route_queue(&mut self, queue: u16, entry: u16) -> Result<(), VirtioError> {
        self.config = DEVICE_CONFIG + 4;
        self.ports.write16(CONFIG_VECTOR, NO_VECTOR)?;
        self.ports.write16(QUEUE_SELECT, queue)?;
        self.ports.write16(QUEUE_VECTOR, entry)?;
        match self.ports.read16(QUEUE_VECTOR)? {
            v if v == entry => Ok(()),
            _ => Err(VirtioError::VectorRefused(entry)),
        }
    }

    /// Resets the device: it forgets its queues and stops using memory.
    pub fn reset(&self) -> Result<(), VirtioError> {
        self.set_status(0)
    }
}
