//! The cpio "newc" archive format (placeholder: being written).
