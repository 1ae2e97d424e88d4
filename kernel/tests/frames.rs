//! Physical frame allocator: no frame handed out twice, freed frames
//! reused, double frees and foreign frames refused.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::collections::BTreeSet;
use alloc::vec::Vec;
use kernel::ktest;
use kernel::mm::frame::{self, FrameAllocError};
use x86_64::PhysAddr;
use x86_64::structures::paging::PhysFrame;

kernel::test_kernel!();

ktest!(
    fn never_hands_out_a_frame_twice() {
        let before = frame::stats().free;
        let frames: Vec<PhysFrame> = (0..2000).map(|_| frame::alloc().expect("frame")).collect();
        let unique: BTreeSet<u64> = frames.iter().map(|f| f.start_address().as_u64()).collect();
        assert_eq!(unique.len(), frames.len());
        assert_eq!(frame::stats().free, before - 2000);
        let (_, image_end) = kernel::mm::kernel_image();
        assert!(
            unique.iter().all(|&a| a >= image_end),
            "a frame overlaps the kernel image"
        );
        for f in frames {
            // SAFETY: allocated above and never mapped or used.
            unsafe { frame::free(f) }.expect("free");
        }
        assert_eq!(frame::stats().free, before);
    }
);

ktest!(
    fn freed_frame_is_reused() {
        let a = frame::alloc().unwrap();
        // SAFETY: allocated above and never mapped or used.
        unsafe { frame::free(a) }.unwrap();
        let b = frame::alloc().unwrap();
        assert_eq!(a, b);
        // SAFETY: as for `a`.
        unsafe { frame::free(b) }.unwrap();
    }
);

ktest!(
    fn double_free_is_an_error() {
        let a = frame::alloc().unwrap();
        // SAFETY: allocated above and never mapped or used.
        unsafe { frame::free(a) }.unwrap();
        let addr = a.start_address().as_u64();
        // SAFETY: `a` is still free: this test kernel runs no other thread
        // or CPU, so nothing allocated it in between; the allocator refuses
        // it and hands nothing out.
        let again = unsafe { frame::free(a) };
        assert_eq!(again, Err(FrameAllocError::AlreadyFree(addr)));
    }
);

ktest!(
    fn unmanaged_frames_are_refused() {
        let low = PhysFrame::containing_address(PhysAddr::new(0x1000));
        // SAFETY: the allocator manages neither frame (one is below the
        // kernel image, the other above 4 GiB), so it only refuses them:
        // nothing is handed out, nothing that uses them is affected.
        let refused = unsafe { frame::free(low) };
        assert_eq!(refused, Err(FrameAllocError::NotManaged(0x1000)));
        let high = PhysFrame::containing_address(PhysAddr::new(8 << 30));
        // SAFETY: as for `low`.
        let refused = unsafe { frame::free(high) };
        assert_eq!(refused, Err(FrameAllocError::NotManaged(8 << 30)));
    }
);

ktest!(
    fn exhaustion_is_an_error_and_recoverable() {
        let mut taken = Vec::with_capacity(frame::stats().free);
        loop {
            match frame::alloc() {
                Ok(f) => taken.push(f),
                Err(e) => {
                    assert_eq!(e, FrameAllocError::OutOfMemory);
                    break;
                }
            }
        }
        assert_eq!(frame::stats().free, 0);
        let n = taken.len();
        for f in taken {
            // SAFETY: allocated above and never mapped or used.
            unsafe { frame::free(f) }.unwrap();
        }
        assert_eq!(frame::stats().free, n);
        // SAFETY: the frame is freed right after its allocation, unused.
        assert!(frame::alloc().is_ok_and(|f| unsafe { frame::free(f) }.is_ok()));
    }
);

ktest!(
    fn initrd_frames_are_never_handed_out() {
        // Booted without an initrd (`cargo ktest`), nothing is kept out;
        // harness/tests/initrd.rs boots this kernel with one.
        let Some(m) = kernel::bootinfo::start_info().initrd().copied() else {
            assert_eq!(frame::stats().kept, 0);
            assert!(kernel::bootinfo::initrd().is_none());
            return;
        };
        let bytes = kernel::bootinfo::initrd().expect("an initrd below 4 GiB is used");
        assert_eq!(bytes.len() as u64, m.size);
        assert_eq!(bytes.as_ptr() as u64, m.paddr, "read in place");
        // Every frame the initrd touches, a partly covered last one too.
        let (first, end) = (m.paddr & !0xfff, m.end().next_multiple_of(0x1000));
        assert_eq!(frame::stats().kept as u64, (end - first) / 0x1000);
        let mut taken = Vec::with_capacity(frame::stats().free);
        while let Ok(f) = frame::alloc() {
            taken.push(f);
        }
        let inside = taken
            .iter()
            .map(|f| f.start_address().as_u64())
            .find(|a| (first..end).contains(a));
        for f in taken {
            // SAFETY: allocated above and never mapped or used.
            unsafe { frame::free(f) }.unwrap();
        }
        assert_eq!(inside, None, "a frame of the initrd was handed out");
        let initrd_frame = PhysFrame::containing_address(PhysAddr::new(first));
        // SAFETY: the allocator does not manage the initrd's frames, so it
        // only refuses this one: nothing is handed out or changed.
        let refused = unsafe { frame::free(initrd_frame) };
        assert_eq!(refused, Err(FrameAllocError::NotManaged(first)));
    }
);
