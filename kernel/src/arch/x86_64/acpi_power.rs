//! ACPI soft-off (S5): how the kernel powers a machine off when QEMU's
//! debug-exit device is not there.
//!
//! Entering S5 means writing `SLP_TYPa | SLP_EN` to the PM1a control
//! register the FADT names. `SLP_TYPa` comes from the DSDT's `\_S5` object,
//! which is AML; rather than interpreting AML, [`parse_s5`] recognises the
//! one shape firmware uses for it, `Name (_S5, Package () { a, b, ... })`,
//! with every length and index checked, and gives up on anything else.

use super::acpi::IdentityMap;
use acpi::fadt::Fadt;
use acpi::{AcpiTables, AmlTable};
use x86_64::instructions::port::Port;

const NAME_OP: u8 = 0x08;
const PACKAGE_OP: u8 = 0x12;
const ZERO_OP: u8 = 0x00;
const ONE_OP: u8 = 0x01;
const BYTE_PREFIX: u8 = 0x0a;
const SLP_EN: u16 = 1 << 13;
const SCI_EN: u16 = 1;

/// Finds `Name (_S5, Package () { a, b, ... })` in `aml` and returns
/// `(a, b)`, the sleep types for PM1a and PM1b.
pub fn parse_s5(aml: &[u8]) -> Option<(u8, u8)> {
    let at = aml.windows(4).position(|w| w == b"_S5_")?;
    // The name is preceded by NameOp, optionally with a root prefix.
    let named = match at.checked_sub(1).and_then(|i| aml.get(i)) {
        Some(&NAME_OP) => true,
        Some(b'\\') => at.checked_sub(2).and_then(|i| aml.get(i)) == Some(&NAME_OP),
        _ => false,
    };
    if !named {
        return None;
    }
    let mut i = at + 4;
    if *aml.get(i)? != PACKAGE_OP {
        return None;
    }
    i += 1;
    // PkgLength: the top two bits of the lead byte count extra bytes.
    let lead = *aml.get(i)?;
    i += 1 + usize::from(lead >> 6);
    let count = *aml.get(i)?;
    i += 1;
    if count < 2 {
        return None;
    }
    let mut element = || -> Option<u8> {
        let op = *aml.get(i)?;
        i += 1;
        match op {
            ZERO_OP => Some(0),
            ONE_OP => Some(1),
            BYTE_PREFIX => {
                let v = *aml.get(i)?;
                i += 1;
                Some(v)
            }
            _ => None,
        }
    };
    Some((element()?, element()?))
}

/// Enters S5 through the FADT's PM1a control register. Returns only if
/// the machine is still running (no ACPI, no `\_S5`, or the write had no
/// effect).
pub fn power_off(rsdp: Option<u64>) {
    let Some(rsdp) = rsdp else { return };
    // SAFETY: the loader reported an RSDP there; the crate validates
    // signatures and checksums before following any pointer.
    let Ok(tables) = (unsafe { AcpiTables::from_rsdp(IdentityMap, rsdp as usize) }) else {
        return;
    };
    let Ok(fadt) = tables.find_table::<Fadt>() else {
        return;
    };
    let Ok(pm1a) = fadt.pm1a_control_block() else {
        return;
    };
    let Ok(AmlTable { address, length }) = tables.dsdt() else {
        return;
    };
    if address
        .checked_add(length as usize)
        .is_none_or(|end| end > 4 << 30)
    {
        return;
    }
    // SAFETY: the DSDT lies in the identity-mapped first 4 GiB (checked
    // above) and is only read.
    let aml = unsafe { core::slice::from_raw_parts(address as *const u8, length as usize) };
    let Some((slp_typ_a, _)) = parse_s5(aml) else {
        return;
    };
    let Ok(port) = u16::try_from(pm1a.address) else {
        return;
    };
    let mut control = Port::<u16>::new(port);
    // SAFETY: PM1a_CNT is the ACPI fixed-hardware control register the
    // FADT names; enabling ACPI mode and setting SLP_TYP|SLP_EN is the
    // architected way to enter S5.
    unsafe {
        let smi_cmd = fadt.smi_cmd_port;
        if control.read() & SCI_EN == 0 && smi_cmd != 0 && fadt.acpi_enable != 0 {
            Port::<u8>::new(smi_cmd as u16).write(fadt.acpi_enable);
            for _ in 0..1_000_000 {
                if control.read() & SCI_EN != 0 {
                    break;
                }
                core::hint::spin_loop();
            }
        }
        control.write((u16::from(slp_typ_a) & 7) << 10 | SLP_EN);
    }
}
