//! [`LoadedModule`]: a module binary's instance as one more
//! [`Module`] in the registry. Each method calls the image's entry point
//! for it (the registry contains every such call, so module faults end
//! the call as for built-in modules), converting arguments to the binary
//! interface and answers back.
//!
//! `init` always starts from a fresh instance made by the image
//! (`create`), dropping the previous one: a restart after a fault, or a
//! reload, runs new code state from the image rather than an instance a
//! fault left half-updated.

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use helix_abi::{
    Bytes, ConfigAbi, DECLINED, EVENT_HANDLED, EVENT_IGNORED, EventAbi, InitAbi, Instance, OK,
    RequestAbi, event_kind,
};
use helix_modules::services::pci::DeviceId;
use helix_modules::v2::{Context, Event, EventResponse, PressureLevel, Response};
use helix_modules::{Message, Module, ModuleError, ModuleMetadata, Reply};

use super::host::LoadedImage;
use super::services::Collected;

/// One instance of a loaded module binary (see the module docs).
pub struct LoadedModule {
    image: Arc<LoadedImage>,
    meta: ModuleMetadata,
    state_version: u32,
    pci_ids: &'static [DeviceId],
    instance: Option<Instance>,
}

// SAFETY: the instance pointer is only used through `&mut self` (one call at
// a time, which the registry guarantees), on whichever CPU runs the call;
// the module's code keeps no thread affinity.
unsafe impl Send for LoadedModule {}

/// The error text a module wrote, as an error.
fn error(text: Vec<u8>) -> ModuleError {
    ModuleError::Message(String::from_utf8_lossy(&text).into_owned())
}

impl LoadedModule {
    /// An instance-less module for `image`, described by `meta`, driving
    /// the devices `pci_ids` matches.
    pub fn new(
        image: Arc<LoadedImage>,
        meta: ModuleMetadata,
        state_version: u32,
        pci_ids: &'static [DeviceId],
    ) -> Self {
        LoadedModule {
            image,
            meta,
            state_version,
            pci_ids,
            instance: None,
        }
    }

    fn ops(&self) -> helix_abi::Ops {
        self.image.descriptor().ops
    }

    fn instance(&self) -> Result<Instance, ModuleError> {
        self.instance
            .ok_or(ModuleError::Failed("the loaded module has no instance"))
    }

    /// Calls `f` with the instance and an error sink; `OK` is success.
    fn status(
        &mut self,
        f: impl FnOnce(Instance, helix_abi::Sink) -> u32,
    ) -> Result<(), ModuleError> {
        let inst = self.instance()?;
        let mut err = Collected::new(self.image.host());
        match f(inst, err.sink()) {
            OK => Ok(()),
            _ => Err(error(err.into_bytes())),
        }
    }

    fn drop_instance(&mut self) {
        if let Some(inst) = self.instance.take() {
            (self.ops().destroy)(inst);
        }
    }

    fn event(&mut self, event: &Event) -> EventResponse {
        let (kind, a, b, name, data) = match event {
            Event::Tick { timestamp_ns } => (event_kind::TICK, *timestamp_ns, 0, &[][..], &[][..]),
            Event::Shutdown => (event_kind::SHUTDOWN, 0, 0, &[][..], &[][..]),
            Event::MemoryPressure { level } => {
                let level = match level {
                    PressureLevel::Low => 0,
                    PressureLevel::Medium => 1,
                    PressureLevel::Critical => 2,
                };
                (event_kind::MEMORY_PRESSURE, level, 0, &[][..], &[][..])
            }
            Event::CpuHotplug { cpu_id, online } => (
                event_kind::CPU_HOTPLUG,
                u64::from(*cpu_id),
                u32::from(*online),
                &[][..],
                &[][..],
            ),
            Event::Custom { name, data } => {
                (event_kind::CUSTOM, 0, 0, name.as_bytes(), data.as_slice())
            }
        };
        let abi = EventAbi {
            kind,
            b,
            a,
            name: Bytes::of(name),
            data: Bytes::of(data),
        };
        let Ok(inst) = self.instance() else {
            return EventResponse::Error(ModuleError::Failed("the loaded module has no instance"));
        };
        let mut err = Collected::new(self.image.host());
        match (self.ops().event)(inst, &abi, err.sink()) {
            EVENT_HANDLED => EventResponse::Handled,
            EVENT_IGNORED => EventResponse::Ignored,
            _ => EventResponse::Error(error(err.into_bytes())),
        }
    }

    fn request(&mut self, r: &helix_modules::v2::Request) -> Result<Response, ModuleError> {
        let inst = self.instance()?;
        let abi = RequestAbi {
            source: Bytes::str(r.source),
            kind: Bytes::str(&r.request_type),
            payload: Bytes::of(&r.payload),
        };
        let host = self.image.host();
        let (mut out, mut err) = (Collected::new(host), Collected::new(host));
        match (self.ops().request)(inst, &abi, out.sink(), err.sink()) {
            OK => Ok(Response::ok(out.into_bytes())),
            DECLINED => Ok(Response::err(
                String::from_utf8_lossy(&out.into_bytes()).into_owned(),
            )),
            _ => Err(error(err.into_bytes())),
        }
    }
}

impl Module for LoadedModule {
    fn metadata(&self) -> ModuleMetadata {
        self.meta.clone()
    }

    fn pci_ids(&self) -> &'static [DeviceId] {
        self.pci_ids
    }

    fn init(&mut self, ctx: &Context) -> Result<(), ModuleError> {
        self.drop_instance();
        let host = self.image.host();
        *host.handle.lock() = Some(ctx.handle());
        *host.hardware.lock() = ctx.hardware().ok();
        let inst = (self.ops().create)();
        if inst.is_null() {
            return Err(ModuleError::Failed("the module binary made no instance"));
        }
        self.instance = Some(inst);
        let params: Vec<ConfigAbi> = ctx
            .params()
            .map(|(key, value, sensitive)| ConfigAbi {
                key: Bytes::str(key),
                value: Bytes::str(value),
                sensitive: u32::from(sensitive),
            })
            .collect();
        let init = InitAbi {
            id: ctx.id.get(),
            hardware: u32::from(ctx.hardware().is_ok()),
            name: Bytes::str(ctx.name()),
            config: params.as_ptr(),
            config_len: params.len(),
        };
        let init_fn = self.ops().init;
        self.status(|inst, err| init_fn(inst, &init, err))
    }

    fn start(&mut self) -> Result<(), ModuleError> {
        let f = self.ops().start;
        self.status(|inst, err| f(inst, err))
    }

    fn stop(&mut self) -> Result<(), ModuleError> {
        let f = self.ops().stop;
        self.status(|inst, err| f(inst, err))
    }

    fn handle_message(&mut self, message: Message<'_>) -> Result<Reply, ModuleError> {
        match message {
            Message::Event(e) => Ok(Reply::Event(self.event(e))),
            Message::Request(r) => self.request(r).map(Reply::Response),
            Message::ParamChanged { key, value } => {
                let f = self.ops().param_change;
                self.status(|inst, err| f(inst, Bytes::str(key), Bytes::str(value), err))
                    .map(|()| Reply::Ack)
            }
        }
    }

    fn is_healthy(&self) -> bool {
        self.instance
            .is_some_and(|inst| (self.ops().healthy)(inst) != 0)
    }

    fn save_state(&self) -> Option<Vec<u8>> {
        let inst = self.instance?;
        let mut out = Collected::new(self.image.host());
        ((self.ops().save_state)(inst, out.sink()) != 0).then(|| out.into_bytes())
    }

    fn restore_state(&mut self, state: &[u8]) -> Result<(), ModuleError> {
        let f = self.ops().restore_state;
        self.status(|inst, err| f(inst, Bytes::of(state), err))
    }

    fn api_generation(&self) -> u8 {
        2
    }

    fn state_version(&self) -> u32 {
        self.state_version
    }
}

impl Drop for LoadedModule {
    fn drop(&mut self) {
        // The registry drops modules inside a contained call: the
        // instance's own `Drop` is module code.
        self.drop_instance();
        let host = self.image.host();
        host.handle.lock().take();
        if let Some(hw) = host.hardware.lock().take() {
            hw.release_all();
        }
        host.claims.lock().clear();
    }
}
