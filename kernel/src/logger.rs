//! The `log` backend: timestamped, levelled, per-target lines on serial.
//!
//! Each line reads `[  seconds.micros] LEVEL target: message`. Levels come
//! from the command line: `log=debug` sets the default, and
//! `log=info,kernel::mm=trace,round_robin=debug` adds per-target levels,
//! matched by the longest target prefix. A malformed spec is a
//! [`LogSpecError`]; the kernel logs it and keeps the default.

use core::fmt;
use heapless::{String, Vec};
use log::{LevelFilter, Log, Metadata, Record};
use spin::Once;

/// How many per-target rules a spec may hold.
pub const MAX_RULES: usize = 16;
/// Longest target prefix a rule may name.
pub const MAX_TARGET_LEN: usize = 64;

/// A parsed logging spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSpec {
    /// Level for targets no rule matches.
    pub default: LevelFilter,
    /// `(target prefix, level)` rules.
    pub rules: Vec<(String<MAX_TARGET_LEN>, LevelFilter), MAX_RULES>,
}

/// Why a logging spec was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogSpecError {
    /// A level name is not one of off, error, warn, info, debug, trace.
    UnknownLevel(String<MAX_TARGET_LEN>),
    /// A rule's target is empty or longer than [`MAX_TARGET_LEN`].
    BadTarget,
    /// More than [`MAX_RULES`] rules.
    TooManyRules,
}

impl fmt::Display for LogSpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownLevel(l) => write!(f, "unknown log level '{l}'"),
            Self::BadTarget => write!(f, "log target must be 1..={MAX_TARGET_LEN} characters"),
            Self::TooManyRules => write!(f, "more than {MAX_RULES} per-target log rules"),
        }
    }
}

fn parse_level(text: &str) -> Result<LevelFilter, LogSpecError> {
    text.parse::<LevelFilter>().map_err(|_| {
        let mut s = String::new();
        for c in text.chars().take(MAX_TARGET_LEN) {
            let _ = s.push(c);
        }
        LogSpecError::UnknownLevel(s)
    })
}

impl LogSpec {
    /// Parses `level[,target=level]*` (or only rules), e.g.
    /// `info,kernel::mm=trace`.
    pub fn parse(spec: &str, default: LevelFilter) -> Result<Self, LogSpecError> {
        let mut out = Self {
            default,
            rules: Vec::new(),
        };
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match part.split_once('=') {
                None => out.default = parse_level(part)?,
                Some((target, level)) => {
                    let level = parse_level(level)?;
                    let target = target.trim();
                    if target.is_empty() {
                        return Err(LogSpecError::BadTarget);
                    }
                    let name = String::try_from(target).map_err(|_| LogSpecError::BadTarget)?;
                    out.rules
                        .push((name, level))
                        .map_err(|_| LogSpecError::TooManyRules)?;
                }
            }
        }
        Ok(out)
    }

    /// The level that applies to `target`.
    pub fn level_for(&self, target: &str) -> LevelFilter {
        self.rules
            .iter()
            .filter(|(prefix, _)| {
                target
                    .strip_prefix(prefix.as_str())
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
            })
            .max_by_key(|(prefix, _)| prefix.len())
            .map_or(self.default, |(_, level)| *level)
    }

    /// The most verbose level any target can reach.
    pub fn max_level(&self) -> LevelFilter {
        self.rules
            .iter()
            .map(|(_, l)| *l)
            .fold(self.default, core::cmp::max)
    }
}

struct KernelLogger;

static SPEC: Once<LogSpec> = Once::new();
static LOGGER: KernelLogger = KernelLogger;

impl Log for KernelLogger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        SPEC.get()
            .is_some_and(|spec| metadata.level() <= spec.level_for(metadata.target()))
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let ns = crate::time::now_ns();
        crate::kprintln!(
            "[{:>5}.{:06}] {:<5} {}: {}",
            ns / 1_000_000_000,
            (ns / 1_000) % 1_000_000,
            record.level(),
            record.target(),
            record.args()
        );
    }

    fn flush(&self) {}
}

/// Installs the logger with the spec from `log=` (if any) over `default`.
/// A bad spec is returned after installing `default`, so it can be logged.
pub fn init(spec: Option<&str>, default: LevelFilter) -> Result<(), LogSpecError> {
    let (parsed, result) = match spec.map(|s| LogSpec::parse(s, default)) {
        None => (
            LogSpec {
                default,
                rules: Vec::new(),
            },
            Ok(()),
        ),
        Some(Ok(s)) => (s, Ok(())),
        Some(Err(e)) => (
            LogSpec {
                default,
                rules: Vec::new(),
            },
            Err(e),
        ),
    };
    let spec = SPEC.call_once(|| parsed);
    if log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(spec.max_level());
    }
    result
}
