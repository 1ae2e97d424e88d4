//! Every `ModuleError` renders a readable message, and the optional
//! `ModuleTrait` methods have the documented defaults.

use helix_modules::v2::{Context, Event, EventResponse, ModuleAdapter, ModuleInfo, ModuleTrait};
use helix_modules::{
    Message, Module, ModuleError, ModuleFlags, ModuleState, Operation, Permissions, Reply,
};

#[test]
fn every_error_has_a_message() {
    use ModuleError::*;
    let s = String::from;
    let cases = vec![
        (
            NotFound { name: s("x") },
            "no module or capability named `x`",
        ),
        (
            AlreadyRegistered { name: s("x") },
            "module `x` is already registered",
        ),
        (
            InvalidMetadata {
                module: s("x"),
                reason: "bad",
            },
            "invalid metadata for module `x`: bad",
        ),
        (
            InvalidDependency {
                module: s("x"),
                spec: s("y>"),
                reason: "bad",
            },
            "module `x`: invalid dependency `y>`: bad",
        ),
        (
            InvalidState {
                module: s("x"),
                state: ModuleState::Initialized,
                op: Operation::Reload,
            },
            "cannot reload module `x` while it is initialized",
        ),
        (
            DependencyMissing {
                module: s("x"),
                dependency: s("y"),
            },
            "module `x`: dependency `y` is not registered",
        ),
        (
            DependencyFailed {
                module: s("x"),
                dependency: s("y"),
            },
            "module `x`: dependency `y` is not running",
        ),
        (Cycle(vec![s("a"), s("b")]), "dependency cycle: a -> b -> a"),
        (Cycle(vec![]), "dependency cycle: "),
        (
            Reentrant { module: s("a") },
            "request would re-enter module `a`, already in a call on this chain",
        ),
        (
            Busy { module: s("a") },
            "module `a` is busy on another call chain",
        ),
        (
            TargetNotRunning {
                module: s("a"),
                state: ModuleState::Unloaded,
            },
            "module `a` is not running (it is unloaded)",
        ),
        (
            PayloadTooLarge { size: 9, limit: 8 },
            "payload of 9 bytes exceeds the limit of 8",
        ),
        (
            PermissionDenied {
                caller: s("m"),
                op: Operation::ReadAudit,
                target: s("audit"),
                missing: Permissions::AUDIT,
            },
            "m may not read-audit `audit`: missing permission AUDIT",
        ),
        (
            SourceMismatch {
                claimed: s("a"),
                actual: s("b"),
            },
            "request source `a` does not match sender `b`",
        ),
        (
            InvalidParam {
                module: s("m"),
                key: s("k"),
                reason: s("why"),
            },
            "invalid value for `m.k`: why",
        ),
        (
            UnknownParam {
                module: s("m"),
                key: s("k"),
            },
            "module `m` has no parameter `k`",
        ),
        (
            BootOnlyParam {
                module: s("m"),
                key: s("k"),
            },
            "parameter `m.k` is read only at boot: set it on the kernel command line",
        ),
        (
            NotHotReloadable { module: s("m") },
            "module `m` is not hot-reloadable",
        ),
        (
            ReloadMismatch {
                expected: s("a"),
                found: s("b"),
            },
            "replacement for `a` calls itself `b`",
        ),
        (
            Essential { module: s("m") },
            "module `m` is essential and cannot be stopped or unloaded",
        ),
        (
            Conflict {
                module: s("a"),
                holder: s("b"),
                flag: ModuleFlags::ALLOCATOR,
            },
            "module `a` cannot run: `b` already holds role ALLOCATOR",
        ),
        (
            Unsupported {
                module: s("m"),
                flag: ModuleFlags::USERSPACE,
            },
            "module `m`: flag USERSPACE is not supported",
        ),
        (
            StepFailed {
                module: s("m"),
                op: Operation::Event,
                reason: Box::new(Failed("x")),
            },
            "module `m` failed to event: x",
        ),
        (
            UnexpectedReply { module: s("m") },
            "module `m` answered with the wrong kind of reply",
        ),
        (RegistryGone, "the registry no longer exists"),
        (Failed("plain"), "plain"),
        (Message(s("formatted 1")), "formatted 1"),
    ];
    for (error, text) in cases {
        assert_eq!(error.to_string(), text);
    }
    let ops = [
        Operation::Register,
        Operation::Init,
        Operation::Start,
        Operation::Stop,
        Operation::Unload,
        Operation::Restart,
        Operation::Request,
    ];
    let names: Vec<String> = ops.iter().map(|o| o.to_string()).collect();
    assert_eq!(
        names,
        [
            "register", "init", "start", "stop", "unload", "restart", "request"
        ]
    );
    let states = [
        ModuleState::Registered,
        ModuleState::Running,
        ModuleState::Stopped,
        ModuleState::Failed,
    ];
    let names: Vec<String> = states.iter().map(|s| s.to_string()).collect();
    assert_eq!(names, ["registered", "running", "stopped", "failed"]);
    assert!(ModuleFlags::ALLOCATOR.is_exclusive());
    assert!(!ModuleFlags::DRIVER.is_exclusive());
}

struct Minimal;

impl ModuleTrait for Minimal {
    fn info(&self) -> ModuleInfo {
        ModuleInfo::new("minimal")
    }
    fn init(&mut self, _: &Context) -> Result<(), ModuleError> {
        Ok(())
    }
    fn start(&mut self) -> Result<(), ModuleError> {
        Ok(())
    }
    fn stop(&mut self) -> Result<(), ModuleError> {
        Ok(())
    }
}

#[test]
fn optional_methods_have_documented_defaults() {
    let mut m = ModuleAdapter::new(Minimal);
    assert_eq!(
        m.handle_message(Message::Event(&Event::Shutdown)),
        Ok(Reply::Event(EventResponse::Ignored))
    );
    assert_eq!(
        m.handle_message(Message::ParamChanged {
            key: "k",
            value: "v"
        }),
        Ok(Reply::Ack)
    );
    assert!(Module::is_healthy(&m));
    assert_eq!(Module::save_state(&m), None);
    assert_eq!(Module::restore_state(&mut m, b"x"), Ok(()));
    assert!(Module::scheduler(&m).is_none());
}
