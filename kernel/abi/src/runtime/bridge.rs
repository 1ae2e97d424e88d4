//! The module's entry point and its [`Ops`]: each turns one call of the
//! interface back into the module's `ModuleTrait` method, and its answer
//! into a status and bytes in the kernel's sinks.

use super::link::Link;
use super::{SERVICES, put, slice, text};
use crate::types::*;
use alloc::boxed::Box;
use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::Ordering;
use helix_modules::host::HostedParam;
use helix_modules::services::hw::{HardwareAccess, HwError};
use helix_modules::v2::{
    Context, Event, EventResponse, ModuleHandle, ModuleTrait, PressureLevel, Request,
};
use helix_modules::{ModuleError, ModuleId};

/// The entry point (see [`crate::export_module!`]): keeps `services` and
/// describes module type `T`. Called once per image, before anything else.
pub fn entry<T: ModuleTrait + Default + 'static>(services: *const Services) -> *const Descriptor {
    SERVICES.store(services.cast_mut(), Ordering::Release);
    let info = T::default().info();
    let descriptor = Box::new(Descriptor {
        magic: crate::MAGIC,
        abi_major: crate::ABI_MAJOR
            + if cfg!(feature = "test-wrong-abi") {
                1
            } else {
                0
            },
        abi_minor: crate::ABI_MINOR,
        reserved: 0,
        layout_hash: crate::LAYOUT_HASH,
        info: super::describe::info(&info),
        ops: Ops {
            create: create::<T>,
            destroy: destroy::<T>,
            init: init::<T>,
            start: start::<T>,
            stop: stop::<T>,
            event: event::<T>,
            request: request::<T>,
            param_change: param_change::<T>,
            healthy: healthy::<T>,
            save_state: save_state::<T>,
            restore_state: restore_state::<T>,
        },
    });
    Box::leak(descriptor)
}

/// The instance behind an [`Instance`] pointer.
///
/// # Safety
/// `inst` must come from `create::<T>` and not be destroyed; the kernel
/// makes one call at a time on it, so the reference is unique.
unsafe fn module<'a, T>(inst: Instance) -> &'a mut T {
    // SAFETY: the caller's contract.
    unsafe { &mut *(inst as *mut T) }
}

/// A status for `result`, with the error's text in `err`.
fn status(result: Result<(), ModuleError>, err: Sink) -> u32 {
    match result {
        Ok(()) => OK,
        Err(e) => {
            put(err, e.to_string().as_bytes());
            FAILED
        }
    }
}

extern "C" fn create<T: ModuleTrait + Default>() -> Instance {
    Box::into_raw(Box::<T>::default()).cast()
}

extern "C" fn destroy<T>(inst: Instance) {
    // SAFETY: the kernel destroys each instance it created once, last.
    drop(unsafe { Box::from_raw(inst as *mut T) });
}

extern "C" fn init<T: ModuleTrait>(inst: Instance, init: *const InitAbi, err: Sink) -> u32 {
    // SAFETY: the kernel passes a valid `InitAbi` for the call, whose
    // `config` points at `config_len` entries.
    let (init, config) = unsafe {
        let init = &*init;
        let config = if init.config_len == 0 {
            &[][..]
        } else {
            core::slice::from_raw_parts(init.config, init.config_len)
        };
        (init, config)
    };
    let params = config
        .iter()
        .map(|c| HostedParam {
            // SAFETY: ranges from the kernel, valid for this call.
            key: unsafe { text(c.key) },
            // SAFETY: as above.
            value: unsafe { text(c.value) },
            sensitive: c.sensitive != 0,
        })
        .collect();
    // SAFETY: as above.
    let name = unsafe { text(init.name) };
    let id = ModuleId::hosted(init.id);
    let link = Arc::new(Link);
    // SAFETY: `inst` is the kernel's instance of `T` (see `module`).
    let pci_ids = unsafe { module::<T>(inst) }.info().pci_ids;
    let hardware = if init.hardware != 0 {
        Ok(HardwareAccess::hosted(link.clone(), name.clone(), pci_ids))
    } else {
        Err(HwError::NotADriver(name.clone()))
    };
    let ctx = Context::hosted(id, name, params, ModuleHandle::hosted(id, link), hardware);
    // SAFETY: `inst` is the kernel's instance of `T` (see `module`).
    status(unsafe { module::<T>(inst) }.init(&ctx), err)
}

extern "C" fn start<T: ModuleTrait>(inst: Instance, err: Sink) -> u32 {
    // SAFETY: see `module`.
    status(unsafe { module::<T>(inst) }.start(), err)
}

extern "C" fn stop<T: ModuleTrait>(inst: Instance, err: Sink) -> u32 {
    // SAFETY: see `module`.
    status(unsafe { module::<T>(inst) }.stop(), err)
}

/// The event an [`EventAbi`] describes; `None` for a kind this runtime
/// does not know (a newer kernel's), which the module then ignores.
///
/// # Safety
/// `e`'s ranges must be valid for the call.
unsafe fn event_of(e: &EventAbi) -> Option<Event> {
    Some(match e.kind {
        event_kind::TICK => Event::Tick { timestamp_ns: e.a },
        event_kind::SHUTDOWN => Event::Shutdown,
        event_kind::MEMORY_PRESSURE => Event::MemoryPressure {
            level: match e.a {
                0 => PressureLevel::Low,
                1 => PressureLevel::Medium,
                _ => PressureLevel::Critical,
            },
        },
        event_kind::CPU_HOTPLUG => Event::CpuHotplug {
            cpu_id: e.a as u32,
            online: e.b != 0,
        },
        event_kind::CUSTOM => Event::Custom {
            // SAFETY: the caller's contract.
            name: unsafe { text(e.name) },
            // SAFETY: the caller's contract.
            data: unsafe { slice(e.data) }.to_vec(),
        },
        _ => return None,
    })
}

extern "C" fn event<T: ModuleTrait>(inst: Instance, e: *const EventAbi, err: Sink) -> u32 {
    // SAFETY: the kernel passes a valid event for the call.
    let Some(event) = (unsafe { event_of(&*e) }) else {
        return EVENT_IGNORED;
    };
    // SAFETY: see `module`.
    match unsafe { module::<T>(inst) }.handle_event(&event) {
        EventResponse::Handled => EVENT_HANDLED,
        EventResponse::Ignored => EVENT_IGNORED,
        EventResponse::Error(e) => {
            put(err, e.to_string().as_bytes());
            EVENT_ERROR
        }
    }
}

/// Request sources seen so far: `Request::source` is `&'static str`, so
/// each distinct sender name is kept once for the life of the image.
static SOURCES: spin_free::Names = spin_free::Names::new();

extern "C" fn request<T: ModuleTrait>(
    inst: Instance,
    r: *const RequestAbi,
    out: Sink,
    err: Sink,
) -> u32 {
    // SAFETY: the kernel passes a valid request for the call.
    let r = unsafe { &*r };
    // SAFETY: ranges from the kernel, valid for this call.
    let (source, kind, payload) = unsafe { (slice(r.source), text(r.kind), slice(r.payload)) };
    let request = Request {
        source: SOURCES.intern(source),
        request_type: kind,
        payload: payload.to_vec(),
    };
    // SAFETY: see `module`.
    match unsafe { module::<T>(inst) }.handle_request(&request) {
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
        Err(e) => {
            put(err, e.to_string().as_bytes());
            FAILED
        }
    }
}

extern "C" fn param_change<T: ModuleTrait>(
    inst: Instance,
    key: Bytes,
    value: Bytes,
    err: Sink,
) -> u32 {
    // SAFETY: ranges from the kernel, valid for this call.
    let (key, value): (String, String) = unsafe { (text(key), text(value)) };
    // SAFETY: see `module`.
    status(
        unsafe { module::<T>(inst) }.on_param_change(&key, &value),
        err,
    )
}

extern "C" fn healthy<T: ModuleTrait>(inst: Instance) -> u32 {
    // SAFETY: see `module`.
    u32::from(unsafe { module::<T>(inst) }.is_healthy())
}

extern "C" fn save_state<T: ModuleTrait>(inst: Instance, out: Sink) -> u32 {
    // SAFETY: see `module`.
    match unsafe { module::<T>(inst) }.save_state() {
        Some(state) => {
            put(out, &state);
            1
        }
        None => 0,
    }
}

extern "C" fn restore_state<T: ModuleTrait>(inst: Instance, state: Bytes, err: Sink) -> u32 {
    // SAFETY: the range is the kernel's, valid for this call.
    let state: Vec<u8> = unsafe { slice(state) }.to_vec();
    // SAFETY: see `module`.
    status(unsafe { module::<T>(inst) }.restore_state(&state), err)
}

/// Interned sender names. Lookups, the common case (a module is asked by
/// the same few senders), take no lock: entries are published with a
/// release store of the count and never change; an insertion takes a
/// small spin lock.
mod spin_free {
    use alloc::boxed::Box;
    use alloc::string::String;
    use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering};

    /// Most distinct names kept; later ones read as `"(other)"`.
    const MAX: usize = 64;

    pub(super) struct Names {
        busy: AtomicBool,
        count: AtomicUsize,
        ptrs: [AtomicPtr<u8>; MAX],
        lens: [AtomicUsize; MAX],
    }

    impl Names {
        pub(super) const fn new() -> Self {
            Names {
                busy: AtomicBool::new(false),
                count: AtomicUsize::new(0),
                ptrs: [const { AtomicPtr::new(core::ptr::null_mut()) }; MAX],
                lens: [const { AtomicUsize::new(0) }; MAX],
            }
        }

        fn get(&self, i: usize) -> &'static str {
            let (p, len) = (
                self.ptrs[i].load(Ordering::Relaxed),
                self.lens[i].load(Ordering::Relaxed),
            );
            // SAFETY: entries below the published count were written (before
            // the release store of the count, which the caller's acquire load
            // saw) from a leaked `&'static str`, and never change.
            unsafe { core::str::from_utf8_unchecked(core::slice::from_raw_parts(p, len)) }
        }

        fn find(&self, name: &[u8]) -> Option<&'static str> {
            let n = self.count.load(Ordering::Acquire);
            (0..n).map(|i| self.get(i)).find(|s| s.as_bytes() == name)
        }

        pub(super) fn intern(&self, name: &[u8]) -> &'static str {
            if let Some(found) = self.find(name) {
                return found;
            }
            while self
                .busy
                .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_err()
            {
                core::hint::spin_loop();
            }
            let n = self.count.load(Ordering::Relaxed);
            let found = match self.find(name) {
                Some(found) => found,
                None if n < MAX => {
                    let text = String::from_utf8_lossy(name).into_owned();
                    let kept: &'static str = Box::leak(text.into_boxed_str());
                    self.ptrs[n].store(kept.as_ptr().cast_mut(), Ordering::Relaxed);
                    self.lens[n].store(kept.len(), Ordering::Relaxed);
                    self.count.store(n + 1, Ordering::Release);
                    kept
                }
                None => "(other)",
            };
            self.busy.store(false, Ordering::Release);
            found
        }
    }
}
