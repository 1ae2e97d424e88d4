//! ACPI soft-off (S5): how the kernel powers a machine off when QEMU's
//! debug-exit device is not there.
//!
//! Entering S5 means writing `SLP_TYPa | SLP_EN` to the PM1a control
//! register the FADT names. `SLP_TYPa` comes from the DSDT's `\_S5` object,
//! which is AML; rather than interpreting AML, [`parse_s5`] recognises the
//! one shape firmware uses for it, `Name (_S5, Package () { a, b, ... })`,
//! with every length and index checked, and gives up on anything else.
//!
//! The ports involved, PM1a control and (to switch the chipset into ACPI
//! mode first) the SMI command port, are the kernel's: [`s5`] finds them
//! once, and the hardware claim table (`crate::hw`) reserves them so that
//! no driver can claim them.

use acpi::AmlTable;
use acpi::fadt::Fadt;
use spin::Once;
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

/// What entering S5 takes, found once from the FADT and the DSDT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct S5 {
    /// The PM1a control register's I/O port (16 bits wide).
    pub pm1a_control: u16,
    /// The SMI command port and the value that enables ACPI mode, when
    /// the firmware has one (0 in the FADT: none).
    pub acpi_enable: Option<(u16, u8)>,
    /// `SLP_TYPa` for S5, from `\_S5`.
    pub slp_typ_a: u8,
}

static S5_INFO: Once<Option<S5>> = Once::new();

/// How to enter S5 on this machine, if it can be done: the loader reported
/// ACPI tables with a FADT whose PM1a control block is an I/O port, and a
/// DSDT holding a `\_S5` this module understands. Read once and kept.
pub fn s5() -> Option<S5> {
    *S5_INFO.call_once(find_s5)
}

fn find_s5() -> Option<S5> {
    let tables = super::acpi::tables()?;
    let fadt = tables.find_table::<Fadt>().ok()?;
    let pm1a = fadt.pm1a_control_block().ok()?;
    let AmlTable { address, length } = tables.dsdt().ok()?;
    if address < super::paging::PAGE_SIZE as usize
        || address
            .checked_add(length as usize)
            .is_none_or(|end| end > 4 << 30)
    {
        return None;
    }
    // SAFETY: the DSDT lies in the identity-mapped first 4 GiB, past the
    // unmapped page 0 (checked above), where a physical address is also
    // the virtual one; it is firmware memory the frame allocator never
    // hands out, so nothing writes it, and it is only read here.
    let aml = unsafe { core::slice::from_raw_parts(address as *const u8, length as usize) };
    let (slp_typ_a, _) = parse_s5(aml)?;
    let pm1a_control = u16::try_from(pm1a.address).ok()?;
    let smi_cmd = fadt.smi_cmd_port;
    let acpi_enable = match u16::try_from(smi_cmd) {
        Ok(port) if port != 0 && fadt.acpi_enable != 0 => Some((port, fadt.acpi_enable)),
        _ => None,
    };
    Some(S5 {
        pm1a_control,
        acpi_enable,
        slp_typ_a,
    })
}

/// Enters S5 through the FADT's PM1a control register. Returns only if
/// the machine is still running (no ACPI, no `\_S5`, or the write had no
/// effect).
pub fn power_off() {
    let Some(s5) = s5() else { return };
    let mut control = Port::<u16>::new(s5.pm1a_control);
    // SAFETY: PM1a_CNT is the ACPI fixed-hardware control register the
    // FADT names, and the SMI command port the one it names for enabling
    // ACPI mode; both are the kernel's (reserved in `crate::hw`, so no
    // driver holds them). Port I/O touches no memory Rust knows of;
    // enabling ACPI mode and setting SLP_TYP|SLP_EN is the architected
    // way to enter S5, and powering off is what the caller asked for.
    unsafe {
        if control.read() & SCI_EN == 0
            && let Some((smi_cmd, enable)) = s5.acpi_enable
        {
            Port::<u8>::new(smi_cmd).write(enable);
            for _ in 0..1_000_000 {
                if control.read() & SCI_EN != 0 {
                    break;
                }
                core::hint::spin_loop();
            }
        }
        control.write((u16::from(s5.slp_typ_a) & 7) << 10 | SLP_EN);
    }
}
