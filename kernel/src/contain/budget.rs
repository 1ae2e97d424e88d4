//! The containment's time budgets from the kernel command line
//! (`budget.lifecycle_ms=` and the others): parsed once, a bad value
//! refused with a [`BudgetError`] and its default kept.

use helix_modules::contain::Budgets;

/// A `budget.*` setting that was refused (the default stays).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BudgetError {
    /// The setting, after `budget.`.
    pub key: &'static str,
    /// Why.
    pub error: crate::bootinfo::NumberError,
}

impl core::fmt::Display for BudgetError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "budget.{}: {} (milliseconds, 1..=600000)",
            self.key, self.error
        )
    }
}

/// Budgets from the command line: `budget.lifecycle_ms=`, `budget.event_ms=`,
/// `budget.request_ms=`, `budget.quick_ms=`, `budget.state_ms=` (1..=600000
/// ms each). A bad value is refused and the default kept.
pub fn budgets(cmdline: &boot::Cmdline<'_>) -> (Budgets, alloc::vec::Vec<BudgetError>) {
    let mut b = Budgets::default();
    let mut refused = alloc::vec::Vec::new();
    let fields: [(&'static str, &mut u64); 5] = [
        ("lifecycle_ms", &mut b.lifecycle_ns),
        ("event_ms", &mut b.event_ns),
        ("request_ms", &mut b.request_ns),
        ("quick_ms", &mut b.quick_ns),
        ("state_ms", &mut b.state_ns),
    ];
    for (key, field) in fields {
        match crate::bootinfo::number(cmdline, &alloc::format!("budget.{key}"), 1..=600_000) {
            Ok(Some(ms)) => *field = ms * 1_000_000,
            Ok(None) => {}
            Err(error) => refused.push(BudgetError { key, error }),
        }
    }
    (b, refused)
}
