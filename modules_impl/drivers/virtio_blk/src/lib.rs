//! `virtio_blk`: a DRIVER module for virtio block devices, the
//! transitional virtio-blk PCI function QEMU offers (`1af4:1001`, a disk
//! given with `scripts/run.sh --disk FILE`), driven through its legacy
//! interface with `helix-virtio`.
//!
//! It provides `block`. IPC (sectors are 512 bytes; at most
//! [`MAX_SECTORS`] per request, so answers fit the registry's payload
//! limit):
//! - `info`: `sectors=N sector_size=512 bytes=N`;
//! - `read`: payload `SECTOR COUNT` (text); answer: the bytes;
//! - `write`: payload the first sector as 8 little-endian bytes, then the
//!   data (a whole number of sectors);
//! - `flush`: asks the device to make writes durable;
//! - `stats`: `reads= writes= flushes= errors= interrupts= completions=`
//!   (`irq` where the kernel routes the queue's MSI-X interrupt: each
//!   request then sleeps until its interrupt; `polled` otherwise).
//!
//! Without a disk (no `1af4:1001` function) the module still starts and
//! answers every request with [`BlkError::NotStarted`].
//!
//! Every request is one chain: a header the device reads (type, sector),
//! the data, and a status byte it writes. Bad sectors or sizes are a
//! typed [`BlkError`], refused before the device sees them.
#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;

mod error;

use alloc::format;
use alloc::string::ToString;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use helix_modules::services::dma::DmaBuffer;
use helix_modules::services::hw::{HardwareAccess, IrqHandler};
use helix_modules::services::pci::DeviceId;
use helix_modules::v2::{Context, ModuleInfo, ModuleTrait, Request, Response};
use helix_modules::{ModuleError, ModuleFlags};
use helix_virtio::{Buf, IrqCounter, LegacyDevice, QueueIrq, VirtioError};

pub use error::BlkError;

/// The devices this driver drives: virtio block, transitional.
pub const IDS: [DeviceId; 1] = [DeviceId::new(0x1af4, 0x1001)];
/// Bytes per sector.
pub const SECTOR: usize = 512;
/// Most sectors one request reads or writes (32 KiB).
pub const MAX_SECTORS: u64 = 64;

const T_IN: u32 = 0;
const T_OUT: u32 = 1;
const T_FLUSH: u32 = 4;

/// The device once started: the device, its capacity, and one DMA buffer
/// holding a request's header (offset 0), status (16) and data (512..).
struct Disk {
    dev: LegacyDevice,
    sectors: u64,
    mem: DmaBuffer,
}

const HEADER: usize = 0;
const STATUS: usize = 16;
const DATA: usize = SECTOR;

/// The module (see the crate docs).
#[derive(Default)]
pub struct VirtioBlk {
    hw: Option<HardwareAccess>,
    disk: Option<Disk>,
    reads: u64,
    writes: u64,
    flushes: u64,
    errors: u64,
    /// Queue interrupts the device raised: with MSI-X routed, each request
    /// sleeps until one (see [`LegacyDevice::transfer`]).
    interrupts: Arc<IrqCounter>,
}

impl VirtioBlk {
    fn disk(&mut self) -> Result<&mut Disk, BlkError> {
        self.disk.as_mut().ok_or(BlkError::NotStarted)
    }

    /// The disk's size in sectors.
    pub fn sectors(&self) -> Option<u64> {
        self.disk.as_ref().map(|d| d.sectors)
    }

    fn check(&self, sector: u64, count: u64) -> Result<(), BlkError> {
        let capacity = self.sectors().ok_or(BlkError::NotStarted)?;
        if count == 0 {
            return Err(BlkError::BadRequest("no sectors"));
        }
        if count > MAX_SECTORS {
            return Err(BlkError::TooMany {
                count,
                max: MAX_SECTORS,
            });
        }
        if sector.checked_add(count).is_none_or(|end| end > capacity) {
            return Err(BlkError::OutOfRange {
                sector,
                count,
                capacity,
            });
        }
        Ok(())
    }

    /// One request: `kind` at `sector` over `len` data bytes.
    fn request(&mut self, kind: u32, sector: u64, len: usize) -> Result<(), BlkError> {
        let hw = self.hw.as_ref().ok_or(BlkError::NotStarted)?;
        let disk = self.disk.as_mut().ok_or(BlkError::NotStarted)?;
        disk.mem.write_u32(HEADER, kind)?;
        disk.mem.write_u32(HEADER + 4, 0)?;
        disk.mem.write_u64(HEADER + 8, sector)?;
        disk.mem.write(STATUS, &[0xff])?;
        let base = disk.mem.device_addr();
        let mut chain = vec![Buf {
            addr: base + HEADER as u64,
            len: 16,
            device_writes: false,
        }];
        if len > 0 {
            chain.push(Buf {
                addr: base + DATA as u64,
                len: len as u32,
                device_writes: kind == T_IN,
            });
        }
        chain.push(Buf {
            addr: base + STATUS as u64,
            len: 1,
            device_writes: true,
        });
        match disk.dev.transfer(hw, &chain) {
            Ok(_) => {}
            Err(VirtioError::Timeout) => {
                // The chain is still the device's, over the one buffer
                // every request reuses: the device is reset (it forgets
                // the queue) and the driver stops using it, rather than let
                // a late completion act on the next request's header.
                let _ = disk.dev.transport.reset();
                self.disk = None;
                return Err(BlkError::Timeout);
            }
            Err(e) => return Err(BlkError::Virtio(e)),
        }
        let mut status = [0xff];
        disk.mem.read(STATUS, &mut status)?;
        match status[0] {
            0 => Ok(()),
            s => Err(BlkError::Device(s)),
        }
    }

    /// Reads `count` sectors from `sector`.
    pub fn read(&mut self, sector: u64, count: u64) -> Result<Vec<u8>, BlkError> {
        self.check(sector, count)?;
        let len = count as usize * SECTOR;
        self.request(T_IN, sector, len)?;
        let mut out = vec![0; len];
        self.disk()?.mem.read(DATA, &mut out)?;
        self.reads += 1;
        Ok(out)
    }

    /// Writes `data` (whole sectors) from `sector`.
    pub fn write(&mut self, sector: u64, data: &[u8]) -> Result<(), BlkError> {
        if data.is_empty() || !data.len().is_multiple_of(SECTOR) {
            return Err(BlkError::BadRequest(
                "data must be a whole number of sectors",
            ));
        }
        self.check(sector, (data.len() / SECTOR) as u64)?;
        self.disk()?.mem.write(DATA, data)?;
        self.request(T_OUT, sector, data.len())?;
        self.writes += 1;
        Ok(())
    }

    /// Makes the writes so far durable.
    pub fn flush(&mut self) -> Result<(), BlkError> {
        self.request(T_FLUSH, 0, 0)?;
        self.flushes += 1;
        Ok(())
    }

    fn serve(&mut self, r: &Request) -> Result<Vec<u8>, BlkError> {
        match r.request_type.as_str() {
            "info" => {
                let n = self.sectors().ok_or(BlkError::NotStarted)?;
                Ok(format!(
                    "sectors={n} sector_size={SECTOR} bytes={}",
                    n.saturating_mul(SECTOR as u64)
                )
                .into_bytes())
            }
            "read" => {
                let text = core::str::from_utf8(&r.payload)
                    .map_err(|_| BlkError::BadRequest("read takes `SECTOR COUNT`"))?;
                let mut words = text.split_whitespace().map(str::parse::<u64>);
                match (words.next(), words.next(), words.next()) {
                    (Some(Ok(sector)), Some(Ok(count)), None) => self.read(sector, count),
                    _ => Err(BlkError::BadRequest("read takes `SECTOR COUNT`")),
                }
            }
            "write" => {
                let (head, data) =
                    r.payload
                        .split_first_chunk::<8>()
                        .ok_or(BlkError::BadRequest(
                            "write takes a sector (8 bytes LE) and data",
                        ))?;
                self.write(u64::from_le_bytes(*head), data)
                    .map(|()| Vec::new())
            }
            "flush" => self.flush().map(|()| Vec::new()),
            "stats" => Ok(format!(
                "reads={} writes={} flushes={} errors={} interrupts={} completions={}",
                self.reads,
                self.writes,
                self.flushes,
                self.errors,
                self.interrupts.count(),
                match &self.disk {
                    Some(d) if d.dev.irq != QueueIrq::Polled => "irq",
                    _ => "polled",
                }
            )
            .into_bytes()),
            _ => Err(BlkError::BadRequest(
                "unknown request (try info, read, write, flush, stats)",
            )),
        }
    }
}

impl ModuleTrait for VirtioBlk {
    fn info(&self) -> ModuleInfo {
        ModuleInfo::new("virtio_blk")
            .version(1, 0, 0)
            .description("virtio block device driver")
            .author("Helix developers")
            .license("MIT OR Apache-2.0")
            .flags(ModuleFlags::DRIVER)
            .provides(&["block"])
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
        // No disk is a normal machine: the driver runs idle, and every
        // request says there is no block device.
        let counter: Arc<dyn IrqHandler> = self.interrupts.clone();
        let dev = match LegacyDevice::open_with_irq(hw, 0, Some(counter)) {
            Ok(dev) => dev,
            Err(VirtioError::NoDevice) => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        let low = dev.transport.config_u32(0)?;
        let high = dev.transport.config_u32(4)?;
        let sectors = u64::from(low) | (u64::from(high) << 32);
        let mem = hw.alloc_dma(DATA + MAX_SECTORS as usize * SECTOR)?;
        self.disk = Some(Disk { dev, sectors, mem });
        Ok(())
    }

    fn stop(&mut self) -> Result<(), ModuleError> {
        if let Some(disk) = self.disk.take() {
            // The device forgets the queue and stops using memory before
            // the kernel frees it.
            disk.dev.transport.reset()?;
        }
        Ok(())
    }

    fn handle_request(&mut self, request: &Request) -> Result<Response, ModuleError> {
        match self.serve(request) {
            Ok(bytes) => Ok(Response::ok(bytes)),
            Err(e) => {
                self.errors += 1;
                Ok(Response::err(e.to_string()))
            }
        }
    }
}
