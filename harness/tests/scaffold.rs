//! `scripts/new-module` and its templates, end to end, so that neither can
//! rot: in a scratch copy of the repository (the working tree without
//! `target/` and `.git/`), the script generates one module from each
//! template; then the generated code must be rustfmt-clean, clippy-clean
//! (host and kernel target), pass its host tests, and pass its in-QEMU
//! test kernel, the scheduler's also when it schedules the kernel
//! (`module_blacklist=round_robin`). A second copy checks that bad input
//! is refused with a clear message and changes nothing, even when the
//! script fails after its edits.
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

#[test]
fn every_template_builds_lints_and_passes_its_tests() {
    let repo = scratch_root().join("repo");
    copy_repo(&repo);
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
    let (ok, out) = cargo(&repo, &[&["test", "-q"], &crates[..]].concat(), &[]);
    assert!(ok, "host tests of the generated crates:\n{out}");
    // hello, post_card and fifo_sched: their integration tests ran.
    for passed in ["3 passed", "5 passed", "6 passed"] {
        assert!(out.contains(&format!("test result: ok. {passed}")), "{out}");
    }

    // In QEMU: the test kernels as generated, with round_robin scheduling.
    let (ok, out) = cargo(&repo, &[&["test", "-q"], &kernel_tests[..]].concat(), &[]);
    assert!(ok, "generated in-QEMU tests:\n{out}");
    assert_eq!(out.matches("test result: ok. 3 passed").count(), 3, "{out}");
    assert!(
        out.contains("`fifo_sched` cannot run: `round_robin` already holds role"),
        "{out}"
    );
    // And the generated scheduler scheduling the kernel itself.
    let (ok, out) = cargo(
        &repo,
        &[
            "test",
            "-q",
            "-p",
            "kernel",
            "--target",
            harness::KERNEL_TARGET,
            "--test",
            "fifo_sched",
        ],
        &[("HELIX_CMDLINE", "module_blacklist=round_robin")],
    );
    assert!(ok, "fifo_sched as the kernel's scheduler:\n{out}");
    assert!(out.contains("test result: ok. 3 passed"), "{out}");
    assert!(!out.contains("already holds role"), "{out}");
}

#[test]
fn bad_input_is_refused_and_changes_nothing() {
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
        let out = new_module(&repo, args, &[]);
        let said = text(&out);
        assert_eq!(out.status.code(), Some(1), "{args:?}:\n{said}");
        assert!(
            said.contains(message),
            "{args:?}: expected {message:?} in:\n{said}"
        );
        assert_eq!(snapshot(&repo), before, "{args:?} changed the tree");
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
}
