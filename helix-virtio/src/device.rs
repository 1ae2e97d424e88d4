//! [`LegacyDevice`]: a bound legacy virtio PCI function with its first
//! queue set up and the driver declared ready, and the request/answer
//! round trip drivers make on it.

use alloc::sync::Arc;
use helix_modules::services::hw::{HardwareAccess, HwError, IrqHandler};
use helix_modules::services::pci::{BarKind, Function};

use crate::{Buf, LegacyTransport, SplitQueue, Used, VirtioError};

/// A started legacy virtio device (see the module docs).
#[derive(Debug)]
pub struct LegacyDevice {
    /// Its registers.
    pub transport: LegacyTransport,
    /// Queue 0.
    pub queue: SplitQueue,
    /// The PCI function.
    pub function: Function,
}

impl LegacyDevice {
    /// Takes the first function the kernel binds to this driver, claims
    /// its I/O BAR (BAR 0), resets it, negotiates (`features` wanted, none
    /// required), gives it queue 0 and declares the driver ready.
    pub fn open(hw: &HardwareAccess, features: u32) -> Result<Self, VirtioError> {
        Self::open_with_irq(hw, features, None).map(|(dev, _)| dev)
    }

    /// As [`LegacyDevice::open`], and when `irq` is given and the kernel
    /// routes MSI-X for the function, queue 0's interrupts go to `irq`
    /// (MSI-X entry 0); the second value says whether they do. Requests
    /// still complete by looking at the used ring, so a machine without
    /// MSI-X works the same.
    pub fn open_with_irq(
        hw: &HardwareAccess,
        features: u32,
        irq: Option<Arc<dyn IrqHandler>>,
    ) -> Result<(Self, bool), VirtioError> {
        let function = hw
            .pci_devices()
            .into_iter()
            .next()
            .ok_or(VirtioError::NoDevice)?;
        let bar = function
            .bar(0)
            .filter(|b| b.kind == BarKind::Io)
            .ok_or(VirtioError::NoLegacyBar)?;
        let base = u16::try_from(bar.base).map_err(|_| VirtioError::NoLegacyBar)?;
        let count = u16::try_from(bar.size).map_err(|_| VirtioError::NoLegacyBar)?;
        let mut transport = LegacyTransport::new(hw.claim_ports(base, count)?);
        transport.begin(0, features)?;
        let size = transport.queue_size(0)?;
        if size == 0 {
            return Err(VirtioError::NoQueue(0));
        }
        let queue = SplitQueue::new(hw, size)?;
        transport.set_queue(0, queue.device_addr())?;
        let routed = match irq {
            Some(handler) => match hw.claim_msix(&function, 0, handler) {
                Ok(()) => {
                    transport.route_queue(0, 0)?;
                    true
                }
                // No interrupts for devices here (a host test double, a
                // function without MSI-X): polling alone.
                Err(HwError::Unavailable | HwError::NoMsiX) => false,
                Err(e) => return Err(e.into()),
            },
            None => false,
        };
        transport.ready()?;
        Ok((
            LegacyDevice {
                transport,
                queue,
                function,
            },
            routed,
        ))
    }

    /// Queues `bufs` as one chain, notifies the device and waits (looking
    /// at the used ring up to `polls` times) for it to come back.
    pub fn round_trip(&mut self, bufs: &[Buf], polls: u32) -> Result<Used, VirtioError> {
        let head = self.queue.add(bufs)?;
        self.transport.notify(0)?;
        for _ in 0..polls {
            match self.queue.pop_used()? {
                Some(used) if used.head == head => return Ok(used),
                // Another chain's (none is in flight here): dropped.
                Some(_) => {}
                None => core::hint::spin_loop(),
            }
        }
        Err(VirtioError::Timeout)
    }
}
