//! Room for the service interfaces that modules provide to the kernel.
//!
//! The kernel looks a service up by capability (for example the running
//! module flagged [`crate::ModuleFlags::SCHEDULER`], found with
//! [`crate::Registry::find_running_with_flag`]) and talks to it through a
//! trait defined in this module. [`scheduler::Scheduler`] is the first
//! such interface: the kernel's thread mechanism calls it for every
//! scheduling decision; [`hw::Hardware`] runs the other way, from the
//! kernel to DRIVER modules, with [`dma`] buffers for devices that read
//! and write memory themselves.

pub mod dma;
pub mod hw;
mod hw_error;
pub mod mmio;
pub mod pci;
mod ports;
pub mod scheduler;
