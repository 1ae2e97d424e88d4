//! Architecture-specific code. Helix runs on x86_64 only; everything that
//! touches CPU registers, descriptor tables, port I/O or the APIC lives in
//! [`x86_64`], and the rest of the kernel calls it through this module.

pub mod x86_64;
