//! Memory protection: page 0 is unmapped, kernel text cannot be written,
//! read-only data cannot be written, and nothing but kernel text can be
//! executed (heap, stacks, data, the identity map of physical memory); no
//! page is both writable and executable, on any CPU (booted with two).
//!
//! Every faulting access goes through `kernel::arch::x86_64::provoke`, one
//! instruction each; code the tests jump into is a lone `ret` (0xc3), so a
//! missing protection fails the test ("did not panic") instead of
//! corrupting the kernel, and writes store the value already there. That
//! is what each `unsafe` call below relies on (see `provoke`'s `# Safety`).
#![no_std]
#![no_main]

extern crate alloc;

use alloc::boxed::Box;
use core::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use kernel::arch::x86_64::ap_startup::TRAMPOLINE_ADDR;
use kernel::arch::x86_64::paging::{self, Mapping};
use kernel::arch::x86_64::{protect, provoke};
use kernel::mm::{PAGE_SIZE, frame, heap, stack};
use kernel::{ktest, thread};

kernel::test_kernel!();
kernel::qemu_smp!(2);

/// `ret`: what the tests try to execute.
const RET: u8 = 0xc3;

/// Read-only data (it has no interior mutability, so it lands in
/// `.rodata`).
static READ_ONLY: u64 = 0x0123_4567_89ab_cdef;

/// Writable data (an atomic, so it lands in `.data`).
static WRITABLE: AtomicU8 = AtomicU8::new(RET);

ktest!(
    #[should_panic(expected = "CR2=0x0")]
    fn null_page_faults() {
        provoke::null_read();
    }
);

ktest!(
    #[should_panic(expected = "(not present, read, kernel)")]
    fn null_read_faults() {
        // SAFETY: page 0 is unmapped: the read faults.
        unsafe { provoke::load(0) };
    }
);

ktest!(
    #[should_panic(expected = "(not present, write, kernel)")]
    fn null_write_faults() {
        // SAFETY: page 0 is unmapped: the write faults.
        unsafe { provoke::store(0, 0) };
    }
);

ktest!(
    #[should_panic(expected = "(not present, instruction fetch, kernel)")]
    fn null_call_faults() {
        // SAFETY: page 0 is unmapped: the fetch faults.
        unsafe { provoke::jump(0) };
    }
);

ktest!(
    #[should_panic(expected = "CR2=0xff8")]
    fn last_word_of_page_0_faults() {
        // SAFETY: page 0 is unmapped: the read faults.
        unsafe { provoke::load(PAGE_SIZE - 8) };
    }
);

ktest!(
    #[should_panic(expected = "(protection violation, write, kernel)")]
    fn write_to_kernel_text_faults() {
        let code = provoke::load as *const () as u64 & !7;
        assert!(protect::sections().text.contains(&code));
        // SAFETY: kernel text is readable, aligned here, and never written.
        let word = unsafe { provoke::load(code) };
        // SAFETY: text is read-only, so the write faults; were it not, the
        // value written is the one already there, in code nothing runs or
        // reads concurrently in a way a same-value store could disturb.
        unsafe { provoke::store(code, word) };
    }
);

ktest!(
    #[should_panic(expected = "(protection violation, write, kernel)")]
    fn write_to_read_only_data_faults() {
        let addr = &raw const READ_ONLY as u64;
        assert!(protect::sections().rodata.contains(&addr));
        // SAFETY: .rodata is read-only, so the write faults; were it not,
        // the value written is the one already there.
        unsafe { provoke::store(addr, READ_ONLY) };
    }
);

ktest!(
    #[should_panic(expected = "(protection violation, instruction fetch, kernel)")]
    fn jump_into_heap_faults() {
        let code = Box::new([RET; 16]);
        let addr = code.as_ptr() as u64;
        assert!(addr >= heap::HEAP_START);
        // SAFETY: the heap is not executable, so the fetch faults; were it,
        // the code is a `ret`, alive in `code` until after the call.
        unsafe { provoke::jump(addr) };
    }
);

ktest!(
    #[should_panic(expected = "(protection violation, instruction fetch, kernel)")]
    fn jump_into_stack_faults() {
        // Tests run on `main`'s stack, a guarded kernel stack like every
        // thread's.
        let code = core::hint::black_box([RET; 16]);
        let addr = code.as_ptr() as u64;
        assert!(addr >= stack::REGION_START);
        // SAFETY: stacks are not executable, so the fetch faults; were they,
        // the code is a `ret`, alive in `code` until after the call.
        unsafe { provoke::jump(addr) };
    }
);

ktest!(
    #[should_panic(expected = "(protection violation, instruction fetch, kernel)")]
    fn jump_into_thread_stack_faults() {
        // Another thread puts code on its stack and waits (at most a
        // second) while this one jumps into it.
        static CODE_AT: AtomicU64 = AtomicU64::new(0);
        kernel::testing::up();
        thread::spawn("stack_code", || {
            let code = core::hint::black_box([RET; 16]);
            CODE_AT.store(code.as_ptr() as u64, Ordering::Release);
            thread::sleep_ms(1000);
            core::hint::black_box(&code);
        })
        .expect("spawn");
        while CODE_AT.load(Ordering::Acquire) == 0 {
            thread::sleep_ms(1);
        }
        let addr = CODE_AT.load(Ordering::Acquire);
        assert!(addr >= stack::REGION_START);
        // SAFETY: stacks are not executable, so the fetch faults; were
        // they, the code is a `ret` on a stack that lives for a second yet.
        unsafe { provoke::jump(addr) };
    }
);

ktest!(
    #[should_panic(expected = "(protection violation, instruction fetch, kernel)")]
    fn jump_into_identity_map_faults() {
        let f = frame::alloc().expect("a free frame");
        let addr = f.start_address().as_u64();
        // SAFETY: a frame just allocated for this test alone, below 4 GiB,
        // so identity-mapped (writable, not executable) at its address.
        unsafe { core::ptr::write_bytes(addr as *mut u8, RET, PAGE_SIZE as usize) };
        // SAFETY: the identity map is not executable, so the fetch faults;
        // were it, the code is a `ret` in a frame this test owns. (The
        // frame leaks with the fault.)
        unsafe { provoke::jump(addr) };
    }
);

ktest!(
    #[should_panic(expected = "(protection violation, instruction fetch, kernel)")]
    fn jump_into_kernel_data_faults() {
        let addr = WRITABLE.as_ptr() as u64;
        assert!(protect::sections().data.contains(&addr));
        assert_eq!(WRITABLE.load(Ordering::Relaxed), RET);
        // SAFETY: kernel data is not executable, so the fetch faults; were
        // it, the code is a `ret`, which nothing ever changes.
        unsafe { provoke::jump(addr) };
    }
);

fn page(addr: u64) -> Mapping {
    paging::lookup(addr).unwrap_or_else(|| panic!("{addr:#x} is not mapped"))
}

ktest!(
    fn sections_have_their_permissions() {
        let s = protect::sections();
        assert!(paging::lookup(0).is_none(), "page 0 is mapped");
        assert!(paging::lookup(PAGE_SIZE - 1).is_none(), "page 0 is mapped");
        assert!(paging::lookup(PAGE_SIZE).is_some(), "page 1 is not mapped");
        for addr in s.image.clone().step_by(PAGE_SIZE as usize) {
            let m = page(addr);
            assert_eq!(m.size, PAGE_SIZE, "{addr:#x} is in a {:#x} page", m.size);
            assert_eq!(m.phys, addr, "{addr:#x} is not identity-mapped");
            let expected = if s.text.contains(&addr) {
                (false, true)
            } else if s.data.contains(&addr) {
                (true, false)
            } else {
                (false, false)
            };
            assert_eq!(
                (m.writable, m.executable),
                expected,
                "{addr:#x} (writable, executable)"
            );
        }
        let h = page(heap::HEAP_START);
        assert!(h.writable && !h.executable, "heap: {h:?}");
        let free = frame::alloc().expect("a free frame");
        let f = page(free.start_address().as_u64());
        // SAFETY: allocated above and never used; only its mapping was read.
        unsafe { frame::free(free) }.expect("free");
        assert!(f.writable && !f.executable, "identity map: {f:?}");
    }
);

ktest!(
    fn every_cpu_enforces_protection() {
        kernel::testing::up();
        let cpus = kernel::smp::cpu_count();
        assert_eq!(cpus, 2, "booted with two CPUs");
        assert_eq!(protect::checked_cpus(), (1 << cpus) - 1);
        // The AP trampoline ends executable and read-only.
        let t = page(TRAMPOLINE_ADDR);
        assert!(t.executable && !t.writable, "trampoline: {t:?}");
    }
);

ktest!(
    fn no_page_is_writable_and_executable() {
        kernel::testing::up();
        let s = protect::sections();
        let heap_end = heap::HEAP_START + heap::stats().size as u64;
        let (mut image_pages, mut heap_pages, mut total, mut executable) = (0u64, 0u64, 0u64, 0u64);
        let mut first_bad: Option<Mapping> = None;
        paging::for_each_mapping(|m| {
            total += 1;
            if m.executable {
                executable += m.size;
            }
            if m.writable && m.executable && first_bad.is_none() {
                first_bad = Some(*m);
            }
            if s.image.contains(&m.virt) {
                image_pages += 1;
            }
            if (heap::HEAP_START..heap_end).contains(&m.virt) {
                heap_pages += 1;
            }
        });
        assert_eq!(first_bad, None, "a page is writable and executable");
        let image = (s.image.end - s.image.start) / PAGE_SIZE;
        assert_eq!(
            image_pages, image,
            "every image page is mapped, in 4 KiB pages"
        );
        let heap = (heap_end - heap::HEAP_START) / PAGE_SIZE;
        assert_eq!(heap_pages, heap, "every heap page is mapped");
        // Only the text and the trampoline page can be executed.
        assert_eq!(executable, s.text.end - s.text.start + PAGE_SIZE);
        assert!(total > image + heap);
    }
);
