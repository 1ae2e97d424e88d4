//! The kernel's layering, kept true by a test: mechanism never calls up.
//!
//! Inside `kernel/src` every top-level module belongs to one layer, bottom
//! up: `arch`, then mechanism (memory, time, output, boot information),
//! then threads, then module wiring (the registry's kernel side, events,
//! hardware service, CPUs, console, containment), then the top (the boot
//! sequence, the panic handler, the test runner, the crate root). A module
//! may name modules of its own layer or below; a lower layer that needs
//! something from above offers a hook that the higher one installs at boot
//! (see docs/architecture.md §2 and §15). This test reads every `crate::`
//! and `super::` path in the kernel's sources (comments, strings and macro
//! bodies aside) and fails with the file, the path and the rule it breaks.

use std::fs;
use std::path::{Path, PathBuf};

/// The layers, bottom up, with what each may rely on.
const LAYERS: [(&str, &str); 5] = [
    (
        "arch",
        "the CPU and the machine: nothing of the kernel above it",
    ),
    (
        "mechanism",
        "memory, time, output and boot information must work without threads or modules: lower layers reach them through hooks",
    ),
    (
        "thread",
        "threads run on any policy and know nothing of modules: the wiring installs what they call",
    ),
    (
        "module wiring",
        "the kernel side of the module framework sits on threads and mechanism; only the top starts it",
    ),
    (
        "top",
        "the boot sequence, the panic handler and the test runner call everything, and nothing calls them",
    ),
];

/// Every top-level module of `kernel/src`: its layer and what it is, as a
/// message names it. A new module must be added here (the test says so).
const MODULES: [(&str, usize, &str); 31] = [
    ("arch", 0, "architecture code"),
    ("bootinfo", 1, "the boot information"),
    ("mm", 1, "memory management"),
    ("time", 1, "the clock"),
    ("serial", 1, "the serial console"),
    ("logger", 1, "the logger"),
    ("pci", 1, "PCI enumeration"),
    ("thread", 2, "threads"),
    ("contain", 3, "containment"),
    ("crashtest", 3, "the crashtest module"),
    ("dma", 3, "DMA buffers"),
    ("events", 3, "module events"),
    ("fs", 3, "the initrd filesystem module"),
    ("hw", 3, "the hardware service"),
    ("loadable", 3, "loadable modules"),
    ("mmio", 3, "mapped BARs for drivers"),
    ("intx", 3, "legacy PCI interrupts for drivers"),
    ("msi", 3, "MSI-X for drivers"),
    ("persist", 3, "module state across reboots"),
    (
        "random",
        3,
        "the kernel's random numbers, seeded from entropy",
    ),
    ("modules", 3, "module loading"),
    ("power", 3, "power-off"),
    ("shell", 3, "the console"),
    ("smp", 3, "CPU bring-up and hotplug"),
    ("supervisor", 3, "supervision"),
    ("bring_up", 4, "the boot sequence"),
    ("panic", 4, "the panic handler"),
    ("startup", 4, "kernel start-up"),
    ("testing", 4, "the test runner"),
    ("lib", 4, "the crate root"),
    ("main", 4, "the kernel binary"),
];

/// Root macros (`crate::kprintln!`...) and re-exports, by the module that
/// defines them.
const ROOT_ITEMS: [(&str, &str); 14] = [
    ("kprint", "serial"),
    ("kprintln", "serial"),
    ("ktest", "testing"),
    ("test_kernel", "testing"),
    ("qemu_smp", "testing"),
    ("qemu_mem", "testing"),
    ("qemu_cmdline", "testing"),
    ("entry_point", "startup"),
    ("shutdown", "power"),
    ("power_off", "power"),
    ("exit", "arch"),
    ("ExitCode", "arch"),
    ("alloc", "lib"),
    ("core", "lib"),
];

fn module_info(name: &str) -> Option<(usize, &'static str)> {
    MODULES
        .iter()
        .find(|(m, _, _)| *m == name)
        .map(|(_, layer, what)| (*layer, *what))
}

/// Removes comments, string and char literals, and the bodies of
/// `macro_rules!` (whose `$crate` paths are resolved where they expand),
/// keeping line structure.
fn strip(source: &str) -> String {
    let b = source.as_bytes();
    let mut out = String::with_capacity(source.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'/' && b.get(i + 1) == Some(&b'/') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if c == b'/' && b.get(i + 1) == Some(&b'*') {
            let mut depth = 0;
            while i < b.len() {
                if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
                    depth += 1;
                    i += 2;
                } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    if b[i] == b'\n' {
                        out.push('\n');
                    }
                    i += 1;
                }
            }
        } else if c == b'r'
            && (b.get(i + 1) == Some(&b'"') || b.get(i + 1) == Some(&b'#'))
            && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_'))
        {
            // Raw string: r"..." or r#"..."#.
            let mut j = i + 1;
            let mut hashes = 0;
            while b.get(j) == Some(&b'#') {
                hashes += 1;
                j += 1;
            }
            if b.get(j) != Some(&b'"') {
                out.push(c as char);
                i += 1;
                continue;
            }
            j += 1;
            loop {
                if j >= b.len() {
                    break;
                }
                if b[j] == b'"'
                    && b[j + 1..]
                        .iter()
                        .take(hashes)
                        .filter(|&&h| h == b'#')
                        .count()
                        == hashes
                {
                    j += 1 + hashes;
                    break;
                }
                if b[j] == b'\n' {
                    out.push('\n');
                }
                j += 1;
            }
            out.push_str("\"\"");
            i = j;
        } else if c == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                if b[i] == b'\\' {
                    i += 1;
                } else if b[i] == b'\n' {
                    out.push('\n');
                }
                i += 1;
            }
            i += 1;
            out.push_str("\"\"");
        } else if c == b'\''
            && (b.get(i + 2) == Some(&b'\'')
                || (b.get(i + 1) == Some(&b'\\')
                    && b[i + 2..].iter().take(10).any(|&x| x == b'\'')))
        {
            // A char literal (not a lifetime).
            i += 1;
            if b[i] == b'\\' {
                i += 1;
            }
            while i < b.len() && b[i] != b'\'' {
                i += 1;
            }
            i += 1;
            out.push_str("' '");
        } else {
            out.push(c as char);
            i += 1;
        }
    }
    drop_macro_bodies(&out)
}

/// Blanks the bodies of `macro_rules!` definitions.
fn drop_macro_bodies(source: &str) -> String {
    let mut out = String::new();
    let mut rest = source;
    while let Some(at) = rest.find("macro_rules!") {
        out.push_str(&rest[..at]);
        let after = &rest[at..];
        let Some(open) = after.find('{') else {
            rest = after;
            break;
        };
        let mut depth = 0;
        let mut end = after.len();
        for (k, ch) in after[open..].char_indices() {
            match ch {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = open + k + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        out.extend(after[..end].chars().filter(|&c| c == '\n'));
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// The top-level modules a (stripped) source names through `crate::`
/// (including grouped imports `crate::{a, b::c}`) and, for files directly
/// in `kernel/src` or a module's `mod.rs`, through `super::`.
fn named_modules(source: &str, super_is_root: bool) -> Vec<String> {
    let mut found = Vec::new();
    let idents = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut prefixes = vec!["crate::"];
    if super_is_root {
        prefixes.push("super::");
    }
    for prefix in prefixes {
        let mut from = 0;
        while let Some(at) = source[from..].find(prefix) {
            let start = from + at;
            from = start + prefix.len();
            let before = source[..start].chars().next_back();
            if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$') {
                continue;
            }
            let tail = &source[from..];
            if let Some(group) = tail.strip_prefix('{') {
                // Top-level names of a grouped import, nested groups skipped.
                let mut depth = 0;
                let mut item = String::new();
                let mut at_start = true;
                for ch in group.chars() {
                    match ch {
                        '{' => depth += 1,
                        '}' if depth == 0 => break,
                        '}' => depth -= 1,
                        ',' if depth == 0 => {
                            // The name before the comma is complete.
                            if !item.is_empty() {
                                found.push(std::mem::take(&mut item));
                            }
                            at_start = true;
                            continue;
                        }
                        _ => {}
                    }
                    if depth == 0 && at_start && (ch.is_ascii_alphanumeric() || ch == '_') {
                        item.push(ch);
                    } else if !item.is_empty() {
                        found.push(std::mem::take(&mut item));
                        at_start = false;
                    } else if !ch.is_whitespace() {
                        at_start = false;
                    }
                }
                if !item.is_empty() {
                    found.push(item);
                }
            } else {
                let name = idents(tail);
                if !name.is_empty() {
                    found.push(name);
                }
            }
        }
    }
    found
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in fs::read_dir(dir).unwrap() {
        let path = e.unwrap().path();
        if path.is_dir() {
            files_under(&path, out);
        } else if path.extension().is_some_and(|x| x == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file of `kernel/src` belongs to, and whether
/// `super::` in it names the crate root.
fn owner(rel: &Path) -> (String, bool) {
    let parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let first = parts[0].trim_end_matches(".rs").to_string();
    let super_is_root = parts.len() == 1 || (parts.len() == 2 && parts[1] == "mod.rs");
    (first, super_is_root)
}

/// Every violation in the sources given as (path relative to `kernel/src`,
/// text), as the messages the test prints.
fn violations(sources: &[(PathBuf, String)]) -> Vec<String> {
    let mut out = Vec::new();
    for (rel, text) in sources {
        let (module, super_is_root) = owner(rel);
        let shown = format!("kernel/src/{}", rel.display());
        let Some((layer, _)) = module_info(&module) else {
            out.push(format!(
                "{shown}: module `{module}` has no layer: add it to MODULES in harness/tests/layering.rs"
            ));
            continue;
        };
        let mut seen = Vec::new();
        for name in named_modules(&strip(text), super_is_root) {
            let target = ROOT_ITEMS
                .iter()
                .find(|(item, _)| *item == name)
                .map_or(name.clone(), |(_, m)| (*m).to_string());
            if target == module || seen.contains(&target) {
                continue;
            }
            seen.push(target.clone());
            let Some((their_layer, what)) = module_info(&target) else {
                out.push(format!(
                    "{shown} uses crate::{name}: `{target}` is not a known module (add it to MODULES or ROOT_ITEMS)"
                ));
                continue;
            };
            if their_layer > layer {
                out.push(format!(
                    "{shown} uses crate::{name}: {module} must not call {what} ({} is above {}; {}: {})",
                    LAYERS[their_layer].0, LAYERS[layer].0, LAYERS[layer].0, LAYERS[layer].1
                ));
            }
        }
    }
    out
}

fn kernel_sources() -> Vec<(PathBuf, String)> {
    let root = harness::workspace_root().join("kernel/src");
    let mut files = Vec::new();
    files_under(&root, &mut files);
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let text = fs::read_to_string(&p).unwrap();
            (p.strip_prefix(&root).unwrap().to_path_buf(), text)
        })
        .collect()
}

#[test]
fn no_lower_layer_names_a_higher_one() {
    let found = violations(&kernel_sources());
    assert!(
        found.is_empty(),
        "{} layering violation(s):\n{}",
        found.len(),
        found.join("\n")
    );
}

#[test]
fn a_lower_layer_naming_a_higher_one_is_reported_exactly() {
    let planted = vec![(
        PathBuf::from("mm/heap.rs"),
        String::from("//! The heap.\nuse crate::events;\nfn f() { events::reclaim(); }\n"),
    )];
    assert_eq!(
        violations(&planted),
        [
            "kernel/src/mm/heap.rs uses crate::events: mm must not call module events (module wiring is above mechanism; mechanism: memory, time, output and boot information must work without threads or modules: lower layers reach them through hooks)"
        ]
    );
    let unknown = vec![(PathBuf::from("gadget.rs"), String::from("fn f() {}"))];
    assert_eq!(
        violations(&unknown),
        [
            "kernel/src/gadget.rs: module `gadget` has no layer: add it to MODULES in harness/tests/layering.rs"
        ]
    );
}

#[test]
fn the_scan_reads_paths_the_way_rustc_does() {
    let names = |s: &str, root: bool| named_modules(&strip(s), root);
    // Comments, strings, raw strings, chars and macro bodies are not code.
    assert!(
        names(
            "// crate::events\n/* crate::smp */ let s = \"crate::shell\";",
            true
        )
        .is_empty()
    );
    assert!(
        names(
            "let s = r#\"crate::shell\"#; let c = '\"'; let d = crate::mm::x;",
            true
        ) == ["mm"]
    );
    assert!(names("macro_rules! m { () => { $crate::testing::run() }; }", true).is_empty());
    // Grouped imports name each top-level module, nested groups skipped.
    assert_eq!(
        names(
            "use crate::{mm::{heap, frame}, thread, time::now_ns};",
            true
        ),
        ["mm", "thread", "time"]
    );
    // `super::` names the root only from a top-level file.
    assert_eq!(names("use super::events;", true), ["events"]);
    assert!(names("use super::events;", false).is_empty());
    // An identifier that merely ends in `crate` is not a path.
    assert!(names("let mycrate::x = 1;", true).is_empty());
    // Lifetimes are not char literals.
    assert_eq!(
        names("fn f<'a>(x: &'a str) { crate::time::now(); }", true),
        ["time"]
    );
}
