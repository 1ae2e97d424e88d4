//! Module parameters at run time: resolving a module's values for `init`
//! (declared default < command line < run-time override; for an ESSENTIAL
//! module a bad command-line setting falls back to the default, listed by
//! [`Registry::param_fallbacks`]), changing one with
//! [`Registry::set_param`] (boot-only ones refused), recording a value a
//! module changed itself ([`Registry::report_param`], reached through
//! [`crate::ModuleHandle::report_param`]), and the masked listing.

use alloc::string::String;
use alloc::vec::Vec;

use super::call::unknown_id;
use super::slot::{Slot, Table};
use super::{ModuleId, ModuleState, Registry};
use crate::config::{ParamFallback, ParamSpec, ParamValue};
use crate::contain::CallKind;
use crate::error::{ModuleError, Operation};
use crate::flags::ModuleFlags;
use crate::permissions::{Caller, Permissions};
use crate::v1::{Message, Reply};
use crate::v2::context::ConfigEntry;

/// The values module `id` gets at `init`, validated. An ESSENTIAL module
/// never fails here: a command-line value that fails validation gives way
/// to the default and an undeclared key is ignored (see [`fallbacks`]).
pub(crate) fn resolve(t: &Table, id: ModuleId) -> Result<Vec<ConfigEntry>, ModuleError> {
    resolve_noting(t, id, &mut Vec::new())
}

/// The command-line settings ESSENTIAL module `id` starts without (empty
/// for any other module: those fail `init` instead).
pub(crate) fn fallbacks(t: &Table, id: ModuleId) -> Vec<ParamFallback> {
    let mut noted = Vec::new();
    let _values = resolve_noting(t, id, &mut noted);
    noted
}

/// [`resolve`], adding to `noted` what an ESSENTIAL module gets instead of
/// its bad command-line settings.
fn resolve_noting(
    t: &Table,
    id: ModuleId,
    noted: &mut Vec<ParamFallback>,
) -> Result<Vec<ConfigEntry>, ModuleError> {
    let slot = t.slot(id).ok_or_else(|| unknown_id(id))?;
    // Most modules declare nothing and are given nothing: no work.
    if slot.meta.params.is_empty() && slot.overrides.is_empty() && t.cmdline.is_empty() {
        return Ok(Vec::new());
    }
    let name = &slot.meta.name;
    let essential = slot.meta.flags.contains(ModuleFlags::ESSENTIAL);
    let from_cmdline = t.cmdline.iter().filter(|p| &p.module == name);
    let specs = &slot.meta.params;
    if specs.is_empty() {
        // Nothing declared: pass the command line through, then the
        // module's overrides; the last one of a key wins.
        let mut out: Vec<ConfigEntry> = Vec::new();
        let given = from_cmdline
            .map(|p| (&p.key, &p.value))
            .chain(slot.overrides.iter().map(|(k, v)| (k, v)));
        for (key, value) in given {
            out.retain(|e| &e.key != key);
            out.push(ConfigEntry {
                key: key.clone(),
                value: value.clone(),
                sensitive: false,
            });
        }
        return Ok(out);
    }
    for p in from_cmdline
        .clone()
        .filter(|p| !specs.iter().any(|s| s.name == p.key))
    {
        let reason = ModuleError::UnknownParam {
            module: name.clone(),
            key: p.key.clone(),
        };
        if !essential {
            return Err(reason);
        }
        if !noted.iter().any(|f| f.module == *name && f.key == p.key) {
            noted.push(ParamFallback {
                module: name.clone(),
                key: p.key.clone(),
                default: None,
                reason,
            });
        }
    }
    let mut out = Vec::with_capacity(specs.len());
    for spec in specs {
        let overridden = slot
            .overrides
            .iter()
            .rev()
            .find(|(k, _)| k == spec.name)
            .map(|(_, v)| v.as_str());
        let from_line = from_cmdline
            .clone()
            .rfind(|p| p.key == spec.name)
            .map(|p| p.value.as_str());
        let value = match (overridden, from_line) {
            (Some(v), _) => v,
            // Only a command-line value may give way to the default:
            // run-time overrides were validated when they were set.
            (None, Some(v)) if essential => match spec.validate(v) {
                Ok(()) => v,
                Err(why) => {
                    let shown = if spec.sensitive { "***" } else { spec.default };
                    noted.push(ParamFallback {
                        module: name.clone(),
                        key: String::from(spec.name),
                        default: Some(String::from(shown)),
                        reason: ModuleError::InvalidParam {
                            module: name.clone(),
                            key: String::from(spec.name),
                            reason: why,
                        },
                    });
                    spec.default
                }
            },
            (None, Some(v)) => v,
            (None, None) => spec.default,
        };
        check(spec, name, value)?;
        out.push(ConfigEntry {
            key: String::from(spec.name),
            value: String::from(value),
            sensitive: spec.sensitive,
        });
    }
    Ok(out)
}

/// The declared spec of `key` in `slot`'s module.
pub(super) fn spec_of(slot: &Slot, key: &str) -> Result<ParamSpec, ModuleError> {
    slot.meta
        .params
        .iter()
        .find(|s| s.name == key)
        .copied()
        .ok_or_else(|| ModuleError::UnknownParam {
            module: slot.meta.name.clone(),
            key: String::from(key),
        })
}

/// Checks `value` against `spec`, naming `module` in the error.
pub(super) fn check(spec: &ParamSpec, module: &str, value: &str) -> Result<(), ModuleError> {
    spec.validate(value)
        .map_err(|reason| ModuleError::InvalidParam {
            module: String::from(module),
            key: String::from(spec.name),
            reason,
        })
}

/// Records the values a module got at `init` (`config`, resolved before
/// the call) as its current parameters, with whatever it reported during
/// the call ([`Registry::report_param`] keeps those as overrides) on top.
pub(crate) fn settle(slot: &mut Slot, config: Vec<ConfigEntry>) {
    slot.params = config;
    for (key, value) in &slot.overrides {
        if let Some(e) = slot.params.iter_mut().find(|e| &e.key == key) {
            e.value.clone_from(value);
        }
    }
}

fn commit(slot: &mut Slot, key: &str, value: &str, sensitive: bool) {
    slot.overrides.retain(|(k, _)| k != key);
    slot.overrides
        .push((String::from(key), String::from(value)));
    match slot.params.iter_mut().find(|e| e.key == key) {
        Some(e) => e.value = String::from(value),
        None => slot.params.push(ConfigEntry {
            key: String::from(key),
            value: String::from(value),
            sensitive,
        }),
    }
}

impl Registry {
    /// Changes a declared parameter at run time.
    ///
    /// The caller needs [`Permissions::CONFIGURE`]; the key must be declared
    /// ([`ModuleError::UnknownParam`]), not boot-only
    /// ([`ModuleError::BootOnlyParam`]: those come from the kernel command
    /// line only, whatever the module's state) and the value valid
    /// ([`ModuleError::InvalidParam`]). An initialised module is told
    /// through `on_param_change` and may reject the change (its error is
    /// returned and the old value stays); a module not yet initialised, or
    /// Failed, gets the value at its next `init`. Audited with the key only,
    /// never the value.
    ///
    /// ```
    /// # use helix_modules::v2::{Context, ModuleInfo, ModuleTrait};
    /// # use helix_modules::{Caller, ModuleError, ParamSpec, Registry};
    /// # const P: [ParamSpec; 1] = [ParamSpec::new("level", "1").range(0, 3)];
    /// # struct M;
    /// # impl ModuleTrait for M {
    /// #     fn info(&self) -> ModuleInfo { ModuleInfo::new("m").params(&P) }
    /// #     fn init(&mut self, _: &Context) -> Result<(), ModuleError> { Ok(()) }
    /// #     fn start(&mut self) -> Result<(), ModuleError> { Ok(()) }
    /// #     fn stop(&mut self) -> Result<(), ModuleError> { Ok(()) }
    /// # }
    /// let r = Registry::new();
    /// r.register_v2(M)?;
    /// r.start_all(Caller::Kernel);
    /// r.set_param(Caller::Kernel, "m", "level", "2")?;
    /// assert!(matches!(r.set_param(Caller::Kernel, "m", "level", "9"), Err(ModuleError::InvalidParam { .. })));
    /// assert_eq!(r.params("m")?[0].shown(), "2");
    /// # Ok::<(), ModuleError>(())
    /// ```
    ///
    /// A boot-only parameter is refused:
    ///
    /// ```
    /// # use helix_modules::v2::{Context, ModuleInfo, ModuleTrait};
    /// # use helix_modules::{Caller, ModuleError, ParamSpec, Registry};
    /// # const P: [ParamSpec; 1] = [ParamSpec::new("irq", "4").range(0, 15).boot_only()];
    /// # struct M;
    /// # impl ModuleTrait for M {
    /// #     fn info(&self) -> ModuleInfo { ModuleInfo::new("m").params(&P) }
    /// #     fn init(&mut self, _: &Context) -> Result<(), ModuleError> { Ok(()) }
    /// #     fn start(&mut self) -> Result<(), ModuleError> { Ok(()) }
    /// #     fn stop(&mut self) -> Result<(), ModuleError> { Ok(()) }
    /// # }
    /// let r = Registry::builder().cmdline("m.irq=3").build();
    /// r.register_v2(M)?;
    /// r.start_all(Caller::Kernel);
    /// let refused = r.set_param(Caller::Kernel, "m", "irq", "5").unwrap_err();
    /// assert_eq!(refused, ModuleError::BootOnlyParam { module: "m".into(), key: "irq".into() });
    /// assert_eq!(r.params("m")?[0].shown(), "3");
    /// # Ok::<(), ModuleError>(())
    /// ```
    pub fn set_param(
        &self,
        caller: Caller,
        module: &str,
        key: &str,
        value: &str,
    ) -> Result<(), ModuleError> {
        let result = self.set_param_inner(caller, module, key, value);
        self.audit(caller, Operation::SetParam, module, Some(key), &result);
        result
    }

    fn set_param_inner(
        &self,
        caller: Caller,
        module: &str,
        key: &str,
        value: &str,
    ) -> Result<(), ModuleError> {
        let id = self.authorize_module_op_with(
            caller,
            Operation::SetParam,
            module,
            Permissions::CONFIGURE,
            Some(key),
            value.as_bytes(),
        )?;
        let (sensitive, state) = {
            let t = self.inner.table.lock();
            let slot = t.slot(id).ok_or_else(|| unknown_id(id))?;
            let spec = spec_of(slot, key)?;
            if spec.boot_only {
                return Err(ModuleError::BootOnlyParam {
                    module: String::from(module),
                    key: String::from(key),
                });
            }
            check(&spec, module, value)?;
            (spec.sensitive, slot.state)
        };
        if matches!(state, ModuleState::Registered | ModuleState::Failed) {
            let mut t = self.inner.table.lock();
            let slot = t.slot_mut(id).ok_or_else(|| unknown_id(id))?;
            commit(slot, key, value, sensitive);
            return Ok(());
        }
        let chain = self.caller_chain(caller);
        let (mut m, ()) = self.take(id, chain, |_| Ok(()))?;
        let reply = match self.contained(id, CallKind::ParamChange, || {
            m.handle_message(Message::ParamChanged { key, value })
        }) {
            Ok(reply) => reply,
            Err(fault) => {
                let error = Self::fault_error(module, CallKind::ParamChange, fault);
                self.record_fault(id, &error);
                self.put_back(id, m, |slot, t| {
                    slot.fail(error.clone());
                    t.subscribers_dirty = true;
                });
                return Err(error);
            }
        };
        self.put_back(id, m, |slot, _| match reply {
            Ok(Reply::Ack) => {
                commit(slot, key, value, sensitive);
                Ok(())
            }
            Ok(_) => Err(ModuleError::UnexpectedReply {
                module: slot.meta.name.clone(),
            }),
            Err(e) => Err(e),
        })
        .unwrap_or_else(|| Err(unknown_id(id)))
    }

    /// Records that module `id` changed its own parameter `key` to `value`
    /// (see [`crate::ModuleHandle::report_param`]): validated like
    /// [`Registry::set_param`] (declared, valid value), kept as a run-time
    /// override, and shown by [`Registry::params`]. The module is not
    /// called back (`on_param_change`) and no permission is needed: it
    /// reports a change it already made. Boot-only parameters may be
    /// reported too (the module is the one that knows).
    pub(crate) fn report_param(
        &self,
        id: ModuleId,
        key: &str,
        value: &str,
    ) -> Result<(), ModuleError> {
        let mut t = self.inner.table.lock();
        let slot = t.slot_mut(id).ok_or_else(|| unknown_id(id))?;
        let spec = spec_of(slot, key)?;
        check(&spec, &slot.meta.name, value)?;
        commit(slot, key, value, spec.sensitive);
        Ok(())
    }

    /// The command-line settings that ESSENTIAL modules start without, in
    /// registration order: an invalid value (the module gets the declared
    /// default instead) or a key the module does not declare (ignored).
    /// Any other module fails `init` on such a setting; an ESSENTIAL one
    /// starts, because the kernel cannot run without it. The framework has
    /// no logger, so the kernel asks for these once the modules are
    /// registered and logs them as warnings. Read-only; a run-time
    /// override takes precedence over the command line, so a key set at
    /// run time is not listed.
    pub fn param_fallbacks(&self) -> Vec<ParamFallback> {
        let t = self.inner.table.lock();
        t.live()
            .filter(|s| s.meta.flags.contains(ModuleFlags::ESSENTIAL))
            .flat_map(|s| fallbacks(&t, s.id))
            .collect()
    }

    /// A module's parameters as they may be printed (sensitive values are
    /// `***`): the values in use since its last `init` (with run-time
    /// changes), or, for a module not initialised yet or Failed, the values
    /// its next `init` gets. The error is why those cannot be resolved (an
    /// invalid or unknown command-line value: what makes `init` fail).
    pub fn params(&self, module: &str) -> Result<Vec<ParamValue>, ModuleError> {
        let t = self.inner.table.lock();
        let id = t.id_of(module)?;
        let slot = t.slot(id).ok_or_else(|| unknown_id(id))?;
        let entries = if matches!(slot.state, ModuleState::Registered | ModuleState::Failed) {
            resolve(&t, id)?
        } else {
            slot.params.clone()
        };
        let boot_only = |key: &str| {
            slot.meta
                .params
                .iter()
                .any(|s| s.name == key && s.boot_only)
        };
        Ok(entries
            .iter()
            .map(|e| ParamValue::new(&e.key, &e.value, e.sensitive, boot_only(&e.key)))
            .collect())
    }
}
