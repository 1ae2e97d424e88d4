//! Helix module framework (placeholder root; filled in by the framework issue).
#![no_std]
#![forbid(unsafe_code)]
