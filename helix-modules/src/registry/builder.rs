//! Configuring a registry: [`RegistryBuilder`] (command line, clock,
//! limits, supervision policy, the kernel's hooks and hardware) and the
//! [`RegistryLimits`] it enforces.

use crate::sync::IrqMutex;
use alloc::string::String;
use alloc::sync::Arc;
use core::sync::atomic::AtomicU64;

use super::slot::Table;
use super::{Inner, Registry};
use crate::audit::AuditRing;
use crate::cmdline::parse_params;
use crate::contain::{Budgets, Containment};
use crate::services::hw::Hardware;
use crate::supervisor::SupervisorPolicy;

/// Sizes the registry enforces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RegistryLimits {
    /// Largest request or response payload, in bytes.
    pub max_payload: usize,
    /// Entries kept in the audit ring.
    pub audit_capacity: usize,
}

impl Default for RegistryLimits {
    /// 64 KiB payloads, 256 audit entries.
    fn default() -> Self {
        RegistryLimits {
            max_payload: 64 * 1024,
            audit_capacity: 256,
        }
    }
}

/// Configures a [`Registry`].
///
/// ```
/// use helix_modules::{Registry, SupervisorPolicy};
/// fn ticks() -> u64 { 42 }
/// let r = Registry::builder()
///     .cmdline("round_robin.time_slice_ms=5")
///     .clock(ticks)
///     .max_payload(4096)
///     .audit_capacity(64)
///     .policy(SupervisorPolicy::default())
///     .build();
/// assert_eq!(r.limits().max_payload, 4096);
/// ```
#[derive(Clone, Debug)]
pub struct RegistryBuilder {
    cmdline: String,
    clock: Option<fn() -> u64>,
    on_stopped: Option<fn(&str)>,
    hardware: Option<Arc<dyn Hardware>>,
    limits: RegistryLimits,
    policy: SupervisorPolicy,
    containment: Option<Arc<dyn Containment>>,
    budgets: Budgets,
}

impl RegistryBuilder {
    /// A builder with every default (see [`Registry::builder`]).
    pub(super) fn new() -> Self {
        RegistryBuilder {
            cmdline: String::new(),
            clock: None,
            on_stopped: None,
            hardware: None,
            limits: RegistryLimits::default(),
            policy: SupervisorPolicy::default(),
            containment: None,
            budgets: Budgets::default(),
        }
    }

    /// Guards every call into module code (see [`crate::contain`]): a
    /// fault in a module's call ends that call and fails the module, never
    /// the caller. Without one, module code runs unguarded.
    pub fn containment(mut self, containment: Arc<dyn Containment>) -> Self {
        self.containment = Some(containment);
        self
    }

    /// The time budgets of contained calls (default [`Budgets::default`]).
    pub fn budgets(mut self, budgets: Budgets) -> Self {
        self.budgets = budgets;
        self
    }

    /// The kernel command line to take `module.key=value` parameters from.
    pub fn cmdline(mut self, cmdline: &str) -> Self {
        self.cmdline = String::from(cmdline);
        self
    }

    /// The clock for handler timing, audit entries and metrics (TSC cycles
    /// or nanoseconds; the registry only subtracts). Default: always 0.
    pub fn clock(mut self, clock: fn() -> u64) -> Self {
        self.clock = Some(clock);
        self
    }

    /// A function told the name of every module that stops running: after
    /// its `stop` (whether it succeeded or not), when its `init` or `start`
    /// fails, and when hot reload retires an instance (before the new one
    /// starts). The kernel uses it to reap the threads the module started,
    /// so nothing a module started outlives it. Called without registry
    /// locks held.
    pub fn on_stopped(mut self, hook: fn(&str)) -> Self {
        self.on_stopped = Some(hook);
        self
    }

    /// The hardware DRIVER modules may claim (see
    /// [`Context::hardware`](crate::v2::Context::hardware)).
    pub fn hardware(mut self, hardware: Arc<dyn Hardware>) -> Self {
        self.hardware = Some(hardware);
        self
    }

    /// Largest request/response payload in bytes.
    pub fn max_payload(mut self, bytes: usize) -> Self {
        self.limits.max_payload = bytes;
        self
    }

    /// Number of entries the audit ring keeps.
    pub fn audit_capacity(mut self, entries: usize) -> Self {
        self.limits.audit_capacity = entries;
        self
    }

    /// Supervision limits.
    pub fn policy(mut self, policy: SupervisorPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Creates the registry.
    pub fn build(self) -> Registry {
        Registry {
            inner: Arc::new(Inner {
                table: IrqMutex::new(Table::new(parse_params(&self.cmdline))),
                audit: IrqMutex::new(AuditRing::new(self.limits.audit_capacity)),
                clock: self.clock,
                on_stopped: self.on_stopped,
                hardware: self.hardware,
                limits: self.limits,
                policy: self.policy,
                next_chain: AtomicU64::new(1),
                containment: self.containment,
                budgets: self.budgets,
            }),
        }
    }
}
