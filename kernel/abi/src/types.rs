//! The `#[repr(C)]` types that cross between the kernel and a module
//! binary, and the entry points' signatures.
//!
//! Every pointer in them is valid for the duration of the call that passes
//! it, unless its documentation says otherwise. Status codes are `u32`: 0 is
//! success, anything else says which kind of failure (see each function),
//! with the error's text written into the `err` [`Sink`] the caller passed.

use core::ffi::c_void;

/// A borrowed byte range (a string's UTF-8 or a payload).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Bytes {
    /// First byte (dangling but non-null when `len` is 0).
    pub ptr: *const u8,
    /// Number of bytes.
    pub len: usize,
}

impl Bytes {
    /// The range of `bytes`.
    pub const fn of(bytes: &[u8]) -> Self {
        Bytes {
            ptr: bytes.as_ptr(),
            len: bytes.len(),
        }
    }

    /// The range of `text`'s UTF-8.
    pub const fn str(text: &str) -> Self {
        Self::of(text.as_bytes())
    }
}

/// Where the receiver of variable-length data wants it: the other side
/// calls `write` (any number of times, appending) with `ctx`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Sink {
    /// The receiver's state, opaque to the writer.
    pub ctx: *mut c_void,
    /// Appends `len` bytes at `ptr`.
    pub write: extern "C" fn(ctx: *mut c_void, ptr: *const u8, len: usize),
}

/// Status: success.
pub const OK: u32 = 0;
/// Status: the call failed; the error's text is in the `err` sink.
pub const FAILED: u32 = 1;
/// Request status: the handler declined (a `Response::err`); the reason is
/// in the `out` sink.
pub const DECLINED: u32 = 2;

/// Event answer: handled.
pub const EVENT_HANDLED: u32 = 0;
/// Event answer: ignored.
pub const EVENT_IGNORED: u32 = 1;
/// Event answer: error (text in the `err` sink).
pub const EVENT_ERROR: u32 = 2;

/// Event kind numbers in [`EventAbi::kind`].
pub mod event_kind {
    /// `Tick { timestamp_ns: a }`.
    pub const TICK: u32 = 0;
    /// `Shutdown`.
    pub const SHUTDOWN: u32 = 1;
    /// `MemoryPressure { level: a }` (0 low, 1 medium, 2 critical).
    pub const MEMORY_PRESSURE: u32 = 2;
    /// `CpuHotplug { cpu_id: a, online: b != 0 }`.
    pub const CPU_HOTPLUG: u32 = 3;
    /// `Custom { name, data }`.
    pub const CUSTOM: u32 = 4;
}

/// An event.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct EventAbi {
    /// One of [`event_kind`].
    pub kind: u32,
    /// Second number (see [`event_kind`]).
    pub b: u32,
    /// First number (see [`event_kind`]).
    pub a: u64,
    /// Custom events: the name.
    pub name: Bytes,
    /// Custom events: the payload.
    pub data: Bytes,
}

/// An IPC request.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct RequestAbi {
    /// The sender's name.
    pub source: Bytes,
    /// What is asked.
    pub kind: Bytes,
    /// Arguments.
    pub payload: Bytes,
}

/// One parameter value handed to `init`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ConfigAbi {
    /// The key.
    pub key: Bytes,
    /// The value.
    pub value: Bytes,
    /// Listings hide it (non-zero).
    pub sensitive: u32,
}

/// What `init` receives.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct InitAbi {
    /// The module's registry id.
    pub id: u32,
    /// Non-zero if the module may use the hardware services.
    pub hardware: u32,
    /// The module's registered name.
    pub name: Bytes,
    /// Its resolved parameters.
    pub config: *const ConfigAbi,
    /// How many.
    pub config_len: usize,
}

/// What a publish did (the registry's dispatch summary).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct SummaryAbi {
    /// Handlers called.
    pub delivered: u32,
    /// Answered handled.
    pub handled: u32,
    /// Answered ignored.
    pub ignored: u32,
    /// Answered with an error.
    pub failed: u32,
    /// Not called: busy.
    pub skipped: u32,
}

/// Parameter kind numbers in [`ParamAbi::kind`].
pub mod param_kind {
    /// Any text.
    pub const TEXT: u32 = 0;
    /// A boolean.
    pub const BOOL: u32 = 1;
    /// An integer in `min..=max`.
    pub const INT: u32 = 2;
    /// One of `choices`.
    pub const CHOICE: u32 = 3;
}

/// A declared parameter.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ParamAbi {
    /// Its key.
    pub name: Bytes,
    /// Its default value.
    pub default: Bytes,
    /// One line for the console.
    pub description: Bytes,
    /// One of [`param_kind`].
    pub kind: u32,
    /// Bit 0: sensitive; bit 1: boot only.
    pub flags: u32,
    /// Integer kinds: smallest value.
    pub min: i64,
    /// Integer kinds: largest value.
    pub max: i64,
    /// Choice kinds: the words.
    pub choices: *const Bytes,
    /// How many words.
    pub choices_len: usize,
}

/// A module's static information (its `ModuleInfo`). Valid while the image
/// is loaded; the kernel copies what it keeps.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct InfoAbi {
    /// Unique name.
    pub name: Bytes,
    /// One line.
    pub description: Bytes,
    /// Who wrote it.
    pub author: Bytes,
    /// Licence.
    pub license: Bytes,
    /// Major, minor, patch.
    pub version: [u16; 3],
    /// Dispatch priority.
    pub priority: i16,
    /// `ModuleFlags` bits.
    pub flags: u32,
    /// `EventKinds` bits.
    pub events: u32,
    /// `Permissions` bits held.
    pub permissions: u32,
    /// `Permissions` bits callers need.
    pub protected_by: u32,
    /// Format of the saved state.
    pub state_version: u32,
    /// Heap limit in bytes; 0: none of its own.
    pub memory_limit: u64,
    /// Dependency strings.
    pub dependencies: *const Bytes,
    /// How many.
    pub dependencies_len: usize,
    /// Capabilities provided.
    pub provides: *const Bytes,
    /// How many.
    pub provides_len: usize,
    /// Declared parameters.
    pub params: *const ParamAbi,
    /// How many.
    pub params_len: usize,
    /// The PCI devices it drives (its `ModuleInfo::pci_ids`).
    pub pci_ids: *const PciIdAbi,
    /// How many.
    pub pci_ids_len: usize,
}

/// Bits of [`PciIdAbi::matches`]: which of its fields must match.
pub mod pci_match {
    /// The vendor id.
    pub const VENDOR: u32 = 1;
    /// The device id.
    pub const DEVICE: u32 = 2;
    /// The (class, subclass).
    pub const CLASS: u32 = 4;
}

/// One entry of a driver's PCI device table (a `DeviceId`).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct PciIdAbi {
    /// Which fields must match ([`pci_match`] bits); the others are "any".
    pub matches: u32,
    /// Vendor id.
    pub vendor: u16,
    /// Device id.
    pub device: u16,
    /// Base class.
    pub class: u8,
    /// Subclass.
    pub subclass: u8,
    /// Reserved, zero.
    pub reserved: u16,
}

/// An instance of the module, opaque to the kernel.
pub type Instance = *mut c_void;

/// The module's entry points. `inst` is what `create` returned; the kernel
/// never makes two calls on one instance at once.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Ops {
    /// A fresh instance (the module type's `Default`); null if none.
    pub create: extern "C" fn() -> Instance,
    /// Drops an instance.
    pub destroy: extern "C" fn(inst: Instance),
    /// `init`; status [`OK`] or [`FAILED`].
    pub init: extern "C" fn(inst: Instance, init: *const InitAbi, err: Sink) -> u32,
    /// `start`.
    pub start: extern "C" fn(inst: Instance, err: Sink) -> u32,
    /// `stop`.
    pub stop: extern "C" fn(inst: Instance, err: Sink) -> u32,
    /// `handle_event`; answers `EVENT_*`.
    pub event: extern "C" fn(inst: Instance, event: *const EventAbi, err: Sink) -> u32,
    /// `handle_request`: [`OK`] (payload in `out`), [`DECLINED`] (reason
    /// in `out`) or [`FAILED`] (error in `err`).
    pub request:
        extern "C" fn(inst: Instance, request: *const RequestAbi, out: Sink, err: Sink) -> u32,
    /// `on_param_change`.
    pub param_change: extern "C" fn(inst: Instance, key: Bytes, value: Bytes, err: Sink) -> u32,
    /// `is_healthy`: non-zero if healthy.
    pub healthy: extern "C" fn(inst: Instance) -> u32,
    /// `save_state`: non-zero if there is state (written to `out`).
    pub save_state: extern "C" fn(inst: Instance, out: Sink) -> u32,
    /// `restore_state`.
    pub restore_state: extern "C" fn(inst: Instance, state: Bytes, err: Sink) -> u32,
}

/// What a module binary's entry point returns. Valid while the image is
/// loaded.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Descriptor {
    /// [`crate::MAGIC`].
    pub magic: u64,
    /// [`crate::ABI_MAJOR`] the binary was built with.
    pub abi_major: u16,
    /// [`crate::ABI_MINOR`] the binary was built with.
    pub abi_minor: u16,
    /// Reserved, zero.
    pub reserved: u32,
    /// [`crate::LAYOUT_HASH`] the binary was built with.
    pub layout_hash: u64,
    /// The module's information.
    pub info: InfoAbi,
    /// Its entry points.
    pub ops: Ops,
}

/// The opaque kernel state for one loaded image, passed back to every
/// service.
pub type Host = *const c_void;

/// What the kernel offers a module binary. It outlives every call into the
/// image; its address is passed to the entry point.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Services {
    /// `size_of::<Services>()` on the kernel's side: a later minor version
    /// appends services, and a module checks this before using them.
    pub size: usize,
    /// The kernel's state for this image.
    pub host: Host,
    /// Allocates from the module's arena; null when it is exhausted.
    pub alloc: extern "C" fn(host: Host, size: usize, align: usize) -> *mut u8,
    /// Frees what `alloc` returned.
    pub dealloc: extern "C" fn(host: Host, ptr: *mut u8, size: usize, align: usize),
    /// Logs `msg` at `level` (1 error .. 5 trace).
    pub log: extern "C" fn(host: Host, level: u32, msg: Bytes),
    /// Ends the current call as a fault of the module (its panic handler).
    pub fault: extern "C" fn(host: Host, msg: Bytes) -> !,
    /// Time since boot in nanoseconds.
    pub now_ns: extern "C" fn(host: Host) -> u64,
    /// Sends a request on the module's behalf: [`OK`] (payload in `out`),
    /// [`DECLINED`] (reason in `out`) or [`FAILED`] (error in `err`).
    pub request: extern "C" fn(
        host: Host,
        target: Bytes,
        kind: Bytes,
        payload: Bytes,
        out: Sink,
        err: Sink,
    ) -> u32,
    /// Publishes a custom event; fills `summary`.
    pub publish: extern "C" fn(
        host: Host,
        name: Bytes,
        data: Bytes,
        summary: *mut SummaryAbi,
        err: Sink,
    ) -> u32,
    /// Reports a parameter the module set itself.
    pub report_param: extern "C" fn(host: Host, key: Bytes, value: Bytes, err: Sink) -> u32,
    /// Claims `count` I/O ports from `base` (drivers).
    pub claim_ports: extern "C" fn(host: Host, base: u16, count: u16, err: Sink) -> u32,
    /// Reads a claimed port (`width` 1, 2 or 4 bytes).
    pub port_read: extern "C" fn(host: Host, port: u16, width: u32) -> u32,
    /// Writes a claimed port.
    pub port_write: extern "C" fn(host: Host, port: u16, width: u32, value: u32),
    /// Releases every claim; returns how many there were.
    pub release_all: extern "C" fn(host: Host) -> usize,
    /// Binds the free PCI functions the module's declared table matches
    /// (drivers) and writes every function it holds to `out`, encoded with
    /// `helix_pci::wire`; [`OK`] or [`FAILED`] (error in `err`).
    pub bind_pci: extern "C" fn(host: Host, out: Sink, err: Sink) -> u32,
}

/// The entry point's type.
pub type Entry = extern "C" fn(services: *const Services) -> *const Descriptor;
