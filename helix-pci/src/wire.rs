//! A byte encoding of [`Function`] lists, for crossing the loadable-module
//! interface: the kernel binds a loaded driver's devices and hands them
//! over as bytes, and the driver's runtime decodes them into the same
//! `Function` values a built-in driver gets.
//!
//! Little-endian, fixed-width fields in declaration order; lists are a
//! `u16` count then the items; a capability is a tag byte then its fields.
//! [`decode`] checks everything (lengths, tags, a [`Bdf`] in range, counts
//! within [`MAX_CAPABILITIES`] and six BARs) and refuses bad input with a
//! [`WireError`], never a panic: the bytes come from the other side of a
//! trust boundary.

use crate::{
    Bar, BarKind, Bdf, Capability, Function, MAX_CAPABILITIES, Msi, MsiX, VirtioCap, VirtioCfg,
};
use alloc::vec::Vec;
use core::fmt;

/// Most functions one encoding carries.
pub const MAX_FUNCTIONS: usize = 256;

/// Why bytes are not an encoded function list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireError {
    /// The bytes end inside a field.
    Truncated,
    /// Bytes are left after the last function.
    Trailing,
    /// A field holds a value no encoder writes (what it was).
    Invalid(&'static str),
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated => f.write_str("the function list ends inside a field"),
            Self::Trailing => f.write_str("bytes follow the function list"),
            Self::Invalid(what) => write!(f, "the function list has a bad {what}"),
        }
    }
}

impl core::error::Error for WireError {}

/// Encodes `functions` (at most [`MAX_FUNCTIONS`]; the rest are left out).
pub fn encode(functions: &[Function]) -> Vec<u8> {
    let mut out = Vec::new();
    let functions = &functions[..functions.len().min(MAX_FUNCTIONS)];
    put16(&mut out, functions.len() as u16);
    for f in functions {
        out.extend_from_slice(&[f.bdf.bus(), f.bdf.device(), f.bdf.function()]);
        put16(&mut out, f.vendor);
        put16(&mut out, f.device);
        out.extend_from_slice(&[
            f.class,
            f.subclass,
            f.prog_if,
            f.revision,
            f.header_type,
            u8::from(f.multifunction),
        ]);
        put16(&mut out, f.subsystem_vendor);
        put16(&mut out, f.subsystem);
        out.extend_from_slice(&[f.interrupt_line, f.interrupt_pin]);
        out.extend_from_slice(&[
            u8::from(f.secondary_bus.is_some()),
            f.secondary_bus.unwrap_or(0),
            u8::from(f.capabilities_truncated),
        ]);
        put16(&mut out, f.bars.len() as u16);
        for b in &f.bars {
            let kind = match b.kind {
                BarKind::Memory32 => 0,
                BarKind::Memory64 => 1,
                BarKind::Io => 2,
            };
            out.extend_from_slice(&[b.index, kind, u8::from(b.prefetchable)]);
            put64(&mut out, b.base);
            put64(&mut out, b.size);
        }
        put16(&mut out, f.capabilities.len() as u16);
        for c in &f.capabilities {
            encode_capability(&mut out, c);
        }
    }
    out
}

fn encode_capability(out: &mut Vec<u8>, c: &Capability) {
    match c {
        Capability::Msi(m) => {
            out.extend_from_slice(&[
                0,
                m.offset,
                u8::from(m.address_64),
                m.vectors,
                u8::from(m.maskable),
                u8::from(m.enabled),
            ]);
        }
        Capability::MsiX(m) => {
            out.extend_from_slice(&[1, m.offset]);
            put16(out, m.table_size);
            out.push(m.table_bar);
            put32(out, m.table_offset);
            out.push(m.pba_bar);
            put32(out, m.pba_offset);
            out.push(u8::from(m.enabled));
        }
        Capability::Virtio(v) => {
            let (cfg, other) = match v.cfg {
                VirtioCfg::Common => (1, 0),
                VirtioCfg::Notify => (2, 0),
                VirtioCfg::Isr => (3, 0),
                VirtioCfg::Device => (4, 0),
                VirtioCfg::PciCfg => (5, 0),
                VirtioCfg::Other(t) => (0, t),
            };
            out.extend_from_slice(&[2, v.offset, cfg, other, v.bar]);
            put32(out, v.bar_offset);
            put32(out, v.length);
            out.push(u8::from(v.notify_off_multiplier.is_some()));
            put32(out, v.notify_off_multiplier.unwrap_or(0));
        }
        Capability::Other { id, offset } => out.extend_from_slice(&[3, *id, *offset]),
    }
}

/// Decodes what [`encode`] wrote.
pub fn decode(bytes: &[u8]) -> Result<Vec<Function>, WireError> {
    let mut r = Reader(bytes);
    let count = usize::from(r.u16()?);
    if count > MAX_FUNCTIONS {
        return Err(WireError::Invalid("function count"));
    }
    let mut functions = Vec::with_capacity(count);
    for _ in 0..count {
        let [bus, device, function] = r.array()?;
        let bdf = Bdf::new(bus, device, function).ok_or(WireError::Invalid("address"))?;
        let vendor = r.u16()?;
        let device_id = r.u16()?;
        let [
            class,
            subclass,
            prog_if,
            revision,
            header_type,
            multifunction,
        ] = r.array()?;
        let subsystem_vendor = r.u16()?;
        let subsystem = r.u16()?;
        let [interrupt_line, interrupt_pin] = r.array()?;
        let [has_secondary, secondary, truncated] = r.array()?;
        let bar_count = usize::from(r.u16()?);
        if bar_count > 6 {
            return Err(WireError::Invalid("BAR count"));
        }
        let mut bars = Vec::with_capacity(bar_count);
        for _ in 0..bar_count {
            let [index, kind, prefetchable] = r.array()?;
            let kind = match kind {
                0 => BarKind::Memory32,
                1 => BarKind::Memory64,
                2 => BarKind::Io,
                _ => return Err(WireError::Invalid("BAR kind")),
            };
            bars.push(Bar {
                index,
                kind,
                prefetchable: r.flag(prefetchable)?,
                base: r.u64()?,
                size: r.u64()?,
            });
        }
        let cap_count = usize::from(r.u16()?);
        if cap_count > MAX_CAPABILITIES {
            return Err(WireError::Invalid("capability count"));
        }
        let mut capabilities = Vec::with_capacity(cap_count);
        for _ in 0..cap_count {
            capabilities.push(decode_capability(&mut r)?);
        }
        functions.push(Function {
            bdf,
            vendor,
            device: device_id,
            class,
            subclass,
            prog_if,
            revision,
            header_type,
            multifunction: r.flag(multifunction)?,
            subsystem_vendor,
            subsystem,
            interrupt_line,
            interrupt_pin,
            bars,
            capabilities,
            capabilities_truncated: r.flag(truncated)?,
            secondary_bus: r.flag(has_secondary)?.then_some(secondary),
        });
    }
    if !r.0.is_empty() {
        return Err(WireError::Trailing);
    }
    Ok(functions)
}

fn decode_capability(r: &mut Reader<'_>) -> Result<Capability, WireError> {
    Ok(match r.u8()? {
        0 => {
            let [offset, address_64, vectors, maskable, enabled] = r.array()?;
            Capability::Msi(Msi {
                offset,
                address_64: r.flag(address_64)?,
                vectors,
                maskable: r.flag(maskable)?,
                enabled: r.flag(enabled)?,
            })
        }
        1 => {
            let offset = r.u8()?;
            let table_size = r.u16()?;
            let table_bar = r.u8()?;
            let table_offset = r.u32()?;
            let pba_bar = r.u8()?;
            let pba_offset = r.u32()?;
            let enabled = r.u8()?;
            Capability::MsiX(MsiX {
                offset,
                table_size,
                table_bar,
                table_offset,
                pba_bar,
                pba_offset,
                enabled: r.flag(enabled)?,
            })
        }
        2 => {
            let [offset, cfg, other, bar] = r.array()?;
            let cfg = match cfg {
                1 => VirtioCfg::Common,
                2 => VirtioCfg::Notify,
                3 => VirtioCfg::Isr,
                4 => VirtioCfg::Device,
                5 => VirtioCfg::PciCfg,
                0 if !(1..=5).contains(&other) => VirtioCfg::Other(other),
                _ => return Err(WireError::Invalid("virtio structure type")),
            };
            let bar_offset = r.u32()?;
            let length = r.u32()?;
            let has_multiplier = r.u8()?;
            let multiplier = r.u32()?;
            Capability::Virtio(VirtioCap {
                offset,
                cfg,
                bar,
                bar_offset,
                length,
                notify_off_multiplier: r.flag(has_multiplier)?.then_some(multiplier),
            })
        }
        3 => {
            let [id, offset] = r.array()?;
            Capability::Other { id, offset }
        }
        _ => return Err(WireError::Invalid("capability tag")),
    })
}

fn put16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}

/// The bytes not read yet.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn array<const N: usize>(&mut self) -> Result<[u8; N], WireError> {
        let (head, rest) = self
            .0
            .split_first_chunk::<N>()
            .ok_or(WireError::Truncated)?;
        self.0 = rest;
        Ok(*head)
    }
    fn u8(&mut self) -> Result<u8, WireError> {
        self.array::<1>().map(|[b]| b)
    }
    fn u16(&mut self) -> Result<u16, WireError> {
        self.array().map(u16::from_le_bytes)
    }
    fn u32(&mut self) -> Result<u32, WireError> {
        self.array().map(u32::from_le_bytes)
    }
    fn u64(&mut self) -> Result<u64, WireError> {
        self.array().map(u64::from_le_bytes)
    }
    /// A boolean byte: 0 or 1, nothing else.
    fn flag(&self, b: u8) -> Result<bool, WireError> {
        match b {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(WireError::Invalid("flag")),
        }
    }
}
