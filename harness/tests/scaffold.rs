//! `scripts/new-module` and its templates, end to end, so that neither can
//! rot: in a scratch copy of the repository (the working tree without
//! `target/` and `.git/`), the script generates one module from each
//! template, among them a second scheduler and a new driver; the generated
//! code must be rustfmt-clean and clippy-clean (host and kernel target),
//! and then the **whole suite** (every host test, every test kernel, the
//! boot and console end-to-end tests) must pass in that copy, the generated
//! modules' own tests included: a newcomer's modules must not break anything.
//! Then `new-module --remove` takes all three out again and the tree must be
//! byte for byte what it was. A second copy checks that bad input to either
//! direction is refused with a clear message and changes nothing, even when
//! the script fails after its edits.
//!
//! The nested suite runs with `HELIX_SCAFFOLD_NESTED=1`, which makes the
//! tests in this file return at once there (they would recurse).
//!
//! Speed: the copy lives at a fixed path under `target/tmp/scaffold/` and
//! builds into its own target directory there, so later runs reuse what
//! earlier ones compiled. Generated and edited files get the newest
//! modification time of their inputs (the script, the templates, the
//! registration files) rather than "now": cargo then rebuilds exactly when
//! an input changed.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::SystemTime;

/// The modules generated, one per template: (template, name, directory).
const GENERATED: [(&str, &str, &str); 3] = [
    ("plain", "hello", "modules_impl/services/hello"),
    ("driver", "post_card", "modules_impl/drivers/post_card"),
    (
        "scheduler",
        "fifo_sched",
        "modules_impl/schedulers/fifo_sched",
    ),
];

/// The files the script edits.
const REGISTRATION: [&str; 4] = [
    "Cargo.toml",
    "Cargo.lock",
    "kernel/Cargo.toml",
    "kernel/src/modules.rs",
];

fn scratch_root() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("scaffold")
}

/// A fresh copy of the working tree at `dest`, modification times kept.
fn copy_repo(dest: &Path) {
    if dest.exists() {
        fs::remove_dir_all(dest).unwrap();
    }
    fs::create_dir_all(dest).unwrap();
    let status = Command::new("sh")
        .arg("-c")
        .arg("tar -C \"$1\" --exclude=./target --exclude=./.git -cf - . | tar -C \"$2\" -xf -")
        .arg("sh")
        .arg(harness::workspace_root())
        .arg(dest)
        .status()
        .expect("tar");
    assert!(status.success(), "copying the repository failed");
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn new_module(repo: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(repo.join("scripts/new-module"))
        .args(args)
        .current_dir(repo)
        .envs(env.iter().copied())
        .output()
        .expect("running scripts/new-module")
}

/// Everything the script may touch: the registration files' contents and
/// the lists of module directories and kernel tests.
fn snapshot(repo: &Path) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = REGISTRATION
        .iter()
        .map(|f| (f.to_string(), fs::read_to_string(repo.join(f)).unwrap()))
        .collect();
    for dir in ["modules_impl", "kernel/tests"] {
        let mut names = Vec::new();
        for e in fs::read_dir(repo.join(dir)).unwrap() {
            let e = e.unwrap();
            names.push(e.file_name().to_string_lossy().into_owned());
            if e.path().is_dir() {
                for sub in fs::read_dir(e.path()).unwrap() {
                    names.push(format!(
                        "{}/{}",
                        e.file_name().to_string_lossy(),
                        sub.unwrap().file_name().to_string_lossy()
                    ));
                }
            }
        }
        names.sort();
        out.push((dir.to_string(), names.join("\n")));
    }
    out
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in fs::read_dir(dir).unwrap() {
        let path = e.unwrap().path();
        if path.is_dir() {
            files_under(&path, out);
        } else {
            out.push(path);
        }
    }
}

fn mtime(path: &Path) -> SystemTime {
    fs::metadata(path).unwrap().modified().unwrap()
}

/// Cargo in the scratch copy, building into the shared scratch target dir.
fn cargo(repo: &Path, args: &[&str], env: &[(&str, &str)]) -> (bool, String) {
    let out = Command::new(harness::cargo_path())
        .args(args)
        .current_dir(repo)
        .env("CARGO_TARGET_DIR", scratch_root().join("target"))
        .envs(env.iter().copied())
        .output()
        .expect("running cargo");
    (out.status.success(), text(&out))
}

/// True inside the nested suite this file starts: do nothing there.
fn nested() -> bool {
    std::env::var_os("HELIX_SCAFFOLD_NESTED").is_some()
}

/// Every file under `repo` except build output, with its contents.
fn tree(repo: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    for e in fs::read_dir(repo).unwrap() {
        let path = e.unwrap().path();
        if path.file_name().is_some_and(|n| n == "target") {
            continue;
        }
        if path.is_dir() {
            files_under(&path, &mut files);
        } else {
            files.push(path);
        }
    }
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let bytes = fs::read(&p).unwrap();
            (p.strip_prefix(repo).unwrap().to_path_buf(), bytes)
        })
        .collect()
}

#[test]
fn every_template_builds_lints_and_passes_its_tests() {
    if nested() {
        return;
    }
    let repo = scratch_root().join("repo");
    copy_repo(&repo);
    let pristine = tree(&repo);
    for (template, name, _) in GENERATED {
        let out = new_module(&repo, &["--template", template, name], &[]);
        assert!(out.status.success(), "{template} {name}:\n{}", text(&out));
        assert!(text(&out).contains("created modules_impl/"));
    }

    // Stable modification times (see the file's docs).
    let real = harness::workspace_root();
    let mut inputs = vec![real.join("scripts/new-module")];
    files_under(&real.join("scripts/templates"), &mut inputs);
    inputs.extend(REGISTRATION.iter().map(|f| real.join(f)));
    let newest = inputs.iter().map(|p| mtime(p)).max().unwrap();
    let mut generated: Vec<PathBuf> = REGISTRATION.iter().map(|f| repo.join(f)).collect();
    for (_, name, dir) in GENERATED {
        files_under(&repo.join(dir), &mut generated);
        generated.push(repo.join(format!("kernel/tests/{name}.rs")));
    }
    for path in &generated {
        let file = fs::File::options().write(true).open(path).unwrap();
        file.set_modified(newest).unwrap();
    }

    // House style: formatted, and no leftovers of unfinished work.
    let rust_files: Vec<&PathBuf> = generated
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .collect();
    let fmt = Command::new("rustfmt")
        .args(["--check", "--edition", "2024"])
        .args(&rust_files)
        .output()
        .expect("rustfmt");
    assert!(
        fmt.status.success(),
        "generated code is not formatted:\n{}",
        text(&fmt)
    );
    for path in &rust_files {
        let code = fs::read_to_string(path).unwrap();
        for word in [
            "TODO",
            "FIXME",
            "todo!",
            "unimplemented!",
            "__name__",
            "__Type__",
        ] {
            assert!(!code.contains(word), "{} contains {word}", path.display());
        }
        assert!(
            code.starts_with("//! "),
            "{} lacks //! docs",
            path.display()
        );
    }

    let crates = ["-p", "hello", "-p", "post_card", "-p", "fifo_sched"];
    let kernel_tests = [
        "-p",
        "kernel",
        "--target",
        harness::KERNEL_TARGET,
        "--test",
        "hello",
        "--test",
        "post_card",
        "--test",
        "fifo_sched",
    ];
    let (ok, out) = cargo(
        &repo,
        &[
            &["clippy", "-q", "--all-targets"],
            &crates[..],
            &["--", "-D", "warnings"],
        ]
        .concat(),
        &[],
    );
    assert!(ok, "clippy (host) on the generated crates:\n{out}");
    let (ok, out) = cargo(
        &repo,
        &[
            &["clippy", "-q"],
            &kernel_tests[..],
            &["--", "-D", "warnings"],
        ]
        .concat(),
        &[],
    );
    assert!(
        ok,
        "clippy (kernel target) on the generated test kernels:\n{out}"
    );
    // The whole suite in the copy, with the three modules in it: host tests
    // (the generated crates' included), every test kernel (the generated
    // ones included: fifo_sched's runs as the kernel's scheduler through
    // its qemu_cmdline! marker), the boot and console end-to-end tests.
    let (ok, out) = cargo(&repo, &["test"], &[("HELIX_SCAFFOLD_NESTED", "1")]);
    // What failed, with a few lines of context each (the output is long).
    let lines: Vec<&str> = out.lines().collect();
    let mut failures = String::new();
    for (i, line) in lines.iter().enumerate() {
        if line.contains("FAILED") || line.contains("panicked") || line.starts_with("error") {
            for l in &lines[i..(i + 6).min(lines.len())] {
                failures.push_str(l);
                failures.push('\n');
            }
        }
    }
    assert!(
        ok,
        "the whole suite with the generated modules failed:\n{failures}"
    );
    // The generated crates' host tests and test kernels ran and passed.
    for passed in ["3 passed", "5 passed", "6 passed"] {
        assert!(out.contains(&format!("test result: ok. {passed}")), "{out}");
    }
    for test in [
        "counts_real_ticks",
        "this_module_schedules_the_kernel_and_others_wait_in_standby",
    ] {
        assert!(
            out.contains(&format!("test {test} ... ok")),
            "{test}:\n{out}"
        );
    }
    assert!(!out.contains("FAILED"), "{out}");

    // The plain module and the driver also build as signed module binaries
    // for `insmod`, as generated.
    for name in ["hello", "post_card"] {
        let out = Command::new(repo.join("scripts/build-module"))
            .arg(name)
            .current_dir(&repo)
            .output()
            .expect("scripts/build-module");
        assert!(out.status.success(), "build-module {name}:\n{}", text(&out));
        let stdout = String::from_utf8_lossy(&out.stdout);
        let file = repo.join(stdout.lines().last().unwrap_or_default());
        let bytes = fs::read(&file).unwrap_or_default();
        assert!(bytes.starts_with(b"\x7fELF"), "{}: no ELF", file.display());
        assert!(
            helix_loader::sig::split(&bytes).is_ok_and(|(_, t)| t.is_some()),
            "{}: not signed",
            file.display()
        );
    }

    // And out again: the tree is byte for byte what it was.
    for (_, name, _) in GENERATED {
        let out = new_module(&repo, &["--remove", name], &[]);
        assert!(out.status.success(), "--remove {name}:\n{}", text(&out));
        assert!(
            text(&out).contains("removed modules_impl/"),
            "{}",
            text(&out)
        );
    }
    let after = tree(&repo);
    let changed: Vec<_> = pristine
        .iter()
        .filter(|f| !after.contains(f))
        .map(|(p, _)| p.display().to_string())
        .chain(
            after
                .iter()
                .filter(|f| !pristine.contains(f))
                .map(|(p, _)| p.display().to_string()),
        )
        .collect();
    assert!(
        changed.is_empty(),
        "--remove left the tree changed: {changed:?}"
    );
}

/// `new-module ARGS` must fail with status 1, say `message`, and leave the
/// tree as `unchanged` records it.
fn assert_refused(repo: &Path, args: &[&str], message: &str, unchanged: &[(String, String)]) {
    let out = new_module(repo, args, &[]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{args:?}:\n{said}");
    assert!(
        said.contains(message),
        "{args:?}: expected {message:?} in:\n{said}"
    );
    assert_eq!(snapshot(repo), unchanged, "{args:?} changed the tree");
}

#[test]
fn bad_input_is_refused_and_changes_nothing() {
    if nested() {
        return;
    }
    let repo = scratch_root().join("refuse");
    copy_repo(&repo);
    let before = snapshot(&repo);
    let long = "a".repeat(33);
    let cases: [(&[&str], &str); 13] = [
        (
            &["My_Module"],
            "bad name 'My_Module': use lowercase snake_case",
        ),
        (&["1st"], "bad name '1st'"),
        (&["my-module"], "bad name 'my-module'"),
        (&["a__b"], "bad name 'a__b'"),
        (&["trailing_"], "bad name 'trailing_'"),
        (&[&long], "33 characters, at most 32"),
        (&["impl"], "Rust keyword"),
        (
            &["round_robin"],
            "a module called 'round_robin' is already in",
        ),
        (&["--template", "driver", "cmos_rtc"], "already"),
        (&["spin"], "a crate called 'spin' is already in Cargo.lock"),
        (&["drivers"], "kernel/tests/drivers.rs already exists"),
        (
            &["--template", "network", "nic"],
            "unknown template 'network'",
        ),
        (&["one", "two"], "one NAME only"),
    ];
    for (args, message) in cases {
        assert_refused(&repo, args, message, &before);
    }
    let out = new_module(&repo, &[], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("usage: scripts/new-module"));
    let help = new_module(&repo, &["--help"], &[]);
    assert!(help.status.success());
    assert!(text(&help).contains("--template plain|driver|scheduler"));

    // A failure after every edit was made: everything is put back.
    let out = new_module(
        &repo,
        &["--template", "driver", "late_failure"],
        &[("HELIX_NEW_MODULE_FAIL", "1")],
    );
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains("nothing was changed"), "{said}");
    assert_eq!(snapshot(&repo), before, "a failed run left changes behind");

    // A module that now exists is refused the second time.
    let out = new_module(&repo, &["twice"], &[]);
    assert!(out.status.success(), "{}", text(&out));
    let after_first = snapshot(&repo);
    let out = new_module(&repo, &["--template", "scheduler", "twice"], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("already"), "{}", text(&out));
    assert_eq!(snapshot(&repo), after_first);

    // Removal refuses what it must not touch, and changes nothing then.
    let removals: [(&[&str], &str); 5] = [
        (
            &["--remove", "cmos_rtc"],
            "cmos_rtc was not created by new-module (it ships with Helix)",
        ),
        (&["--remove", "round_robin"], "not created by new-module"),
        (
            &["--remove", "nosuch"],
            "no module crate modules_impl/*/nosuch",
        ),
        (&["--remove", "Bad-Name"], "bad name 'Bad-Name'"),
        (
            &["--remove", "--template", "driver", "twice"],
            "--remove takes a NAME only",
        ),
    ];
    for (args, message) in removals {
        assert_refused(&repo, args, message, &after_first);
    }
    // A removal that fails after every edit puts everything back.
    let out = new_module(
        &repo,
        &["--remove", "twice"],
        &[("HELIX_NEW_MODULE_FAIL", "1")],
    );
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains("nothing was changed"), "{said}");
    assert_eq!(
        snapshot(&repo),
        after_first,
        "a failed removal left changes"
    );
    // And a real one restores the tree as it was before `twice`.
    let out = new_module(&repo, &["--remove", "twice"], &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(snapshot(&repo), before);
}
