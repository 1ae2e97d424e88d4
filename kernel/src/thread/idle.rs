//! Each CPU's idle thread, which halts until an interrupt and runs what
//! the interrupt made ready, and each CPU's interrupt stack, which the
//! entry code switches to for device interrupts. Both are made when the
//! CPU joins the scheduler: the boot CPU in `sched::start`, the others in
//! `smp` before they start.

use super::ThreadError;
use super::sched::{CPUS, SCHED, WOKEN, switch_to};
use super::table::{self, Thread, ThreadState};
use crate::arch::x86_64::{cpu, percpu, switch};
use crate::mm::stack::KernelStack;
use crate::time;
use alloc::string::String;
use alloc::sync::Arc;
use core::sync::atomic::Ordering;
use helix_modules::services::scheduler::CpuId;

/// Pages of each idle thread's stack.
const IDLE_STACK_PAGES: usize = 2;

/// The idle thread of `cpu`.
pub(super) fn idle_thread(cpu: CpuId) -> Arc<Thread> {
    CPUS[cpu as usize]
        .idle
        .get()
        .cloned()
        .expect("every online CPU has an idle thread")
}

/// Creates the idle thread of `cpu`: halts until an interrupt, forever.
/// Returns the top of its stack, on which an application processor starts
/// before it adopts the thread with [`run_idle`].
pub(crate) fn create_idle(cpu_id: CpuId) -> Result<u64, ThreadError> {
    give_irq_stack(cpu_id)?;
    let stack = KernelStack::new(IDLE_STACK_PAGES).map_err(ThreadError::Stack)?;
    let mut name = String::from("idle/");
    name.push_str(itoa(cpu_id).as_str());
    let idle = Arc::new(Thread::new(table::next_id(), name, None, true));
    let top = stack.top();
    // SAFETY: `top` is the page-aligned top of a stack just mapped for this
    // thread alone (at least one page, room for the frame); the thread
    // keeps the `KernelStack` alive for as long as it can run.
    let rsp = unsafe { switch::initial_frame(top, idle_loop, u64::from(cpu_id)) };
    idle.saved_rsp.store(rsp, Ordering::Release);
    *idle.stack.lock() = Some(stack);
    table::insert(idle.clone());
    CPUS[cpu_id as usize].idle.call_once(|| idle);
    Ok(top)
}

/// Maps `cpu`'s interrupt stack (with a guard page, like a thread's) and
/// hands it to the entry code: from then on that CPU's device interrupts
/// run on it rather than on the stack of whatever thread they interrupt.
fn give_irq_stack(cpu_id: CpuId) -> Result<(), ThreadError> {
    let slot = &CPUS[cpu_id as usize];
    if slot.irq_stack.get().is_some() {
        return Ok(());
    }
    let pages = (percpu::IRQ_STACK_SIZE / crate::mm::PAGE_SIZE) as usize;
    let stack = KernelStack::new(pages).map_err(ThreadError::Stack)?;
    let top = slot.irq_stack.call_once(|| stack).top();
    // SAFETY: `top` is the page-aligned top of a stack of `pages` pages
    // (IRQ_STACK_SIZE bytes) just mapped for this CPU's interrupts alone,
    // kept in the CPU's slot (a static) for the rest of the run.
    unsafe { percpu::set_irq_stack(cpu_id as usize, top) };
    Ok(())
}

/// Makes the calling context (an AP, running on the stack `create_idle`
/// returned) its CPU's idle thread, and idles forever.
pub fn run_idle(cpu_id: CpuId) -> ! {
    let slot = &CPUS[cpu_id as usize];
    let idle = idle_thread(cpu_id);
    idle.on_cpu.store(true, Ordering::Release);
    idle.set_state(ThreadState::Running);
    slot.current.store(idle.id.0, Ordering::Relaxed);
    slot.switched_at.store(time::now_ns(), Ordering::Relaxed);
    drop(idle);
    idle_loop(u64::from(cpu_id))
}

fn itoa(n: u32) -> heapless::String<10> {
    use core::fmt::Write;
    let mut s = heapless::String::new();
    let _ = write!(s, "{n}");
    s
}

extern "C" fn idle_loop(cpu_id: u64) -> ! {
    loop {
        if super::park::is_requested(cpu_id as usize) {
            super::park::park_this_cpu(cpu_id as usize);
        }
        // `sti; hlt` back to back: an interrupt cannot slip in between.
        x86_64::instructions::interrupts::enable_and_hlt();
        // The interrupt may have made a thread ready (a driver's request
        // woken by its device's interrupt): run it now, not at the next
        // tick, which would add up to a tick to every such wait.
        if let Some(sched) = SCHED.get()
            && WOKEN.swap(false, Ordering::AcqRel)
        {
            cpu::without_interrupts(|| {
                if let Some(next) = sched.pick_next(cpu_id as CpuId) {
                    switch_to(Some(next));
                }
            });
        }
    }
}
