//! `module_sig`: the SECURITY module that decides whether a module binary
//! may be loaded, by its Ed25519 signature.
//!
//! The registry asks it (request `authorize`, see
//! [`helix_modules::security`]) about privileged operations. For `load`,
//! and for `reload` when a binary comes with it, the evidence is the module
//! file; [`verify`] checks its signature trailer against the public keys
//! embedded at build time ([`EMBEDDED_KEYS`]: the dev key from `.keys/`,
//! see `build.rs`). A good signature is allowed with the answer `signed by
//! NAME (key ...)`, which the registry audits. An unsigned file, a
//! tampered one, or one signed by an unknown key is refused with the
//! reason under `policy=enforce` (the default); under `policy=permissive`
//! it is allowed, logged as a warning, and the answer says what was wrong.
//! A reload without a binary (a module built into the kernel) has nothing
//! to check and is allowed; so is every other operation.
//!
//! Request `stats` answers `policy=… keys=… signed=… refused=… waived=…`
//! (binaries with a good signature, refused, allowed by `permissive`).
//!
//! Ed25519 comes from `ed25519-compact`: `no_std`, no dependencies with the
//! features used here, small, maintained, constant-time verification.
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

extern crate alloc;

mod check;

use alloc::format;
use alloc::string::String;
use helix_modules::security::{self, REQUEST_TYPE};
use helix_modules::v2::{Context, ModuleInfo, ModuleTrait, Request, Response};
use helix_modules::{ModuleError, ModuleFlags, Operation, ParamSpec};

/// The operations `module_sig` is consulted about: loading a module binary
/// and replacing a module by one.
const SCREENS: [Operation; 2] = [Operation::Load, Operation::Reload];

pub use check::{PublicKeyEntry, SigCheckError, Signer, verify};

include!(concat!(env!("OUT_DIR"), "/keys.rs"));

const PARAMS: [ParamSpec; 1] = [ParamSpec::new("policy", "enforce")
    .one_of(&["enforce", "permissive"])
    .describe("enforce: refuse modules without a good signature; permissive: allow and log")];

/// What happens to a module without a good signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    /// Refused.
    Enforce,
    /// Allowed, with a warning.
    Permissive,
}

impl Policy {
    fn parse(value: &str) -> Result<Self, ModuleError> {
        match value {
            "enforce" => Ok(Policy::Enforce),
            "permissive" => Ok(Policy::Permissive),
            _ => Err(ModuleError::Failed("policy is enforce or permissive")),
        }
    }
}

/// The module-signature SECURITY module.
#[derive(Debug)]
pub struct ModuleSig {
    keys: &'static [PublicKeyEntry],
    policy: Policy,
    /// Binaries with a good signature.
    signed: u64,
    /// Binaries refused (enforce).
    refused: u64,
    /// Binaries allowed without a good signature (permissive).
    waived: u64,
}

impl Default for ModuleSig {
    fn default() -> Self {
        Self::with_keys(EMBEDDED_KEYS)
    }
}

impl ModuleSig {
    /// The module trusting `keys` instead of the embedded ones (for tests
    /// and for kernels that carry several keys).
    pub fn with_keys(keys: &'static [PublicKeyEntry]) -> Self {
        ModuleSig {
            keys,
            policy: Policy::Enforce,
            signed: 0,
            refused: 0,
            waived: 0,
        }
    }

    /// The policy in force.
    pub fn policy(&self) -> Policy {
        self.policy
    }

    /// The answer to one `authorize` query: `Ok(text)` allows, `Err(reason)`
    /// refuses.
    fn decide(&mut self, op: Operation, target: &str, evidence: &[u8]) -> Result<String, String> {
        let binary = match op {
            Operation::Load => true,
            Operation::Reload => !evidence.is_empty(),
            _ => false,
        };
        if !binary {
            return Ok(String::from(if op == Operation::Reload {
                "built-in module: no binary to check"
            } else {
                "no signature needed"
            }));
        }
        match (verify(evidence, self.keys), self.policy) {
            (Ok(signer), _) => {
                self.signed += 1;
                Ok(format!("{signer}"))
            }
            (Err(e), Policy::Enforce) => {
                self.refused += 1;
                Err(format!("{e}"))
            }
            (Err(e), Policy::Permissive) => {
                self.waived += 1;
                log::warn!("module_sig: {op} of {target} allowed (permissive): {e}");
                Ok(format!("permissive: allowed although {e}"))
            }
        }
    }
}

impl ModuleTrait for ModuleSig {
    fn info(&self) -> ModuleInfo {
        ModuleInfo::new("module_sig")
            .version(1, 0, 0)
            .description("Checks module binary signatures (Ed25519) before they are loaded")
            .author("Helix developers")
            .license("MIT OR Apache-2.0")
            .flags(ModuleFlags::SECURITY)
            // It judges module binaries only: stops, parameters and the
            // rest go on without asking it.
            .screens(&SCREENS)
            .provides(&["module-signature"])
            .params(&PARAMS)
    }

    fn init(&mut self, ctx: &Context) -> Result<(), ModuleError> {
        self.policy = Policy::parse(ctx.config_or("policy", "enforce"))?;
        if self.keys.is_empty() {
            log::warn!("module_sig: no module-signing key embedded: signed modules are refused");
        }
        Ok(())
    }

    fn start(&mut self) -> Result<(), ModuleError> {
        Ok(())
    }

    fn stop(&mut self) -> Result<(), ModuleError> {
        Ok(())
    }

    fn handle_request(&mut self, request: &Request) -> Result<Response, ModuleError> {
        if request.request_type == "stats" {
            let policy = match self.policy {
                Policy::Enforce => "enforce",
                Policy::Permissive => "permissive",
            };
            let stats = format!(
                "policy={policy} keys={} signed={} refused={} waived={}",
                self.keys.len(),
                self.signed,
                self.refused,
                self.waived
            );
            return Ok(Response::ok(stats.into_bytes()));
        }
        if request.request_type != REQUEST_TYPE {
            return Ok(Response::err("unknown request"));
        }
        let query = match security::decode(&request.payload) {
            Ok(query) => query,
            Err(e) => return Ok(Response::err(format!("{e}"))),
        };
        Ok(match self.decide(query.op, query.target, query.evidence) {
            Ok(text) => Response::ok(text.into_bytes()),
            Err(reason) => Response::err(reason),
        })
    }

    fn on_param_change(&mut self, key: &str, value: &str) -> Result<(), ModuleError> {
        if key == "policy" {
            self.policy = Policy::parse(value)?;
        }
        Ok(())
    }
}
