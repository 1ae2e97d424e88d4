//! Text from module binaries that the registry keeps as `&'static str`
//! (parameter names and defaults, a module's name as a request source):
//! copied once into the kernel heap and kept for the rest of the boot, one
//! copy per distinct text, so reloading a module a hundred times costs
//! nothing after the first. A cap bounds what a stream of distinct
//! binaries can make the kernel keep.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use spin::Mutex;

/// Most bytes of text kept.
const MAX_BYTES: usize = 64 * 1024;

struct Table {
    texts: Vec<&'static str>,
    lists: Vec<&'static [&'static str]>,
    bytes: usize,
}

static TABLE: Mutex<Table> = Mutex::new(Table {
    texts: Vec::new(),
    lists: Vec::new(),
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
