//! Modelled legacy virtio devices for host tests (feature `testing`):
//! ports in [`FakeHardware`] at a base of the test's choosing, one queue;
//! on a notify the model reads the queue from DMA memory by device
//! address, as QEMU does, serves each chain, and returns it on the used
//! ring. [`install`] makes an entropy device (every device-writable buffer
//! gets the next bytes of a counter); [`install_blk`] a block device over
//! an in-memory disk.

use alloc::sync::Arc;
use alloc::vec::Vec;
use helix_modules::testing::FakeHardware;
use spin::Mutex;

use crate::LEGACY_ALIGN;

/// The model's queue size.
pub const SIZE: u16 = 8;

/// The modelled device's state, shared with the test.
#[derive(Debug, Default)]
pub struct RngModel {
    /// Device status register.
    pub status: u8,
    /// Features the driver accepted.
    pub features: u32,
    /// The queue's page frame number the driver gave.
    pub pfn: u32,
    used_idx: u16,
    last_avail: u16,
    /// Bytes handed out so far (the "entropy" is a counter).
    pub produced: u64,
    /// Answer the next chain with this id instead of the right one.
    pub bogus_id: Option<u32>,
    /// Notifies seen.
    pub notifies: u64,
}

fn u16_at(hw: &FakeHardware, addr: u64) -> u16 {
    hw.dma_read(addr, 2)
        .map(|b| u16::from_le_bytes([b[0], b[1]]))
        .unwrap_or(0)
}

fn field<const N: usize>(b: &[u8], at: usize) -> [u8; N] {
    let mut out = [0; N];
    out.copy_from_slice(&b[at..at + N]);
    out
}

/// One buffer of a chain as the device sees it: address, length, whether
/// the device writes it.
type Desc = (u64, u32, bool);

/// Walks every newly available chain of the queue at page `pfn`, hands
/// its buffers to `chain` (which returns the bytes written) and returns it
/// on the used ring. `cursor` is the device's (used index, last available
/// index); `bogus` replaces the next used id.
fn serve_queue(
    hw: &FakeHardware,
    pfn: u32,
    cursor: &mut (u16, u16),
    bogus: &mut Option<u32>,
    mut chain: impl FnMut(&FakeHardware, &[Desc]) -> u32,
) {
    let base = u64::from(pfn) * LEGACY_ALIGN as u64;
    let n = u64::from(SIZE);
    let avail = base + n * 16;
    let used = (avail + 6 + 2 * n).next_multiple_of(LEGACY_ALIGN as u64);
    let avail_idx = u16_at(hw, avail + 2);
    while cursor.1 != avail_idx {
        let slot = u64::from(cursor.1 % SIZE);
        let head = u16_at(hw, avail + 4 + 2 * slot);
        let mut descs = Vec::new();
        let mut id = head;
        for _ in 0..SIZE {
            let Ok(desc) = hw.dma_read(base + u64::from(id % SIZE) * 16, 16) else {
                return;
            };
            let flags = u16::from_le_bytes(field(&desc, 12));
            descs.push((
                u64::from_le_bytes(field(&desc, 0)),
                u32::from_le_bytes(field(&desc, 8)),
                flags & 2 != 0,
            ));
            if flags & 1 == 0 {
                break;
            }
            id = u16::from_le_bytes(field(&desc, 14));
        }
        let written = chain(hw, &descs);
        let uslot = u64::from(cursor.0 % SIZE);
        let id = bogus.take().unwrap_or(u32::from(head));
        let _ = hw.dma_write(used + 4 + 8 * uslot, &id.to_le_bytes());
        let _ = hw.dma_write(used + 8 + 8 * uslot, &written.to_le_bytes());
        cursor.0 = cursor.0.wrapping_add(1);
        let _ = hw.dma_write(used + 2, &cursor.0.to_le_bytes());
        cursor.1 = cursor.1.wrapping_add(1);
    }
}

/// Processes every newly available chain, as the device does on a notify.
fn serve(hw: &FakeHardware, d: &mut RngModel) {
    d.notifies += 1;
    let mut cursor = (d.used_idx, d.last_avail);
    let mut produced = d.produced;
    serve_queue(hw, d.pfn, &mut cursor, &mut d.bogus_id, |hw, descs| {
        let mut written = 0;
        for &(addr, len, device_writes) in descs {
            if device_writes {
                let bytes: Vec<u8> = (0..len).map(|i| (produced + u64::from(i)) as u8).collect();
                if hw.dma_write(addr, &bytes).is_ok() {
                    produced += u64::from(len);
                    written += len;
                }
            }
        }
        written
    });
    (d.used_idx, d.last_avail) = cursor;
    d.produced = produced;
}

/// Installs a legacy entropy device with its registers at `base` (0x20
/// ports) in `hw`; returns its state.
pub fn install(hw: &FakeHardware, base: u16) -> Arc<Mutex<RngModel>> {
    let d = Arc::new(Mutex::new(RngModel::default()));
    hw.on_read(base, |_, _| 0);
    let dev = d.clone();
    hw.on_write(base + 4, move |_, _, v| dev.lock().features = v);
    hw.on_read(base + 0x0c, |_, _| u32::from(SIZE));
    let dev = d.clone();
    hw.on_write(base + 0x08, move |_, _, v| dev.lock().pfn = v);
    let dev = d.clone();
    hw.on_write(base + 0x12, move |_, _, v| {
        let mut d = dev.lock();
        d.status = v as u8;
        if v == 0 {
            // A reset: the device forgets its queue.
            (d.pfn, d.used_idx, d.last_avail) = (0, 0, 0);
        }
    });
    let dev = d.clone();
    hw.on_read(base + 0x12, move |_, _| u32::from(dev.lock().status));
    let dev = d.clone();
    hw.on_write(base + 0x10, move |hw, _, _| serve(hw, &mut dev.lock()));
    d
}

/// The modelled block device's state, shared with the test.
#[derive(Debug, Default)]
pub struct BlkModel {
    /// Device status register.
    pub status: u8,
    /// The queue's page frame number the driver gave.
    pub pfn: u32,
    cursor: (u16, u16),
    bogus: Option<u32>,
    /// The disk, 512-byte sectors.
    pub disk: Vec<u8>,
    /// Flush requests seen.
    pub flushes: u64,
}

/// Serves one block request chain: header (type, reserved, sector), data,
/// status byte.
fn blk_chain(hw: &FakeHardware, d: &mut BlkModel, descs: &[Desc]) -> u32 {
    let [(hdr, 16, false), data @ .., (status, 1, true)] = descs else {
        return 0;
    };
    let Ok(h) = hw.dma_read(*hdr, 16) else {
        return 0;
    };
    let kind = u32::from_le_bytes(field(&h, 0));
    let sector = u64::from_le_bytes(field(&h, 8));
    let mut offset = (sector * 512) as usize;
    let mut written = 0;
    let mut ok = true;
    for &(addr, len, device_writes) in data {
        let end = offset + len as usize;
        if end > d.disk.len() {
            ok = false;
            break;
        }
        match (kind, device_writes) {
            (0, true) => {
                ok &= hw.dma_write(addr, &d.disk[offset..end]).is_ok();
                written += len;
            }
            (1, false) => match hw.dma_read(addr, len as usize) {
                Ok(bytes) => d.disk[offset..end].copy_from_slice(&bytes),
                Err(_) => ok = false,
            },
            _ => ok = false,
        }
        offset = end;
    }
    if kind == 4 {
        d.flushes += 1;
        ok = data.is_empty();
    }
    let _ = hw.dma_write(*status, &[if ok { 0 } else { 1 }]);
    written + 1
}

/// Installs a legacy block device of `sectors` 512-byte sectors with its
/// registers at `base` (0x20 ports) in `hw`; returns its state (the disk
/// included).
pub fn install_blk(hw: &FakeHardware, base: u16, sectors: u64) -> Arc<Mutex<BlkModel>> {
    let d = Arc::new(Mutex::new(BlkModel {
        disk: alloc::vec![0; (sectors * 512) as usize],
        ..BlkModel::default()
    }));
    hw.on_read(base, |_, _| 0);
    hw.on_read(base + 0x0c, |_, _| u32::from(SIZE));
    hw.on_read(base + 0x14, move |_, _| sectors as u32);
    hw.on_read(base + 0x18, move |_, _| (sectors >> 32) as u32);
    let dev = d.clone();
    hw.on_write(base + 0x08, move |_, _, v| dev.lock().pfn = v);
    let dev = d.clone();
    hw.on_write(base + 0x12, move |_, _, v| {
        let mut d = dev.lock();
        d.status = v as u8;
        if v == 0 {
            (d.pfn, d.cursor) = (0, (0, 0));
        }
    });
    let dev = d.clone();
    hw.on_read(base + 0x12, move |_, _| u32::from(dev.lock().status));
    let dev = d.clone();
    hw.on_write(base + 0x10, move |hw, _, _| {
        let mut guard = dev.lock();
        let d = &mut *guard;
        let (pfn, mut cursor, mut bogus) = (d.pfn, d.cursor, d.bogus.take());
        serve_queue(hw, pfn, &mut cursor, &mut bogus, |hw, descs| {
            blk_chain(hw, d, descs)
        });
        d.cursor = cursor;
    });
    d
}
