//! Device matching, as Linux's `pci_device_id` tables do it (a driver
//! lists the devices it drives; each entry is a pattern, `None` matching
//! anything), and the class names `lspci` prints.

use crate::Function;

/// A pattern over functions: vendor, device and (class, subclass), each
/// either required or `None` for "any".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceId {
    /// The vendor id, if it must match.
    pub vendor: Option<u16>,
    /// The device id, if it must match.
    pub device: Option<u16>,
    /// The (class, subclass), if it must match.
    pub class: Option<(u8, u8)>,
}

impl DeviceId {
    /// Exactly this vendor and device.
    pub const fn new(vendor: u16, device: u16) -> Self {
        Self {
            vendor: Some(vendor),
            device: Some(device),
            class: None,
        }
    }

    /// Any device of this vendor.
    pub const fn vendor(vendor: u16) -> Self {
        Self {
            vendor: Some(vendor),
            device: None,
            class: None,
        }
    }

    /// Any device of this class and subclass.
    pub const fn class(class: u8, subclass: u8) -> Self {
        Self {
            vendor: None,
            device: None,
            class: Some((class, subclass)),
        }
    }

    /// This pattern, further restricted to a class and subclass.
    pub const fn with_class(self, class: u8, subclass: u8) -> Self {
        Self {
            class: Some((class, subclass)),
            ..self
        }
    }

    /// Whether `f` matches every part of the pattern that is set.
    pub fn matches(&self, f: &Function) -> bool {
        self.vendor.is_none_or(|v| v == f.vendor)
            && self.device.is_none_or(|d| d == f.device)
            && self.class.is_none_or(|c| c == (f.class, f.subclass))
    }
}

/// The first entry of `table` that `f` matches, by position.
pub fn find_match(table: &[DeviceId], f: &Function) -> Option<usize> {
    table.iter().position(|id| id.matches(f))
}

/// A short name for a class and subclass, for `lspci`; an unknown
/// subclass is named by its class, an unknown class is "other".
pub fn class_name(class: u8, subclass: u8) -> &'static str {
    match (class, subclass) {
        (0x00, _) => "unclassified device",
        (0x01, 0x00) => "SCSI storage controller",
        (0x01, 0x01) => "IDE controller",
        (0x01, 0x06) => "SATA controller",
        (0x01, 0x08) => "non-volatile memory controller",
        (0x01, _) => "mass storage controller",
        (0x02, 0x00) => "Ethernet controller",
        (0x02, _) => "network controller",
        (0x03, 0x00) => "VGA compatible controller",
        (0x03, _) => "display controller",
        (0x06, 0x00) => "host bridge",
        (0x06, 0x01) => "ISA bridge",
        (0x06, 0x04) => "PCI bridge",
        (0x06, _) => "bridge",
        (0x0c, 0x03) => "USB controller",
        (0x0c, 0x05) => "SMBus",
        (0x0c, _) => "serial bus controller",
        _ => "other",
    }
}
