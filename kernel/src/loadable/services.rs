//! The kernel services a module binary calls ([`helix_abi::Services`]),
//! each acting for the [`Host`] of the image that calls it.
//!
//! Every service runs inside one of the module's contained calls (module
//! code runs nowhere else), so what it does is charged to the module, and a
//! bad pointer the module hands it faults inside that call, which ends the
//! call, not the kernel. Ranges the kernel reads are first checked to lie
//! in the module's own memory ([`LoadedImage::readable`]'s rule: its image
//! or its arena), through [`module_bytes`].
//!
//! [`LoadedImage::readable`]: super::host::LoadedImage::readable

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::alloc::Layout;
use core::ffi::c_void;
use helix_abi::{Bytes, DECLINED, FAILED, Host as HostPtr, OK, Services, Sink, SummaryAbi};
use helix_modules::ModuleError;
use helix_modules::v2::Request;

use super::host::Host;

/// The services table for the image whose kernel state is `host`.
pub fn table(host: HostPtr) -> Services {
    Services {
        size: core::mem::size_of::<Services>(),
        host,
        alloc,
        dealloc,
        log,
        fault,
        now_ns,
        request,
        publish,
        report_param,
        claim_ports,
        port_read,
        port_write,
        release_all,
        bind_pci,
    }
}

/// The kernel state behind a service's `host` argument.
fn host<'a>(host: HostPtr) -> &'a Host {
    // SAFETY: `host` is the pointer `table` put in this image's services,
    // a `Box<Host>` owned by the `LoadedImage`, which outlives every call
    // into the image (the module can call services only from its own code,
    // which runs only while the image is mapped). A module that passes
    // another value can only name its own table's host or fault inside its
    // own contained call.
    unsafe { &*(host as *const Host) }
}

/// The bytes of a range the module passed, if it lies in the module's own
/// memory (image or arena); an empty range is always fine.
fn module_bytes<'a>(h: &Host, b: Bytes) -> Option<&'a [u8]> {
    if b.len == 0 {
        return Some(&[]);
    }
    if !h.readable(b.ptr as u64, b.len as u64) {
        return None;
    }
    // SAFETY: the range lies in memory mapped for this module (checked
    // above) and the module is inside the call that passed it, so nothing
    // unmaps it meanwhile; module code does not run concurrently with its
    // own call, so nothing writes it while the kernel reads.
    Some(unsafe { core::slice::from_raw_parts(b.ptr, b.len) })
}

/// The text of a range the module passed, or a fault of the module.
fn module_text(h: &Host, b: Bytes) -> String {
    match module_bytes(h, b) {
        Some(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        None => panic!("module passed a range outside its memory to a kernel service"),
    }
}

/// Writes `bytes` to a module's sink (a call into module code, inside the
/// module's own call).
fn put(sink: Sink, bytes: &[u8]) {
    (sink.write)(sink.ctx, bytes.as_ptr(), bytes.len());
}

extern "C" fn alloc(h: HostPtr, size: usize, align: usize) -> *mut u8 {
    let Ok(layout) = Layout::from_size_align(size, align) else {
        return core::ptr::null_mut();
    };
    host(h)
        .arena
        .lock()
        .alloc(layout)
        .map_or(core::ptr::null_mut(), |p| p.as_ptr())
}

extern "C" fn dealloc(h: HostPtr, ptr: *mut u8, size: usize, align: usize) {
    let Ok(layout) = Layout::from_size_align(size, align) else {
        return;
    };
    // SAFETY: the arena refuses a block outside its own pages; inside them,
    // a wrong block can only corrupt this module's own heap (`Arena::dealloc`).
    let freed = unsafe { host(h).arena.lock().dealloc(ptr, layout) };
    if !freed {
        log::warn!("a loaded module freed {ptr:p}, which is not in its arena: ignored");
    }
}

extern "C" fn log(h: HostPtr, level: u32, msg: Bytes) {
    let h = host(h);
    let text = module_text(h, msg);
    let name = h.name.get().copied().unwrap_or("?");
    let level = match level {
        1 => log::Level::Error,
        2 => log::Level::Warn,
        3 => log::Level::Info,
        4 => log::Level::Debug,
        _ => log::Level::Trace,
    };
    log::log!(level, "{name}: {text}");
}

extern "C" fn fault(h: HostPtr, msg: Bytes) -> ! {
    let text = module_text(host(h), msg);
    // The kernel's panic handler finds the module's guard frame and ends
    // the call there, reporting the module's own message.
    panic!("{text}")
}

extern "C" fn now_ns(_: HostPtr) -> u64 {
    crate::time::now_ns()
}

/// Bytes the module writes into a kernel sink during one call into it,
/// each range checked to lie in the module's own memory (like every range
/// a service reads) before it is copied.
pub struct Collected<'h> {
    host: &'h Host,
    bytes: Vec<u8>,
}

impl<'h> Collected<'h> {
    /// Nothing collected yet, for the module of `host`.
    pub fn new(host: &'h Host) -> Self {
        Collected {
            host,
            bytes: Vec::new(),
        }
    }

    /// The sink to pass; valid while `self` is borrowed (for the call).
    pub fn sink(&mut self) -> Sink {
        Sink {
            ctx: (self as *mut Self).cast::<c_void>(),
            write: write_collected,
        }
    }

    /// What was collected.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
}

extern "C" fn write_collected(ctx: *mut c_void, ptr: *const u8, len: usize) {
    // SAFETY: `ctx` is the `Collected` whose `sink` was passed to the call
    // that is running: it lives, mutably borrowed for that call only, in
    // the kernel frame that made the call.
    let c = unsafe { &mut *ctx.cast::<Collected<'_>>() };
    match module_bytes(c.host, Bytes { ptr, len }) {
        Some(bytes) => c.bytes.extend_from_slice(bytes),
        None => panic!("module passed a range outside its memory to a kernel sink"),
    }
}

fn fail(err: Sink, e: &dyn core::fmt::Display) -> u32 {
    put(err, e.to_string().as_bytes());
    FAILED
}

extern "C" fn request(
    h: HostPtr,
    target: Bytes,
    kind: Bytes,
    payload: Bytes,
    out: Sink,
    err: Sink,
) -> u32 {
    let h = host(h);
    let target = module_text(h, target);
    let kind = module_text(h, kind);
    let Some(payload) = module_bytes(h, payload) else {
        panic!("module passed a range outside its memory to a kernel service");
    };
    let Some(handle) = h.handle.lock().clone() else {
        return fail(err, &"the module is not initialised");
    };
    let source = h.name.get().copied().unwrap_or("?");
    match handle.request(&target, Request::new(source, &kind, payload.to_vec())) {
        Ok(response) => match response.error {
            None => {
                put(out, &response.payload);
                OK
            }
            Some(reason) => {
                put(out, reason.as_bytes());
                DECLINED
            }
        },
        Err(e) => fail(err, &e),
    }
}

extern "C" fn publish(
    h: HostPtr,
    name: Bytes,
    data: Bytes,
    summary: *mut SummaryAbi,
    err: Sink,
) -> u32 {
    let h = host(h);
    let name = module_text(h, name);
    let Some(data) = module_bytes(h, data) else {
        panic!("module passed a range outside its memory to a kernel service");
    };
    let Some(handle) = h.handle.lock().clone() else {
        return fail(err, &"the module is not initialised");
    };
    match handle.publish(&name, data.to_vec()) {
        Ok(s) => {
            if !module_bytes(
                h,
                Bytes {
                    ptr: summary as *const u8,
                    len: core::mem::size_of::<SummaryAbi>(),
                },
            )
            .is_some_and(|_| summary.is_aligned())
            {
                panic!("module passed a summary outside its memory to a kernel service");
            }
            // SAFETY: `summary` is aligned and lies in the module's own
            // memory (checked above), which it handed over for this call.
            unsafe {
                summary.write(SummaryAbi {
                    delivered: s.delivered,
                    handled: s.handled,
                    ignored: s.ignored,
                    failed: s.failed,
                    skipped: s.skipped,
                })
            };
            OK
        }
        Err(e) => fail(err, &e),
    }
}

extern "C" fn report_param(h: HostPtr, key: Bytes, value: Bytes, err: Sink) -> u32 {
    let h = host(h);
    let (key, value) = (module_text(h, key), module_text(h, value));
    let Some(handle) = h.handle.lock().clone() else {
        return fail(err, &"the module is not initialised");
    };
    match handle.report_param(&key, &value) {
        Ok(()) => OK,
        Err(e) => fail(err, &e),
    }
}

extern "C" fn claim_ports(h: HostPtr, base: u16, count: u16, err: Sink) -> u32 {
    let h = host(h);
    let Some(hw) = h.hardware.lock().clone() else {
        return fail(
            err,
            &ModuleError::Failed("the module has no hardware access (not a DRIVER)"),
        );
    };
    match hw.claim_ports(base, count) {
        Ok(range) => {
            h.claims.lock().push(range);
            OK
        }
        Err(e) => fail(err, &e),
    }
}

extern "C" fn bind_pci(h: HostPtr, out: Sink, err: Sink) -> u32 {
    let h = host(h);
    let Some(hw) = h.hardware.lock().clone() else {
        return fail(
            err,
            &ModuleError::Failed("the module has no hardware access (not a DRIVER)"),
        );
    };
    // Binds by the table in the module's descriptor (the kernel's copy),
    // exactly as for a built-in driver.
    put(
        out,
        &helix_modules::services::pci::wire::encode(&hw.pci_devices()),
    );
    OK
}

/// The claim holding `width` bytes at `port`, and the offset in it.
fn claimed(
    h: &Host,
    port: u16,
    width: u32,
) -> Option<(helix_modules::services::hw::PortRange, u16)> {
    let claims = h.claims.lock();
    claims.iter().find_map(|r| {
        let offset = port.checked_sub(r.base())?;
        (u32::from(offset) + width <= u32::from(r.count())).then(|| (r.clone(), offset))
    })
}

extern "C" fn port_read(h: HostPtr, port: u16, width: u32) -> u32 {
    let result = match claimed(host(h), port, width) {
        Some((r, o)) => match width {
            1 => r.read(o).map(u32::from),
            2 => r.read16(o).map(u32::from),
            4 => r.read32(o),
            _ => panic!("module read port {port:#x} with width {width}"),
        },
        None => panic!("module read port {port:#x}, which it has not claimed"),
    };
    result.unwrap_or_else(|e| panic!("module read port {port:#x}: {e}"))
}

extern "C" fn port_write(h: HostPtr, port: u16, width: u32, value: u32) {
    let result = match claimed(host(h), port, width) {
        Some((r, o)) => match width {
            1 => r.write(o, value as u8),
            2 => r.write16(o, value as u16),
            4 => r.write32(o, value),
            _ => panic!("module wrote port {port:#x} with width {width}"),
        },
        None => panic!("module wrote port {port:#x}, which it has not claimed"),
    };
    if let Err(e) = result {
        panic!("module wrote port {port:#x}: {e}");
    }
}

extern "C" fn release_all(h: HostPtr) -> usize {
    let h = host(h);
    h.claims.lock().clear();
    h.hardware.lock().as_ref().map_or(0, |hw| hw.release_all())
}
