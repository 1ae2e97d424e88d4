//! The ports the kernel drives itself and never lets a driver claim (see
//! the parent module's docs), and the one it lends: COM1, whole, to one
//! driver at a time for its receive side.

use crate::arch::x86_64::acpi_power;
use crate::serial::{COM1, COM1_PORTS};

/// Who holds the kernel's reserved ports, in
/// [`HwError::PortsInUse`](helix_modules::services::hw::HwError::PortsInUse):
/// `kernel (WHAT)`.
pub const KERNEL_OWNER: &str = "kernel";

/// A range of ports the kernel drives itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReservedPorts {
    /// First port.
    pub base: u16,
    /// Number of ports.
    pub count: u16,
    /// The device, as refusals name it.
    pub what: &'static str,
    /// Lent, whole, to one driver at a time (COM1's receive side); never
    /// granted otherwise.
    pub lent_to_one_driver: bool,
}

impl ReservedPorts {
    const fn kernel(base: u16, count: u16, what: &'static str) -> Self {
        Self {
            base,
            count,
            what,
            lent_to_one_driver: false,
        }
    }

    fn overlaps(&self, base: u16, count: u16) -> bool {
        let (start, end) = (u32::from(base), u32::from(base) + u32::from(count));
        u32::from(self.base) < end && start < u32::from(self.base) + u32::from(self.count)
    }
}

/// The kernel's ports that are always there (see the module docs).
const FIXED_RESERVATIONS: [ReservedPorts; 6] = [
    ReservedPorts::kernel(0x20, 2, "8259 PIC"),
    ReservedPorts::kernel(0xa0, 2, "8259 PIC"),
    ReservedPorts::kernel(0x40, 4, "8254 PIT"),
    ReservedPorts::kernel(0x61, 1, "PIT channel 2 gate"),
    ReservedPorts::kernel(0xf4, 4, "QEMU debug exit"),
    ReservedPorts {
        base: COM1,
        count: COM1_PORTS,
        what: "COM1 log output",
        lent_to_one_driver: true,
    },
];

/// Every port range the kernel drives itself: the fixed ones and, when
/// ACPI power-off is possible, the ACPI ports it writes.
pub fn reserved_ports() -> impl Iterator<Item = ReservedPorts> {
    let s5 = acpi_power::s5();
    let pm1a = s5.map(|s| ReservedPorts::kernel(s.pm1a_control, 2, "ACPI PM1a control"));
    let smi = s5
        .and_then(|s| s.acpi_enable)
        .map(|(port, _)| ReservedPorts::kernel(port, 1, "ACPI SMI command"));
    FIXED_RESERVATIONS.into_iter().chain(pm1a).chain(smi)
}

/// The kernel's reservation that refuses a driver's claim of `count` ports
/// at `base`, if any: one it overlaps, unless it is COM1 asked for whole.
pub(super) fn kernel_refusal(base: u16, count: u16) -> Option<ReservedPorts> {
    reserved_ports().find(|r| {
        r.overlaps(base, count) && !(r.lent_to_one_driver && r.base == base && r.count == count)
    })
}
