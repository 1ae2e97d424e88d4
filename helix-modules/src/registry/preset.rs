//! Parameters given with a module loaded at run time (`insmod NAME
//! key=value`): [`Registry::preset_params`] sets them between registration
//! and the module's first `init`, as run-time overrides of the module's
//! own (they win over the kernel command line's `NAME.key=value` and go
//! with the registration), so boot-only parameters are settable too.

use alloc::string::String;

use super::params::{check, spec_of};
use super::{ModuleState, Registry, call::unknown_id};
use crate::error::{ModuleError, Operation};
use crate::permissions::{Caller, Permissions};

impl Registry {
    /// Sets parameters of module `name` before its first `init`, as if
    /// they were on the kernel command line (boot-only ones included;
    /// they win over the command line's). Refused
    /// ([`ModuleError::InvalidState`]) once the module has initialised, and
    /// for keys a module with declared parameters does not declare or
    /// values they refuse; nothing is set then. Needs
    /// [`Permissions::CONFIGURE`] (modules). Audited per key, values never.
    ///
    /// ```
    /// use helix_modules::v2::{Context, ModuleInfo, ModuleTrait};
    /// use helix_modules::{Caller, ModuleError, ParamSpec, Registry};
    ///
    /// const P: [ParamSpec; 1] = [ParamSpec::new("capacity", "32").range(1, 1024).boot_only()];
    /// struct Log(usize);
    /// impl ModuleTrait for Log {
    ///     fn info(&self) -> ModuleInfo { ModuleInfo::new("log").params(&P) }
    ///     fn init(&mut self, ctx: &Context) -> Result<(), ModuleError> {
    ///         self.0 = ctx.config_usize("capacity").unwrap_or(0);
    ///         Ok(())
    ///     }
    ///     fn start(&mut self) -> Result<(), ModuleError> { Ok(()) }
    ///     fn stop(&mut self) -> Result<(), ModuleError> { Ok(()) }
    /// }
    ///
    /// let r = Registry::new();
    /// r.register_v2(Log(0))?;
    /// r.preset_params(Caller::Kernel, "log", &[("capacity", "64")])?;
    /// r.init(Caller::Kernel, "log")?;
    /// assert_eq!(r.params("log")?[0].shown(), "64");
    /// assert!(r.preset_params(Caller::Kernel, "log", &[("capacity", "8")]).is_err());
    /// # Ok::<(), ModuleError>(())
    /// ```
    pub fn preset_params(
        &self,
        caller: Caller,
        name: &str,
        params: &[(&str, &str)],
    ) -> Result<(), ModuleError> {
        let result = self.preset_inner(caller, name, params);
        for (key, _) in params {
            self.audit(caller, Operation::SetParam, name, Some(key), &result);
        }
        result
    }

    fn preset_inner(
        &self,
        caller: Caller,
        name: &str,
        params: &[(&str, &str)],
    ) -> Result<(), ModuleError> {
        // Asked per key, with its value, as `set_param` asks; nothing to
        // set asks nothing.
        let mut id = None;
        for (key, value) in params {
            id = Some(self.authorize_module_op_with(
                caller,
                Operation::SetParam,
                name,
                Permissions::CONFIGURE,
                Some(key),
                value.as_bytes(),
            )?);
        }
        let Some(id) = id else { return Ok(()) };
        let mut t = self.inner.table.lock();
        let slot = t.slot_mut(id).ok_or_else(|| unknown_id(id))?;
        if slot.state != ModuleState::Registered {
            return Err(ModuleError::InvalidState {
                module: String::from(name),
                state: slot.state,
                op: Operation::SetParam,
            });
        }
        if !slot.meta.params.is_empty() {
            for (key, value) in params {
                check(&spec_of(slot, key)?, name, value)?;
            }
        }
        // The module's own overrides, which win over the command line and
        // go with the registration: unloaded and loaded again, the module
        // starts from the command line, not from an earlier insmod.
        for (key, value) in params {
            slot.overrides.retain(|(k, _)| k != key);
            slot.overrides
                .push((String::from(*key), String::from(*value)));
        }
        Ok(())
    }
}
