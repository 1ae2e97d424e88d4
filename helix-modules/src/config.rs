//! Module parameters: declarations ([`ParamSpec`]), validation and the
//! masked view used whenever a value is printed ([`ParamValue`]); the
//! command line they come from is read by [`crate::parse_cmdline`].
//!
//! Precedence is run-time override > command line > module default. A value
//! that fails validation is an error at `init` (the module goes Failed) or
//! at run-time `set_param` (the old value stays). The exception is an
//! [`crate::ModuleFlags::ESSENTIAL`] module, which the kernel cannot run
//! without: a bad command-line value gives way to the declared default and
//! an undeclared key is ignored, each reported as a [`ParamFallback`] for
//! the kernel to log. A boot-only parameter ([`ParamSpec::boot_only`])
//! takes its value from the command line only: `set_param` refuses it with
//! [`crate::ModuleError::BootOnlyParam`].

use alloc::format;
use alloc::string::{String, ToString};
use core::fmt;

use crate::error::ModuleError;

/// What values a parameter accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamKind {
    /// Any text.
    Text,
    /// `true`/`false` (also `1`/`0`, `on`/`off`, `yes`/`no`).
    Bool,
    /// A decimal integer in `min..=max`.
    Int {
        /// Smallest accepted value.
        min: i64,
        /// Largest accepted value.
        max: i64,
    },
    /// One of a fixed list of words.
    Choice(&'static [&'static str]),
}

/// A parameter a module declares, with its default and validation.
///
/// ```
/// use helix_modules::{ParamKind, ParamSpec};
/// const SLICE: ParamSpec = ParamSpec::new("time_slice_ms", "10").range(1, 1000);
/// assert!(SLICE.validate("5").is_ok());
/// assert!(SLICE.validate("0").is_err());
/// const KEY: ParamSpec = ParamSpec::new("api_key", "").sensitive();
/// assert!(KEY.sensitive);
/// const PORT: ParamSpec = ParamSpec::new("port", "1016").range(0, 0xfff8).boot_only();
/// assert!(PORT.boot_only);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParamSpec {
    /// Parameter name (the `key` in `module.key=value`).
    pub name: &'static str,
    /// Value used when the command line does not set one.
    pub default: &'static str,
    /// Accepted values.
    pub kind: ParamKind,
    /// Never printed: listings, `Debug` and the audit ring show `***`.
    pub sensitive: bool,
    /// Read only when the module initialises: set on the kernel command
    /// line, refused at run time ([`crate::ModuleError::BootOnlyParam`]).
    pub boot_only: bool,
    /// One line for the console.
    pub description: &'static str,
}

impl ParamSpec {
    /// A text parameter with a default.
    pub const fn new(name: &'static str, default: &'static str) -> Self {
        ParamSpec {
            name,
            default,
            kind: ParamKind::Text,
            sensitive: false,
            boot_only: false,
            description: "",
        }
    }

    /// Accepts only integers in `min..=max`.
    pub const fn range(mut self, min: i64, max: i64) -> Self {
        self.kind = ParamKind::Int { min, max };
        self
    }

    /// Accepts only booleans.
    pub const fn boolean(mut self) -> Self {
        self.kind = ParamKind::Bool;
        self
    }

    /// Accepts only one of `choices`.
    pub const fn one_of(mut self, choices: &'static [&'static str]) -> Self {
        self.kind = ParamKind::Choice(choices);
        self
    }

    /// Marks the value as secret.
    pub const fn sensitive(mut self) -> Self {
        self.sensitive = true;
        self
    }

    /// Marks the parameter as read only at boot: the module reads it in
    /// `init` (or `start`) and never again, so changing it at run time
    /// would only make the listing lie. [`crate::Registry::set_param`]
    /// refuses it with [`crate::ModuleError::BootOnlyParam`]; the kernel
    /// command line sets it as usual.
    pub const fn boot_only(mut self) -> Self {
        self.boot_only = true;
        self
    }

    /// Sets the description.
    pub const fn describe(mut self, description: &'static str) -> Self {
        self.description = description;
        self
    }

    /// Checks `value` against the kind; the error says why it was rejected
    /// without repeating a sensitive value.
    pub fn validate(&self, value: &str) -> Result<(), String> {
        let shown = if self.sensitive { "***" } else { value };
        match self.kind {
            ParamKind::Text => Ok(()),
            ParamKind::Bool => parse_bool(value)
                .map(|_| ())
                .ok_or_else(|| format!("`{shown}` is not a boolean")),
            ParamKind::Int { min, max } => match value.parse::<i64>() {
                Ok(v) if (min..=max).contains(&v) => Ok(()),
                Ok(_) => Err(format!("`{shown}` is outside {min}..={max}")),
                Err(_) => Err(format!("`{shown}` is not an integer")),
            },
            ParamKind::Choice(choices) => {
                if choices.contains(&value) {
                    Ok(())
                } else {
                    Err(format!("`{shown}` is not one of {choices:?}"))
                }
            }
        }
    }
}

fn parse_bool(value: &str) -> Option<bool> {
    match value {
        "true" | "1" | "on" | "yes" => Some(true),
        "false" | "0" | "off" | "no" => Some(false),
        _ => None,
    }
}

/// A parameter's current value as it may be printed: sensitive values are
/// replaced by `***` before they leave the registry.
///
/// ```
/// use helix_modules::{Caller, ParamSpec, Registry};
/// use helix_modules::v2::{Context, ModuleInfo, ModuleTrait};
/// # use helix_modules::ModuleError;
/// const P: [ParamSpec; 2] = [ParamSpec::new("user", "root"), ParamSpec::new("pass", "x").sensitive()];
/// struct M;
/// impl ModuleTrait for M {
///     fn info(&self) -> ModuleInfo { ModuleInfo::new("m").params(&P) }
///     fn init(&mut self, _: &Context) -> Result<(), ModuleError> { Ok(()) }
///     fn start(&mut self) -> Result<(), ModuleError> { Ok(()) }
///     fn stop(&mut self) -> Result<(), ModuleError> { Ok(()) }
/// }
/// let r = Registry::builder().cmdline("m.pass=hunter2").build();
/// r.register_v2(M)?;
/// r.start_all(Caller::Kernel);
/// let shown: Vec<String> = r.params("m")?.iter().map(|p| p.to_string()).collect();
/// assert_eq!(shown, ["user=root", "pass=***"]);
/// # Ok::<(), ModuleError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct ParamValue {
    key: String,
    shown: String,
    sensitive: bool,
    boot_only: bool,
}

impl ParamValue {
    pub(crate) fn new(key: &str, value: &str, sensitive: bool, boot_only: bool) -> Self {
        ParamValue {
            key: key.to_string(),
            shown: if sensitive {
                String::from("***")
            } else {
                value.to_string()
            },
            sensitive,
            boot_only,
        }
    }

    /// The parameter name.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The value, or `***` when the parameter is sensitive.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// Whether the parameter is sensitive.
    pub fn is_sensitive(&self) -> bool {
        self.sensitive
    }

    /// Whether the parameter is read only at boot
    /// ([`ParamSpec::boot_only`]): it cannot be changed at run time.
    pub fn is_boot_only(&self) -> bool {
        self.boot_only
    }

    /// Parses a boolean the way [`ParamKind::Bool`] accepts it.
    ///
    /// ```
    /// assert_eq!(helix_modules::ParamValue::parse_bool("on"), Some(true));
    /// ```
    pub fn parse_bool(value: &str) -> Option<bool> {
        parse_bool(value)
    }
}

impl fmt::Display for ParamValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.key, self.shown)
    }
}

impl fmt::Debug for ParamValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A command-line setting an ESSENTIAL module starts without: its value
/// is invalid, so the module gets the declared default, or the module
/// declares no such key, so it is ignored. Any other module fails `init`
/// on the same setting (with [`ParamFallback::reason`]); an ESSENTIAL one
/// starts anyway, because the kernel cannot run without it. The framework
/// has no logger: [`crate::Registry::param_fallbacks`] lists these for the
/// kernel to log.
///
/// ```
/// use helix_modules::{Caller, ModuleFlags, ParamSpec, Registry};
/// use helix_modules::v2::{Context, ModuleInfo, ModuleTrait};
/// # use helix_modules::ModuleError;
/// const P: [ParamSpec; 1] = [ParamSpec::new("time_slice_ms", "10").range(1, 1000)];
/// struct Sched;
/// impl ModuleTrait for Sched {
///     fn info(&self) -> ModuleInfo {
///         ModuleInfo::new("sched").flags(ModuleFlags::ESSENTIAL).params(&P)
///     }
///     fn init(&mut self, _: &Context) -> Result<(), ModuleError> { Ok(()) }
///     fn start(&mut self) -> Result<(), ModuleError> { Ok(()) }
///     fn stop(&mut self) -> Result<(), ModuleError> { Ok(()) }
/// }
/// let r = Registry::builder().cmdline("sched.time_slice_ms=0").build();
/// r.register_v2(Sched)?;
/// let warnings = r.param_fallbacks();
/// assert_eq!(
///     warnings[0].to_string(),
///     "invalid value for `sched.time_slice_ms`: `0` is outside 1..=1000; \
///      module `sched` is essential, so it starts with the default sched.time_slice_ms=10"
/// );
/// assert!(r.start_all(Caller::Kernel).is_clean());
/// assert_eq!(r.params("sched")?[0].shown(), "10");
/// # Ok::<(), ModuleError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParamFallback {
    /// The module.
    pub module: String,
    /// The key as written on the command line.
    pub key: String,
    /// The default used instead, as it may be printed (`***` when the
    /// parameter is sensitive); `None` for a key the module does not
    /// declare, which is ignored.
    pub default: Option<String>,
    /// Why the command-line setting is not used:
    /// [`ModuleError::InvalidParam`] or [`ModuleError::UnknownParam`].
    pub reason: ModuleError,
}

impl fmt::Display for ParamFallback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let module = &self.module;
        write!(
            f,
            "{}; module `{module}` is essential, so it starts ",
            self.reason
        )?;
        match &self.default {
            Some(default) => write!(f, "with the default {module}.{}={default}", self.key),
            None => f.write_str("without it"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_messages_hide_sensitive_values() {
        let spec = ParamSpec::new("pin", "0").range(0, 9).sensitive();
        let msg = spec.validate("12345").unwrap_err();
        assert!(!msg.contains("12345"), "{msg}");
        let choice = ParamSpec::new("mode", "a").one_of(&["a", "b"]);
        assert!(choice.validate("c").is_err());
        assert!(choice.validate("b").is_ok());
        let b = ParamSpec::new("on", "true").boolean();
        assert!(b.validate("maybe").is_err());
        assert!(b.validate("off").is_ok());
        let i = ParamSpec::new("n", "1").range(0, 3);
        assert!(i.validate("x").is_err());
    }
}
