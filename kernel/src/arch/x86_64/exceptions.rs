//! CPU exception handling: a report for every vector, and the few that
//! return.
//!
//! A breakpoint (`int3`) is counted, logged and resumed. Every other
//! exception in kernel mode is a kernel bug, so the handler builds an
//! [`ExceptionReport`] (vector, name, error code decoded where it means
//! something, RIP, RSP, CR2 for page faults, all registers) and panics with
//! it as the message: the panic handler prints it and ends the run, and the
//! test runner can catch it and compare it with what a test expected. A
//! double fault whose stack pointer sits in a stack guard page is reported
//! as the kernel stack overflow it almost certainly is: where the guard
//! pages are is the memory manager's business, so it installs the check
//! ([`set_stack_guard_check`]) and this module only asks it.

use super::entry::InterruptFrame;
use core::fmt;
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use x86_64::registers::control::Cr2;

static BREAKPOINTS: AtomicU64 = AtomicU64::new(0);
/// The installed [`StackGuardCheck`] as a `usize` (0: none yet).
static STACK_GUARD_CHECK: AtomicUsize = AtomicUsize::new(0);

/// Whether an address lies in the guard page of a kernel stack.
pub type StackGuardCheck = fn(u64) -> bool;

/// Installs the check that tells a stack overflow from any other fault
/// (`mm::init` installs the stack allocator's). Until then no address is
/// taken for a guard page.
pub fn set_stack_guard_check(check: StackGuardCheck) {
    STACK_GUARD_CHECK.store(check as usize, Ordering::Release);
}

/// Whether `addr` is in a stack guard page, as the installed check says.
fn in_stack_guard(addr: u64) -> bool {
    match STACK_GUARD_CHECK.load(Ordering::Acquire) {
        0 => false,
        check => {
            // SAFETY: only `set_stack_guard_check` stores here, always a
            // `StackGuardCheck` cast to `usize` (never 0, handled above),
            // so this turns it back into that function pointer.
            let check = unsafe { core::mem::transmute::<usize, StackGuardCheck>(check) };
            check(addr)
        }
    }
}

/// Vector of the breakpoint exception.
pub const BREAKPOINT: u64 = 3;
/// Vector of the double fault.
pub const DOUBLE_FAULT: u64 = 8;
/// Vector of the page fault.
pub const PAGE_FAULT: u64 = 14;

/// How many breakpoint exceptions have been handled and resumed.
pub fn breakpoint_count() -> u64 {
    BREAKPOINTS.load(Ordering::Relaxed)
}

/// The mnemonic and name of exception `vector`.
pub fn name(vector: u64) -> (&'static str, &'static str) {
    match vector {
        0 => ("#DE", "divide error"),
        1 => ("#DB", "debug"),
        2 => ("NMI", "non-maskable interrupt"),
        3 => ("#BP", "breakpoint"),
        4 => ("#OF", "overflow"),
        5 => ("#BR", "bound range exceeded"),
        6 => ("#UD", "invalid opcode"),
        7 => ("#NM", "device not available"),
        8 => ("#DF", "double fault"),
        10 => ("#TS", "invalid TSS"),
        11 => ("#NP", "segment not present"),
        12 => ("#SS", "stack-segment fault"),
        13 => ("#GP", "general protection fault"),
        14 => ("#PF", "page fault"),
        16 => ("#MF", "x87 floating-point error"),
        17 => ("#AC", "alignment check"),
        18 => ("#MC", "machine check"),
        19 => ("#XM", "SIMD floating-point error"),
        20 => ("#VE", "virtualization exception"),
        21 => ("#CP", "control protection"),
        28 => ("#HV", "hypervisor injection"),
        29 => ("#VC", "VMM communication"),
        30 => ("#SX", "security exception"),
        _ => ("#??", "reserved exception"),
    }
}

/// Everything known about an exception, formatted for humans.
#[derive(Debug, Clone, Copy)]
pub struct ExceptionReport {
    /// The saved state at the time of the exception.
    pub frame: InterruptFrame,
    /// CR2 at entry, meaningful for page faults.
    pub cr2: u64,
    /// Whether the faulting stack pointer lies in a stack guard page.
    pub stack_overflow: bool,
}

impl ExceptionReport {
    fn capture(frame: &InterruptFrame) -> Self {
        let cr2 = Cr2::read_raw();
        let in_guard = in_stack_guard;
        let stack_overflow = match frame.vector {
            DOUBLE_FAULT => in_guard(frame.rsp) || in_guard(frame.rsp.wrapping_sub(8)),
            PAGE_FAULT => in_guard(cr2),
            _ => false,
        };
        Self {
            frame: *frame,
            cr2,
            stack_overflow,
        }
    }
}

fn describe_page_fault(code: u64, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let present = if code & 1 != 0 {
        "protection violation"
    } else {
        "not present"
    };
    let access = if code & 0x10 != 0 {
        "instruction fetch"
    } else if code & 2 != 0 {
        "write"
    } else {
        "read"
    };
    let mode = if code & 4 != 0 { "user" } else { "kernel" };
    write!(f, " ({present}, {access}, {mode})")
}

impl fmt::Display for ExceptionReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = &self.frame;
        let (mnemonic, name) = name(r.vector);
        write!(f, "CPU exception {mnemonic} {name} (vector {})", r.vector)?;
        if self.stack_overflow {
            write!(f, ": kernel stack overflow")?;
        }
        write!(f, "\n  error code {:#x}", r.error_code)?;
        if r.vector == PAGE_FAULT {
            describe_page_fault(r.error_code, f)?;
        }
        write!(
            f,
            "\n  RIP={:#018x} CS={:#x} RFLAGS={:#x}",
            r.rip, r.cs, r.rflags
        )?;
        write!(f, "\n  RSP={:#018x} SS={:#x}", r.rsp, r.ss)?;
        if r.vector == PAGE_FAULT {
            write!(f, " CR2={:#x}", self.cr2)?;
        }
        write!(
            f,
            "\n  RAX={:#018x} RBX={:#018x} RCX={:#018x} RDX={:#018x}",
            r.rax, r.rbx, r.rcx, r.rdx
        )?;
        write!(
            f,
            "\n  RSI={:#018x} RDI={:#018x} RBP={:#018x} R8 ={:#018x}",
            r.rsi, r.rdi, r.rbp, r.r8
        )?;
        write!(
            f,
            "\n  R9 ={:#018x} R10={:#018x} R11={:#018x} R12={:#018x}",
            r.r9, r.r10, r.r11, r.r12
        )?;
        write!(
            f,
            "\n  R13={:#018x} R14={:#018x} R15={:#018x}",
            r.r13, r.r14, r.r15
        )
    }
}

/// Handles exception `frame.vector`. Returns only for exceptions that can be
/// resumed; everything else panics with a full report.
pub fn handle(frame: &mut InterruptFrame) {
    if frame.vector == BREAKPOINT {
        BREAKPOINTS.fetch_add(1, Ordering::Relaxed);
        // RIP already points past the one-byte int3: resuming continues.
        log::debug!("breakpoint at {:#x}", frame.rip.wrapping_sub(1));
        return;
    }
    let report = ExceptionReport::capture(frame);
    // A fault in a device interrupt's entry code (its pushes ran off an
    // exhausted stack) interrupted code that had interrupts on, and the
    // entry code holds nothing: it counts as interrupts on.
    let interrupts_were_on =
        frame.rflags & RFLAGS_IF != 0 || super::entry::is_irq_entry_code(frame.rip);
    INTERRUPTS_WERE_ON[super::percpu::cpu_index()].store(interrupts_were_on, Ordering::Relaxed);
    panic!("{report}");
}

/// RFLAGS' interrupt-enable bit.
const RFLAGS_IF: u64 = 1 << 9;

/// Per CPU: whether the code the last reported exception interrupted ran
/// with interrupts enabled. Kernel locks are interrupt-off sections, so a
/// fault with interrupts off may have happened while one was held: the
/// containment must not resume past it.
static INTERRUPTS_WERE_ON: [AtomicBool; super::percpu::MAX_CPUS] =
    [const { AtomicBool::new(true) }; super::percpu::MAX_CPUS];

/// Whether the last exception reported on this CPU interrupted code that
/// ran with interrupts enabled.
pub fn last_fault_had_interrupts_on() -> bool {
    INTERRUPTS_WERE_ON[super::percpu::cpu_index()].load(Ordering::Relaxed)
}
