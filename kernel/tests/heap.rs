//! Kernel heap: allocation and release, growth past the initial mapping,
//! and the statistics the rest of the kernel reads.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::boxed::Box;
use alloc::vec::Vec;
use kernel::ktest;
use kernel::mm::heap;

kernel::test_kernel!();

ktest!(
    fn allocate_and_free_updates_used() {
        let before = heap::stats().used;
        let block = Box::new([7u8; 4096]);
        assert!(heap::stats().used >= before + 4096);
        assert_eq!(block[4095], 7);
        drop(block);
        assert_eq!(heap::stats().used, before);
    }
);

ktest!(
    fn freed_memory_is_reused() {
        let size_before = heap::stats().size;
        for round in 0..64u32 {
            let v: Vec<u32> = (0..16_384).map(|i| i ^ round).collect();
            assert_eq!(v[16_383], 16_383 ^ round);
        }
        // 64 rounds of 64 KiB would need 4 MiB without reuse; with reuse the
        // heap did not have to grow at all.
        assert_eq!(heap::stats().size, size_before);
    }
);

ktest!(
    fn heap_grows_beyond_initial_size() {
        let before = heap::stats();
        let big: Vec<u8> = alloc::vec![0xa5; heap::INITIAL_SIZE * 3];
        let after = heap::stats();
        assert!(
            after.size > before.size,
            "heap did not grow: {} -> {}",
            before.size,
            after.size
        );
        assert!(after.size >= heap::INITIAL_SIZE * 3);
        assert!(after.grows > before.grows);
        assert!(big.iter().all(|&b| b == 0xa5));
        assert!(after.peak >= big.len());
    }
);

ktest!(
    fn peak_is_never_below_used() {
        let keep: Vec<Box<u64>> = (0..1000).map(Box::new).collect();
        let s = heap::stats();
        assert!(s.peak >= s.used);
        assert_eq!(s.used + s.free, s.size);
        assert_eq!(*keep[999], 999);
    }
);

ktest!(
    fn many_small_allocations_of_mixed_alignment() {
        #[repr(align(64))]
        struct Aligned(u8);
        let boxes: Vec<Box<Aligned>> = (0..500).map(|i| Box::new(Aligned(i as u8))).collect();
        for (i, b) in boxes.iter().enumerate() {
            assert_eq!((&**b as *const Aligned as usize) % 64, 0);
            assert_eq!(b.0, i as u8);
        }
    }
);

ktest!(
    fn an_owner_over_its_limit_is_refused_except_in_kernel_work() {
        use core::alloc::Layout;
        use kernel::arch::x86_64::{cpu, percpu};
        use kernel::mm::account;
        // An owner no module uses, with no room at all.
        const OWNER: u32 = 250;
        account::set_limit(OWNER, 0);
        let layout = Layout::new::<[u64; 4]>();
        let before = cpu::without_interrupts(|| percpu::set_charge(OWNER));
        // SAFETY: a plain allocation of a non-zero-sized layout; the
        // result is checked and freed below with the same layout.
        let refused = unsafe { alloc::alloc::alloc(layout) };
        // Kernel work on the owner's behalf (a module's call into the
        // registry) is charged but not limited.
        kernel::thread::exec::enter_section();
        // SAFETY: as above.
        let allowed = unsafe { alloc::alloc::alloc(layout) };
        let charged = account::usage(OWNER).in_use;
        kernel::thread::exec::leave_section();
        cpu::without_interrupts(|| percpu::set_charge(before));
        assert!(refused.is_null(), "the limit was not enforced");
        assert!(!allowed.is_null(), "kernel work was held to the limit");
        assert_eq!(charged, 32, "kernel work is still charged to its owner");
        // SAFETY: `allowed` came from `alloc` with `layout` just above.
        unsafe { alloc::alloc::dealloc(allowed, layout) };
        assert_eq!(account::usage(OWNER).in_use, 0);
        assert_eq!(account::usage(OWNER).failures, 1);
    }
);
