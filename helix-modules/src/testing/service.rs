//! [`FakeHardware`] as the hardware service a driver's `HardwareAccess`
//! talks to: exclusive claims of port ranges and IRQ lines, DMA buffers,
//! PCI binding, and taking everything an owner holds back at once, with
//! the kernel's rules and errors.

use alloc::sync::Arc;
use alloc::vec::Vec;

use super::{FakeHardware, FakePorts, IRQ_LINES, IrqClaim, PortClaim};
use crate::services::dma::DmaBuffer;
use crate::services::hw::{Hardware, HwError, IrqHandler, PortRange};
use crate::services::pci::{DeviceId, Function};

impl Hardware for FakeHardware {
    /// Refuses an empty range or one past port 0xffff
    /// ([`HwError::BadRange`]) and any overlap with another claim
    /// ([`HwError::PortsInUse`], naming its owner), as the kernel does.
    fn claim_ports(&self, owner: &str, base: u16, count: u16) -> Result<PortRange, HwError> {
        let end = u32::from(base) + u32::from(count);
        if count == 0 || end > 0x1_0000 {
            return Err(HwError::BadRange { base, count });
        }
        let mut claims = self.shared.claims.lock();
        if let Some(holder) = claims.iter().find(|c| {
            u32::from(base) < u32::from(c.base) + u32::from(c.count) && u32::from(c.base) < end
        }) {
            return Err(HwError::PortsInUse {
                base,
                count,
                owner: holder.owner.clone(),
            });
        }
        claims.push(PortClaim {
            owner: owner.into(),
            base,
            count,
        });
        Ok(PortRange::new(
            base,
            count,
            Arc::new(FakePorts(self.clone())),
        ))
    }

    /// Refuses a line outside 0..16 or made unroutable
    /// ([`HwError::NoSuchIrq`]) and a line already held
    /// ([`HwError::IrqInUse`], naming its owner).
    fn claim_irq(&self, owner: &str, irq: u8, handler: Arc<dyn IrqHandler>) -> Result<(), HwError> {
        let mut irqs = self.shared.irqs.lock();
        if irq >= IRQ_LINES || irqs.unroutable & (1 << irq) != 0 {
            return Err(HwError::NoSuchIrq(irq));
        }
        let slot = &mut irqs.claims[usize::from(irq)];
        if let Some(c) = slot {
            return Err(HwError::IrqInUse {
                irq,
                owner: c.owner.clone(),
            });
        }
        *slot = Some(IrqClaim {
            owner: owner.into(),
            handler,
        });
        Ok(())
    }

    fn release_all(&self, owner: &str) -> usize {
        let mut released = 0;
        for slot in self.shared.irqs.lock().claims.iter_mut() {
            if slot.as_ref().is_some_and(|c| c.owner == owner) {
                *slot = None;
                released += 1;
            }
        }
        let mut claims = self.shared.claims.lock();
        let before = claims.len();
        claims.retain(|c| c.owner != owner);
        released += self.shared.dma.lock().release(owner);
        released += self.shared.pci.lock().release(owner);
        released + before - claims.len()
    }

    /// Hands out buffers backed by host memory, up to [`dma::MAX_DMA`](super::dma::MAX_DMA)
    /// bytes each, at made-up device addresses (see [`FakeHardware::dma_read`]).
    fn alloc_dma(&self, owner: &str, len: usize) -> Result<DmaBuffer, HwError> {
        self.shared.dma.lock().alloc(owner, len)
    }

    /// Binds the modelled functions as the kernel does (see
    /// [`FakeHardware::add_pci`]).
    fn bind_pci(&self, owner: &str, ids: &[DeviceId]) -> Vec<Function> {
        self.shared.pci.lock().bind(owner, ids)
    }
}
