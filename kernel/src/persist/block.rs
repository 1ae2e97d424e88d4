//! [`IpcBlock`]: the `block` capability (the virtio_blk driver, or any
//! module that provides it) as a `helix_persist::BlockDevice`, one IPC
//! request per transfer of at most `MAX_TRANSFER_SECTORS` sectors.

use alloc::format;
use alloc::vec::Vec;
use helix_modules::v2::Request;
use helix_modules::{Caller, Registry};
use helix_persist::{BlockDevice, BlockError, SECTOR_SIZE};

/// The `block` provider seen through the registry.
pub struct IpcBlock<'r> {
    registry: &'r Registry,
    sectors: u64,
}

fn ask(r: &Registry, kind: &str, payload: Vec<u8>) -> Result<Vec<u8>, BlockError> {
    let resp = r
        .request(
            Caller::Kernel,
            "block",
            Request::new("persist", kind, payload),
        )
        .map_err(|_| BlockError::Unavailable)?;
    match resp.error {
        None => Ok(resp.payload),
        Some(_) => Err(BlockError::Io),
    }
}

impl<'r> IpcBlock<'r> {
    /// The disk behind `block`, if a provider runs and has one.
    pub fn open(registry: &'r Registry) -> Result<Self, BlockError> {
        let info = ask(registry, "info", Vec::new()).map_err(|_| BlockError::Unavailable)?;
        let text = core::str::from_utf8(&info).map_err(|_| BlockError::Io)?;
        let sectors = text
            .split_whitespace()
            .find_map(|w| w.strip_prefix("sectors=")?.parse().ok())
            .ok_or(BlockError::Io)?;
        Ok(IpcBlock { registry, sectors })
    }
}

impl BlockDevice for IpcBlock<'_> {
    fn sector_count(&self) -> u64 {
        self.sectors
    }

    fn read(&mut self, sector: u64, buf: &mut [u8]) -> Result<(), BlockError> {
        if !buf.len().is_multiple_of(SECTOR_SIZE) {
            return Err(BlockError::Misaligned { len: buf.len() });
        }
        let count = (buf.len() / SECTOR_SIZE) as u64;
        let data = ask(
            self.registry,
            "read",
            format!("{sector} {count}").into_bytes(),
        )?;
        if data.len() != buf.len() {
            return Err(BlockError::Io);
        }
        buf.copy_from_slice(&data);
        Ok(())
    }

    fn write(&mut self, sector: u64, data: &[u8]) -> Result<(), BlockError> {
        if !data.len().is_multiple_of(SECTOR_SIZE) {
            return Err(BlockError::Misaligned { len: data.len() });
        }
        let mut payload = sector.to_le_bytes().to_vec();
        payload.extend_from_slice(data);
        ask(self.registry, "write", payload).map(|_| ())
    }

    fn flush(&mut self) -> Result<(), BlockError> {
        ask(self.registry, "flush", Vec::new()).map(|_| ())
    }
}
