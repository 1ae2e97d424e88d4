//! DMA buffers from the kernel's hardware service: zeroed, physically
//! contiguous memory at the address a device uses (its physical address),
//! bounds-checked, sized within the limits, and freed, frames and all, when
//! the driver that holds them is released (a stop or a fault); the handles
//! it kept then fail with `Released`.
#![no_std]
#![no_main]

extern crate alloc;

use helix_modules::services::hw::{Hardware, HwError};
use kernel::arch::x86_64::paging;
use kernel::mm::frame;
use kernel::{dma, ktest};

kernel::test_kernel!();

ktest!(
    fn a_buffer_is_zeroed_contiguous_memory_at_its_physical_address() {
        let hw = kernel::hw::hardware();
        let free_before = frame::stats().free;
        let buf = hw.alloc_dma("dma_test", 3 * 4096 + 100).expect("alloc");
        assert_eq!(buf.len(), 3 * 4096 + 100);
        assert_eq!(frame::stats().free, free_before - 4);
        let phys = buf.device_addr();
        assert_eq!(phys % 4096, 0);
        // The identity map: the device address is the physical address of
        // each of the four pages, in order.
        for page in 0..4u64 {
            let at = phys + page * 4096;
            assert_eq!(paging::translate(at).map(|p| p.as_u64()), Some(at));
        }
        for offset in (0..buf.len() - 8).step_by(509) {
            assert_eq!(buf.read_u64(offset), Ok(0), "not zeroed at {offset}");
        }
        buf.write_u32(4094, 0x1122_3344).unwrap();
        buf.write_u64(8, u64::MAX - 1).unwrap();
        assert_eq!(buf.read_u32(4094), Ok(0x1122_3344));
        assert_eq!(buf.read_u64(8), Ok(u64::MAX - 1));
        // What the device would see in memory, byte by byte.
        let mut raw = [0u8; 4];
        buf.read(4094, &mut raw).unwrap();
        assert_eq!(raw, [0x44, 0x33, 0x22, 0x11]);
        assert!(matches!(
            buf.write_u16(buf.len() - 1, 1),
            Err(HwError::DmaOutOfRange { .. })
        ));

        assert_eq!(hw.release_all("dma_test"), 1);
        assert_eq!(frame::stats().free, free_before);
        assert_eq!(buf.read_u64(8), Err(HwError::Released));
        assert_eq!(dma::stats().0, 0);
    }
);

ktest!(
    fn sizes_outside_the_limits_are_refused() {
        let hw = kernel::hw::hardware();
        for len in [0, dma::MAX_DMA + 1] {
            assert_eq!(
                hw.alloc_dma("dma_test", len).unwrap_err(),
                HwError::DmaUnavailable { len }
            );
        }
        let biggest = hw
            .alloc_dma("dma_test", dma::MAX_DMA)
            .expect("the largest buffer");
        assert_eq!(biggest.read_u64(dma::MAX_DMA - 8), Ok(0));
        assert_eq!(hw.release_all("dma_test"), 1);
    }
);
