//! DMA buffers through the hardware service, against
//! `helix_modules::testing::FakeHardware`: a driver run by a registry gets
//! zeroed buffers whose bytes the modelled device sees at the buffer's
//! device address (and the other way round), every access is bounds
//! checked, and stopping the driver frees its buffers: the handles it kept
//! then fail with `Released`, and starting it again allocates afresh.

use helix_modules::services::dma::DmaBuffer;
use helix_modules::services::hw::HwError;
use helix_modules::testing::FakeHardware;
use helix_modules::v2::{Context, ModuleInfo, ModuleTrait};
use helix_modules::{Caller, ModuleError, ModuleFlags, Registry};
use std::sync::{Arc, Mutex};

/// A driver that allocates one 4 KiB buffer at start and shares it.
struct Dev {
    shared: Arc<Mutex<Option<DmaBuffer>>>,
    hw: Option<helix_modules::services::hw::HardwareAccess>,
}

impl ModuleTrait for Dev {
    fn info(&self) -> ModuleInfo {
        ModuleInfo::new("dev").flags(ModuleFlags::DRIVER)
    }
    fn init(&mut self, ctx: &Context) -> Result<(), ModuleError> {
        self.hw = Some(ctx.hardware()?);
        Ok(())
    }
    fn start(&mut self) -> Result<(), ModuleError> {
        let hw = self.hw.as_ref().ok_or(ModuleError::Failed("no hardware"))?;
        *self.shared.lock().unwrap() = Some(hw.alloc_dma(4096)?);
        Ok(())
    }
    fn stop(&mut self) -> Result<(), ModuleError> {
        Ok(())
    }
}

#[test]
fn a_driver_and_its_device_share_a_buffer_until_the_driver_stops() {
    let hw = FakeHardware::new();
    let r = Registry::builder().hardware(Arc::new(hw.clone())).build();
    let shared = Arc::new(Mutex::new(None));
    r.register_v2(Dev {
        shared: shared.clone(),
        hw: None,
    })
    .unwrap();
    assert!(r.start_all(Caller::Kernel).is_clean());
    let buf = shared.lock().unwrap().clone().unwrap();
    assert_eq!(buf.len(), 4096);
    assert_eq!(hw.dma_buffers("dev"), 1);

    // Zeroed; what the driver writes the device reads, and back.
    assert_eq!(buf.read_u64(4088), Ok(0));
    buf.write_u32(16, 0xdead_beef).unwrap();
    buf.write_u16(20, 0x1234).unwrap();
    buf.fence();
    assert_eq!(
        hw.dma_read(buf.device_addr() + 16, 6).unwrap(),
        [0xef, 0xbe, 0xad, 0xde, 0x34, 0x12]
    );
    hw.dma_write(buf.device_addr() + 100, &7u64.to_le_bytes())
        .unwrap();
    assert_eq!(buf.read_u64(100), Ok(7));

    // Bounds: the driver and the device stay inside the buffer.
    assert_eq!(
        buf.write_u64(4090, 1),
        Err(HwError::DmaOutOfRange {
            offset: 4090,
            len: 8,
            size: 4096
        })
    );
    assert!(buf.read(usize::MAX, &mut [0; 2]).is_err());
    assert!(hw.dma_read(buf.device_addr() + 4095, 2).is_err());

    // Stopping frees it: the kept handle fails, the device finds nothing.
    r.stop(Caller::Kernel, "dev").unwrap();
    assert_eq!(hw.dma_buffers("dev"), 0);
    assert_eq!(buf.read_u32(16), Err(HwError::Released));
    assert!(hw.dma_read(buf.device_addr(), 4).is_err());

    // Started again, it allocates afresh, zeroed.
    r.start(Caller::Kernel, "dev").unwrap();
    let again = shared.lock().unwrap().clone().unwrap();
    assert_ne!(again.device_addr(), buf.device_addr());
    assert_eq!(again.read_u32(16), Ok(0));
}

#[test]
fn sizes_outside_the_limits_are_refused() {
    let hw = FakeHardware::new();
    use helix_modules::services::hw::Hardware;
    assert_eq!(
        hw.alloc_dma("d", 0).unwrap_err(),
        HwError::DmaUnavailable { len: 0 }
    );
    let too_big = helix_modules::testing::dma::MAX_DMA + 1;
    assert_eq!(
        hw.alloc_dma("d", too_big).unwrap_err(),
        HwError::DmaUnavailable { len: too_big }
    );
    assert!(hw.alloc_dma("d", 1).is_ok());
}
