//! Event dispatch: delivering one [`Event`] to the running modules that
//! subscribed to its kind.
//!
//! The per-kind subscriber lists are precomputed snapshots (rebuilt only
//! after a state or subscription change), so dispatching a Tick walks only
//! the subscribers, never looks at other modules and allocates nothing.
//!
//! Cost model: a Tick handler is typically tiny, so the framework's own
//! work dominates. Each table-lock acquisition is an atomic
//! read-modify-write that must also wait for earlier stores to drain, so a
//! dispatch claims every eligible subscriber under its first acquisition
//! (marks it busy on the dispatch's chain) and moves modules out of their
//! slots in chunks of [`CHUNK`] into a stack array: one acquisition claims
//! everything and takes the first chunk, one per further chunk puts a chunk
//! back and takes the next, and the last puts the last chunk back. Up to
//! [`CHUNK`] subscribers that is two acquisitions per dispatch instead of
//! one per handler. The chunk holds a few words per module, so setting it
//! up and walking it is cheap; errors, large and rare, are recorded on a
//! cold path instead of being carried in it.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::sync::Arc;

use super::call::Chain;
use super::slot::Table;
use super::{ChainId, ModuleId, ModuleState, Registry};
use crate::contain::CallKind;
use crate::error::ModuleError;
use crate::v1::{Message, Module, Reply};
use crate::v2::{Event, EventKinds, EventResponse};

/// Modules moved out of their slots per lock acquisition. Bounded so the
/// chunk lives on the stack (a dispatch must not allocate); it is about
/// 240 bytes, which every dispatch sets up and tears down (twice as many
/// entries measurably slowed a dispatch to 8 subscribers). Each further
/// `CHUNK` subscribers cost one more lock acquisition.
const CHUNK: usize = 8;

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

/// A handler's answer, reduced to what is left to record when the chunk is
/// put back. Kept to a byte so a chunk is cheap to set up and to walk:
/// errors are rare and large, so they are recorded as they happen (see
/// [`Registry::record_failure`]) rather than carried in the chunk.
#[derive(Clone, Copy)]
enum Outcome {
    Handled,
    Ignored,
    /// Already counted in the module's metrics by `record_failure`.
    Failed,
    /// The handler faulted (see [`crate::contain`]); recorded by
    /// `record_fault`, and the module fails when it is put back.
    Faulted,
}

/// The chunk being delivered, in dispatch order: the first `len` entries
/// of each array describe the subscribers taken out of their slots.
/// Parallel arrays rather than one array of structs, so that filling and
/// walking a chunk moves a few words per module instead of whole records.
struct Batch {
    len: usize,
    ids: [ModuleId; CHUNK],
    modules: [Option<Box<dyn Module>>; CHUNK],
    outcomes: [Outcome; CHUNK],
    /// Clock units spent in each handler.
    elapsed: [u64; CHUNK],
}

impl Batch {
    #[inline]
    fn is_full(&self) -> bool {
        self.len == CHUNK
    }

    #[inline]
    fn push(&mut self, id: ModuleId, module: Box<dyn Module>) {
        self.ids[self.len] = id;
        self.modules[self.len] = Some(module);
        self.len += 1;
    }
}

impl Registry {
    /// Delivers `event` to every running module subscribed to its kind.
    ///
    /// Order: higher [`crate::v2::ModuleInfo::priority`] first, ties in
    /// registration order. Every subscriber gets the event whatever earlier
    /// ones answered. `Handled`, `Ignored` and `Error` are counted in the
    /// module's metrics; `Error` also becomes its last error and lowers its
    /// health (see [`crate::SupervisorPolicy::error_threshold`]). A Tick
    /// never waits: a subscriber that is in a call when the dispatch starts
    /// (on any CPU) misses it and is counted as skipped. Every other event
    /// must arrive, so a top-level dispatch of one waits until no
    /// subscriber is in a call on another chain; a dispatch made from inside
    /// a handler (a module publishing) never waits, and skips busy
    /// subscribers instead, because waiting there could deadlock. Handlers run on the
    /// caller's CPU and thread, without the table lock, so they may make
    /// requests and publish events.
    ///
    /// Every subscriber the event is delivered to is on the dispatch's call
    /// chain from the start of the dispatch to its end, so a handler's
    /// request to another subscriber of the same event (or a lifecycle
    /// operation on it) is [`ModuleError::Reentrant`], as a request back
    /// into a module that is calling would be; modules that did not
    /// subscribe are reachable as usual. Other CPUs wait for (requests and
    /// non-Tick events) or skip (Ticks) those subscribers until the dispatch
    /// ends.
    ///
    /// ```
    /// # use helix_modules::v2::{Context, ModuleInfo, ModuleTrait, Event};
    /// # use helix_modules::{Caller, ModuleError, Registry};
    /// let r = Registry::new();
    /// let s = r.dispatch(&Event::Tick { timestamp_ns: 0 });
    /// assert_eq!(s.delivered, 0);
    /// ```
    pub fn dispatch(&self, event: &Event) -> crate::DispatchSummary {
        self.deliver(event, None, true)
    }

    /// Like [`Registry::dispatch`], but never waits: a subscriber in another
    /// call misses the event (counted as skipped). For callers that may be
    /// inside a dispatch themselves without the registry knowing, such as
    /// the kernel's reclaim when an allocation fails inside a handler:
    /// waiting there for a subscriber the outer dispatch holds would never
    /// end.
    pub fn dispatch_without_waiting(&self, event: &Event) -> crate::DispatchSummary {
        self.deliver(event, None, false)
    }

    pub(crate) fn dispatch_on(&self, event: &Event, chain: Chain) -> DispatchSummary {
        self.deliver(event, Some(chain.id), false)
    }

    /// The dispatch itself; a new chain (`chain` is `None`) is numbered
    /// under the first lock acquisition, which saves an atomic operation.
    fn deliver(&self, event: &Event, chain: Option<ChainId>, may_wait: bool) -> DispatchSummary {
        let kind = event.kind().index();
        let mut summary = DispatchSummary::default();
        let mut batch = Batch {
            len: 0,
            ids: [ModuleId(0); CHUNK],
            modules: [const { None }; CHUNK],
            outcomes: [Outcome::Ignored; CHUNK],
            elapsed: [0; CHUNK],
        };
        // Subscribers claimed but not yet taken out because the first chunk
        // was full: the list (kept alive even if the table's is rebuilt
        // meanwhile) and where to resume.
        let mut rest: Option<(Arc<[ModuleId]>, usize)> = None;
        // Tick is periodic and the next one is never far: a busy subscriber
        // just misses it. Any other event (hotplug, pressure, shutdown,
        // custom) must reach every subscriber, so a dispatch that is not
        // itself inside a module waits for subscribers busy on another
        // chain, as a kernel request does. A nested dispatch never waits
        // (that could deadlock), and a subscriber on this very chain is
        // re-entrant and skipped either way.
        let mut must_reach = may_wait && chain.is_none() && event.kind() != EventKinds::TICK;
        let mut waiting = None;
        let chain = loop {
            let mut guard = self.inner.table.lock();
            let t = &mut *guard;
            if t.subscribers_dirty {
                t.rebuild_subscribers();
            }
            let chain = chain.unwrap_or_else(|| t.mint_chain());
            let subscribers = &t.subscribers[kind];
            if must_reach
                && subscribers.iter().any(|id| {
                    t.slots
                        .get(id.index())
                        .and_then(Option::as_ref)
                        .is_some_and(|s| {
                            s.state == ModuleState::Running && s.busy.is_some_and(|c| c != chain)
                        })
                })
            {
                // Nothing is claimed yet: let go of the lock and look again.
                // A subscriber busy past every budget is skipped instead.
                drop(guard);
                if self
                    .wait_turn(&mut waiting, || String::from("a subscriber"))
                    .is_err()
                {
                    must_reach = false;
                }
                continue;
            }
            for (position, &id) in subscribers.iter().enumerate() {
                let Some(slot) = t.slots.get_mut(id.index()).and_then(Option::as_mut) else {
                    continue;
                };
                if slot.state != ModuleState::Running {
                    continue;
                }
                if slot.busy.is_some() {
                    slot.metrics.events_skipped += 1;
                    summary.skipped += 1;
                    continue;
                }
                if batch.is_full() {
                    // Claimed now, taken out with a later chunk.
                    slot.busy = Some(chain);
                    rest.get_or_insert_with(|| (subscribers.clone(), position));
                } else if let Some(module) = slot.module.take() {
                    slot.busy = Some(chain);
                    batch.push(id, module);
                }
            }
            break chain;
        };
        loop {
            self.call_handlers(&mut batch, event);
            let mut t = self.inner.table.lock();
            summary = put_back(&mut t, &mut batch, summary);
            let Some((subscribers, position)) = rest.as_mut() else {
                break;
            };
            while let Some(&id) = subscribers.get(*position)
                && !batch.is_full()
            {
                *position += 1;
                take_claimed(&mut t, id, chain, &mut batch);
            }
            if batch.len == 0 {
                break;
            }
        }
        summary
    }

    /// Runs the chunk's handlers, without the lock. With a clock, one
    /// reading between two handlers ends the first one's time and starts
    /// the next one's.
    fn call_handlers(&self, batch: &mut Batch, event: &Event) {
        let clock = self.inner.clock;
        let mut last = clock.map_or(0, |c| c());
        for i in 0..batch.len {
            let Some(module) = batch.modules[i].as_mut() else {
                continue;
            };
            let reply = if self.inner.containment.is_some() {
                match self.handle_event_contained(batch.ids[i], module, event) {
                    Some(reply) => reply,
                    None => {
                        batch.outcomes[i] = Outcome::Faulted;
                        continue;
                    }
                }
            } else {
                module.handle_message(Message::Event(event))
            };
            batch.outcomes[i] = match reply {
                Ok(Reply::Event(EventResponse::Handled)) => Outcome::Handled,
                Ok(Reply::Event(EventResponse::Ignored)) => Outcome::Ignored,
                Ok(Reply::Event(EventResponse::Error(e))) | Err(e) => {
                    self.record_failure(batch.ids[i], Some(e));
                    Outcome::Failed
                }
                Ok(_) => {
                    self.record_failure(batch.ids[i], None);
                    Outcome::Failed
                }
            };
            if let Some(c) = clock {
                let now = c();
                batch.elapsed[i] = now.saturating_sub(last);
                last = now;
            }
        }
    }
}

impl Registry {
    /// One handler call through the containment; `None` when it faulted
    /// (already recorded). Kept out of the loop so an unguarded dispatch
    /// pays nothing for it.
    #[inline(never)]
    fn handle_event_contained(
        &self,
        id: ModuleId,
        module: &mut Box<dyn Module>,
        event: &Event,
    ) -> Option<Result<Reply, ModuleError>> {
        match self.contained(id, CallKind::Event, || {
            module.handle_message(Message::Event(event))
        }) {
            Ok(reply) => Some(reply),
            Err(fault) => {
                let name = self.name_of(id).unwrap_or_default();
                let error = Self::fault_error(&name, CallKind::Event, fault);
                self.record_fault(id, &error);
                None
            }
        }
    }

    /// Counts a handler's error (`None`: a v1 reply other than
    /// [`Reply::Event`]) in its module's metrics and health, at once and
    /// under its own lock acquisition: errors are rare, and carrying them
    /// in the chunk would make every dispatch pay for their size.
    #[cold]
    fn record_failure(&self, id: ModuleId, error: Option<ModuleError>) {
        let mut t = self.inner.table.lock();
        let Some(slot) = t.slot_mut(id) else { return };
        let error = error.unwrap_or_else(|| ModuleError::UnexpectedReply {
            module: slot.meta.name.clone(),
        });
        slot.metrics.events_failed += 1;
        slot.consecutive_errors = slot.consecutive_errors.saturating_add(1);
        slot.last_error = Some(error);
    }
}

/// Takes subscriber `id` out of its slot if this dispatch claimed it and
/// it is still running; a claim on a module that stopped meanwhile is
/// simply released.
#[inline]
fn take_claimed(t: &mut Table, id: ModuleId, chain: ChainId, batch: &mut Batch) {
    let Some(slot) = t.slot_mut(id) else { return };
    // Only this dispatch marks a slot with `chain` while leaving the module
    // in it: nested calls on the chain take the module out as they mark.
    if slot.busy != Some(chain) || slot.module.is_none() {
        return;
    }
    if slot.state != ModuleState::Running {
        slot.busy = None;
        return;
    }
    if let Some(module) = slot.module.take() {
        batch.push(id, module);
    }
}

/// Puts the chunk's modules back and records their answers; empties the
/// batch.
#[inline]
///
/// The summary goes in and out by value rather than by reference so that
/// the compiler can keep the counters in registers: a summary built with
/// scattered stores in memory is then read back whole by the caller, and
/// that read stalls on store forwarding.
fn put_back(t: &mut Table, batch: &mut Batch, mut summary: DispatchSummary) -> DispatchSummary {
    for i in 0..batch.len {
        let Some(module) = batch.modules[i].take() else {
            continue;
        };
        // Unload waits for calls to end, so the slot is still there.
        let Some(slot) = t.slot_mut(batch.ids[i]) else {
            continue;
        };
        slot.module = Some(module);
        slot.busy = None;
        slot.metrics.handler_time = slot.metrics.handler_time.saturating_add(batch.elapsed[i]);
        summary.delivered += 1;
        match batch.outcomes[i] {
            Outcome::Handled => {
                slot.metrics.events_handled += 1;
                slot.consecutive_errors = 0;
                summary.handled += 1;
            }
            Outcome::Ignored => {
                slot.metrics.events_ignored += 1;
                slot.consecutive_errors = 0;
                summary.ignored += 1;
            }
            Outcome::Failed => summary.failed += 1,
            Outcome::Faulted => {
                slot.metrics.events_failed += 1;
                let error = slot
                    .pending_fault
                    .take()
                    .unwrap_or(ModuleError::Failed("a handler faulted"));
                slot.fail(error);
                t.subscribers_dirty = true;
                summary.failed += 1;
            }
        }
    }
    batch.len = 0;
    summary
}
