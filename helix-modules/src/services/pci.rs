//! PCI devices for drivers: what a driver declares it drives
//! ([`ModuleInfo::pci_ids`](crate::v2::ModuleInfo::pci_ids), patterns like
//! Linux's `pci_device_id` tables) and what the kernel binds to it
//! ([`HardwareAccess::pci_devices`](super::hw::HardwareAccess::pci_devices)).
//!
//! Binding is exclusive and follows the declared table only: a driver is
//! given the functions that match one of its patterns and that no other
//! driver holds, the kernel turns on their I/O, memory and bus-master
//! decoding, and takes them back (bus mastering off first, so a device
//! stops reaching memory) when the driver stops or faults, with the rest
//! of its claims. The types are `helix-pci`'s, re-exported here so a
//! driver depends on the framework alone.

pub use helix_pci::{
    Bar, BarKind, Bdf, Capability, DeviceId, Function, Msi, MsiX, VirtioCap, VirtioCfg, wire,
};
