//! One PCI function as configuration space describes it, read once into
//! plain data.

use crate::{Bar, Bdf, Capability, Msi, MsiX, VirtioCap, class_name};
use alloc::vec::Vec;

/// A present function: its ids, class, header, interrupt, BARs and
/// capabilities, as read (and BARs sized) at enumeration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Function {
    /// Where it is.
    pub bdf: Bdf,
    /// Vendor id.
    pub vendor: u16,
    /// Device id.
    pub device: u16,
    /// Base class (0x01 storage, 0x02 network, 0x06 bridge, ...).
    pub class: u8,
    /// Subclass.
    pub subclass: u8,
    /// Programming interface.
    pub prog_if: u8,
    /// Revision id.
    pub revision: u8,
    /// Header layout: 0 endpoint, 1 PCI-to-PCI bridge, 2 CardBus bridge
    /// (bit 7, multi-function, is in [`Self::multifunction`]).
    pub header_type: u8,
    /// Header type bit 7: the device has more functions than function 0.
    pub multifunction: bool,
    /// Subsystem vendor id (type 0 headers; 0 for others).
    pub subsystem_vendor: u16,
    /// Subsystem id (type 0 headers; 0 for others).
    pub subsystem: u16,
    /// The interrupt line firmware wrote (legacy INTx routing hint).
    pub interrupt_line: u8,
    /// The INTx pin the function uses: 0 none, 1-4 INTA-INTD.
    pub interrupt_pin: u8,
    /// Implemented BARs, in slot order, decoded and sized.
    pub bars: Vec<Bar>,
    /// The capability list, in list order.
    pub capabilities: Vec<Capability>,
    /// The capability walk stopped at its guard (a loop, or a pointer into
    /// the header): the list above is what came before.
    pub capabilities_truncated: bool,
    /// Bridges (type 1): the bus behind it.
    pub secondary_bus: Option<u8>,
}

impl Function {
    /// The BAR in slot `index`, if implemented.
    pub fn bar(&self, index: u8) -> Option<&Bar> {
        self.bars.iter().find(|b| b.index == index)
    }

    /// The MSI capability, if any.
    pub fn msi(&self) -> Option<&Msi> {
        self.capabilities.iter().find_map(|c| match c {
            Capability::Msi(m) => Some(m),
            _ => None,
        })
    }

    /// The MSI-X capability, if any.
    pub fn msix(&self) -> Option<&MsiX> {
        self.capabilities.iter().find_map(|c| match c {
            Capability::MsiX(m) => Some(m),
            _ => None,
        })
    }

    /// The virtio structures, in list order.
    pub fn virtio_caps(&self) -> impl Iterator<Item = &VirtioCap> {
        self.capabilities.iter().filter_map(|c| match c {
            Capability::Virtio(v) => Some(v),
            _ => None,
        })
    }

    /// What [`class_name`] calls its class.
    pub fn class_name(&self) -> &'static str {
        class_name(self.class, self.subclass)
    }
}
