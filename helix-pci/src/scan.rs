//! Enumeration: every device number of every bus asked for, every
//! function of a multi-function device, and the buses behind bridges.

use crate::{Bdf, ConfigSpace, Function, bar, caps, reg};
use alloc::vec::Vec;
use core::ops::RangeInclusive;

/// Header types (bits 0-6 of the header-type byte).
const HEADER_ENDPOINT: u8 = 0;
const HEADER_BRIDGE: u8 = 1;
/// Header-type bit 7: more functions than function 0.
const MULTIFUNCTION: u8 = 0x80;

/// Every present function on `buses` and on the buses behind the
/// PCI-to-PCI bridges found there (recursively; each bus is scanned once),
/// sorted by address. Sizing a BAR writes to it, so each function's I/O
/// and memory decoding is turned off while its BARs are probed and put
/// back afterwards; every register probed is restored.
pub fn scan(cs: &impl ConfigSpace, buses: RangeInclusive<u8>) -> Vec<Function> {
    let mut seen = [false; 256];
    let mut pending: Vec<u8> = buses.collect();
    let mut found = Vec::new();
    while let Some(bus) = pending.pop() {
        if core::mem::replace(&mut seen[usize::from(bus)], true) {
            continue;
        }
        for device in 0..32 {
            scan_device(cs, bus, device, &mut found);
        }
        for f in &found {
            if let Some(next) = f.secondary_bus.filter(|b| !seen[usize::from(*b)]) {
                pending.push(next);
            }
        }
    }
    found.sort_by_key(|f| f.bdf);
    found
}

/// Adds the functions of one device: function 0, and 1-7 when function 0
/// says the device is multi-function.
fn scan_device(cs: &impl ConfigSpace, bus: u8, device: u8, found: &mut Vec<Function>) {
    let Some(first) = Bdf::new(bus, device, 0).and_then(|a| probe(cs, a)) else {
        return;
    };
    let more = first.multifunction;
    found.push(first);
    if more {
        for function in 1..8 {
            if let Some(f) = Bdf::new(bus, device, function).and_then(|a| probe(cs, a)) {
                found.push(f);
            }
        }
    }
}

/// The function at `addr`, or `None` when nothing answers there (vendor id
/// 0xffff). Its BARs are sized (decoding off meanwhile, see [`scan`]) and
/// its capabilities walked.
pub fn probe(cs: &impl ConfigSpace, addr: Bdf) -> Option<Function> {
    let id = cs.read32(addr, reg::ID);
    let vendor = id as u16;
    if vendor == 0xffff {
        return None;
    }
    let class = cs.read32(addr, reg::CLASS);
    let header = (cs.read32(addr, reg::HEADER) >> 16) as u8;
    let header_type = header & !MULTIFUNCTION;
    let interrupt = cs.read32(addr, reg::INTERRUPT);
    let (slots, subsystem, secondary_bus) = match header_type {
        HEADER_ENDPOINT => (6, cs.read32(addr, reg::SUBSYSTEM), None),
        HEADER_BRIDGE => (2, 0, Some((cs.read32(addr, reg::BRIDGE_BUSES) >> 8) as u8)),
        _ => (0, 0, None),
    };
    let bars = if slots > 0 {
        let command = cs.read32(addr, reg::COMMAND) & 0xffff;
        // Status bits are write-one-to-clear: write the command half only.
        cs.write32(addr, reg::COMMAND, command & !reg::COMMAND_DECODE);
        let bars = bar::read_bars(cs, addr, slots);
        cs.write32(addr, reg::COMMAND, command);
        bars
    } else {
        Vec::new()
    };
    let (capabilities, capabilities_truncated) = if slots > 0 {
        caps::walk(cs, addr, vendor)
    } else {
        (Vec::new(), false)
    };
    Some(Function {
        bdf: addr,
        vendor,
        device: (id >> 16) as u16,
        class: (class >> 24) as u8,
        subclass: (class >> 16) as u8,
        prog_if: (class >> 8) as u8,
        revision: class as u8,
        header_type,
        multifunction: header & MULTIFUNCTION != 0,
        subsystem_vendor: subsystem as u16,
        subsystem: (subsystem >> 16) as u16,
        interrupt_line: interrupt as u8,
        interrupt_pin: (interrupt >> 8) as u8,
        bars,
        capabilities,
        capabilities_truncated,
        secondary_bus,
    })
}
