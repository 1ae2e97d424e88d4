//! Room for the service interfaces that modules provide to the kernel.
//!
//! The kernel looks a service up by capability (for example the running
//! module flagged [`crate::ModuleFlags::SCHEDULER`], found with
//! [`crate::Registry::find_running_with_flag`]) and talks to it through a
//! trait defined in this module. The `Scheduler` trait (enqueue, dequeue,
//! pick_next, tick) is the first such interface; it is added together with
//! the kernel code that calls it, so that the trait and its caller are
//! designed and tested at the same time. Until then this module defines no
//! items.
