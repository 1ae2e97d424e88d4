//! The driver's parameters: `port` and `irq` are read at `init` only, so
//! they are boot-only. The command line sets them; a run-time change is
//! refused with `ModuleError::BootOnlyParam`, whatever state the driver is
//! in (on the host it has no hardware, so its `init` fails).

use helix_modules::v2::ModuleTrait;
use helix_modules::{Caller, ModuleError, ModuleState, Registry};
use serial_console::SerialConsole;

#[test]
fn port_and_irq_are_declared_boot_only() {
    let info = SerialConsole::new().info();
    let names: Vec<(&str, bool)> = info.params.iter().map(|p| (p.name, p.boot_only)).collect();
    assert_eq!(names, [("port", true), ("irq", true)]);
}

#[test]
fn the_command_line_sets_them_and_run_time_changes_are_refused() {
    let r = Registry::builder().cmdline("serial_console.irq=3").build();
    r.register_v2(SerialConsole::new()).unwrap();
    for key in ["irq", "port"] {
        assert_eq!(
            r.set_param(Caller::Kernel, "serial_console", key, "3"),
            Err(ModuleError::BootOnlyParam {
                module: "serial_console".into(),
                key: key.into(),
            })
        );
    }
    r.start_all(Caller::Kernel);
    assert_eq!(
        r.status("serial_console").unwrap().state,
        ModuleState::Failed,
        "no hardware on the host"
    );
    let err = r
        .set_param(Caller::Kernel, "serial_console", "irq", "5")
        .unwrap_err();
    assert!(
        err.to_string().contains("serial_console.irq") && err.to_string().contains("at boot"),
        "{err}"
    );
    let shown: Vec<String> = r
        .params("serial_console")
        .unwrap()
        .iter()
        .map(|p| p.to_string())
        .collect();
    assert_eq!(shown, ["port=1016", "irq=3"]);
}
