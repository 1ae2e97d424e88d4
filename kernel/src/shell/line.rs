//! The console's line editor: bytes in, complete lines and echo out.
//!
//! Printable ASCII is collected and echoed; backspace and delete erase one
//! character; CR, LF or CR LF end a line; every other byte (control codes,
//! binary) is ignored, and so are whole terminal escape sequences (an arrow
//! key sends `ESC [ A`, whose `[A` must not end up in the command). A line longer than [`MAX_LINE`]
//! is discarded whole when it ends, and reported, so nothing typed can grow
//! memory without bound or run a truncated command.

use alloc::string::String;
use alloc::vec::Vec;

/// Longest accepted line, in bytes.
pub const MAX_LINE: usize = 256;

/// What one input byte produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// Nothing visible happened.
    Nothing,
    /// Echo these bytes.
    Echo(&'static [u8]),
    /// Echo this character.
    EchoChar(u8),
    /// A complete line.
    Line(String),
    /// A line was too long and has been dropped.
    Overflow,
}

/// Line-editing state.
#[derive(Debug, Default)]
pub struct LineEditor {
    buf: Vec<u8>,
    overflowed: bool,
    last_was_cr: bool,
    escape: Escape,
}

/// Where we are in a terminal escape sequence.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Escape {
    #[default]
    None,
    /// After ESC.
    Started,
    /// After `ESC [`: parameters until a final byte 0x40..=0x7e.
    Csi,
}

impl LineEditor {
    /// An empty editor.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds one byte.
    pub fn feed(&mut self, byte: u8) -> Input {
        match (self.escape, byte) {
            (Escape::None, 0x1b) => {
                self.escape = Escape::Started;
                return Input::Nothing;
            }
            (Escape::Started, b'[') => {
                self.escape = Escape::Csi;
                return Input::Nothing;
            }
            (Escape::Started, _) | (Escape::Csi, 0x40..=0x7e) => {
                self.escape = Escape::None;
                return Input::Nothing;
            }
            (Escape::Csi, _) => return Input::Nothing,
            (Escape::None, _) => {}
        }
        let after_cr = core::mem::replace(&mut self.last_was_cr, byte == b'\r');
        match byte {
            b'\n' if after_cr => Input::Nothing,
            b'\r' | b'\n' => {
                let overflowed = core::mem::take(&mut self.overflowed);
                let line = core::mem::take(&mut self.buf);
                if overflowed {
                    Input::Overflow
                } else {
                    // Only printable ASCII is ever stored.
                    Input::Line(line.into_iter().map(char::from).collect())
                }
            }
            0x08 | 0x7f => {
                if self.buf.pop().is_some() {
                    Input::Echo(b"\x08 \x08")
                } else {
                    Input::Nothing
                }
            }
            0x20..=0x7e => {
                if self.buf.len() < MAX_LINE {
                    self.buf.push(byte);
                    Input::EchoChar(byte)
                } else {
                    self.overflowed = true;
                    Input::Nothing
                }
            }
            _ => Input::Nothing,
        }
    }
}
