//! The Global Descriptor Table and Task State Segment of each CPU.
//!
//! Long mode barely uses segmentation, but the TSS is what gives the double
//! fault, NMI and machine-check handlers their own Interrupt Stack Table
//! stacks: a kernel stack overflow faults while pushing onto the exhausted
//! stack, and only a known-good IST stack lets the double-fault handler run
//! and report it instead of the CPU resetting.

use spin::Once;
use x86_64::VirtAddr;
use x86_64::instructions::segmentation::{CS, DS, ES, SS, Segment};
use x86_64::instructions::tables::load_tss;
use x86_64::structures::gdt::{Descriptor, GlobalDescriptorTable, SegmentSelector};
use x86_64::structures::tss::TaskStateSegment;

/// IST slot (0-based, as the `x86_64` crate counts) for double faults.
pub const DOUBLE_FAULT_IST: u16 = 0;
/// IST slot for non-maskable interrupts.
pub const NMI_IST: u16 = 1;
/// IST slot for machine checks.
pub const MACHINE_CHECK_IST: u16 = 2;

/// Size of each IST stack.
pub const IST_STACK_SIZE: usize = 16 * 1024;
const IST_COUNT: usize = 3;

#[repr(C, align(16))]
struct IstStacks([[u8; IST_STACK_SIZE]; IST_COUNT]);

// The BSP's IST stacks. Only the CPU writes them, through the TSS pointers;
// Rust never creates a reference to them.
static mut BSP_IST_STACKS: IstStacks = IstStacks([[0; IST_STACK_SIZE]; IST_COUNT]);

/// One CPU's descriptor tables and the selectors that point into them.
pub struct CpuTables {
    gdt: GlobalDescriptorTable,
    code: SegmentSelector,
    data: SegmentSelector,
    tss_sel: SegmentSelector,
}

static BSP_TSS: Once<TaskStateSegment> = Once::new();
static BSP_TABLES: Once<CpuTables> = Once::new();

/// Builds a TSS whose IST entries point at the tops of the `IST_COUNT`
/// stacks of `IST_STACK_SIZE` bytes that start at `base`.
fn tss_with_stacks(base: *mut u8) -> TaskStateSegment {
    let mut tss = TaskStateSegment::new();
    for (slot, ist) in [DOUBLE_FAULT_IST, NMI_IST, MACHINE_CHECK_IST]
        .into_iter()
        .enumerate()
    {
        // Only the address one past the end of each stack is computed.
        let top = base.wrapping_add((slot + 1) * IST_STACK_SIZE) as u64 & !0xf;
        tss.interrupt_stack_table[usize::from(ist)] = VirtAddr::new(top);
    }
    tss
}

fn build(tss: &'static TaskStateSegment) -> CpuTables {
    let mut gdt = GlobalDescriptorTable::new();
    let code = gdt.append(Descriptor::kernel_code_segment());
    let data = gdt.append(Descriptor::kernel_data_segment());
    let tss_sel = gdt.append(Descriptor::tss_segment(tss));
    CpuTables {
        gdt,
        code,
        data,
        tss_sel,
    }
}

fn load(tables: &'static CpuTables) {
    tables.gdt.load();
    // SAFETY: the selectors come from the GDT just loaded (`'static`, so it
    // stays valid): a 64-bit kernel code segment, a kernel data segment and
    // a TSS descriptor for a `'static` TSS whose IST entries point at
    // stacks that live for the whole run. Loading a TSS that is already
    // busy (a second `init_bsp`) raises #GP, a reported fault, not memory
    // unsafety.
    unsafe {
        CS::set_reg(tables.code);
        DS::set_reg(tables.data);
        ES::set_reg(tables.data);
        SS::set_reg(tables.data);
        load_tss(tables.tss_sel);
    }
}

/// Sets up and loads the bootstrap processor's GDT and TSS.
pub fn init_bsp() {
    let tss = BSP_TSS.call_once(|| tss_with_stacks((&raw mut BSP_IST_STACKS).cast::<u8>()));
    let tables = BSP_TABLES.call_once(|| build(tss));
    load(tables);
}

/// Sets up and loads the GDT and TSS of an application processor. Its
/// tables and IST stacks are allocated once and live for the whole run.
pub fn init_ap() {
    // Allocated directly on the heap: the AP runs on a small stack.
    let stacks = alloc::vec![0u8; IST_STACK_SIZE * IST_COUNT].leak();
    let tss: &'static TaskStateSegment =
        alloc::boxed::Box::leak(alloc::boxed::Box::new(tss_with_stacks(stacks.as_mut_ptr())));
    let tables: &'static CpuTables = alloc::boxed::Box::leak(alloc::boxed::Box::new(build(tss)));
    load(tables);
}
