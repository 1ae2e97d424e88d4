//! Event dispatch: delivering one [`Event`] to the running modules that
//! subscribed to its kind.
//!
//! The per-kind subscriber lists are precomputed snapshots (rebuilt only
//! after a state or subscription change), so dispatching a Tick walks only
//! the subscribers, never looks at other modules and allocates nothing.

use alloc::boxed::Box;

use super::call::Chain;
use super::slot::Slot;
use super::{ModuleId, ModuleState, Registry};
use crate::error::ModuleError;
use crate::v1::{Message, Module, Reply};
use crate::v2::{Event, EventResponse};

/// What one dispatch did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DispatchSummary {
    /// Handlers called.
    pub delivered: u32,
    /// Handlers that answered `Handled`.
    pub handled: u32,
    /// Handlers that answered `Ignored`.
    pub ignored: u32,
    /// Handlers that answered `Error` (or a wrong reply).
    pub failed: u32,
    /// Subscribers not called because they were in another call at the time.
    pub skipped: u32,
}

impl Registry {
    /// Delivers `event` to every running module subscribed to its kind.
    ///
    /// Order: higher [`crate::v2::ModuleInfo::priority`] first, ties in
    /// registration order. Every subscriber gets the event whatever earlier
    /// ones answered. `Handled`, `Ignored` and `Error` are counted in the
    /// module's metrics; `Error` also becomes its last error and lowers its
    /// health (see [`crate::SupervisorPolicy::error_threshold`]). Events
    /// never wait: a subscriber that is in a call at that moment (on any
    /// CPU) is skipped and counted as skipped. Handlers run on the caller's
    /// CPU and thread, without the table lock, so they may make requests
    /// and publish events.
    ///
    /// ```
    /// # use helix_modules::v2::{Context, ModuleInfo, ModuleTrait, Event};
    /// # use helix_modules::{Caller, ModuleError, Registry};
    /// let r = Registry::new();
    /// let s = r.dispatch(&Event::Tick { timestamp_ns: 0 });
    /// assert_eq!(s.delivered, 0);
    /// ```
    pub fn dispatch(&self, event: &Event) -> crate::DispatchSummary {
        self.dispatch_on(event, self.new_chain())
    }

    pub(crate) fn dispatch_on(&self, event: &Event, chain: Chain) -> DispatchSummary {
        let kind = event.kind().index();
        let subscribers = {
            let mut t = self.inner.table.lock();
            if t.subscribers_dirty {
                t.rebuild_subscribers();
            }
            t.subscribers[kind].clone()
        };
        let mut summary = DispatchSummary::default();
        // One lock acquisition per handler: putting a module back and
        // taking the next one out happen under the same lock.
        let mut finished: Option<Finished> = None;
        let mut next_index = 0;
        loop {
            let next = {
                let mut t = self.inner.table.lock();
                if let Some((id, module, reply, elapsed)) = finished.take()
                    && let Some(slot) = t.slot_mut(id)
                {
                    slot.module = Some(module);
                    slot.busy = None;
                    record(slot, reply, elapsed, &mut summary);
                }
                let mut next = None;
                while let Some(&id) = subscribers.get(next_index) {
                    next_index += 1;
                    let Some(slot) = t.slot_mut(id) else { continue };
                    if slot.state != ModuleState::Running {
                        continue;
                    }
                    if slot.busy.is_some() {
                        slot.metrics.events_skipped += 1;
                        summary.skipped += 1;
                        continue;
                    }
                    if let Some(module) = slot.module.take() {
                        slot.busy = Some(chain.id);
                        next = Some((id, module));
                        break;
                    }
                }
                next
            };
            let Some((id, mut module)) = next else { break };
            let t0 = self.now();
            let reply = module.handle_message(Message::Event(event));
            let elapsed = self.now().saturating_sub(t0);
            finished = Some((id, module, reply, elapsed));
        }
        summary
    }
}

/// A module whose handler returned, waiting to be put back: its id, the
/// module, the reply and the time spent.
type Finished = (ModuleId, Box<dyn Module>, Result<Reply, ModuleError>, u64);

/// Counts one handler's answer in its module's metrics and health.
fn record(
    slot: &mut Slot,
    reply: Result<Reply, ModuleError>,
    elapsed: u64,
    summary: &mut DispatchSummary,
) {
    slot.metrics.handler_time = slot.metrics.handler_time.saturating_add(elapsed);
    summary.delivered += 1;
    let response = match reply {
        Ok(Reply::Event(r)) => r,
        Ok(_) => EventResponse::Error(ModuleError::UnexpectedReply {
            module: slot.meta.name.clone(),
        }),
        Err(e) => EventResponse::Error(e),
    };
    match response {
        EventResponse::Handled => {
            slot.metrics.events_handled += 1;
            slot.consecutive_errors = 0;
            summary.handled += 1;
        }
        EventResponse::Ignored => {
            slot.metrics.events_ignored += 1;
            slot.consecutive_errors = 0;
            summary.ignored += 1;
        }
        EventResponse::Error(e) => {
            slot.metrics.events_failed += 1;
            slot.consecutive_errors = slot.consecutive_errors.saturating_add(1);
            slot.last_error = Some(e);
            summary.failed += 1;
        }
    }
}
