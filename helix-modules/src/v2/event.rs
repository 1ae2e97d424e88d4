//! The one [`Event`] type, what handlers answer ([`EventResponse`]), and the
//! [`EventKinds`] a module subscribes to.
//!
//! Delivery rules (order, what each answer does) are enforced by the
//! registry and documented on [`crate::Registry::dispatch`].

use alloc::string::String;
use alloc::vec::Vec;
use bitflags::bitflags;

use crate::error::ModuleError;

/// How severe a memory shortage is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PressureLevel {
    /// Free memory fell below the low watermark: trim caches.
    Low,
    /// Free memory is scarce: release everything optional.
    Medium,
    /// Allocation is about to fail.
    Critical,
}

/// A system event delivered to subscribed modules.
///
/// ```
/// use helix_modules::v2::{Event, EventKinds};
/// let e = Event::Tick { timestamp_ns: 10 };
/// assert_eq!(e.kind(), EventKinds::TICK);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// Periodic timer tick.
    Tick {
        /// Time since boot in nanoseconds.
        timestamp_ns: u64,
    },
    /// The system is shutting down; modules are stopped right after.
    Shutdown,
    /// Free memory is running low.
    MemoryPressure {
        /// How low.
        level: PressureLevel,
    },
    /// A CPU came online or went offline.
    CpuHotplug {
        /// The CPU's number.
        cpu_id: u32,
        /// Whether it is now online.
        online: bool,
    },
    /// An event published by a module or the kernel.
    Custom {
        /// Event name, chosen by the publisher.
        name: String,
        /// Opaque payload.
        data: Vec<u8>,
    },
}

impl Event {
    /// The kind of this event, for subscription matching.
    pub const fn kind(&self) -> EventKinds {
        match self {
            Event::Tick { .. } => EventKinds::TICK,
            Event::Shutdown => EventKinds::SHUTDOWN,
            Event::MemoryPressure { .. } => EventKinds::MEMORY_PRESSURE,
            Event::CpuHotplug { .. } => EventKinds::CPU_HOTPLUG,
            Event::Custom { .. } => EventKinds::CUSTOM,
        }
    }
}

bitflags! {
    /// A set of event kinds, used for subscriptions.
    ///
    /// ```
    /// use helix_modules::v2::EventKinds;
    /// let k = EventKinds::TICK | EventKinds::SHUTDOWN;
    /// assert!(k.contains(EventKinds::TICK));
    /// ```
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct EventKinds: u8 {
        /// [`Event::Tick`].
        const TICK = 1 << 0;
        /// [`Event::Shutdown`].
        const SHUTDOWN = 1 << 1;
        /// [`Event::MemoryPressure`].
        const MEMORY_PRESSURE = 1 << 2;
        /// [`Event::CpuHotplug`].
        const CPU_HOTPLUG = 1 << 3;
        /// [`Event::Custom`].
        const CUSTOM = 1 << 4;
    }
}

impl EventKinds {
    /// Number of distinct kinds.
    pub(crate) const COUNT: usize = 5;

    /// Index of a single kind in per-kind tables.
    pub(crate) const fn index(self) -> usize {
        self.bits().trailing_zeros() as usize
    }
}

/// A handler's answer to an event.
///
/// Every subscriber receives every event regardless of earlier answers; the
/// answer is counted in the module's metrics, and `Error` is also recorded
/// as the module's last error and lowers its health.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EventResponse {
    /// The module acted on the event.
    Handled,
    /// The event did not concern the module.
    Ignored,
    /// The module tried and failed.
    Error(ModuleError),
}
