//! x86_64 support: descriptor tables, interrupt entry, exceptions, the local
//! APIC timer, the legacy PIT and PICs, page-table access and memory
//! protection, and the small assembly pieces the test runner and the
//! fault tests need.
//!
//! Bring-up order matters and is driven by `crate::startup`: GDT/TSS first (IST
//! stacks must exist before an exception can use them), then the IDT, then
//! the PICs are masked so only the APIC delivers interrupts.

pub mod acpi;
pub mod acpi_power;
pub mod ap_startup;
pub mod apic;
pub mod catch;
pub mod cpu;
pub mod entry;
pub mod exceptions;
pub mod gdt;
pub mod idt;
pub mod interrupts;
pub mod ioapic;
pub mod paging;
pub mod pci_config;
pub mod percpu;
pub mod pic;
pub mod pit;
pub mod protect;
pub mod provoke;
pub mod qemu;
pub mod switch;

/// Sets up the bootstrap CPU: per-CPU area, GDT, TSS and the shared IDT,
/// and silences the 8259 PICs.
pub fn init_bsp() {
    percpu::init(0);
    gdt::init_bsp();
    idt::load();
    pic::disable_legacy_pics();
}
