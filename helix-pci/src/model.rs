//! A modelled bus, the hardware test double for code that reads PCI
//! configuration space: functions built register by register, with each
//! register's writable bits, so that BAR sizing behaves as on hardware
//! (all ones written, the size mask read back). [`ModelBus::q35`] is QEMU's
//! q35 machine as the kernel sees it with a virtio-blk and a virtio-rng
//! device plugged in.

use crate::{Bdf, ConfigSpace, reg};
use alloc::collections::BTreeMap;
use core::cell::RefCell;

/// 256 bytes of configuration space, as dwords.
const DWORDS: usize = 64;

/// One modelled function: its registers and which bits of each a write
/// changes (the rest are read-only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelFunction {
    bdf: Bdf,
    regs: [u32; DWORDS],
    writable: [u32; DWORDS],
    last_cap: Option<u8>,
}

impl ModelFunction {
    /// A type 0 function with these ids, class code and revision; the
    /// command register's decode bits are on and writable.
    pub fn new(bdf: Bdf, vendor: u16, device: u16, class: [u8; 3], revision: u8) -> Self {
        let mut f = Self {
            bdf,
            regs: [0; DWORDS],
            writable: [0; DWORDS],
            last_cap: None,
        };
        f.regs[0] = u32::from(vendor) | (u32::from(device) << 16);
        f.regs[1] = reg::COMMAND_DECODE | 0b100;
        f.writable[1] = 0x0000_07ff;
        let [class, subclass, prog_if] = class;
        f.regs[2] = u32::from_be_bytes([class, subclass, prog_if, revision]);
        f
    }

    /// Where it is.
    pub fn bdf(&self) -> Bdf {
        self.bdf
    }

    /// Sets header-type bit 7: the device has more functions.
    pub fn multifunction(mut self) -> Self {
        self.regs[3] |= 0x80 << 16;
        self
    }

    /// Makes it a PCI-to-PCI bridge (header type 1) to `secondary`.
    pub fn bridge(mut self, secondary: u8) -> Self {
        self.regs[3] = (self.regs[3] & !(0x7f << 16)) | (1 << 16);
        self.regs[6] = (u32::from(secondary) << 8) | (u32::from(secondary) << 16);
        self
    }

    /// Sets the subsystem vendor and id.
    pub fn subsystem(mut self, vendor: u16, id: u16) -> Self {
        self.regs[11] = u32::from(vendor) | (u32::from(id) << 16);
        self
    }

    /// Sets the interrupt line and pin.
    pub fn interrupt(mut self, line: u8, pin: u8) -> Self {
        self.regs[15] = u32::from(line) | (u32::from(pin) << 8);
        self.writable[15] = 0xff;
        self
    }

    /// A 32-bit memory BAR in slot `index` at `base`, `size` bytes (a
    /// power of two, at least 16).
    pub fn mem32_bar(mut self, index: usize, base: u32, size: u32, prefetchable: bool) -> Self {
        let flags = if prefetchable { 1 << 3 } else { 0 };
        self.regs[4 + index] = base | flags;
        self.writable[4 + index] = !(size - 1);
        self
    }

    /// A 64-bit memory BAR in slots `index` and `index + 1`.
    pub fn mem64_bar(mut self, index: usize, base: u64, size: u64, prefetchable: bool) -> Self {
        let flags = 0b100 | if prefetchable { 1 << 3 } else { 0 };
        let mask = !(size - 1);
        self.regs[4 + index] = base as u32 | flags;
        self.regs[5 + index] = (base >> 32) as u32;
        self.writable[4 + index] = mask as u32;
        self.writable[5 + index] = (mask >> 32) as u32;
        self
    }

    /// An I/O BAR in slot `index` at port `base`, `size` ports; `wide`:
    /// the decoder has 32 address bits, else the upper half reads 0.
    pub fn io_bar(mut self, index: usize, base: u16, size: u16, wide: bool) -> Self {
        self.regs[4 + index] = u32::from(base) | 1;
        let mask = !(u32::from(size) - 1);
        self.writable[4 + index] = if wide { mask } else { mask & 0xffff };
        self
    }

    /// Appends a capability at `offset` (4-aligned, 0x40 or above):
    /// `body` is its bytes from the id on; the next pointer (byte 1) is
    /// filled in, and the status bit and list head are set.
    pub fn capability(mut self, offset: u8, body: &[u8]) -> Self {
        for (i, b) in body.iter().enumerate() {
            self.set_byte(usize::from(offset) + i, *b);
        }
        self.set_byte(usize::from(offset) + 1, 0);
        match self.last_cap {
            None => {
                self.regs[1] |= reg::STATUS_CAP_LIST << 16;
                self.set_byte(usize::from(reg::CAP_POINTER), offset);
            }
            Some(prev) => self.set_byte(usize::from(prev) + 1, offset),
        }
        self.last_cap = Some(offset);
        self
    }

    /// An MSI capability: 64-bit address or not, `log2_vectors` (0-5) in
    /// the multiple-message-capable field, per-vector masking or not.
    pub fn msi(self, offset: u8, address_64: bool, log2_vectors: u8, maskable: bool) -> Self {
        let control = (u16::from(log2_vectors) << 1)
            | if address_64 { 1 << 7 } else { 0 }
            | if maskable { 1 << 8 } else { 0 };
        let [lo, hi] = control.to_le_bytes();
        self.capability(offset, &[0x05, 0, lo, hi])
    }

    /// An MSI-X capability with `entries` vectors, the table and the
    /// pending-bit array at these BARs and offsets (8-aligned).
    pub fn msix(self, offset: u8, entries: u16, table: (u8, u32), pba: (u8, u32)) -> Self {
        let [lo, hi] = (entries - 1).to_le_bytes();
        let mut body = [0u8; 12];
        body[..4].copy_from_slice(&[0x11, 0, lo, hi]);
        body[4..8].copy_from_slice(&(table.1 | u32::from(table.0)).to_le_bytes());
        body[8..].copy_from_slice(&(pba.1 | u32::from(pba.0)).to_le_bytes());
        self.capability(offset, &body)
    }

    /// A virtio vendor capability (virtio 1.x layout): `cfg_type` at
    /// `bar` + `bar_offset`, `length` bytes; a notify capability (type 2)
    /// carries `multiplier`.
    pub fn virtio(self, offset: u8, cfg_type: u8, bar: u8, bar_offset: u32, length: u32) -> Self {
        let len = if cfg_type == 2 { 20 } else { 16 };
        let mut body = [0u8; 20];
        body[..4].copy_from_slice(&[0x09, 0, len, cfg_type]);
        body[4] = bar;
        body[8..12].copy_from_slice(&bar_offset.to_le_bytes());
        body[12..16].copy_from_slice(&length.to_le_bytes());
        body[16..].copy_from_slice(&4u32.to_le_bytes());
        self.capability(offset, &body[..usize::from(len)])
    }

    /// Sets one byte of configuration space (read-only to the bus).
    pub fn set_byte(&mut self, offset: usize, value: u8) {
        let shift = (offset % 4) * 8;
        let r = &mut self.regs[offset / 4];
        *r = (*r & !(0xff << shift)) | (u32::from(value) << shift);
    }

    /// [`Self::set_byte`], by value.
    pub fn with_byte(mut self, offset: usize, value: u8) -> Self {
        self.set_byte(offset, value);
        self
    }
}

/// A bus of modelled functions; a read of anything else returns all ones.
#[derive(Debug, Default)]
pub struct ModelBus {
    functions: RefCell<BTreeMap<Bdf, ModelFunction>>,
    writes: RefCell<usize>,
}

impl ModelBus {
    /// An empty bus.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) a function.
    pub fn add(&mut self, f: ModelFunction) {
        self.functions.get_mut().insert(f.bdf, f);
    }

    /// The register at `offset` as it is now (all ones when absent).
    pub fn register(&self, addr: Bdf, offset: u16) -> u32 {
        self.read32(addr, offset)
    }

    /// How many writes reached a function.
    pub fn writes(&self) -> usize {
        *self.writes.borrow()
    }

    /// QEMU's q35 with `-device virtio-rng-pci` and a transitional
    /// `virtio-blk-pci`, as the kernel measured it under QEMU 7.2 (ids,
    /// classes, subsystems, interrupt lines, BARs where SeaBIOS put them,
    /// capability offsets and order).
    pub fn q35() -> Self {
        let at = |d, f| Bdf::new(0, d, f).unwrap_or_else(|| unreachable!());
        let ich9 = |d, f, device, class| {
            ModelFunction::new(at(d, f), 0x8086, device, class, 2)
                .multifunction()
                .subsystem(0x1af4, 0x1100)
        };
        let mut bus = Self::new();
        bus.add(
            ModelFunction::new(at(0, 0), 0x8086, 0x29c0, [6, 0, 0], 0).subsystem(0x1af4, 0x1100),
        );
        bus.add(virtio(
            at(1, 0),
            0x1005,
            [0, 0xff, 0],
            4,
            (0xc0c0, 0x20),
            0xfebf_d000,
            0xfebf_4000,
        ));
        bus.add(virtio(
            at(2, 0),
            0x1001,
            [1, 0, 0],
            2,
            (0xc000, 0x80),
            0xfebf_e000,
            0xfebf_8000,
        ));
        bus.add(ich9(31, 0, 0x2918, [6, 1, 0]));
        bus.add(
            ich9(31, 2, 0x2922, [1, 6, 1])
                .interrupt(10, 1)
                .io_bar(4, 0xc0e0, 0x20, true)
                .mem32_bar(5, 0xfebf_f000, 0x1000, false)
                .msi(0x80, true, 0, false)
                .capability(0xa8, &[0x12, 0, 0x10, 0]),
        );
        bus.add(
            ich9(31, 3, 0x2930, [0x0c, 5, 0])
                .interrupt(10, 1)
                .io_bar(4, 0x0700, 0x40, true),
        );
        bus
    }
}

/// A transitional virtio function as QEMU builds one: legacy I/O BAR0
/// (`io`: base and size), MSI-X (2 vectors) in BAR1, the modern structures
/// in the 64-bit BAR4, the capabilities at QEMU's offsets.
fn virtio(
    bdf: Bdf,
    device: u16,
    class: [u8; 3],
    subsystem: u16,
    io: (u16, u16),
    msix_base: u32,
    modern_base: u64,
) -> ModelFunction {
    ModelFunction::new(bdf, 0x1af4, device, class, 0)
        .subsystem(0x1af4, subsystem)
        .interrupt(10, 1)
        .io_bar(0, io.0, io.1, true)
        .mem32_bar(1, msix_base, 0x1000, false)
        .mem64_bar(4, modern_base, 0x4000, true)
        .msix(0x98, 2, (1, 0), (1, 0x800))
        .virtio(0x84, 5, 0, 0, 0)
        .virtio(0x70, 2, 4, 0x3000, 0x1000)
        .virtio(0x60, 4, 4, 0x2000, 0x1000)
        .virtio(0x50, 3, 4, 0x1000, 0x1000)
        .virtio(0x40, 1, 4, 0, 0x1000)
}

impl ConfigSpace for ModelBus {
    fn read32(&self, addr: Bdf, offset: u16) -> u32 {
        let i = usize::from(offset / 4);
        self.functions
            .borrow()
            .get(&addr)
            .map_or(u32::MAX, |f| f.regs.get(i).copied().unwrap_or(0))
    }

    fn write32(&self, addr: Bdf, offset: u16, value: u32) {
        let i = usize::from(offset / 4);
        if let Some(f) = self.functions.borrow_mut().get_mut(&addr)
            && i < DWORDS
        {
            *self.writes.borrow_mut() += 1;
            let w = f.writable[i];
            f.regs[i] = (f.regs[i] & !w) | (value & w);
        }
    }
}
