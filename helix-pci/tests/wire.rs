//! The function-list encoding that carries a loaded driver's devices
//! across the module interface: what `encode` writes `decode` gives back
//! exactly (the modelled q35 bus, with a bridge and every capability
//! kind), and bad bytes are refused with a typed error, never a panic.

use helix_pci::model::{ModelBus, ModelFunction};
use helix_pci::wire::{WireError, decode, encode};
use helix_pci::{Bdf, scan};

fn functions() -> Vec<helix_pci::Function> {
    let mut bus = ModelBus::q35();
    let bdf = Bdf::new(0, 5, 0).unwrap();
    bus.add(
        ModelFunction::new(bdf, 0x1af4, 0x1041, [0x01, 0x00, 0x00], 1)
            .interrupt(11, 1)
            .io_bar(0, 0xc000, 0x40, false)
            .mem64_bar(4, 0xfe00_0000, 0x4000, true)
            .msi(0x40, true, 2, true)
            .msix(0x50, 4, (4, 0), (4, 0x800))
            .virtio(0x60, 1, 4, 0, 0x38)
            .virtio(0x70, 2, 4, 0x1000, 0x1000)
            .virtio(0x84, 9, 4, 0x2000, 0x10),
    );
    bus.add(
        ModelFunction::new(
            Bdf::new(0, 6, 0).unwrap(),
            0x8086,
            0x244e,
            [0x06, 0x04, 0],
            0,
        )
        .bridge(1),
    );
    scan(&bus, 0..=255)
}

#[test]
fn what_is_encoded_decodes_to_the_same_functions() {
    let all = functions();
    assert!(all.len() >= 8, "{all:?}");
    assert!(all.iter().any(|f| f.secondary_bus.is_some()));
    assert!(all.iter().any(|f| f.capabilities.len() >= 5));
    assert_eq!(decode(&encode(&all)), Ok(all.clone()));
    assert_eq!(decode(&encode(&[])), Ok(Vec::new()));
}

#[test]
fn bad_bytes_are_refused_by_value() {
    let bytes = encode(&functions());
    // Every truncation is refused, none panics.
    for len in 0..bytes.len() {
        assert_eq!(decode(&bytes[..len]), Err(WireError::Truncated), "{len}");
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert_eq!(decode(&longer), Err(WireError::Trailing));
    // Every single-byte change either decodes or is a typed error.
    for i in 0..bytes.len() {
        for v in [0u8, 1, 2, 0x7f, 0xff] {
            let mut changed = bytes.clone();
            changed[i] = v;
            let _ = decode(&changed);
        }
    }
    // A device number over 31 is not an address.
    let mut bad = bytes.clone();
    bad[3] = 32;
    assert_eq!(decode(&bad), Err(WireError::Invalid("address")));
}
