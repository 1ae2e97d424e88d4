//! `virtio_rng`: a DRIVER module for virtio entropy devices, the
//! transitional virtio-rng PCI function QEMU offers (`1af4:1005`), driven
//! through its legacy interface with `helix-virtio`.
//!
//! At start the module takes the device the kernel binds to it (its
//! declared table, [`IDS`]), claims its I/O BAR, negotiates, and gives the
//! device one queue and a DMA buffer. It provides `entropy`; IPC `read N`
//! (1..=[`MAX_READ`] bytes) queues the buffer for the device to fill and
//! answers with what the device wrote; `stats` counts reads and bytes. At
//! stop the device is reset, so it no longer uses the module's memory,
//! which the kernel then frees with the rest of its claims.
#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::format;
use alloc::string::ToString;
use alloc::sync::Arc;
use alloc::vec;
use core::fmt;
use helix_modules::services::dma::DmaBuffer;
use helix_modules::services::hw::{HardwareAccess, IrqHandler};
use helix_modules::services::pci::DeviceId;
use helix_modules::v2::{Context, ModuleInfo, ModuleTrait, Request, Response};
use helix_modules::{ModuleError, ModuleFlags};
use helix_virtio::{Buf, IrqCounter, LegacyDevice, VirtioError};

/// The devices this driver drives: virtio entropy, transitional.
pub const IDS: [DeviceId; 1] = [DeviceId::new(0x1af4, 0x1005)];
/// Most bytes one `read` returns.
pub const MAX_READ: usize = 4096;
/// How many times a read looks at the used ring before giving up (the
/// device answers within microseconds; this bounds a broken one).
const POLLS: u32 = 2_000_000;

/// Why a read failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RngError {
    /// `read N` with N outside 1..=MAX_READ, or not a number.
    BadLength(alloc::string::String),
    /// The device did not answer in time. It is reset and the driver
    /// stops using it: later requests are refused as not started until
    /// the driver is restarted.
    Timeout,
    /// The device or the hardware service refused.
    Virtio(VirtioError),
    /// The module is not started.
    NotStarted,
}

impl fmt::Display for RngError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadLength(n) => write!(f, "read needs a length in 1..={MAX_READ}, not `{n}`"),
            Self::Timeout => f.write_str("the entropy device did not answer"),
            Self::Virtio(e) => write!(f, "{e}"),
            Self::NotStarted => f.write_str("no entropy device is running"),
        }
    }
}

impl From<VirtioError> for RngError {
    fn from(e: VirtioError) -> Self {
        Self::Virtio(e)
    }
}

/// The module (see the crate docs).
#[derive(Default)]
pub struct VirtioRng {
    hw: Option<HardwareAccess>,
    device: Option<(LegacyDevice, DmaBuffer)>,
    reads: u64,
    bytes: u64,
    /// Queue interrupts the device raised (MSI-X, where the kernel routes
    /// it). Reads poll all the same: the kernel seeds its generator from
    /// this driver early, and a read must not depend on being able to
    /// sleep.
    interrupts: Arc<IrqCounter>,
}

impl VirtioRng {
    /// `n` bytes from the device.
    pub fn read(&mut self, n: usize) -> Result<alloc::vec::Vec<u8>, RngError> {
        let (dev, buffer) = self.device.as_mut().ok_or(RngError::NotStarted)?;
        let buf = Buf {
            addr: buffer.device_addr(),
            len: n as u32,
            device_writes: true,
        };
        let used = match dev.round_trip(&[buf], POLLS) {
            Ok(used) => used,
            Err(VirtioError::Timeout) => {
                // The buffer is still the device's: reset it and stop
                // using it (see `virtio_blk`).
                let _ = dev.transport.reset();
                self.device = None;
                return Err(RngError::Timeout);
            }
            Err(e) => return Err(RngError::Virtio(e)),
        };
        let mut out = vec![0; (used.len as usize).min(n)];
        buffer
            .read(0, &mut out)
            .map_err(|e| RngError::Virtio(e.into()))?;
        self.reads += 1;
        self.bytes += out.len() as u64;
        Ok(out)
    }
}

impl ModuleTrait for VirtioRng {
    fn info(&self) -> ModuleInfo {
        ModuleInfo::new("virtio_rng")
            .version(1, 0, 0)
            .description("virtio entropy device driver")
            .author("Helix developers")
            .license("MIT OR Apache-2.0")
            .flags(ModuleFlags::DRIVER)
            .provides(&["entropy"])
            .pci_ids(&IDS)
    }

    fn init(&mut self, ctx: &Context) -> Result<(), ModuleError> {
        self.hw = Some(ctx.hardware()?);
        Ok(())
    }

    fn start(&mut self) -> Result<(), ModuleError> {
        let hw = self
            .hw
            .as_ref()
            .ok_or(ModuleError::Failed("not initialised"))?;
        let counter: Arc<dyn IrqHandler> = self.interrupts.clone();
        let dev = LegacyDevice::open_with_irq(hw, 0, Some(counter)).map_err(|e| match e {
            VirtioError::NoDevice => ModuleError::Failed("no virtio entropy device"),
            e => e.into(),
        })?;
        self.device = Some((dev, hw.alloc_dma(MAX_READ)?));
        Ok(())
    }

    fn stop(&mut self) -> Result<(), ModuleError> {
        if let Some((dev, _)) = self.device.take() {
            // The device forgets the queue and stops using memory before
            // the kernel frees it.
            dev.transport.reset()?;
        }
        Ok(())
    }

    fn handle_request(&mut self, request: &Request) -> Result<Response, ModuleError> {
        match request.request_type.as_str() {
            "read" => {
                let text = core::str::from_utf8(&request.payload).unwrap_or("").trim();
                let n = match text.parse::<usize>() {
                    Ok(n) if (1..=MAX_READ).contains(&n) => n,
                    _ => return Ok(Response::err(RngError::BadLength(text.into()).to_string())),
                };
                match self.read(n) {
                    Ok(bytes) => Ok(Response::ok(bytes)),
                    Err(e) => Ok(Response::err(e.to_string())),
                }
            }
            "stats" => Ok(Response::ok(
                format!(
                    "reads={} bytes={} interrupts={}",
                    self.reads,
                    self.bytes,
                    self.interrupts.count()
                )
                .into_bytes(),
            )),
            other => Ok(Response::err(format!(
                "unknown request '{other}' (try read N, stats)"
            ))),
        }
    }
}
