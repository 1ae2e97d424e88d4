//! Module images (`mm::image`): the built-in sample module
//! (`helix_loader::sample`) is mapped in its own slot, relocated, and
//! protected W^X (code read + execute, read-only data read, data read +
//! write); its function runs and returns the relocated address; writing its
//! code or calling into its data faults; dropping it gives every frame
//! back; a plan that does not fit its bytes is refused with nothing
//! allocated.
//!
//! The faulting tests follow `kernel/tests/protection.rs`: a write stores
//! the value already there, and the data called into is a `ret` (0xc3), so
//! a missing protection fails the test ("did not panic") without harm. An
//! image whose test faults is leaked with it (the runner does not unwind).
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;
use helix_loader::elf::{self, Plan};
use helix_loader::sample;
use kernel::arch::x86_64::paging;
use kernel::arch::x86_64::provoke;
use kernel::ktest;
use kernel::mm::PAGE_SIZE;
use kernel::mm::frame;
use kernel::mm::image::{Image, ImageError, REGION_START, SLOT_SIZE};

kernel::test_kernel!();

fn sample() -> (Plan, Vec<u8>) {
    let bytes = sample::image();
    let plan = elf::plan(&bytes).expect("the sample is a valid module");
    (plan, bytes)
}

fn load() -> Image {
    let (plan, bytes) = sample();
    Image::load(&plan, &bytes).unwrap_or_else(|e| panic!("load: {e}"))
}

/// (writable, executable) of the page at `addr`.
fn access(addr: u64) -> (bool, bool) {
    let m = paging::lookup(addr).unwrap_or_else(|| panic!("{addr:#x} is not mapped"));
    assert_eq!(m.size, PAGE_SIZE);
    (m.writable, m.executable)
}

ktest!(
    fn sample_runs_at_its_relocated_address() {
        let image = load();
        let base = image.base();
        assert!(base >= REGION_START && base.is_multiple_of(SLOT_SIZE));
        assert_eq!(image.len(), sample::SPAN);
        assert_eq!(image.entry(), base + sample::ENTRY);
        // SAFETY: `entry` is the sample's function, `mov rax, [rip + X];
        // ret`, mapped read + execute in `image`, which lives until after
        // the call; it reads one word of its own data segment and follows
        // the System V ABI as `extern "C" fn() -> u64`.
        let function: extern "C" fn() -> u64 =
            unsafe { core::mem::transmute(image.entry() as *const ()) };
        let got = function();
        assert_eq!(got, base + sample::TARGET, "the relocated address");
        // SAFETY: `got` is the image's read-only target word, mapped and
        // 8-byte aligned, which nothing writes.
        assert_eq!(unsafe { provoke::load(got) }, sample::TARGET_VALUE);
    }
);

ktest!(
    fn pages_get_their_segments_access() {
        let image = load();
        let base = image.base();
        assert_eq!(access(base + sample::TEXT), (false, true), "text");
        assert_eq!(access(base + sample::RODATA), (false, false), "rodata");
        assert_eq!(access(base + sample::DATA), (true, false), "data");
        assert_eq!(
            access(base + sample::SPAN - PAGE_SIZE),
            (true, false),
            "bss"
        );
        assert!(
            paging::lookup(base + sample::SPAN).is_none(),
            "past the span"
        );
        // The bss is zero and the data's file bytes are there.
        // SAFETY: mapped, readable, aligned words of the image, which
        // nothing writes meanwhile.
        unsafe {
            assert_eq!(provoke::load(base + sample::SPAN - 8), 0);
            assert_eq!(provoke::load(base + sample::DATA_RET) & 0xff, 0xc3);
        }
    }
);

ktest!(
    fn no_image_page_is_writable_and_executable() {
        let _a = load();
        let _b = load();
        let mut seen = 0;
        paging::for_each_mapping(|m| {
            if m.virt >= REGION_START && m.virt < REGION_START + (512 << 30) {
                assert!(!(m.writable && m.executable), "{:#x} is W+X", m.virt);
                seen += 1;
            }
        });
        assert!(seen >= 8, "only {seen} image pages");
    }
);

ktest!(
    fn each_image_gets_a_new_slot() {
        let a = load();
        let first = a.base();
        drop(a);
        let b = load();
        let c = load();
        assert!(b.base() > first && c.base() > b.base(), "a slot was reused");
        assert!(b.base() + SLOT_SIZE <= c.base());
    }
);

ktest!(
    #[should_panic(expected = "protection violation, write")]
    fn writing_its_code_faults() {
        let image = load();
        let code = image.entry() & !7;
        // SAFETY: the image's text is mapped and readable; aligned above.
        let word = unsafe { provoke::load(code) };
        // SAFETY: the text is read + execute, so the write faults; were it
        // writable, the value written is the one already there, in code
        // nothing runs meanwhile.
        unsafe { provoke::store(code, word) };
    }
);

ktest!(
    #[should_panic(expected = "protection violation, instruction fetch")]
    fn calling_into_its_data_faults() {
        let image = load();
        let addr = image.base() + sample::DATA_RET;
        // SAFETY: the data segment is not executable, so the fetch faults;
        // were it, the byte there is a `ret` (checked by
        // `pages_get_their_segments_access`), alive in `image`.
        unsafe { provoke::jump(addr) };
    }
);

ktest!(
    fn a_dropped_image_gives_its_frames_back() {
        // The first image in a gigabyte of the region also allocates the
        // directory tables above its slot, which stay for later images.
        drop(load());
        let (plan, bytes) = sample();
        let before = frame::stats().free;
        let image = Image::load(&plan, &bytes).expect("load");
        let pages = (sample::SPAN / PAGE_SIZE) as usize;
        // Its pages and one page table.
        assert_eq!(frame::stats().free, before - pages - 1);
        let base = image.base();
        drop(image);
        assert_eq!(frame::stats().free, before, "frames leaked");
        assert!(paging::lookup(base).is_none(), "still mapped");
    }
);

ktest!(
    fn a_bad_plan_is_refused_with_nothing_allocated() {
        let (plan, bytes) = sample();
        let before = frame::stats().free;
        let short = &bytes[..sample::DATA as usize];
        assert_eq!(
            Image::load(&plan, short).unwrap_err(),
            ImageError::SegmentOutOfFile {
                index: 2,
                len: short.len()
            }
        );
        let mut big = plan.clone();
        big.span = SLOT_SIZE + PAGE_SIZE;
        assert!(matches!(
            Image::load(&big, &bytes),
            Err(ImageError::BadSpan { .. })
        ));
        let mut reloc = plan.clone();
        reloc.relocations[0].offset = sample::SPAN - 4;
        assert_eq!(
            Image::load(&reloc, &bytes).unwrap_err(),
            ImageError::RelocationOutOfSpan {
                offset: sample::SPAN - 4
            }
        );
        let mut segment = plan.clone();
        segment.segments[2].memsz = sample::SPAN;
        let err = Image::load(&segment, &bytes).unwrap_err();
        assert_eq!(err, ImageError::SegmentOutOfSpan { index: 2 });
        assert_eq!(
            alloc::format!("{err}"),
            "image segment 2 lies outside the span"
        );
        let mut entry = plan;
        entry.entry = sample::SPAN;
        assert_eq!(
            Image::load(&entry, &bytes).unwrap_err(),
            ImageError::EntryOutOfSpan {
                entry: sample::SPAN
            }
        );
        assert_eq!(frame::stats().free, before, "a refused plan allocated");
    }
);
