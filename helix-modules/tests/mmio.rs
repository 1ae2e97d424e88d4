//! `Mmio` checks every access against the BAR's size and the access's
//! natural alignment before the kernel's side sees it, and passes the
//! width through.

use helix_modules::services::hw::HwError;
use helix_modules::services::mmio::{Mmio, MmioIo};
use std::sync::{Arc, Mutex};

/// Records every access it is asked to make; reads answer the offset.
#[derive(Default)]
struct Log(Mutex<Vec<(char, u64, u8, u64)>>);

impl MmioIo for Log {
    fn read(&self, offset: u64, bytes: u8) -> Result<u64, HwError> {
        self.0.lock().unwrap().push(('r', offset, bytes, 0));
        Ok(offset)
    }
    fn write(&self, offset: u64, bytes: u8, value: u64) -> Result<(), HwError> {
        self.0.lock().unwrap().push(('w', offset, bytes, value));
        Ok(())
    }
}

#[test]
fn accesses_are_checked_then_made_at_their_width() {
    let log = Arc::new(Log::default());
    let bar = Mmio::new(log.clone(), 0x1000);
    assert_eq!(bar.read32(0xffc), Ok(0xffc));
    assert_eq!(bar.read64(0x10), Ok(0x10));
    bar.write16(0x2, 0xbeef).unwrap();
    bar.write8(0xfff, 1).unwrap();
    let out = |offset, bytes| HwError::MmioOutOfRange {
        offset,
        bytes,
        size: 0x1000,
    };
    assert_eq!(bar.read32(0x1000), Err(out(0x1000, 4)));
    assert_eq!(bar.read64(0xffc), Err(out(0xffc, 8)));
    assert_eq!(bar.read32(0x2), Err(out(0x2, 4)));
    assert_eq!(bar.write16(0x1, 0), Err(out(0x1, 2)));
    assert_eq!(bar.read8(u64::MAX), Err(out(u64::MAX, 1)));
    assert_eq!(
        *log.0.lock().unwrap(),
        [
            ('r', 0xffc, 4, 0),
            ('r', 0x10, 8, 0),
            ('w', 0x2, 2, 0xbeef),
            ('w', 0xfff, 1, 1)
        ]
    );
}
