//! The module's `ModuleInfo` as an [`InfoAbi`], built once by the entry
//! point in the module's own heap and never freed (the image is unmapped
//! with its arena).

use crate::types::{Bytes, InfoAbi, ParamAbi, PciIdAbi, param_kind, pci_match};
use alloc::vec::Vec;
use helix_modules::ParamKind;
use helix_modules::v2::ModuleInfo;

/// `items` as a leaked array of [`Bytes`]: the pointer and the length.
fn strings(items: &[&'static str]) -> (*const Bytes, usize) {
    let list: Vec<Bytes> = items.iter().map(|s| Bytes::str(s)).collect();
    let leaked = list.leak();
    (leaked.as_ptr(), leaked.len())
}

fn param(p: &helix_modules::ParamSpec) -> ParamAbi {
    let (kind, min, max, choices) = match p.kind {
        ParamKind::Text => (param_kind::TEXT, 0, 0, &[][..]),
        ParamKind::Bool => (param_kind::BOOL, 0, 0, &[][..]),
        ParamKind::Int { min, max } => (param_kind::INT, min, max, &[][..]),
        ParamKind::Choice(words) => (param_kind::CHOICE, 0, 0, words),
    };
    let (choices, choices_len) = strings(choices);
    ParamAbi {
        name: Bytes::str(p.name),
        default: Bytes::str(p.default),
        description: Bytes::str(p.description),
        kind,
        flags: u32::from(p.sensitive) | (u32::from(p.boot_only) << 1),
        min,
        max,
        choices,
        choices_len,
    }
}

fn pci_id(id: &helix_modules::services::pci::DeviceId) -> PciIdAbi {
    let (class, subclass) = id.class.unwrap_or((0, 0));
    PciIdAbi {
        matches: if id.vendor.is_some() {
            pci_match::VENDOR
        } else {
            0
        } | if id.device.is_some() {
            pci_match::DEVICE
        } else {
            0
        } | if id.class.is_some() {
            pci_match::CLASS
        } else {
            0
        },
        vendor: id.vendor.unwrap_or(0),
        device: id.device.unwrap_or(0),
        class,
        subclass,
        reserved: 0,
    }
}

/// The interface form of `info`.
pub(super) fn info(info: &ModuleInfo) -> InfoAbi {
    let (dependencies, dependencies_len) = strings(info.dependencies);
    let (provides, provides_len) = strings(info.provides);
    let params = info.params.iter().map(param).collect::<Vec<_>>().leak();
    let pci_ids = info.pci_ids.iter().map(pci_id).collect::<Vec<_>>().leak();
    InfoAbi {
        name: Bytes::str(info.name),
        description: Bytes::str(info.description),
        author: Bytes::str(info.author),
        license: Bytes::str(info.license),
        version: [info.version.major, info.version.minor, info.version.patch],
        priority: info.priority,
        flags: info.flags.bits(),
        events: u32::from(info.events.bits()),
        permissions: info.permissions.bits(),
        protected_by: info.protected_by.bits(),
        state_version: info.state_version,
        memory_limit: info.memory_limit.unwrap_or(0),
        dependencies,
        dependencies_len,
        provides,
        provides_len,
        params: params.as_ptr(),
        params_len: params.len(),
        pci_ids: pci_ids.as_ptr(),
        pci_ids_len: pci_ids.len(),
    }
}
