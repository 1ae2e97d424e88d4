//! Module images: a module binary mapped in kernel memory, relocated, with
//! W^X permissions.
//!
//! [`Image::load`] takes a [`Plan`] (from `helix_loader::elf::plan`, which
//! validated the binary) and the binary's bytes, and maps the plan's span
//! in a region of its own: [`SLOT_SIZE`] slots from [`REGION_START`], one
//! per image, never reused within a boot, so no CPU can hold a translation
//! for a slot from an earlier image. The sequence keeps W^X at every step:
//! each page is first mapped writable and non-executable, the span is
//! zero-filled, each segment's file bytes are copied, the relocations are
//! applied (`bias + addend` at `bias + offset`, the bias being the slot
//! address minus the plan's link base), and only then does each page get
//! its final access: code read + execute, read-only data read, data read +
//! write (pages no segment touches stay read-only zeroes). Dropping the
//! image unmaps every page, frees its frames and the slot's page tables.
//!
//! The plan's fields are public, so `load` checks everything a write
//! relies on (span, segments, relocations, entry) before it allocates
//! anything: a plan that does not fit its bytes or its slot is an error
//! with nothing allocated.

use crate::arch::x86_64::paging::{self, Access, MapError};
use core::sync::atomic::{AtomicU64, Ordering};
use helix_loader::elf::{Perms, Plan};

use super::{PAGE_SIZE, frame};

/// First virtual address of the module image region (its own PML4 entry:
/// the heap is at `0xffff_8000_...`, stacks at `0xffff_9000_...`).
pub const REGION_START: u64 = 0xffff_a000_0000_0000;
/// Virtual space per image: the largest span a plan may have
/// (`helix_loader::elf::MAX_SPAN`), and the alignment of each slot.
pub const SLOT_SIZE: u64 = 16 << 20;
const _: () = assert!(SLOT_SIZE >= helix_loader::elf::MAX_SPAN);
/// Images that can be loaded in one boot (slots are not reused): one PML4
/// entry, 512 GiB.
pub const MAX_IMAGES: u64 = (512 << 30) / SLOT_SIZE;

/// The next slot never handed out.
static NEXT_SLOT: AtomicU64 = AtomicU64::new(0);

/// The address of a slot never handed out before: images and module
/// arenas ([`super::arena`]) each take one.
pub(super) fn take_slot() -> Result<u64, ImageError> {
    let slot = NEXT_SLOT
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |s| {
            (s < MAX_IMAGES).then_some(s + 1)
        })
        .map_err(|_| ImageError::OutOfSlots)?;
    Ok(REGION_START + slot * SLOT_SIZE)
}

/// Frees the page tables of the slot at `base`, which maps nothing any
/// more, and the page directories of every gigabyte no slot can be handed
/// out in again (slots are taken in order, so every gigabyte wholly below
/// the next free slot): without this, loading and unloading modules would
/// keep one directory frame per gigabyte of slots ever used.
pub(super) fn release_slot(base: u64) {
    paging::release_tables(base, base + SLOT_SIZE, |f| {
        // SAFETY: `f` was a page table of this slot only, now empty and
        // unlinked, with this CPU's caches flushed; another CPU may cache a
        // directory entry to it only for this slot's addresses, which
        // nothing uses again (slots are not reused).
        let _ = unsafe { frame::free(f) };
    });
    let next = REGION_START + NEXT_SLOT.load(Ordering::Relaxed) * SLOT_SIZE;
    paging::release_directories(REGION_START, next & !((1 << 30) - 1), |f| {
        // SAFETY: an empty directory of a gigabyte wholly below the next
        // free slot: no slot in it is handed out again, so no CPU uses its
        // addresses again (the `release_directories` contract).
        let _ = unsafe { frame::free(f) };
    });
}

/// Why an image could not be loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageError {
    /// The span is 0, not page-aligned, or larger than [`SLOT_SIZE`], or
    /// the link base is not page-aligned.
    BadSpan {
        /// The plan's link base.
        link_base: u64,
        /// The plan's span.
        span: u64,
    },
    /// The plan asks for an alignment over [`SLOT_SIZE`].
    BadAlignment {
        /// The plan's alignment.
        align: u64,
    },
    /// A segment lies outside the span.
    SegmentOutOfSpan {
        /// Index in the plan's segments.
        index: usize,
    },
    /// A segment's file bytes lie outside the bytes given.
    SegmentOutOfFile {
        /// Index in the plan's segments.
        index: usize,
        /// The length of the bytes given.
        len: usize,
    },
    /// A relocation's 8 bytes, or the address it writes, lie outside the span.
    RelocationOutOfSpan {
        /// The relocation's link-time offset.
        offset: u64,
    },
    /// The entry point lies outside the span.
    EntryOutOfSpan {
        /// The plan's entry point.
        entry: u64,
    },
    /// All [`MAX_IMAGES`] slots were used in this boot.
    OutOfSlots,
    /// No free frame for a page or a page table.
    OutOfFrames,
    /// The page tables refused a mapping or a change of access.
    Map(MapError),
}

impl core::fmt::Display for ImageError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            Self::BadSpan { link_base, span } => write!(
                f,
                "image span {span:#x} at {link_base:#x} is empty, unaligned or over {SLOT_SIZE:#x} bytes"
            ),
            Self::BadAlignment { align } => {
                write!(f, "image alignment {align:#x} is over {SLOT_SIZE:#x}")
            }
            Self::SegmentOutOfSpan { index } => {
                write!(f, "image segment {index} lies outside the span")
            }
            Self::SegmentOutOfFile { index, len } => write!(
                f,
                "image segment {index} lies outside the file of {len} bytes"
            ),
            Self::RelocationOutOfSpan { offset } => {
                write!(f, "image relocation at {offset:#x} lies outside the span")
            }
            Self::EntryOutOfSpan { entry } => {
                write!(f, "image entry {entry:#x} lies outside the span")
            }
            Self::OutOfSlots => write!(f, "all {MAX_IMAGES} image slots were used"),
            Self::OutOfFrames => f.write_str("out of physical frames for an image"),
            Self::Map(e) => write!(f, "mapping an image: {e}"),
        }
    }
}

impl core::error::Error for ImageError {}

impl From<MapError> for ImageError {
    fn from(e: MapError) -> Self {
        match e {
            MapError::OutOfFrames => Self::OutOfFrames,
            e => Self::Map(e),
        }
    }
}

/// A module image mapped in its slot; unmapped, its frames and page tables
/// freed, on drop.
///
/// Dropping it while code runs in it, or while anything still uses its
/// addresses, on any CPU, is the caller's error: other CPUs' TLBs are not
/// flushed (the slot is never reused, so stale entries can only serve
/// addresses of the dropped image).
#[derive(Debug)]
pub struct Image {
    base: u64,
    len: u64,
    entry: u64,
    /// Pages mapped so far, from `base` up.
    pages: u64,
}

/// Whether `[start, start + len)` lies inside `[0, span)`.
fn inside(start: u64, len: u64, span: u64) -> bool {
    start.checked_add(len).is_some_and(|end| end <= span)
}

/// Checks everything [`Image::load`] relies on before it allocates.
fn check(plan: &Plan, bytes: &[u8]) -> Result<(), ImageError> {
    let (base, span) = (plan.link_base, plan.span);
    if span == 0
        || span > SLOT_SIZE
        || !span.is_multiple_of(PAGE_SIZE)
        || !base.is_multiple_of(PAGE_SIZE)
    {
        return Err(ImageError::BadSpan {
            link_base: base,
            span,
        });
    }
    if plan.align > SLOT_SIZE {
        return Err(ImageError::BadAlignment { align: plan.align });
    }
    for (index, s) in plan.segments.iter().enumerate() {
        let rel = s.vaddr.checked_sub(base);
        if !rel.is_some_and(|r| inside(r, s.memsz, span) && s.filesz as u64 <= s.memsz) {
            return Err(ImageError::SegmentOutOfSpan { index });
        }
        if !inside(s.file_offset as u64, s.filesz as u64, bytes.len() as u64) {
            return Err(ImageError::SegmentOutOfFile {
                index,
                len: bytes.len(),
            });
        }
    }
    for r in &plan.relocations {
        let target = r
            .offset
            .checked_sub(base)
            .is_some_and(|o| inside(o, 8, span));
        let value = r.addend.checked_sub(base).is_some_and(|a| a <= span);
        if !(target && value) {
            return Err(ImageError::RelocationOutOfSpan { offset: r.offset });
        }
    }
    if plan.entry.checked_sub(base).is_none_or(|e| e >= span) {
        return Err(ImageError::EntryOutOfSpan { entry: plan.entry });
    }
    Ok(())
}

/// The page access for a segment's permissions (x86_64 has no write-only
/// or execute-only page; W^X was checked by the plan, and a segment both
/// writable and executable gets no execute).
fn access(perms: Perms) -> Access {
    if perms.write {
        Access::ReadWrite
    } else if perms.execute {
        Access::ReadExecute
    } else {
        Access::Read
    }
}

impl Image {
    /// Maps, fills, relocates and protects the image `plan` describes,
    /// whose file is `bytes` (see the module docs). On error nothing stays
    /// allocated (the slot, which is never reused, aside).
    pub fn load(plan: &Plan, bytes: &[u8]) -> Result<Self, ImageError> {
        check(plan, bytes)?;
        let base = take_slot()?;
        // Dropped on any error below: unmaps what was mapped.
        let mut image = Self {
            base,
            len: plan.span,
            entry: base + (plan.entry - plan.link_base),
            pages: 0,
        };
        while image.pages * PAGE_SIZE < plan.span {
            let f = frame::alloc().map_err(|_| ImageError::OutOfFrames)?;
            let virt = base + image.pages * PAGE_SIZE;
            // SAFETY: `f` was just allocated for this page alone, and `virt`
            // is in `slot`, which this image took from `NEXT_SLOT` and so
            // owns alone: no slot is handed out twice.
            if let Err(e) = unsafe { paging::map(virt, f, &mut frame::Frames) } {
                // SAFETY: `f` was never mapped or used.
                let _ = unsafe { frame::free(f) };
                return Err(e.into());
            }
            image.pages += 1;
        }

        {
            // SAFETY: `[base, base + span)` was just mapped, writable, to frames
            // this image owns alone, in a slot no one else knows of: this is
            // the only reference to that memory, and it ends before the pages'
            // access changes below. `span <= SLOT_SIZE` fits in `usize`.
            let memory =
                unsafe { core::slice::from_raw_parts_mut(base as *mut u8, plan.span as usize) };
            memory.fill(0);
            let at = |link: u64| (link - plan.link_base) as usize;
            for s in &plan.segments {
                // `check` put both ranges inside `memory` and `bytes`.
                let file = &bytes[s.file_offset..s.file_offset + s.filesz];
                memory[at(s.vaddr)..at(s.vaddr) + s.filesz].copy_from_slice(file);
            }
            let bias = base.wrapping_sub(plan.link_base);
            for r in &plan.relocations {
                let value = bias.wrapping_add(r.addend);
                memory[at(r.offset)..at(r.offset) + 8].copy_from_slice(&value.to_le_bytes());
            }
        }

        for page in 0..image.pages {
            let start = plan.link_base + page * PAGE_SIZE;
            // The plan keeps segments of different permissions off a
            // shared page, so the first segment touching the page decides.
            let perms = plan
                .segments
                .iter()
                .find(|s| s.vaddr < start + PAGE_SIZE && start < s.vaddr + s.memsz)
                .map_or(Access::Read, |s| access(s.perms));
            paging::set_access(base + page * PAGE_SIZE, perms)?;
        }
        Ok(image)
    }

    /// Address of the image's first byte (its link base's load address).
    pub fn base(&self) -> u64 {
        self.base
    }

    /// Load address of the plan's entry point.
    pub fn entry(&self) -> u64 {
        self.entry
    }

    /// Bytes mapped: the plan's span.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the image maps nothing (never true for a loaded image).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Drop for Image {
    fn drop(&mut self) {
        for i in 0..self.pages {
            if let Ok(f) = paging::unmap(self.base + i * PAGE_SIZE) {
                // SAFETY: `f` backed this image's page only (mapped in
                // `load`) and is now unmapped. Whoever drops the image
                // guarantees nothing uses it any more (the type's docs).
                let _ = unsafe { frame::free(f) };
            }
        }
        release_slot(self.base);
    }
}
