//! Supervisor limits from the kernel command line.
//!
//! `supervisor.max_restarts=N`, `supervisor.window_ms=N`,
//! `supervisor.backoff_ms=N` and `supervisor.backoff_max_ms=N` override the
//! framework's defaults (5 restarts in 10 s, back-off from 10 ms doubling
//! to 1 s). A bad value is a typed error; the kernel logs it and keeps the
//! default for that limit.

use boot::Cmdline;
use core::fmt;
use helix_modules::SupervisorPolicy;

/// A `supervisor.*` value that was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PolicyError {
    /// The parameter.
    pub key: &'static str,
    /// Why.
    pub reason: &'static str,
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "supervisor.{}: {}", self.key, self.reason)
    }
}

fn number(cmdline: &Cmdline<'_>, key: &'static str, max: u64) -> Result<Option<u64>, PolicyError> {
    crate::bootinfo::number(cmdline, &alloc::format!("supervisor.{key}"), 1..=max).map_err(|e| {
        PolicyError {
            key,
            reason: e.reason(),
        }
    })
}

/// The policy the command line asks for, starting from the defaults, and
/// the values it refused.
pub fn policy(cmdline: &Cmdline<'_>) -> (SupervisorPolicy, alloc::vec::Vec<PolicyError>) {
    let mut p = SupervisorPolicy::default();
    let mut errors = alloc::vec::Vec::new();
    let ms = 1_000_000;
    match number(cmdline, "max_restarts", 1000) {
        Ok(Some(n)) => p.max_restarts = n as u32,
        Ok(None) => {}
        Err(e) => errors.push(e),
    }
    for (key, field) in [
        ("window_ms", &mut p.window),
        ("backoff_ms", &mut p.backoff_base),
        ("backoff_max_ms", &mut p.backoff_max),
    ] {
        match number(cmdline, key, 24 * 3600 * 1000) {
            Ok(Some(v)) => *field = v * ms,
            Ok(None) => {}
            Err(e) => errors.push(e),
        }
    }
    if p.backoff_max < p.backoff_base {
        errors.push(PolicyError {
            key: "backoff_max_ms",
            reason: "smaller than backoff_ms",
        });
        p.backoff_max = p.backoff_base;
    }
    (p, errors)
}
