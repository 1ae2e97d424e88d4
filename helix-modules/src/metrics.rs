//! Per-module counters kept by the framework itself, and their rendering in
//! the Prometheus text exposition format.
//!
//! The registry updates the counters around every handler call, so a module
//! needs no code of its own to be observable. Handler time is in units of
//! the clock the kernel gave the registry (TSC cycles or nanoseconds).

use alloc::string::String;
use core::fmt::{self, Write};

/// Counters for one module.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ModuleMetrics {
    /// Events the module answered `Handled`.
    pub events_handled: u64,
    /// Events the module answered `Ignored`.
    pub events_ignored: u64,
    /// Events the module answered `Error` (or answered wrongly).
    pub events_failed: u64,
    /// Events not delivered because the module was in another call.
    pub events_skipped: u64,
    /// Requests answered with a response (success or declined).
    pub requests_served: u64,
    /// Requests whose handler returned an error.
    pub requests_failed: u64,
    /// Clock units spent inside the module's event and request handlers.
    pub handler_time: u64,
    /// Restarts made by the supervisor or on request.
    pub restarts: u64,
    /// Calls into the module that ended in a fault (panic, CPU exception,
    /// time budget, memory limit); see [`crate::contain`].
    pub faults: u64,
}

/// One module's line of the metrics exposition.
pub(crate) struct MetricsRow<'a> {
    pub(crate) name: &'a str,
    pub(crate) running: bool,
    pub(crate) healthy: bool,
    pub(crate) metrics: ModuleMetrics,
}

/// Writes the exposition for `rows` into `out`.
pub(crate) fn render(out: &mut String, rows: &[MetricsRow<'_>]) -> fmt::Result {
    family(
        out,
        "helix_module_up",
        "gauge",
        "1 if the module is running.",
        rows,
        |r| [("", u64::from(r.running))],
    )?;
    family(
        out,
        "helix_module_healthy",
        "gauge",
        "1 if the module is healthy.",
        rows,
        |r| [("", u64::from(r.healthy))],
    )?;
    family(
        out,
        "helix_module_events_total",
        "counter",
        "Events offered to the module, by outcome.",
        rows,
        |r| {
            [
                ("handled", r.metrics.events_handled),
                ("ignored", r.metrics.events_ignored),
                ("failed", r.metrics.events_failed),
                ("skipped", r.metrics.events_skipped),
            ]
        },
    )?;
    family(
        out,
        "helix_module_requests_total",
        "counter",
        "Requests handled by the module, by outcome.",
        rows,
        |r| {
            [
                ("served", r.metrics.requests_served),
                ("failed", r.metrics.requests_failed),
            ]
        },
    )?;
    family(
        out,
        "helix_module_handler_time_total",
        "counter",
        "Clock units spent in the module's handlers.",
        rows,
        |r| [("", r.metrics.handler_time)],
    )?;
    family(
        out,
        "helix_module_restarts_total",
        "counter",
        "Restarts of the module.",
        rows,
        |r| [("", r.metrics.restarts)],
    )?;
    family(
        out,
        "helix_module_faults_total",
        "counter",
        "Calls into the module that ended in a fault.",
        rows,
        |r| [("", r.metrics.faults)],
    )
}

fn family<const N: usize>(
    out: &mut String,
    name: &str,
    kind: &str,
    help: &str,
    rows: &[MetricsRow<'_>],
    values: impl Fn(&MetricsRow<'_>) -> [(&'static str, u64); N],
) -> fmt::Result {
    writeln!(out, "# HELP {name} {help}")?;
    writeln!(out, "# TYPE {name} {kind}")?;
    for row in rows {
        for (outcome, value) in values(row) {
            write!(out, "{name}{{module=\"")?;
            escape_label(out, row.name)?;
            if outcome.is_empty() {
                writeln!(out, "\"}} {value}")?;
            } else {
                writeln!(out, "\",outcome=\"{outcome}\"}} {value}")?;
            }
        }
    }
    Ok(())
}

/// Escapes a label value as the exposition format requires.
fn escape_label(out: &mut String, value: &str) -> fmt::Result {
    for c in value.chars() {
        match c {
            '\\' => out.write_str("\\\\")?,
            '"' => out.write_str("\\\"")?,
            '\n' => out.write_str("\\n")?,
            c => out.write_char(c)?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_escaped() {
        let mut s = String::new();
        escape_label(&mut s, "a\"b\\c\nd").unwrap();
        assert_eq!(s, "a\\\"b\\\\c\\nd");
    }
}
