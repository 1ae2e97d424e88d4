//! The `module-sign` binary end to end, in a temporary directory: keygen
//! (file sizes, mode 0600, refusing to overwrite), sign and verify, and the
//! failures (already signed, tampered, other key, bad usage) with their
//! exit status and message.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use helix_loader::sig;

/// A fresh, empty directory under the target directory, per test.
fn temp_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("module-sign-{name}"));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_module-sign"))
        .args(args)
        .output()
        .expect("run module-sign")
}

fn ok(args: &[&str]) -> String {
    let out = run(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs a command that must fail with `status`; returns its stderr.
fn fails(args: &[&str], status: i32) -> String {
    let out = run(args);
    assert_eq!(out.status.code(), Some(status), "{args:?}");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// A key directory and a module file in `dir`.
fn setup(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let keys = dir.join("keys");
    ok(&["keygen", s(&keys)]);
    let module = dir.join("m.elf");
    fs::write(&module, b"\x7fELF module bytes for signing").unwrap();
    (
        keys.join("module-signing.key"),
        keys.join("module-signing.pub"),
        module,
    )
}

#[test]
fn keygen_writes_private_seed_and_refuses_overwrite() {
    let dir = temp_dir("keygen");
    let (key, public, _) = setup(&dir);
    let seed = fs::read(&key).unwrap();
    assert_eq!(seed.len(), 32);
    assert_eq!(fs::read(&public).unwrap().len(), 32);
    let mode = fs::metadata(&key).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let keys = dir.join("keys");
    let err = fails(&["keygen", s(&keys)], 1);
    assert!(err.contains("not overwriting"), "{err}");
    assert_eq!(
        fs::read(&key).unwrap(),
        seed,
        "refused keygen changed the key"
    );
    ok(&["keygen", "--force", s(&keys)]);
    assert_ne!(fs::read(&key).unwrap(), seed, "--force kept the old seed");
}

#[test]
fn sign_then_verify() {
    let dir = temp_dir("sign");
    let (key, public, module) = setup(&dir);
    let out = dir.join("m.signed");
    let msg = ok(&[
        "sign",
        "--key",
        s(&key),
        "--signer",
        "tester",
        s(&module),
        s(&out),
    ]);
    assert!(msg.contains("as tester"), "{msg}");
    let file = fs::read(&out).unwrap();
    let (payload, trailer) = sig::split(&file).unwrap();
    assert_eq!(payload, fs::read(&module).unwrap());
    let trailer = trailer.expect("signed");
    assert_eq!(trailer.signer, "tester");
    assert_eq!(trailer.key_id[..], fs::read(&public).unwrap()[..8]);
    let msg = ok(&["verify", "--pub", s(&public), s(&out)]);
    assert!(msg.contains("good signature by tester"), "{msg}");
    // The default signer name.
    let out2 = dir.join("m.signed2");
    ok(&["sign", "--key", s(&key), s(&module), s(&out2)]);
    assert!(ok(&["verify", "--pub", s(&public), s(&out2)]).contains("by helix-dev"));
}

#[test]
fn signing_a_signed_file_is_refused() {
    let dir = temp_dir("twice");
    let (key, _, module) = setup(&dir);
    let once = dir.join("once");
    ok(&["sign", "--key", s(&key), s(&module), s(&once)]);
    let err = fails(
        &["sign", "--key", s(&key), s(&once), s(&dir.join("twice"))],
        1,
    );
    assert!(err.contains("already signed"), "{err}");
    assert!(!dir.join("twice").exists());
}

#[test]
fn verify_catches_tampering_other_keys_and_unsigned_files() {
    let dir = temp_dir("verify");
    let (key, public, module) = setup(&dir);
    let signed = dir.join("signed");
    ok(&["sign", "--key", s(&key), s(&module), s(&signed)]);
    let mut bytes = fs::read(&signed).unwrap();
    bytes[5] ^= 1;
    let tampered = dir.join("tampered");
    fs::write(&tampered, &bytes).unwrap();
    let err = fails(&["verify", "--pub", s(&public), s(&tampered)], 1);
    assert!(err.contains("does not match"), "{err}");
    let err = fails(&["verify", "--pub", s(&public), s(&module)], 1);
    assert!(err.contains("not signed"), "{err}");
    let other = dir.join("other");
    ok(&["keygen", s(&other)]);
    let other_pub = other.join("module-signing.pub");
    let err = fails(&["verify", "--pub", s(&other_pub), s(&signed)], 1);
    assert!(err.contains("signed with key"), "{err}");
    let err = fails(&["verify", "--pub", s(&module), s(&signed)], 1);
    assert!(err.contains("is not a key file"), "{err}");
}

#[test]
fn bad_command_lines_exit_2() {
    assert!(fails(&[], 2).contains("no command"));
    assert!(fails(&["frobnicate"], 2).contains("unknown command"));
    assert!(fails(&["sign", "a", "b"], 2).contains("missing --key"));
    assert!(fails(&["sign", "--key", "k", "a"], 2).contains("missing IN and OUT"));
    assert!(fails(&["keygen", "a", "b"], 2).contains("unexpected argument `b`"));
    assert!(fails(&["keygen", "--bogus", "a"], 2).contains("unknown option"));
    assert!(fails(&["verify", "--pub"], 2).contains("missing the value of --pub"));
}

#[test]
fn bad_signer_name_is_refused() {
    let dir = temp_dir("signer");
    let (key, _, module) = setup(&dir);
    let err = fails(
        &[
            "sign",
            "--key",
            s(&key),
            "--signer",
            "two words",
            s(&module),
            s(&dir.join("o")),
        ],
        1,
    );
    assert!(err.contains("signer name"), "{err}");
}
