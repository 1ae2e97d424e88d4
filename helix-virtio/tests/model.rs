//! The transport and the split virtqueue against a modelled legacy virtio
//! entropy device in `FakeHardware`: the model reads the queue from DMA
//! memory by device address, as QEMU does, fills each writable buffer and
//! returns the chain on the used ring. Negotiation, the queue address the
//! device is given, round trips through index wrap-around, chains of
//! several buffers, a full queue, a device returning a bogus id and one
//! rewriting the descriptor table's links.

use helix_modules::services::hw::{Hardware, HardwareAccess};
use helix_modules::testing::FakeHardware;
use helix_virtio::model::{self, RngModel, SIZE};
use helix_virtio::{Buf, LEGACY_ALIGN, LegacyTransport, SplitQueue, Used, VirtioError, status};
use spin::Mutex;
use std::sync::Arc;

const BASE: u16 = 0xc000;

fn setup() -> (
    FakeHardware,
    Arc<Mutex<RngModel>>,
    LegacyTransport,
    SplitQueue,
    helix_modules::services::dma::DmaBuffer,
) {
    let hw = FakeHardware::new();
    let d = model::install(&hw, BASE);
    let access = HardwareAccess::hosted(Arc::new(hw.clone()), "rng".into(), &[]);
    let t = LegacyTransport::new(hw.claim_ports("rng", BASE, 0x20).unwrap());
    assert_eq!(t.begin(0, 0), Ok(0));
    let size = t.queue_size(0).unwrap();
    assert_eq!(size, SIZE);
    let q = SplitQueue::new(&access, size).unwrap();
    t.set_queue(0, q.device_addr()).unwrap();
    t.ready().unwrap();
    let data = access.alloc_dma(4096).unwrap();
    (hw, d, t, q, data)
}

#[test]
fn negotiation_gives_the_device_the_queue_and_declares_the_driver_ready() {
    let (_hw, d, t, q, _) = setup();
    let d = d.lock();
    assert_eq!(
        d.status,
        status::ACKNOWLEDGE | status::DRIVER | status::DRIVER_OK
    );
    assert_eq!(u64::from(d.pfn) * LEGACY_ALIGN as u64, q.device_addr());
    assert_eq!(d.features, 0);
    drop(d);
    assert_eq!(t.status().unwrap() & status::DRIVER_OK, status::DRIVER_OK);
}

#[test]
fn buffers_come_back_filled_across_index_wrap_around() {
    let (_hw, _d, t, mut q, data) = setup();
    let mut expected = 0u64;
    for round in 0..70_000u32 {
        let len = 1 + round % 64;
        let head = q
            .add(&[Buf {
                addr: data.device_addr(),
                len,
                device_writes: true,
            }])
            .unwrap();
        assert_eq!(
            q.pop_used().unwrap(),
            None,
            "nothing used before the notify"
        );
        t.notify(0).unwrap();
        assert_eq!(q.pop_used().unwrap(), Some(Used { head, len }));
        let mut got = vec![0; len as usize];
        data.read(0, &mut got).unwrap();
        let want: Vec<u8> = (0..u64::from(len)).map(|i| (expected + i) as u8).collect();
        assert_eq!(got, want, "round {round}");
        expected += u64::from(len);
        assert_eq!(q.free_descriptors(), usize::from(SIZE));
    }
}

#[test]
fn chains_use_and_free_every_descriptor_and_a_full_queue_is_refused() {
    let (_hw, _d, t, mut q, data) = setup();
    let buf = |off: u64, len: u32, device_writes| Buf {
        addr: data.device_addr() + off,
        len,
        device_writes,
    };
    // A request the device reads, then two answers it writes.
    let head = q
        .add(&[buf(0, 16, false), buf(100, 8, true), buf(200, 8, true)])
        .unwrap();
    assert_eq!(q.free_descriptors(), 5);
    assert_eq!(q.add(&[buf(0, 1, true); 6]), Err(VirtioError::QueueFull));
    assert_eq!(q.add(&[]), Err(VirtioError::BadChain(0)));
    t.notify(0).unwrap();
    assert_eq!(q.pop_used().unwrap(), Some(Used { head, len: 16 }));
    assert_eq!(q.free_descriptors(), 8);
    let all: Vec<Buf> = (0..8).map(|i| buf(i * 8, 8, true)).collect();
    q.add(&all).unwrap();
    assert_eq!(q.free_descriptors(), 0);
    assert_eq!(q.add(&all[..1]), Err(VirtioError::QueueFull));
    t.notify(0).unwrap();
    assert!(q.pop_used().unwrap().is_some());
    assert_eq!(q.free_descriptors(), 8);
}

#[test]
fn a_device_rewriting_descriptor_links_cannot_make_one_descriptor_go_out_twice() {
    let (hw, _d, t, mut q, data) = setup();
    let buf = |off: u64| Buf {
        addr: data.device_addr() + off,
        len: 8,
        device_writes: true,
    };
    let chain: Vec<Buf> = (0..4).map(|i| buf(i * 8)).collect();
    let head = q.add(&chain).unwrap();
    t.notify(0).unwrap();
    // The descriptor table is device-writable: the device links every
    // descriptor to the head, with "next" set, after finishing the chain.
    for id in 0..u64::from(SIZE) {
        let at = q.device_addr() + id * 16;
        hw.dma_write(at + 12, &1u16.to_le_bytes()).unwrap();
        hw.dma_write(at + 14, &head.to_le_bytes()).unwrap();
    }
    assert_eq!(q.pop_used().unwrap().map(|u| u.head), Some(head));
    assert_eq!(q.free_descriptors(), usize::from(SIZE));
    // Every descriptor is free exactly once: a chain of all of them gets
    // eight different ones.
    let mut heads = Vec::new();
    for i in 0..u64::from(SIZE) {
        heads.push(q.add(&[buf(i * 8)]).unwrap());
    }
    heads.sort_unstable();
    assert_eq!(heads, (0..SIZE).collect::<Vec<_>>());
}

#[test]
fn a_device_answering_with_an_unknown_id_is_an_error_not_a_panic() {
    let (_hw, d, t, mut q, data) = setup();
    d.lock().bogus_id = Some(77);
    q.add(&[Buf {
        addr: data.device_addr(),
        len: 4,
        device_writes: true,
    }])
    .unwrap();
    t.notify(0).unwrap();
    assert_eq!(q.pop_used(), Err(VirtioError::BadUsedId(77)));
}

#[test]
fn queue_sizes_the_transport_cannot_use_are_refused() {
    let hw = FakeHardware::new();
    let access = HardwareAccess::hosted(Arc::new(hw), "rng".into(), &[]);
    for size in [0, 3, 100, 65535] {
        assert_eq!(
            SplitQueue::new(&access, size).unwrap_err(),
            VirtioError::BadQueueSize(size)
        );
    }
}
