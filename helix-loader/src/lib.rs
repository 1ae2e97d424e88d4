//! What the kernel reads from outside its own image, checked before it is
//! trusted: the initrd's cpio (newc) archive ([`cpio`]), the `fs`
//! capability's request and answer encoding ([`fs_proto`]) and, for
//! loadable modules, the ELF binaries in it ([`elf`]) and the signature
//! trailer they carry ([`sig`]). Everything here is `no_std`,
//! free of `unsafe`, works on byte slices, and turns every malformed input
//! into a typed error; it is tested on the host, with malformed and
//! randomly mutated inputs.
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

extern crate alloc;

pub mod cpio;
pub mod elf;
pub mod fs_proto;
pub mod sample;
pub mod sig;
