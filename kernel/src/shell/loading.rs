//! The console's `insmod`, `rmmod` and `upgrade` commands, over
//! [`crate::loadable`].

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use helix_modules::{Caller, Registry};

/// `insmod FILE [key=value ...]`.
pub(super) fn insmod(r: &Registry, caller: Caller, args: &[&str]) -> Result<String, String> {
    let [file, params @ ..] = args else {
        return Err(String::from("usage: insmod NAME|FILE [key=value ...]"));
    };
    let params = params
        .iter()
        .map(|p| {
            p.split_once('=')
                .ok_or_else(|| format!("bad parameter `{p}` (key=value)"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    crate::loadable::insmod(r, caller, file, &params)
        .map(|(name, version)| format!("inserted {name} {version}"))
        .map_err(|e| e.to_string())
}

/// `rmmod NAME`.
pub(super) fn rmmod(r: &Registry, caller: Caller, name: &str) -> Result<String, String> {
    crate::loadable::rmmod(r, caller, name)
        .map(|()| format!("removed {name}"))
        .map_err(|e| e.to_string())
}

/// `upgrade NAME FILE`.
pub(super) fn upgrade(r: &Registry, caller: Caller, args: &[&str]) -> Result<String, String> {
    let [name, file] = args else {
        return Err(String::from("usage: upgrade NAME FILE"));
    };
    crate::loadable::upgrade(r, caller, name, file)
        .map(|(old, new)| format!("upgraded {name} {old} -> {new}"))
        .map_err(|e| e.to_string())
}
