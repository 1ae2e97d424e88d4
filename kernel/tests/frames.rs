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
            frame::free(f).expect("free");
        }
        assert_eq!(frame::stats().free, before);
    }
);

ktest!(
    fn freed_frame_is_reused() {
        let a = frame::alloc().unwrap();
        frame::free(a).unwrap();
        let b = frame::alloc().unwrap();
        assert_eq!(a, b);
        frame::free(b).unwrap();
    }
);

ktest!(
    fn double_free_is_an_error() {
        let a = frame::alloc().unwrap();
        frame::free(a).unwrap();
        let addr = a.start_address().as_u64();
        assert_eq!(frame::free(a), Err(FrameAllocError::AlreadyFree(addr)));
    }
);

ktest!(
    fn unmanaged_frames_are_refused() {
        let low = PhysFrame::containing_address(PhysAddr::new(0x1000));
        assert_eq!(frame::free(low), Err(FrameAllocError::NotManaged(0x1000)));
        let high = PhysFrame::containing_address(PhysAddr::new(8 << 30));
        assert_eq!(frame::free(high), Err(FrameAllocError::NotManaged(8 << 30)));
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
            frame::free(f).unwrap();
        }
        assert_eq!(frame::stats().free, n);
        assert!(frame::alloc().is_ok_and(|f| frame::free(f).is_ok()));
    }
);
