//! PCI functions in [`FakeHardware`]: a test adds the functions of its
//! modelled bus ([`FakeHardware::add_pci`]) and the fake binds them to
//! drivers the way the kernel does: only those matching the driver's
//! declared table, exclusively, and back when the driver is released.

use alloc::string::String;
use alloc::vec::Vec;

use super::FakeHardware;
use crate::services::pci::{Bdf, DeviceId, Function};

/// The modelled bus: each function and who holds it.
#[derive(Default)]
pub(super) struct PciState {
    functions: Vec<(Function, Option<String>)>,
}

impl PciState {
    pub(super) fn bind(&mut self, owner: &str, ids: &[DeviceId]) -> Vec<Function> {
        let mut bound = Vec::new();
        for (f, holder) in &mut self.functions {
            if !ids.iter().any(|id| id.matches(f)) {
                continue;
            }
            if holder.is_none() {
                *holder = Some(String::from(owner));
            }
            if holder.as_deref() == Some(owner) {
                bound.push(f.clone());
            }
        }
        bound
    }

    /// Unbinds `owner`'s functions; returns how many.
    pub(super) fn release(&mut self, owner: &str) -> usize {
        let mut n = 0;
        for (_, holder) in &mut self.functions {
            if holder.as_deref() == Some(owner) {
                *holder = None;
                n += 1;
            }
        }
        n
    }
}

impl FakeHardware {
    /// Puts `function` on the modelled bus.
    pub fn add_pci(&self, function: Function) {
        self.shared.pci.lock().functions.push((function, None));
    }

    /// Who holds the function at `bdf`, if anyone.
    pub fn pci_holder(&self, bdf: Bdf) -> Option<String> {
        self.shared
            .pci
            .lock()
            .functions
            .iter()
            .find(|(f, _)| f.bdf == bdf)
            .and_then(|(_, h)| h.clone())
    }
}
