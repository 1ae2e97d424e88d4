//! [`BlkError`]: why a block request was refused or failed.

use core::fmt;
use helix_virtio::VirtioError;

/// Why a block request failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlkError {
    /// The request's payload is malformed (what was expected).
    BadRequest(&'static str),
    /// Sectors past the end of the disk.
    OutOfRange {
        /// First sector asked for.
        sector: u64,
        /// Sectors asked for.
        count: u64,
        /// Sectors the disk has.
        capacity: u64,
    },
    /// More sectors than one request carries.
    TooMany {
        /// Sectors asked for.
        count: u64,
        /// The most one request carries.
        max: u64,
    },
    /// The device answered with an error status.
    Device(u8),
    /// The device did not answer in time. It is reset and the driver
    /// stops using it: later requests are refused as not started until
    /// the driver is restarted.
    Timeout,
    /// The device or the hardware service refused.
    Virtio(VirtioError),
    /// No disk: the module runs without a device.
    NotStarted,
}

impl fmt::Display for BlkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadRequest(what) => write!(f, "bad request: {what}"),
            Self::OutOfRange {
                sector,
                count,
                capacity,
            } => write!(
                f,
                "sectors {sector}..{} are past the end of the disk ({capacity} sectors)",
                sector.saturating_add(*count)
            ),
            Self::TooMany { count, max } => {
                write!(f, "{count} sectors in one request; at most {max}")
            }
            Self::Device(s) => write!(f, "the device reported error status {s}"),
            Self::Timeout => f.write_str("the block device did not answer"),
            Self::Virtio(e) => write!(f, "{e}"),
            Self::NotStarted => {
                f.write_str("no block device (boot with a disk: scripts/run.sh --disk FILE)")
            }
        }
    }
}

impl From<VirtioError> for BlkError {
    fn from(e: VirtioError) -> Self {
        Self::Virtio(e)
    }
}

impl From<helix_modules::services::hw::HwError> for BlkError {
    fn from(e: helix_modules::services::hw::HwError) -> Self {
        Self::Virtio(e.into())
    }
}
