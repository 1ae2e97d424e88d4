//! Module parameters at run time: resolving a module's values for `init`
//! (declared default < command line < run-time override), changing one
//! with [`Registry::set_param`], and the masked listing.

use alloc::string::String;
use alloc::vec::Vec;

use super::call::unknown_id;
use super::slot::{Slot, Table};
use super::{ModuleId, ModuleState, Registry};
use crate::config::ParamValue;
use crate::error::{ModuleError, Operation};
use crate::permissions::{Caller, Permissions};
use crate::v1::{Message, Reply};
use crate::v2::context::ConfigEntry;

/// The values module `id` gets at `init`, validated.
pub(crate) fn resolve(t: &Table, id: ModuleId) -> Result<Vec<ConfigEntry>, ModuleError> {
    let slot = t.slot(id).ok_or_else(|| unknown_id(id))?;
    let name = &slot.meta.name;
    let from_cmdline = t.cmdline.iter().filter(|p| &p.module == name);
    let specs = &slot.meta.params;
    if specs.is_empty() {
        // Nothing declared: pass the command line through, last one wins.
        let mut out: Vec<ConfigEntry> = Vec::new();
        for p in from_cmdline {
            out.retain(|e| e.key != p.key);
            out.push(ConfigEntry {
                key: p.key.clone(),
                value: p.value.clone(),
                sensitive: false,
            });
        }
        return Ok(out);
    }
    if let Some(p) = from_cmdline
        .clone()
        .find(|p| !specs.iter().any(|s| s.name == p.key))
    {
        return Err(ModuleError::UnknownParam {
            module: name.clone(),
            key: p.key.clone(),
        });
    }
    let mut out = Vec::with_capacity(specs.len());
    for spec in specs {
        let value = slot
            .overrides
            .iter()
            .rev()
            .find(|(k, _)| k == spec.name)
            .map(|(_, v)| v.as_str())
            .or_else(|| {
                from_cmdline
                    .clone()
                    .rfind(|p| p.key == spec.name)
                    .map(|p| p.value.as_str())
            })
            .unwrap_or(spec.default);
        spec.validate(value)
            .map_err(|reason| ModuleError::InvalidParam {
                module: name.clone(),
                key: String::from(spec.name),
                reason,
            })?;
        out.push(ConfigEntry {
            key: String::from(spec.name),
            value: String::from(value),
            sensitive: spec.sensitive,
        });
    }
    Ok(out)
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
    /// ([`ModuleError::UnknownParam`]) and the value valid
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
        let id =
            self.authorize_module_op(caller, Operation::SetParam, module, Permissions::CONFIGURE)?;
        let (sensitive, state) = {
            let t = self.inner.table.lock();
            let slot = t.slot(id).ok_or_else(|| unknown_id(id))?;
            let spec = slot
                .meta
                .params
                .iter()
                .find(|s| s.name == key)
                .ok_or_else(|| ModuleError::UnknownParam {
                    module: String::from(module),
                    key: String::from(key),
                })?;
            spec.validate(value)
                .map_err(|reason| ModuleError::InvalidParam {
                    module: String::from(module),
                    key: String::from(key),
                    reason,
                })?;
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
        let reply = m.handle_message(Message::ParamChanged { key, value });
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

    /// A module's parameters as they may be printed (sensitive values are
    /// `***`): the values in use since its last `init`, or, before that,
    /// the values it would get.
    pub fn params(&self, module: &str) -> Result<Vec<ParamValue>, ModuleError> {
        let t = self.inner.table.lock();
        let id = t.id_of(module)?;
        let slot = t.slot(id).ok_or_else(|| unknown_id(id))?;
        let entries = if slot.state == ModuleState::Registered {
            resolve(&t, id)?
        } else {
            slot.params.clone()
        };
        Ok(entries
            .iter()
            .map(|e| ParamValue::new(&e.key, &e.value, e.sensitive))
            .collect())
    }
}
