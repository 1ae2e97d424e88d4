//! Virtio for Helix driver modules, in safe Rust over the kernel's
//! hardware service: the legacy (virtio 0.9.5) PCI transport, whose
//! registers are I/O ports ([`LegacyTransport`]), and split virtqueues
//! laid out in DMA buffers ([`SplitQueue`]).
//!
//! Why not the `virtio-drivers` crate: its HAL is an `unsafe` trait with
//! raw-pointer DMA, which a driver crate (`#![forbid(unsafe_code)]`) could
//! not implement and the kernel could implement only by handing driver
//! crates raw memory. Here every access goes through the hardware
//! service's bounds-checked [`PortRange`](helix_modules::services::hw::PortRange)
//! and [`DmaBuffer`](helix_modules::services::dma::DmaBuffer), so a driver
//! built on this crate stays free of `unsafe`, and the queue logic is
//! tested on the host against a modelled device (`tests/`).
//!
//! Legacy devices are what QEMU's transitional virtio PCI functions
//! (device ids 0x1000..=0x103f) offer in BAR 0 alongside the modern
//! interface.
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

extern crate alloc;

mod device;
mod error;
#[cfg(feature = "testing")]
pub mod model;
mod queue;
mod transport;

pub use device::{IRQ_TIMEOUT_MS, IrqCounter, IsrThen, LegacyDevice, POLLS, QueueIrq};
pub use error::VirtioError;
pub use queue::{Buf, LEGACY_ALIGN, SplitQueue, Used};
pub use transport::{LegacyTransport, status};
