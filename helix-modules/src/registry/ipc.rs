//! Synchronous IPC: routing a [`Request`] to a module by name or
//! capability, calling its handler, and returning its [`Response`].

use alloc::string::String;

use super::call::{slot_is_free, unknown_id};
use super::slot::Table;
use super::{ModuleId, ModuleState, Registry};
use crate::contain::CallKind;
use crate::error::{ModuleError, Operation};
use crate::flags::ModuleFlags;
use crate::permissions::Caller;
use crate::v1::{Message, Reply};
use crate::v2::{Request, Response};

impl Registry {
    /// Sends `request` to `target` (a module name, or else a capability)
    /// and returns the handler's response. Usable from the kernel, from
    /// `init` (through the [`crate::v2::Context`]) and from any handler
    /// (through a [`crate::v2::ModuleHandle`]).
    ///
    /// Rules, each with its own error:
    /// - the target must exist ([`ModuleError::NotFound`]) and be Running
    ///   ([`ModuleError::TargetNotRunning`]); for a capability, the running
    ///   provider with the highest priority (then lowest id) is chosen;
    /// - a module caller's `request.source` must be its own name
    ///   ([`ModuleError::SourceMismatch`]);
    /// - request and response payloads are at most
    ///   [`crate::RegistryLimits::max_payload`] bytes
    ///   ([`ModuleError::PayloadTooLarge`]);
    /// - if the target is `protected_by` permissions, the caller must hold
    ///   them ([`ModuleError::PermissionDenied`]), and then the running
    ///   SECURITY module, if any, is asked too
    ///   ([`ModuleError::SecurityRefused`], see [`Registry::authorize`]);
    ///   such requests are audited, and go to the module it was asked
    ///   about even if a capability's best provider changes meanwhile;
    /// - a target already in a call on this chain (A -> B -> A) is refused
    ///   with [`ModuleError::Reentrant`] instead of deadlocking; a target
    ///   busy on another chain is waited for when the caller holds no
    ///   module (the kernel, or a handle used outside a handler) and refused
    ///   with [`ModuleError::Busy`] otherwise.
    ///
    /// A handler error is returned as is and counted as a failed request.
    ///
    /// ```
    /// # use helix_modules::v2::{Context, ModuleInfo, ModuleTrait, Request, Response};
    /// # use helix_modules::{Caller, ModuleError, Registry};
    /// # struct Status;
    /// # impl ModuleTrait for Status {
    /// #     fn info(&self) -> ModuleInfo { ModuleInfo::new("status").provides(&["status"]) }
    /// #     fn init(&mut self, _: &Context) -> Result<(), ModuleError> { Ok(()) }
    /// #     fn start(&mut self) -> Result<(), ModuleError> { Ok(()) }
    /// #     fn stop(&mut self) -> Result<(), ModuleError> { Ok(()) }
    /// #     fn handle_request(&mut self, _: &Request) -> Result<Response, ModuleError> {
    /// #         Ok(Response::ok(b"OK".to_vec()))
    /// #     }
    /// # }
    /// let r = Registry::new();
    /// r.register_v2(Status)?;
    /// r.start_all(Caller::Kernel);
    /// let resp = r.request(Caller::Kernel, "status", Request::new("kernel", "get_status", vec![]))?;
    /// assert_eq!(resp.payload, b"OK");
    /// assert_eq!(
    ///     r.request(Caller::Kernel, "nobody", Request::new("kernel", "x", vec![])),
    ///     Err(ModuleError::NotFound { name: "nobody".into() })
    /// );
    /// # Ok::<(), ModuleError>(())
    /// ```
    pub fn request(
        &self,
        caller: Caller,
        target: &str,
        request: Request,
    ) -> Result<Response, ModuleError> {
        self.checked_request(caller, Target::Name(target), request)
    }

    /// The module a request for `target` (a name, or else a capability)
    /// goes to now, as [`Registry::request`] routes it: an id a caller can
    /// keep and send to with [`Registry::request_id`], which skips the
    /// lookup. Ids stay with their names (a module unloaded and loaded
    /// again gets its old id back), but a capability's provider may change:
    /// look it up again after a [`ModuleError::NotFound`].
    pub fn lookup(&self, target: &str) -> Result<ModuleId, ModuleError> {
        route(&self.inner.table.lock(), target)
    }

    /// [`Registry::request`] to the module with id `target` (from
    /// [`Registry::lookup`]), with the same rules; an id no module has is
    /// [`ModuleError::NotFound`].
    pub fn request_id(
        &self,
        caller: Caller,
        target: ModuleId,
        request: Request,
    ) -> Result<Response, ModuleError> {
        self.checked_request(caller, Target::Id(target), request)
    }

    fn checked_request(
        &self,
        caller: Caller,
        target: Target<'_>,
        request: Request,
    ) -> Result<Response, ModuleError> {
        let limit = self.inner.limits.max_payload;
        if request.payload.len() > limit {
            return Err(ModuleError::PayloadTooLarge {
                size: request.payload.len(),
                limit,
            });
        }
        self.send(caller, caller, target, request, limit, true)
    }

    /// Delivers `request` from `caller` to `target` on the call chain of
    /// `chain_of`, with payloads up to `limit` bytes: the body of
    /// [`Registry::request`], and how the registry asks the SECURITY module
    /// (as the kernel, on the chain of whoever it asks about, unlimited,
    /// and not `screen`ed: the SECURITY module is not asked about itself).
    /// With `screen`, a request to a protected module that the static
    /// permissions allow is shown to the SECURITY module first (outside
    /// the table lock), as [`Registry::authorize`] describes.
    pub(crate) fn send(
        &self,
        caller: Caller,
        chain_of: Caller,
        target: Target<'_>,
        request: Request,
        limit: usize,
        screen: bool,
    ) -> Result<Response, ModuleError> {
        let mut target = target;
        let mut chain = None;
        let mut waiting = None;
        let mut screened = !screen;
        let (id, module, audited) = loop {
            let mut t = self.inner.table.lock();
            if let Caller::Module(from) = caller {
                let sender = t.slot(from).ok_or_else(|| unknown_id(from))?;
                if sender.meta.name != request.source {
                    return Err(ModuleError::SourceMismatch {
                        claimed: String::from(request.source),
                        actual: sender.meta.name.clone(),
                    });
                }
            }
            let id = match target {
                Target::Name(name) => route(&t, name)?,
                // An id nobody has is refused by the slot lookup below.
                Target::Id(id) => id,
            };
            let chain = *chain.get_or_insert_with(|| t.chain_for(chain_of));
            let Some(slot) = t.slot(id) else {
                return Err(unknown_id(id));
            };
            let needed = slot.meta.protected_by;
            let audited = !needed.is_empty();
            if audited {
                let name = slot.name.clone();
                if let Err(e) = self.authorize_locked(
                    &t,
                    caller,
                    Operation::Request,
                    &name,
                    needed,
                    ModuleFlags::empty(),
                ) {
                    drop(t);
                    let result = Err(e);
                    self.audit(
                        caller,
                        Operation::Request,
                        &name,
                        Some(&request.request_type),
                        &result,
                    );
                    return result;
                }
                if !screened {
                    // The SECURITY module's say, asked without the lock
                    // (it is a module call); then route again.
                    drop(t);
                    let detail = Some(request.request_type.as_str());
                    self.consult(caller, Operation::Request, &name, detail, &request.payload)?;
                    screened = true;
                    // The request goes to the module that was screened,
                    // even if a capability's best provider has changed
                    // meanwhile (gone: the request fails).
                    target = Target::Id(id);
                    continue;
                }
            }
            let Some(slot) = t.slot_mut(id) else {
                return Err(unknown_id(id));
            };
            if !slot_is_free(slot, chain)? {
                let name = slot.meta.name.clone();
                drop(t);
                self.wait_turn(&mut waiting, || name)?;
                continue;
            }
            if slot.state != ModuleState::Running {
                return Err(ModuleError::TargetNotRunning {
                    module: slot.meta.name.clone(),
                    state: slot.state,
                });
            }
            let Some(module) = slot.module.take() else {
                return Err(ModuleError::Busy {
                    module: slot.meta.name.clone(),
                });
            };
            slot.busy = Some(chain.id);
            break (id, module, audited);
        };

        let t0 = self.now();
        let mut module = module;
        let reply = if self.inner.containment.is_some() {
            self.contained(id, CallKind::Request, || {
                module.handle_message(Message::Request(&request))
            })
            .map_err(|fault| {
                let name = self.name_of(id).unwrap_or_default();
                Self::fault_error(&name, CallKind::Request, fault)
            })
        } else {
            Ok(module.handle_message(Message::Request(&request)))
        };
        let elapsed = self.now().saturating_sub(t0);
        let faulted = reply.is_err();
        if let Err(error) = &reply {
            self.record_fault(id, error);
        }

        let (result, name) = {
            let mut t = self.inner.table.lock();
            // A faulted module is Failed: no more events for it.
            t.subscribers_dirty |= faulted;
            let Some(slot) = t.slot_mut(id) else {
                return Err(unknown_id(id));
            };
            slot.module = Some(module);
            slot.busy = None;
            slot.metrics.handler_time = slot.metrics.handler_time.saturating_add(elapsed);
            let reply = match reply {
                Ok(reply) => reply,
                Err(error) => {
                    // The module is Failed; the caller gets the fault.
                    slot.pending_fault = None;
                    slot.fail(error.clone());
                    Err(error)
                }
            };
            let result = match reply {
                Ok(Reply::Response(r)) if r.payload.len() > limit => {
                    Err(ModuleError::PayloadTooLarge {
                        size: r.payload.len(),
                        limit,
                    })
                }
                Ok(Reply::Response(r)) => Ok(r),
                Ok(_) => Err(ModuleError::UnexpectedReply {
                    module: slot.meta.name.clone(),
                }),
                Err(e) => Err(e),
            };
            if result.is_ok() {
                slot.metrics.requests_served += 1;
            } else {
                slot.metrics.requests_failed += 1;
            }

            // Only an audited request needs the name afterwards.
            let name = audited.then(|| slot.name.clone());
            (result, name)
        };
        if let Some(name) = name {
            self.audit(
                caller,
                Operation::Request,
                name,
                Some(&request.request_type),
                &result,
            );
        }
        result
    }
}

/// Where a request goes: a name or capability to route, or a module id.
#[derive(Clone, Copy)]
pub(crate) enum Target<'a> {
    Name(&'a str),
    Id(ModuleId),
}

/// The module a request for `target` goes to.
pub(crate) fn route(t: &Table, target: &str) -> Result<ModuleId, ModuleError> {
    if let Some(id) = t.module_named(target) {
        return Ok(id);
    }
    let best = t
        .providers_of(target)
        .filter_map(|id| t.slot(id))
        .filter(|s| s.state == ModuleState::Running)
        .max_by(|a, b| a.meta.priority.cmp(&b.meta.priority).then(b.id.cmp(&a.id)));
    match best {
        Some(s) => Ok(s.id),
        None => t
            .providers_of(target)
            .next()
            .ok_or_else(|| ModuleError::NotFound {
                name: String::from(target),
            }),
    }
}
