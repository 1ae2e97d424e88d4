//! What [`super::FakeHardware`] records and reports: the width and
//! direction of each port access, the access log's entries, and why an
//! interrupt could not be raised.

use core::fmt;

use super::IRQ_LINES;

/// The width of a port access.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Width {
    /// 8 bits (`read`/`write`).
    U8,
    /// 16 bits (`read16`/`write16`).
    U16,
    /// 32 bits (`read32`/`write32`).
    U32,
}

impl Width {
    /// The width in bits.
    pub fn bits(self) -> u8 {
        match self {
            Width::U8 => 8,
            Width::U16 => 16,
            Width::U32 => 32,
        }
    }

    /// The values an access of this width can carry: `0xff`, `0xffff` or
    /// `0xffff_ffff`.
    pub fn mask(self) -> u32 {
        match self {
            Width::U8 => 0xff,
            Width::U16 => 0xffff,
            Width::U32 => 0xffff_ffff,
        }
    }
}

/// Whether an access read or wrote the port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// The driver read the port.
    Read,
    /// The driver wrote the port.
    Write,
}

/// One port access, as recorded in the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Access {
    /// The port (the first one, for a wide access).
    pub port: u16,
    /// The width of the access.
    pub width: Width,
    /// Read or write.
    pub direction: Direction,
    /// The value read or written.
    pub value: u32,
}

impl Access {
    /// A read of `value` from `port`.
    pub fn read(port: u16, width: Width, value: u32) -> Self {
        Access {
            port,
            width,
            direction: Direction::Read,
            value,
        }
    }

    /// A write of `value` to `port`.
    pub fn write(port: u16, width: Width, value: u32) -> Self {
        Access {
            port,
            width,
            direction: Direction::Write,
            value,
        }
    }
}

impl fmt::Display for Access {
    /// `in8 0x71 -> 0x42`, `out32 0xcf8 <- 0x80000000`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (verb, arrow) = match self.direction {
            Direction::Read => ("in", "->"),
            Direction::Write => ("out", "<-"),
        };
        write!(
            f,
            "{verb}{} {:#x} {arrow} {:#x}",
            self.width.bits(),
            self.port,
            self.value
        )
    }
}

/// Why [`FakeHardware::raise_irq`](super::FakeHardware::raise_irq) could not deliver an interrupt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RaiseError {
    /// The line does not exist (the fake has [`IRQ_LINES`] lines).
    NoSuchLine(u8),
    /// No driver holds the line, so there is no handler to call.
    NotClaimed(u8),
}

impl fmt::Display for RaiseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoSuchLine(irq) => {
                write!(f, "IRQ {irq} does not exist (lines 0..{IRQ_LINES})")
            }
            Self::NotClaimed(irq) => write!(f, "IRQ {irq} is not claimed: no handler to call"),
        }
    }
}

impl core::error::Error for RaiseError {}
