//! The registry's [`ModuleMetadata`] from a module binary's [`InfoAbi`]:
//! every pointer checked to lie in the module's memory before it is read,
//! every text checked to be UTF-8, every list bounded; the texts the
//! registry keeps as `&'static str` (parameters) are interned.

use alloc::string::String;
use alloc::vec::Vec;
use helix_abi::{Bytes, InfoAbi, ParamAbi, param_kind, pci_match};
use helix_modules::services::pci::DeviceId;
use helix_modules::v2::{EventKinds, Version};
use helix_modules::{ModuleFlags, ModuleMetadata, ParamKind, ParamSpec, Permissions};

use super::LoadError;
use super::host::Host;
use super::intern;

/// Most entries in any list of the info.
const MAX_LIST: usize = 64;
/// Longest text in the info.
const MAX_TEXT: usize = 512;

fn bytes<'a>(h: &Host, b: Bytes) -> Result<&'a [u8], LoadError> {
    if b.len == 0 {
        return Ok(&[]);
    }
    if b.len > MAX_TEXT || !h.readable(b.ptr as u64, b.len as u64) {
        return Err(LoadError::BadInfo(
            "a text lies outside the module or is too long",
        ));
    }
    // SAFETY: the range lies in the module's image or arena (checked above),
    // mapped while the image is loaded, and no module code runs meanwhile.
    Ok(unsafe { core::slice::from_raw_parts(b.ptr, b.len) })
}

fn text<'a>(h: &Host, b: Bytes) -> Result<&'a str, LoadError> {
    core::str::from_utf8(bytes(h, b)?).map_err(|_| LoadError::BadInfo("a text is not UTF-8"))
}

fn array<'a, T>(h: &Host, ptr: *const T, len: usize) -> Result<&'a [T], LoadError> {
    if len == 0 {
        return Ok(&[]);
    }
    let size = core::mem::size_of::<T>() as u64;
    if len > MAX_LIST || !ptr.is_aligned() || !h.readable(ptr as u64, size * len as u64) {
        return Err(LoadError::BadInfo(
            "a list lies outside the module or is too long",
        ));
    }
    // SAFETY: aligned, inside the module's memory (checked above); `T` is a
    // `#[repr(C)]` type of integers and pointers, valid for any bytes.
    Ok(unsafe { core::slice::from_raw_parts(ptr, len) })
}

fn strings(h: &Host, ptr: *const Bytes, len: usize) -> Result<Vec<&str>, LoadError> {
    array(h, ptr, len)?.iter().map(|b| text(h, *b)).collect()
}

fn kept(s: &str) -> Result<&'static str, LoadError> {
    intern::text(s).ok_or(LoadError::BadInfo("the kernel keeps no more module texts"))
}

fn param(h: &Host, p: &ParamAbi) -> Result<ParamSpec, LoadError> {
    let kind = match p.kind {
        param_kind::TEXT => ParamKind::Text,
        param_kind::BOOL => ParamKind::Bool,
        param_kind::INT => ParamKind::Int {
            min: p.min,
            max: p.max,
        },
        param_kind::CHOICE => {
            let words = strings(h, p.choices, p.choices_len)?;
            ParamKind::Choice(
                intern::list(&words)
                    .ok_or(LoadError::BadInfo("the kernel keeps no more module texts"))?,
            )
        }
        _ => return Err(LoadError::BadInfo("a parameter of an unknown kind")),
    };
    Ok(ParamSpec {
        name: kept(text(h, p.name)?)?,
        default: kept(text(h, p.default)?)?,
        kind,
        sensitive: p.flags & 1 != 0,
        boot_only: p.flags & 2 != 0,
        description: kept(text(h, p.description)?)?,
    })
}

/// The PCI device table a driver declared (interned, see `intern`).
pub fn pci_ids(h: &Host, info: &InfoAbi) -> Result<&'static [DeviceId], LoadError> {
    let ids = array(h, info.pci_ids, info.pci_ids_len)?
        .iter()
        .map(|id| {
            if id.matches & !(pci_match::VENDOR | pci_match::DEVICE | pci_match::CLASS) != 0 {
                return Err(LoadError::BadInfo("unknown PCI match bits"));
            }
            // An entry matching on nothing is refused at registration,
            // as for every module.
            let has = |bit| id.matches & bit != 0;
            Ok(DeviceId {
                vendor: has(pci_match::VENDOR).then_some(id.vendor),
                device: has(pci_match::DEVICE).then_some(id.device),
                class: has(pci_match::CLASS).then_some((id.class, id.subclass)),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    intern::device_table(&ids).ok_or(LoadError::BadInfo("the kernel keeps no more module texts"))
}

/// The module's metadata, its state format and its own heap limit.
pub fn metadata(h: &Host, info: &InfoAbi) -> Result<(ModuleMetadata, u32, Option<u64>), LoadError> {
    let owned = |b| text(h, b).map(String::from);
    let list = |p, n| -> Result<Vec<String>, LoadError> {
        Ok(strings(h, p, n)?.into_iter().map(String::from).collect())
    };
    let params = array(h, info.params, info.params_len)?
        .iter()
        .map(|p| param(h, p))
        .collect::<Result<Vec<_>, _>>()?;
    let events = u8::try_from(info.events)
        .ok()
        .and_then(EventKinds::from_bits)
        .ok_or(LoadError::BadInfo("unknown event kinds"))?;
    let meta = ModuleMetadata {
        name: owned(info.name)?,
        version: Version::new(info.version[0], info.version[1], info.version[2]),
        description: owned(info.description)?,
        author: owned(info.author)?,
        license: owned(info.license)?,
        flags: ModuleFlags::from_bits(info.flags).ok_or(LoadError::BadInfo("unknown flags"))?,
        dependencies: list(info.dependencies, info.dependencies_len)?,
        provides: list(info.provides, info.provides_len)?,
        events,
        priority: info.priority,
        permissions: Permissions::from_bits(info.permissions)
            .ok_or(LoadError::BadInfo("unknown permissions"))?,
        protected_by: Permissions::from_bits(info.protected_by)
            .ok_or(LoadError::BadInfo("unknown permissions"))?,
        params,
    };
    let limit = (info.memory_limit != 0).then_some(info.memory_limit);
    Ok((meta, info.state_version, limit))
}
