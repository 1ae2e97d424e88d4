//! [`LegacyDevice`]: a bound legacy virtio PCI function with its first
//! queue set up and the driver declared ready, and the request/answer
//! round trip drivers make on it.

use alloc::sync::Arc;
use core::sync::atomic::{AtomicU64, Ordering};
use helix_modules::services::hw::{HardwareAccess, HwError, IrqHandler};
use helix_modules::services::pci::Function;

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
    /// Where queue 0's interrupts reach the driver, if they do:
    /// [`LegacyDevice::transfer`] then sleeps until them instead of
    /// polling.
    pub irq: QueueIrq,
}

/// Where a device's queue interrupts arrive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueueIrq {
    /// Nowhere the driver can wait on: requests poll.
    Polled,
    /// MSI-X entry 0.
    MsiX,
    /// The function's INTx pin (its handler behind [`IsrThen`]).
    Intx,
}

/// How many times [`LegacyDevice::transfer`] looks at the used ring
/// without interrupts before giving up.
pub const POLLS: u32 = 20_000_000;
/// How long [`LegacyDevice::transfer`] waits for the interrupt of one
/// request before giving up.
pub const IRQ_TIMEOUT_MS: u32 = 5_000;

/// An interrupt handler that counts the device's interrupts (it runs in
/// interrupt context: one atomic add); the completion itself is found in
/// the used ring by the thread the interrupt wakes.
#[derive(Debug, Default)]
pub struct IrqCounter(AtomicU64);

impl IrqCounter {
    /// Interrupts handled so far.
    pub fn count(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

impl IrqHandler for IrqCounter {
    fn handle_irq(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

/// The handler a legacy virtio device's INTx pin gets: it reads the ISR
/// register, which lowers the level-triggered line, and passes a queue
/// interrupt on to the driver's handler.
pub struct IsrThen {
    transport: LegacyTransport,
    then: Arc<dyn IrqHandler>,
}

impl IsrThen {
    /// Reads `transport`'s ISR on each interrupt, then calls `then` for a
    /// queue interrupt.
    pub fn new(transport: LegacyTransport, then: Arc<dyn IrqHandler>) -> Self {
        IsrThen { transport, then }
    }
}

impl IrqHandler for IsrThen {
    fn handle_irq(&self) {
        if self.transport.isr().is_ok_and(|isr| isr & 1 != 0) {
            self.then.handle_irq();
        }
    }
}

impl LegacyDevice {
    /// Takes the first function the kernel binds to this driver, claims
    /// its I/O BAR (BAR 0), resets it, negotiates (`features` wanted, none
    /// required), gives it queue 0 and declares the driver ready.
    pub fn open(hw: &HardwareAccess, features: u32) -> Result<Self, VirtioError> {
        Self::open_with_irq(hw, features, None)
    }

    /// As [`LegacyDevice::open`], and when `irq` is given, queue 0's
    /// interrupts go to it: on MSI-X entry 0 where the function has MSI-X,
    /// else on its INTx pin where the kernel can route it (through
    /// [`IsrThen`]); [`LegacyDevice::irq`] says which, and
    /// [`LegacyDevice::transfer`] then sleeps until them. Without either,
    /// the device works the same, polled.
    pub fn open_with_irq(
        hw: &HardwareAccess,
        features: u32,
        irq: Option<Arc<dyn IrqHandler>>,
    ) -> Result<Self, VirtioError> {
        let function = hw
            .pci_devices()
            .into_iter()
            .next()
            .ok_or(VirtioError::NoDevice)?;
        let ports = hw.claim_io_bar(&function, 0).map_err(|e| match e {
            HwError::NoIoBar(_) => VirtioError::NoLegacyBar,
            e => VirtioError::Hw(e),
        })?;
        let mut transport = LegacyTransport::new(ports);
        transport.begin(0, features)?;
        let size = transport.queue_size(0)?;
        if size == 0 {
            return Err(VirtioError::NoQueue(0));
        }
        let queue = SplitQueue::new(hw, size)?;
        transport.set_queue(0, queue.device_addr())?;
        let irq = match irq {
            Some(handler) => match hw.claim_msix(&function, 0, handler.clone()) {
                Ok(()) => {
                    transport.route_queue(0, 0)?;
                    QueueIrq::MsiX
                }
                // A function without MSI-X interrupts on its INTx pin,
                // which the handler gets where the kernel can route it.
                Err(HwError::NoMsiX) => {
                    let isr = IsrThen::new(transport.clone(), handler);
                    match hw.claim_intx(&function, Arc::new(isr)) {
                        Ok(_) => QueueIrq::Intx,
                        Err(HwError::NoIntxRoute(_) | HwError::Unavailable) => QueueIrq::Polled,
                        Err(e) => return Err(e.into()),
                    }
                }
                // No interrupts for devices here (a host test double):
                // polling alone.
                Err(HwError::Unavailable) => QueueIrq::Polled,
                Err(e) => return Err(e.into()),
            },
            None => QueueIrq::Polled,
        };
        transport.ready()?;
        Ok(LegacyDevice {
            transport,
            queue,
            function,
            irq,
        })
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

    /// Queues `bufs` as one chain, notifies the device and waits for it to
    /// come back: asleep until its interrupt where it is routed
    /// ([`LegacyDevice::round_trip_on_irq`], at most [`IRQ_TIMEOUT_MS`]),
    /// else polling ([`LegacyDevice::round_trip`], [`POLLS`] looks).
    pub fn transfer(&mut self, hw: &HardwareAccess, bufs: &[Buf]) -> Result<Used, VirtioError> {
        match self.irq {
            QueueIrq::Polled => self.round_trip(bufs, POLLS),
            QueueIrq::MsiX | QueueIrq::Intx => self.round_trip_on_irq(hw, bufs, IRQ_TIMEOUT_MS),
        }
    }

    /// As [`LegacyDevice::round_trip`], but completed on the device's
    /// interrupt (where [`LegacyDevice::irq`] says it arrives): the
    /// calling thread sleeps until the interrupt instead of polling. The count is taken before the
    /// notify, so an interrupt that comes before the wait is not missed.
    /// [`VirtioError::Timeout`] if `timeout_ms` passes with no interrupt.
    pub fn round_trip_on_irq(
        &mut self,
        hw: &HardwareAccess,
        bufs: &[Buf],
        timeout_ms: u32,
    ) -> Result<Used, VirtioError> {
        let mut seen = self.interrupts(hw)?;
        let head = self.queue.add(bufs)?;
        self.transport.notify(0)?;
        loop {
            match self.queue.pop_used()? {
                Some(used) if used.head == head => return Ok(used),
                // Another chain's (none is in flight here): dropped.
                Some(_) => continue,
                None => {}
            }
            let now = match self.irq {
                QueueIrq::Intx => hw.wait_intx(&self.function, seen, timeout_ms)?,
                _ => hw.wait_msix(&self.function, 0, seen, timeout_ms)?,
            };
            if now == seen {
                return Err(VirtioError::Timeout);
            }
            seen = now;
        }
    }

    /// Queue interrupts delivered so far, where [`LegacyDevice::irq`] says
    /// they arrive (MSI-X entry 0 unless it is the INTx pin).
    fn interrupts(&self, hw: &HardwareAccess) -> Result<u64, HwError> {
        match self.irq {
            QueueIrq::Intx => hw.intx_count(&self.function),
            _ => hw.msix_count(&self.function, 0),
        }
    }
}
