//! The module's way back to the kernel: a [`HostLink`] for its handle and
//! a [`Hardware`] (with [`PortIo`]) for drivers, each call forwarded to a
//! kernel service. Errors come back as their text: [`ModuleError::Message`]
//! and [`HwError::Host`].

use super::{services, vec_sink};
use crate::types::{Bytes, DECLINED, OK, SummaryAbi};
use alloc::borrow::Cow;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use helix_modules::host::HostLink;
use helix_modules::services::hw::{Hardware, HwError, IrqHandler, PortIo, PortRange};
use helix_modules::services::pci::{DeviceId, Function, wire};
use helix_modules::v2::{Request, Response};
use helix_modules::{DispatchSummary, ModuleError};

/// The kernel, seen from the module.
#[derive(Debug, Default)]
pub(super) struct Link;

/// The kernel's services are gone (cannot happen once the entry ran).
fn no_kernel() -> ModuleError {
    ModuleError::Failed("the kernel's services are not set")
}

/// The error text the kernel wrote, as an error.
fn error(text: Vec<u8>) -> ModuleError {
    ModuleError::Message(String::from_utf8_lossy(&text).into_owned())
}

impl HostLink for Link {
    fn request(&self, target: &str, request: Request) -> Result<Response, ModuleError> {
        let s = services().ok_or_else(no_kernel)?;
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let status = (s.request)(
            s.host,
            Bytes::str(target),
            Bytes::str(&request.request_type),
            Bytes::of(&request.payload),
            vec_sink(&mut out),
            vec_sink(&mut err),
        );
        match status {
            OK => Ok(Response::ok(out)),
            DECLINED => Ok(Response {
                payload: Vec::new(),
                error: Some(Cow::Owned(String::from_utf8_lossy(&out).into_owned())),
            }),
            _ => Err(error(err)),
        }
    }

    fn publish(&self, name: &str, data: Vec<u8>) -> Result<DispatchSummary, ModuleError> {
        let s = services().ok_or_else(no_kernel)?;
        let mut summary = SummaryAbi::default();
        let mut err = Vec::new();
        let status = (s.publish)(
            s.host,
            Bytes::str(name),
            Bytes::of(&data),
            &mut summary,
            vec_sink(&mut err),
        );
        if status != OK {
            return Err(error(err));
        }
        Ok(DispatchSummary {
            delivered: summary.delivered,
            handled: summary.handled,
            ignored: summary.ignored,
            failed: summary.failed,
            skipped: summary.skipped,
        })
    }

    fn report_param(&self, key: &str, value: &str) -> Result<(), ModuleError> {
        let s = services().ok_or_else(no_kernel)?;
        let mut err = Vec::new();
        match (s.report_param)(
            s.host,
            Bytes::str(key),
            Bytes::str(value),
            vec_sink(&mut err),
        ) {
            OK => Ok(()),
            _ => Err(error(err)),
        }
    }
}

/// Port access through the kernel, which checks every port against the
/// module's claims (the range check here is the framework's, in the
/// module's own copy, and so not one the kernel relies on).
struct Ports;

impl PortIo for Ports {
    fn read_u8(&self, port: u16) -> u8 {
        services().map_or(0xff, |s| (s.port_read)(s.host, port, 1) as u8)
    }
    fn write_u8(&self, port: u16, value: u8) {
        if let Some(s) = services() {
            (s.port_write)(s.host, port, 1, u32::from(value));
        }
    }
    fn read_u16(&self, port: u16) -> u16 {
        services().map_or(0xffff, |s| (s.port_read)(s.host, port, 2) as u16)
    }
    fn write_u16(&self, port: u16, value: u16) {
        if let Some(s) = services() {
            (s.port_write)(s.host, port, 2, u32::from(value));
        }
    }
    fn read_u32(&self, port: u16) -> u32 {
        services().map_or(u32::MAX, |s| (s.port_read)(s.host, port, 4))
    }
    fn write_u32(&self, port: u16, value: u32) {
        if let Some(s) = services() {
            (s.port_write)(s.host, port, 4, value);
        }
    }
}

impl Hardware for Link {
    fn claim_ports(&self, _owner: &str, base: u16, count: u16) -> Result<PortRange, HwError> {
        let s = services().ok_or(HwError::Unavailable)?;
        let mut err = Vec::new();
        match (s.claim_ports)(s.host, base, count, vec_sink(&mut err)) {
            OK => Ok(PortRange::new(base, count, Arc::new(Ports))),
            _ => Err(HwError::Host(String::from_utf8_lossy(&err).into_owned())),
        }
    }

    fn claim_irq(&self, _owner: &str, irq: u8, _h: Arc<dyn IrqHandler>) -> Result<(), HwError> {
        // Interrupt handlers run in interrupt context, outside any call the
        // kernel could contain; loadable modules do not get them (yet).
        Err(HwError::Host(alloc::format!(
            "IRQ {irq}: interrupt handlers are not available to loadable modules"
        )))
    }

    fn bind_pci(&self, _owner: &str, _ids: &[DeviceId]) -> Vec<Function> {
        // The kernel binds by the table the module declared in its
        // descriptor, not by a list passed here (the same table: the
        // framework passes the module's own `pci_ids`).
        let Some(s) = services() else {
            return Vec::new();
        };
        let (mut out, mut err) = (Vec::new(), Vec::new());
        // A refusal (the kernel logs it) or a list that does not decode is
        // no devices: the driver then reports that it found none.
        if (s.bind_pci)(s.host, vec_sink(&mut out), vec_sink(&mut err)) != OK {
            return Vec::new();
        }
        wire::decode(&out).unwrap_or_default()
    }

    fn release_all(&self, _owner: &str) -> usize {
        services().map_or(0, |s| (s.release_all)(s.host))
    }
}
