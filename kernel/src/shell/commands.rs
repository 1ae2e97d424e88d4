//! The console's commands: parse a line, run it, return the text to print.
//!
//! Every failure is answered with the typed error's message; nothing a
//! user types can panic the kernel. Privileged operations (start, stop,
//! restart, reload, set) are made as the `shell` module, so the registry
//! checks the shell's permissions and records each one in the audit ring.
//!
//! The console will not cut the branch it sits on: stopping or restarting
//! `shell` itself, or stopping a module it needs to run (its `console`
//! driver, and whatever that needs in turn), is refused here with a
//! [`ShellError`] before the registry is asked. Stopping any other module
//! that running modules need is refused by the registry
//! ([`helix_modules::ModuleError::InUse`]) unless `--cascade` asks it to
//! stop those first.

use crate::smp;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use helix_modules::v2::Request;
use helix_modules::{Caller, ModuleHandle, Registry};

use super::reports::{audit, cpus, health, mem, metrics, modinfo, params, threads};

/// A command the console refuses itself, because carrying it out would
/// end the console: the operator would be left without a prompt.
///
/// ```ignore
/// use kernel::shell::commands::ShellError;
/// let e = ShellError::ConsoleNeeds { command: "stop", module: "serial_console".into() };
/// assert_eq!(
///     e.to_string(),
///     "refusing to stop `serial_console`: this console (`shell`) needs it to run"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShellError {
    /// The command would stop (or restart) the console module itself.
    Itself {
        /// `stop` or `restart`.
        command: &'static str,
    },
    /// The command would stop a module the console needs: its input
    /// driver, or something that one needs in turn.
    ConsoleNeeds {
        /// `stop` (with or without `--cascade`).
        command: &'static str,
        /// The module asked for.
        module: String,
    },
}

impl core::fmt::Display for ShellError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Itself { command } => write!(
                f,
                "refusing to {command} `{}`: it is this console (`shutdown` stops everything)",
                super::NAME
            ),
            Self::ConsoleNeeds { command, module } => write!(
                f,
                "refusing to {command} `{module}`: this console (`{}`) needs it to run",
                super::NAME
            ),
        }
    }
}

/// Refuses a `command` on `name` that would stop the console: `name` is the
/// console, or stopping it would stop the console as well (the console is
/// among the modules a cascading stop of `name` would stop, i.e. it needs
/// `name` directly or through other modules).
fn guard_console(r: &Registry, command: &'static str, name: &str) -> Result<(), ShellError> {
    if name == super::NAME {
        return Err(ShellError::Itself { command });
    }
    // A plan that cannot be made (not running, ESSENTIAL in the way) is
    // left to the registry's own refusal.
    match r.cascade_plan(name) {
        Ok(plan) if plan.iter().any(|m| m == super::NAME) => Err(ShellError::ConsoleNeeds {
            command,
            module: String::from(name),
        }),
        _ => Ok(()),
    }
}

/// `stop NAME` (refused while running modules need it) or `stop --cascade
/// NAME` (stops those first, and says what it stopped).
fn stop(r: &Registry, caller: Caller, args: &[&str]) -> Result<String, String> {
    let (cascade, name) = match args {
        [name] if !name.starts_with('-') => (false, *name),
        ["--cascade", name] => (true, *name),
        _ => return Err(String::from("usage: stop NAME | stop --cascade NAME")),
    };
    guard_console(r, "stop", name).map_err(|e| e.to_string())?;
    if cascade {
        r.stop_cascade(caller, name)
            .map(|stopped| format!("stopped {}", stopped.join(", ")))
            .map_err(|e| e.to_string())
    } else {
        r.stop(caller, name)
            .map(|()| format!("{name} stopped"))
            .map_err(|e| e.to_string())
    }
}

/// `restart NAME`: stop (if running), init and start; not the console
/// itself, whose thread the stop would end mid-command.
fn restart(r: &Registry, caller: Caller, name: &str) -> Result<String, String> {
    if name == super::NAME {
        return Err(ShellError::Itself { command: "restart" }.to_string());
    }
    r.restart(caller, name)
        .map(|()| format!("{name} restarted"))
        .map_err(|e| e.to_string())
}

/// What a command asks of the console loop besides printing.
#[derive(Debug, PartialEq, Eq)]
pub enum After {
    /// Keep reading commands.
    Continue,
    /// Start the shutdown sequence.
    Shutdown,
}

const HELP: &str = "\
commands:
  help                          this list
  lsmod                         modules: version, state, flags, provides, dependencies
  modinfo NAME                  one module in detail: description, health, parameters, counters
  start NAME | stop NAME        start or stop a module (stop refuses one that running modules need)
  stop --cascade NAME           stop the modules that need NAME, then NAME; prints what it stopped
  restart NAME                  stop (if running), re-initialise and start a module
  reload NAME                   replace a HOT_RELOADABLE module by a fresh instance
  insmod FILE [key=value ...]   insert a module binary (FILE or modules/FILE.hxm)
  rmmod NAME                    stop and remove a loaded module, freeing its memory
  upgrade NAME FILE             new code for a running module, its state handed over
  persist save | persist status write PERSISTENT modules' state to the disk now; what is on it
  request NAME TYPE [PAYLOAD]   send an IPC request and print the answer
  params NAME                   a module's parameters (sensitive ones hidden)
  set NAME.KEY=VALUE            change a parameter at run time (not a boot-only one)
  threads                       kernel threads
  cpus                          CPUs and their run queues
  cpu offline N | cpu online N  take a CPU out of service or bring it back
  mem                           heap, physical memory and memory pressure
  lspci                         PCI functions: ids, class, the module holding each, BARs, capabilities
  ls [DIR]                      files below DIR (the fs capability: the initrd): size and path
  cat FILE                      print a text file (a binary one as a hexdump)
  metrics                       per-module counters (Prometheus text format)
  audit                         privileged operations and their outcomes
  health                        module health
  shutdown                      stop every module and power off
";

/// Runs one command line as the shell module (`caller`, `handle`).
pub fn execute(line: &str, r: &Registry, caller: Caller, handle: &ModuleHandle) -> (String, After) {
    let mut words = line.split_whitespace();
    let Some(cmd) = words.next() else {
        return (String::new(), After::Continue);
    };
    let args: Vec<&str> = words.collect();
    let one = |what: &str| match args.as_slice() {
        [name] => Ok(*name),
        _ => Err(format!("usage: {cmd} {what}")),
    };
    let out = match cmd {
        "help" => Ok(String::from(HELP)),
        "lsmod" => Ok(crate::modules::format_table(r)),
        "modinfo" => one("NAME").and_then(|n| modinfo(r, n)),
        "start" => one("NAME").and_then(|n| {
            r.start(caller, n)
                .map(|()| format!("{n} started"))
                .map_err(|e| e.to_string())
        }),
        "stop" => stop(r, caller, &args),
        "restart" => one("NAME").and_then(|n| restart(r, caller, n)),
        "reload" => one("NAME").and_then(|n| reload(r, caller, n)),
        "insmod" => super::loading::insmod(r, caller, &args),
        "persist" => match args.as_slice() {
            ["save"] => crate::persist::save_all(r)
                .map(|n| format!("saved the state of {n} module(s)"))
                .map_err(|e| e.to_string()),
            ["status"] => Ok(crate::persist::status(r)),
            _ => Err(String::from("usage: persist save | persist status")),
        },
        "rmmod" => one("NAME").and_then(|n| super::loading::rmmod(r, caller, n)),
        "upgrade" => super::loading::upgrade(r, caller, &args),
        "request" => request(handle, &args),
        "params" => one("NAME").and_then(|n| params(r, n)),
        "set" => one("NAME.KEY=VALUE").and_then(|a| set(r, caller, a)),
        "threads" => Ok(threads()),
        "cpus" => Ok(cpus()),
        "cpu" => cpu(&args),
        "mem" => Ok(mem()),
        "lspci" => Ok(super::pci::lspci()),
        "ls" => super::files::ls(r, caller, &args),
        "cat" => one("FILE").and_then(|p| super::files::cat(r, caller, p)),
        "metrics" => Ok(metrics(r)),
        "audit" => audit(r, caller),
        "health" => Ok(health(r)),
        "shutdown" => return (String::from("shutting down"), After::Shutdown),
        other => Err(format!(
            "unknown command '{}' (try help)",
            other.escape_debug()
        )),
    };
    (
        out.unwrap_or_else(|e| format!("error: {e}")),
        After::Continue,
    )
}

fn reload(r: &Registry, caller: Caller, name: &str) -> Result<String, String> {
    let make = crate::modules::factory(name)
        .ok_or_else(|| format!("no module {name} ships with this kernel"))?;
    r.reload(caller, name, make())
        .map(|()| format!("{name} reloaded"))
        .map_err(|e| e.to_string())
}

fn request(handle: &ModuleHandle, args: &[&str]) -> Result<String, String> {
    let [target, kind, rest @ ..] = args else {
        return Err(String::from("usage: request NAME TYPE [PAYLOAD]"));
    };
    let payload = rest.join(" ").into_bytes();
    let resp = handle
        .request(target, Request::new("shell", kind, payload))
        .map_err(|e| e.to_string())?;
    match resp.error {
        None => Ok(String::from_utf8_lossy(&resp.payload)
            .trim_end()
            .to_string()),
        Some(why) => Err(why.into_owned()),
    }
}

fn set(r: &Registry, caller: Caller, arg: &str) -> Result<String, String> {
    let (key, value) = arg.split_once('=').ok_or("usage: set NAME.KEY=VALUE")?;
    let (module, key) = key.split_once('.').ok_or("usage: set NAME.KEY=VALUE")?;
    r.set_param(caller, module, key, value)
        .map_err(|e| e.to_string())?;
    let shown = r.params(module).ok().and_then(|ps| {
        ps.into_iter()
            .find(|p| p.key() == key)
            .map(|p| p.to_string())
    });
    Ok(format!(
        "{module}.{}",
        shown.unwrap_or_else(|| format!("{key} set"))
    ))
}

fn cpu(args: &[&str]) -> Result<String, String> {
    let (online, n) = match args {
        ["offline", n] => (false, n),
        ["online", n] => (true, n),
        _ => return Err(String::from("usage: cpu offline N | cpu online N")),
    };
    let n: usize = n
        .parse()
        .map_err(|_| format!("not a CPU number: {}", n.escape_debug()))?;
    smp::set_online(n, online).map_err(|e| e.to_string())?;
    Ok(format!(
        "CPU {n} {}",
        if online { "online" } else { "offline" }
    ))
}
