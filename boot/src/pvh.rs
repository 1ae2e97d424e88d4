//! The PVH entry: the Xen ELF note and the 32-bit entry code that reaches Rust.
//!
//! QEMU enters at `pvh_start32` in 32-bit protected mode with paging off,
//! interrupts off and `%ebx` holding the physical address of
//! `hvm_start_info`. The entry code identity-maps the first 4 GiB with 2 MiB pages
//! (the top gigabyte uncached, because the local APIC, I/O APIC and other
//! MMIO live there), enables PAE, long mode, no-execute and write-protect,
//! loads a minimal 64-bit GDT and calls `helix_kernel_entry` with the
//! start-info address as its only argument. The kernel replaces GDT, IDT and
//! page tables later; this is only enough to run Rust.
//!
//! These early tables are writable and executable everywhere, page 0
//! included. The kernel tightens them as soon as it has frames for page
//! tables (its `arch::x86_64::protect`): page 0 unmapped, the image split
//! into 4 KiB pages by the section symbols of `boot/linker.ld` (text read +
//! execute, read-only data read-only, the rest writable and never
//! executable), the rest of the identity map non-executable. The
//! no-execute and write-protect bits enabled here make that enforceable.
//!
//! `helix_kernel_entry` is defined by the kernel crate's entry macro, so the
//! same entry code starts the kernel binary and every test kernel.

/// Size of the stack the entry code hands to Rust. The kernel switches to a
/// guarded stack of its own as soon as it can allocate one.
pub const BOOT_STACK_SIZE: usize = 64 * 1024;

// Early page tables: one PML4, one PDPT, four page directories of 2 MiB pages.
// Everything lives in .bss, which QEMU's ELF loader zero-fills; the entry
// code still writes every entry it relies on.
core::arch::global_asm!(
    r#"
    .section .note.Xen, "a", @note
    .balign 4
    .long 4                      /* name size: "Xen\0" */
    .long 4                      /* descriptor size */
    .long 18                     /* XEN_ELFNOTE_PHYS32_ENTRY */
    .asciz "Xen"
    .balign 4
    .long pvh_start32
    .balign 4

    .section .bss.boot_page_tables, "aw", @nobits
    .balign 4096
    .global boot_pml4
boot_pml4:
    .skip 4096
boot_pdpt:
    .skip 4096
boot_pd:
    .skip 4096 * 4

    .section .bss.boot_stack, "aw", @nobits
    .balign 16
    .global boot_stack_bottom
boot_stack_bottom:
    .skip {stack_size}
    .global boot_stack_top
boot_stack_top:

    .section .rodata.boot_gdt, "a"
    .balign 16
boot_gdt:                        /* accessed bits preset: the CPU never writes it */
    .quad 0
    .quad 0x00AF9B000000FFFF     /* 0x08: 64-bit kernel code */
    .quad 0x00CF93000000FFFF     /* 0x10: kernel data */
boot_gdt_end:
boot_gdt_ptr:
    .word boot_gdt_end - boot_gdt - 1
    .quad boot_gdt

    .section .text.boot, "ax"
    .code32
    .global pvh_start32
pvh_start32:
    cli
    cld
    mov %ebx, %edi               /* keep the start-info address */
    mov $boot_stack_top, %esp

    /* PML4[0] -> PDPT; PDPT[0..4] -> the four page directories. */
    mov $boot_pdpt, %eax
    or $0x3, %eax
    mov %eax, boot_pml4
    movl $0, boot_pml4 + 4

    mov $boot_pd, %eax
    or $0x3, %eax
    xor %ecx, %ecx
1:
    mov %eax, boot_pdpt(,%ecx,8)
    movl $0, boot_pdpt + 4(,%ecx,8)
    add $0x1000, %eax
    inc %ecx
    cmp $4, %ecx
    jb 1b

    /* 2048 entries of 2 MiB: present, writable, huge; PWT|PCD from 3 GiB up. */
    xor %ecx, %ecx
2:
    mov %ecx, %eax
    shl $21, %eax
    or $0x83, %eax
    cmp $1536, %ecx
    jb 3f
    or $0x18, %eax
3:
    mov %eax, boot_pd(,%ecx,8)
    movl $0, boot_pd + 4(,%ecx,8)
    inc %ecx
    cmp $2048, %ecx
    jb 2b

    mov $boot_pml4, %eax
    mov %eax, %cr3

    mov %cr4, %eax
    or $0x20, %eax               /* PAE */
    mov %eax, %cr4

    mov $0xC0000080, %ecx        /* EFER */
    rdmsr
    or $0x900, %eax              /* LME | NXE */
    wrmsr

    mov %cr0, %eax
    or $0x80010001, %eax         /* PG | WP | PE */
    mov %eax, %cr0

    lgdt boot_gdt_ptr
    ljmp $0x08, $pvh_start64

    .code64
pvh_start64:
    mov $0x10, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    xor %ax, %ax
    mov %ax, %fs
    mov %ax, %gs
    mov $boot_stack_top, %rsp
    mov %edi, %edi               /* upper halves are undefined after the mode switch */
    xor %ebp, %ebp
    call helix_kernel_entry
4:
    cli
    hlt
    jmp 4b
    .text
    "#,
    stack_size = const BOOT_STACK_SIZE,
    options(att_syntax)
);
