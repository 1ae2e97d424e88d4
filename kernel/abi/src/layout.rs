//! [`LAYOUT_HASH`]: a fingerprint of everything that crosses the boundary.
//!
//! It folds the size, alignment and every field offset of each type in
//! [`crate::types`], the ABI major version, and [`SIGNATURES`], a spelling
//! of every entry point's and service's parameter list (a changed argument
//! keeps sizes but must still change the hash; keep it in step with
//! `types.rs`). A kernel and a module binary that agree on it agree on the
//! meaning of every byte they exchange.

use crate::types::*;
use core::mem::{align_of, offset_of, size_of};

/// Every function pointer's parameters and result, in table order.
const SIGNATURES: &str = "\
create()->inst;destroy(inst);init(inst,*init,sink)->u32;start(inst,sink)->u32;\
stop(inst,sink)->u32;event(inst,*event,sink)->u32;request(inst,*request,sink,sink)->u32;\
param_change(inst,bytes,bytes,sink)->u32;healthy(inst)->u32;save_state(inst,sink)->u32;\
restore_state(inst,bytes,sink)->u32|alloc(host,usize,usize)->ptr;dealloc(host,ptr,usize,usize);\
log(host,u32,bytes);fault(host,bytes)->!;now_ns(host)->u64;\
request(host,bytes,bytes,bytes,sink,sink)->u32;publish(host,bytes,bytes,*summary,sink)->u32;\
report_param(host,bytes,bytes,sink)->u32;claim_ports(host,u16,u16,sink)->u32;\
port_read(host,u16,u32)->u32;port_write(host,u16,u32,u32);release_all(host)->usize;\
bind_pci(host,sink,sink)->u32|\
entry(*services)->*descriptor";

const fn fold(mut hash: u64, value: u64) -> u64 {
    let bytes = value.to_le_bytes();
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0100_0000_01b3);
        i += 1;
    }
    hash
}

const fn fold_str(mut hash: u64, text: &str) -> u64 {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        hash = fold(hash, bytes[i] as u64);
        i += 1;
    }
    hash
}

/// Folds a type's size, alignment and the offsets of the listed fields.
macro_rules! layout {
    ($hash:ident, $ty:ty, [$($field:ident),* $(,)?]) => {
        $hash = fold($hash, size_of::<$ty>() as u64);
        $hash = fold($hash, align_of::<$ty>() as u64);
        $( $hash = fold($hash, offset_of!($ty, $field) as u64); )*
    };
}

/// The fingerprint of the interface's layouts (see the module docs).
pub const LAYOUT_HASH: u64 = {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    h = fold(h, crate::ABI_MAJOR as u64);
    layout!(h, Bytes, [ptr, len]);
    layout!(h, Sink, [ctx, write]);
    layout!(h, EventAbi, [kind, b, a, name, data]);
    layout!(h, RequestAbi, [source, kind, payload]);
    layout!(h, ConfigAbi, [key, value, sensitive]);
    layout!(h, InitAbi, [id, hardware, name, config, config_len]);
    layout!(
        h,
        SummaryAbi,
        [delivered, handled, ignored, failed, skipped]
    );
    layout!(
        h,
        ParamAbi,
        [
            name,
            default,
            description,
            kind,
            flags,
            min,
            max,
            choices,
            choices_len
        ]
    );
    layout!(
        h,
        InfoAbi,
        [
            name,
            description,
            author,
            license,
            version,
            priority,
            flags,
            events,
            permissions,
            protected_by,
            state_version,
            memory_limit,
            dependencies,
            dependencies_len,
            provides,
            provides_len,
            params,
            params_len,
            pci_ids,
            pci_ids_len
        ]
    );
    layout!(
        h,
        PciIdAbi,
        [matches, vendor, device, class, subclass, reserved]
    );
    layout!(
        h,
        Ops,
        [
            create,
            destroy,
            init,
            start,
            stop,
            event,
            request,
            param_change,
            healthy,
            save_state,
            restore_state
        ]
    );
    layout!(
        h,
        Descriptor,
        [
            magic,
            abi_major,
            abi_minor,
            reserved,
            layout_hash,
            info,
            ops
        ]
    );
    layout!(
        h,
        Services,
        [
            size,
            host,
            alloc,
            dealloc,
            log,
            fault,
            now_ns,
            request,
            publish,
            report_param,
            claim_ports,
            port_read,
            port_write,
            release_all,
            bind_pci
        ]
    );
    fold_str(h, SIGNATURES)
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_depends_on_every_input() {
        let base = fold_str(fold(0xcbf2_9ce4_8422_2325, 1), "a");
        assert_ne!(base, fold_str(fold(0xcbf2_9ce4_8422_2325, 2), "a"));
        assert_ne!(base, fold_str(fold(0xcbf2_9ce4_8422_2325, 1), "b"));
        assert_ne!(LAYOUT_HASH, 0);
    }
}
