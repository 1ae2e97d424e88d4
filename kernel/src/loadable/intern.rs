//! Text from module binaries that the registry keeps as `&'static str`
//! (parameter names and defaults, a module's name as a request source),
//! and drivers' PCI device tables:
//! copied once into the kernel heap and kept for the rest of the boot, one
//! copy per distinct text, so reloading a module a hundred times costs
//! nothing after the first. A cap bounds what a stream of distinct
//! binaries can make the kernel keep.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use helix_modules::services::pci::DeviceId;
use spin::Mutex;

/// Most bytes of text kept.
const MAX_BYTES: usize = 64 * 1024;

struct Table {
    texts: Vec<&'static str>,
    lists: Vec<&'static [&'static str]>,
    device_tables: Vec<&'static [DeviceId]>,
    bytes: usize,
}

static TABLE: Mutex<Table> = Mutex::new(Table {
    texts: Vec::new(),
    lists: Vec::new(),
    device_tables: Vec::new(),
    bytes: 0,
});

fn text_in(t: &mut Table, s: &str) -> Option<&'static str> {
    if let Some(found) = t.texts.iter().find(|k| **k == s) {
        return Some(found);
    }
    if t.bytes + s.len() > MAX_BYTES {
        return None;
    }
    t.bytes += s.len();
    let kept: &'static str = Box::leak(String::from(s).into_boxed_str());
    t.texts.push(kept);
    Some(kept)
}

/// The kept copy of `s`; `None` when the cap is reached.
pub fn text(s: &str) -> Option<&'static str> {
    text_in(&mut TABLE.lock(), s)
}

/// The kept copy of a list of texts; `None` when the cap is reached.
pub fn list(items: &[&str]) -> Option<&'static [&'static str]> {
    let mut t = TABLE.lock();
    if let Some(found) = t.lists.iter().find(|l| l.iter().eq(items.iter())) {
        return Some(found);
    }
    let kept = items
        .iter()
        .map(|s| text_in(&mut t, s))
        .collect::<Option<Vec<_>>>()?;
    let kept: &'static [&'static str] = kept.leak();
    t.lists.push(kept);
    Some(kept)
}

/// The kept copy of a driver's PCI device table; `None` when the cap is
/// reached.
pub fn device_table(ids: &[DeviceId]) -> Option<&'static [DeviceId]> {
    if ids.is_empty() {
        return Some(&[]);
    }
    let mut t = TABLE.lock();
    if let Some(found) = t.device_tables.iter().find(|k| **k == ids) {
        return Some(found);
    }
    let size = core::mem::size_of_val(ids);
    if t.bytes + size > MAX_BYTES {
        return None;
    }
    t.bytes += size;
    let kept: &'static [DeviceId] = ids.to_vec().leak();
    t.device_tables.push(kept);
    Some(kept)
}
