//! ELF64 validation of module binaries (placeholder: being written).
