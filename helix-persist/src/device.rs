//! The block device the store sits on: 512-byte sectors, read and written
//! whole, and a flush that makes earlier writes durable. The kernel backs
//! it with IPC to the `block` capability (`virtio_blk`); tests back it with
//! [`crate::mem::MemDevice`].

use core::fmt;

/// Bytes in a sector.
pub const SECTOR_SIZE: usize = 512;

/// The most sectors the store moves in one `read` or `write` call (32 KiB),
/// so that a device reached over IPC (payloads up to 64 KiB) needs no
/// splitting of its own.
pub const MAX_TRANSFER_SECTORS: usize = 64;

/// Why a block device refused or failed a transfer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockError {
    /// Sectors `sector..sector + count` do not all lie on the device.
    OutOfRange {
        /// The first sector asked for.
        sector: u64,
        /// How many sectors were asked for.
        count: u64,
    },
    /// A buffer of this many bytes is not a whole number of sectors.
    Misaligned {
        /// The buffer's length in bytes.
        len: usize,
    },
    /// The device reported an I/O error.
    Io,
    /// The device is not there (for instance, no `block` provider runs).
    Unavailable,
}

impl fmt::Display for BlockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::OutOfRange { sector, count } => {
                write!(f, "sectors {sector}+{count} are past the end of the device")
            }
            Self::Misaligned { len } => {
                write!(
                    f,
                    "{len} bytes is not a whole number of {SECTOR_SIZE}-byte sectors"
                )
            }
            Self::Io => f.write_str("I/O error"),
            Self::Unavailable => f.write_str("no block device"),
        }
    }
}

impl core::error::Error for BlockError {}

/// A disk of [`SECTOR_SIZE`]-byte sectors.
///
/// `read` and `write` move `buf.len() / SECTOR_SIZE` consecutive sectors
/// starting at `sector`; a buffer that is not a whole number of sectors is
/// [`BlockError::Misaligned`], sectors past the end are
/// [`BlockError::OutOfRange`]. A write that fails may have written some of
/// its sectors. Writes may reach the medium in any order until `flush`
/// returns, after which all of them have.
pub trait BlockDevice {
    /// The device's size in sectors.
    fn sector_count(&self) -> u64;
    /// Reads sectors from `sector` into `buf`.
    fn read(&mut self, sector: u64, buf: &mut [u8]) -> Result<(), BlockError>;
    /// Writes `data` to sectors from `sector`.
    fn write(&mut self, sector: u64, data: &[u8]) -> Result<(), BlockError>;
    /// Makes every write so far durable.
    fn flush(&mut self) -> Result<(), BlockError>;
}

/// A borrowed device is a device, so a caller can open a store on
/// `&mut dev` and keep the device when opening fails.
impl<T: BlockDevice + ?Sized> BlockDevice for &mut T {
    fn sector_count(&self) -> u64 {
        (**self).sector_count()
    }
    fn read(&mut self, sector: u64, buf: &mut [u8]) -> Result<(), BlockError> {
        (**self).read(sector, buf)
    }
    fn write(&mut self, sector: u64, data: &[u8]) -> Result<(), BlockError> {
        (**self).write(sector, data)
    }
    fn flush(&mut self) -> Result<(), BlockError> {
        (**self).flush()
    }
}

/// Reads `buf` (whole sectors) from `sector` on, at most
/// [`MAX_TRANSFER_SECTORS`] a call.
pub(crate) fn read_all<D: BlockDevice + ?Sized>(
    dev: &mut D,
    mut sector: u64,
    buf: &mut [u8],
) -> Result<(), BlockError> {
    for chunk in buf.chunks_mut(MAX_TRANSFER_SECTORS * SECTOR_SIZE) {
        dev.read(sector, chunk)?;
        sector = sector.saturating_add(sectors_in(chunk.len()));
    }
    Ok(())
}

/// Writes `data` (whole sectors) from `sector` on, at most
/// [`MAX_TRANSFER_SECTORS`] a call.
pub(crate) fn write_all<D: BlockDevice + ?Sized>(
    dev: &mut D,
    mut sector: u64,
    data: &[u8],
) -> Result<(), BlockError> {
    for chunk in data.chunks(MAX_TRANSFER_SECTORS * SECTOR_SIZE) {
        dev.write(sector, chunk)?;
        sector = sector.saturating_add(sectors_in(chunk.len()));
    }
    Ok(())
}

/// How many sectors `len` bytes fill, the last one perhaps partly.
pub(crate) fn sectors_in(len: usize) -> u64 {
    (len as u64).div_ceil(SECTOR_SIZE as u64)
}
