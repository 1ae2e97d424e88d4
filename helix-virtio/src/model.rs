//! A modelled legacy virtio entropy device for host tests (feature
//! `testing`): ports in [`FakeHardware`] at a base of the test's choosing,
//! one queue; on a notify it reads the queue from DMA memory by device
//! address, as QEMU does, fills every device-writable buffer with the next
//! bytes of a counter, and returns each chain on the used ring.

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

/// Processes every newly available chain, as the device does on a notify.
fn serve(hw: &FakeHardware, d: &mut RngModel) {
    d.notifies += 1;
    let base = u64::from(d.pfn) * LEGACY_ALIGN as u64;
    let n = u64::from(SIZE);
    let avail = base + n * 16;
    let used = (avail + 6 + 2 * n).next_multiple_of(LEGACY_ALIGN as u64);
    let avail_idx = u16_at(hw, avail + 2);
    while d.last_avail != avail_idx {
        let slot = u64::from(d.last_avail % SIZE);
        let head = u16_at(hw, avail + 4 + 2 * slot);
        let (mut id, mut written) = (head, 0u32);
        for _ in 0..SIZE {
            let Ok(desc) = hw.dma_read(base + u64::from(id % SIZE) * 16, 16) else {
                return;
            };
            let addr = u64::from_le_bytes(field(&desc, 0));
            let len = u32::from_le_bytes(field(&desc, 8));
            let flags = u16::from_le_bytes(field(&desc, 12));
            if flags & 2 != 0 {
                let bytes: Vec<u8> = (0..len)
                    .map(|i| (d.produced + u64::from(i)) as u8)
                    .collect();
                if hw.dma_write(addr, &bytes).is_ok() {
                    d.produced += u64::from(len);
                    written += len;
                }
            }
            if flags & 1 == 0 {
                break;
            }
            id = u16::from_le_bytes(field(&desc, 14));
        }
        let uslot = u64::from(d.used_idx % SIZE);
        let id = d.bogus_id.take().unwrap_or(u32::from(head));
        let _ = hw.dma_write(used + 4 + 8 * uslot, &id.to_le_bytes());
        let _ = hw.dma_write(used + 8 + 8 * uslot, &written.to_le_bytes());
        d.used_idx = d.used_idx.wrapping_add(1);
        let _ = hw.dma_write(used + 2, &d.used_idx.to_le_bytes());
        d.last_avail = d.last_avail.wrapping_add(1);
    }
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
