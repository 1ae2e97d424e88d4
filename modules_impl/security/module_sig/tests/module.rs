//! `module_sig` in a registry: the kernel's `authorize` for a load is
//! allowed with the signer for a good signature and refused otherwise
//! under `enforce`; allowed with the problem named under `permissive`;
//! other operations and built-in reloads pass.

mod common;

use common::{ELF, entry, leak, pair, sign};
use helix_modules::v2::Request;
use helix_modules::{Caller, ModuleError, Operation, Registry};
use module_sig::{ModuleSig, Policy};

fn registry(cmdline: &str) -> (Registry, ed25519_compact::KeyPair) {
    let p = pair(3);
    let r = Registry::builder().cmdline(cmdline).build();
    r.register_v2(ModuleSig::with_keys(leak(vec![entry("test-key", &p)])))
        .unwrap();
    assert!(r.start_all(Caller::Kernel).is_clean());
    (r, p)
}

fn load(r: &Registry, file: &[u8]) -> Result<Option<String>, ModuleError> {
    r.authorize(Caller::Kernel, Operation::Load, "m.ko", file)
}

fn reason(e: ModuleError) -> String {
    match e {
        ModuleError::SecurityRefused { by, reason, .. } => {
            assert_eq!(by, "module_sig");
            reason
        }
        other => panic!("not a refusal: {other}"),
    }
}

#[test]
fn enforce_allows_only_good_signatures() {
    let (r, p) = registry("");
    let good = sign(ELF, "helix-dev", &p);
    let answer = load(&r, &good).unwrap().unwrap();
    assert!(
        answer.starts_with("signed by helix-dev (key test-key "),
        "{answer}"
    );
    assert_eq!(
        reason(load(&r, ELF).unwrap_err()),
        "the module is not signed"
    );
    let mut tampered = good.clone();
    tampered[4] ^= 1;
    assert!(reason(load(&r, &tampered).unwrap_err()).contains("modified after signing"));
    let stranger = sign(ELF, "helix-dev", &pair(4));
    assert!(reason(load(&r, &stranger).unwrap_err()).contains("unknown key"));
    let stats = r
        .request(
            Caller::Kernel,
            "module_sig",
            Request::new("kernel", "stats", vec![]),
        )
        .unwrap();
    assert_eq!(
        stats.payload,
        b"policy=enforce keys=1 signed=1 refused=3 waived=0"
    );
}

#[test]
fn permissive_allows_and_says_why() {
    let (r, _) = registry("module_sig.policy=permissive");
    let answer = load(&r, ELF).unwrap().unwrap();
    assert_eq!(
        answer,
        "permissive: allowed although the module is not signed"
    );
}

#[test]
fn policy_changes_at_run_time() {
    let (r, _) = registry("");
    assert!(load(&r, ELF).is_err());
    r.set_param(Caller::Kernel, "module_sig", "policy", "permissive")
        .unwrap();
    assert!(load(&r, ELF).unwrap().is_some());
    assert!(matches!(
        r.set_param(Caller::Kernel, "module_sig", "policy", "lax"),
        Err(ModuleError::InvalidParam { .. })
    ));
    r.set_param(Caller::Kernel, "module_sig", "policy", "enforce")
        .unwrap();
    assert!(load(&r, ELF).is_err());
}

#[test]
fn reload_with_a_binary_is_checked_without_one_is_not() {
    let (r, p) = registry("");
    let refused = r.authorize(Caller::Kernel, Operation::Reload, "x", ELF);
    assert!(refused.is_err());
    let signed = sign(ELF, "helix-dev", &p);
    assert!(
        r.authorize(Caller::Kernel, Operation::Reload, "x", &signed)
            .is_ok()
    );
    assert_eq!(
        r.authorize(Caller::Kernel, Operation::Reload, "x", b""),
        Ok(Some("built-in module: no binary to check".into()))
    );
    // It screens loads and reloads only: the registry does not ask it
    // about a stop, and asked directly it lets one through.
    assert_eq!(
        r.authorize(Caller::Kernel, Operation::Stop, "x", b""),
        Ok(None)
    );
    let query = helix_modules::security::AuthorizeQuery {
        op: Operation::Stop,
        caller: "kernel",
        target: "x",
        detail: "",
        evidence: b"",
    };
    let payload = helix_modules::security::encode(&query).unwrap();
    let answer = r
        .request(
            Caller::Kernel,
            "module_sig",
            Request::new("kernel", helix_modules::security::REQUEST_TYPE, payload),
        )
        .unwrap();
    assert_eq!(answer.payload, b"no signature needed");
}

#[test]
fn starts_enforcing() {
    assert_eq!(ModuleSig::default().policy(), Policy::Enforce);
}
