//! The Interrupt Descriptor Table, shared by every CPU.
//!
//! Every one of the 256 vectors points at its stub in
//! [`entry::interrupt_stubs`](super::entry::interrupt_stubs), so an
//! unexpected vector is reported rather than escalating to a double fault.
//! The double fault, NMI and machine-check gates switch to their IST stacks.

use super::entry::stub_address;
use super::gdt::{DOUBLE_FAULT_IST, MACHINE_CHECK_IST, NMI_IST};
use spin::Once;
use x86_64::VirtAddr;
use x86_64::structures::idt::InterruptDescriptorTable;

/// First vector available to hardware interrupts and IPIs.
pub const FIRST_IRQ_VECTOR: u8 = 32;
/// The local APIC timer.
pub const TIMER_VECTOR: u8 = 32;
/// The local APIC's spurious-interrupt vector (low 4 bits must be 1s).
pub const SPURIOUS_VECTOR: u8 = 0xff;

static IDT: Once<InterruptDescriptorTable> = Once::new();

fn build() -> InterruptDescriptorTable {
    let mut idt = InterruptDescriptorTable::new();
    let at = |v: u8| VirtAddr::new(stub_address(v));
    // SAFETY: for every `set_handler_addr` below: each address is the
    // entry stub for exactly that vector (`stub_address`), which pushes the
    // error code the CPU did not, saves every register, dispatches and
    // resumes with `iretq` (or never returns, for diverging exceptions), as
    // an interrupt gate requires. The IST indices name stacks that every
    // CPU's TSS provides (`gdt::tss_with_stacks`), live for the whole run.
    unsafe {
        idt.divide_error.set_handler_addr(at(0));
        idt.debug.set_handler_addr(at(1));
        idt.non_maskable_interrupt
            .set_handler_addr(at(2))
            .set_stack_index(NMI_IST);
        idt.breakpoint.set_handler_addr(at(3));
        idt.overflow.set_handler_addr(at(4));
        idt.bound_range_exceeded.set_handler_addr(at(5));
        idt.invalid_opcode.set_handler_addr(at(6));
        idt.device_not_available.set_handler_addr(at(7));
        idt.double_fault
            .set_handler_addr(at(8))
            .set_stack_index(DOUBLE_FAULT_IST);
        idt.invalid_tss.set_handler_addr(at(10));
        idt.segment_not_present.set_handler_addr(at(11));
        idt.stack_segment_fault.set_handler_addr(at(12));
        idt.general_protection_fault.set_handler_addr(at(13));
        idt.page_fault.set_handler_addr(at(14));
        idt.x87_floating_point.set_handler_addr(at(16));
        idt.alignment_check.set_handler_addr(at(17));
        idt.machine_check
            .set_handler_addr(at(18))
            .set_stack_index(MACHINE_CHECK_IST);
        idt.simd_floating_point.set_handler_addr(at(19));
        idt.virtualization.set_handler_addr(at(20));
        idt.cp_protection_exception.set_handler_addr(at(21));
        idt.hv_injection_exception.set_handler_addr(at(28));
        idt.vmm_communication_exception.set_handler_addr(at(29));
        idt.security_exception.set_handler_addr(at(30));
        for v in FIRST_IRQ_VECTOR..=u8::MAX {
            idt[v].set_handler_addr(at(v));
        }
    }
    idt
}

/// Loads the IDT on the calling CPU, building it on first use.
pub fn load() {
    IDT.call_once(build).load();
}
