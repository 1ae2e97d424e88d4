//! [`VirtioError`]: what can go wrong talking to a virtio device.

use core::fmt;
use helix_modules::ModuleError;
use helix_modules::services::hw::HwError;

/// Why a virtio operation failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VirtioError {
    /// The hardware service refused (a port or DMA access, an allocation).
    Hw(HwError),
    /// The device reports no queue with this index (size 0).
    NoQueue(u16),
    /// The queue size the device asks for cannot be used (not a power of
    /// two, or over 32768).
    BadQueueSize(u16),
    /// Every descriptor is in use.
    QueueFull,
    /// A chain of no buffers, or of more than the queue has.
    BadChain(usize),
    /// The device answered with a descriptor id it was never given.
    BadUsedId(u32),
    /// The device set FAILED or never came back to a status we set.
    DeviceFailed(u8),
    /// A queue address the legacy transport cannot express (not page
    /// aligned, or past 16 TiB).
    QueueAddress(u64),
    /// No device was bound to the driver.
    NoDevice,
    /// The device has no legacy interface (an I/O BAR 0).
    NoLegacyBar,
    /// The device did not return a chain in time.
    Timeout,
    /// The device would not take this MSI-X entry for its queue.
    VectorRefused(u16),
    /// The device did not offer a feature the driver needs.
    MissingFeature(u64),
}

impl fmt::Display for VirtioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Hw(e) => write!(f, "hardware: {e}"),
            Self::NoQueue(q) => write!(f, "the device has no queue {q}"),
            Self::BadQueueSize(n) => write!(f, "unusable queue size {n}"),
            Self::QueueFull => f.write_str("every descriptor of the queue is in use"),
            Self::BadChain(n) => write!(f, "a chain of {n} buffers cannot be queued"),
            Self::BadUsedId(id) => write!(f, "the device returned unknown descriptor {id}"),
            Self::DeviceFailed(s) => write!(f, "the device failed (status {s:#04x})"),
            Self::QueueAddress(a) => {
                write!(f, "queue address {a:#x} cannot be given to a legacy device")
            }
            Self::NoDevice => f.write_str("no device is bound to this driver"),
            Self::NoLegacyBar => f.write_str("the device has no legacy I/O interface (BAR 0)"),
            Self::Timeout => f.write_str("the device did not answer in time"),
            Self::VectorRefused(e) => write!(f, "the device refused MSI-X entry {e} for its queue"),
            Self::MissingFeature(bit) => write!(f, "the device lacks feature bit {bit}"),
        }
    }
}

impl core::error::Error for VirtioError {}

impl From<HwError> for VirtioError {
    fn from(e: HwError) -> Self {
        Self::Hw(e)
    }
}

/// A module passing on a virtio error: a hardware refusal stays one
/// ([`ModuleError::Hardware`], with its cause), anything else is its text.
impl From<VirtioError> for ModuleError {
    fn from(e: VirtioError) -> Self {
        match e {
            VirtioError::Hw(e) => ModuleError::Hardware(e),
            e => ModuleError::message(e),
        }
    }
}
