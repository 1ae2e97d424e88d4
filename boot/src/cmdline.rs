//! The kernel command line: whitespace-separated `key=value` pairs and bare
//! flags, as QEMU's `-append` passes them.
//!
//! Values may be double-quoted to hold spaces (`name="a b"`). Parsing never
//! fails: a malformed token (an unterminated quote) is reported by
//! [`Cmdline::errors`] so the kernel can log it, and the rest still counts.
//! Module parameters (`round_robin.time_slice_ms=5`) are ordinary pairs
//! whose key contains a dot; the module framework reads them from here.

/// A parsed view over a command-line string. Borrowing, allocation-free.
#[derive(Debug, Clone, Copy)]
pub struct Cmdline<'a> {
    text: &'a str,
}

/// One token of the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Param<'a> {
    /// `key=value`, quotes removed from the value.
    Pair(&'a str, &'a str),
    /// A bare word such as `quiet`.
    Flag(&'a str),
    /// A token that could not be parsed, e.g. `key="unterminated`.
    Malformed(&'a str),
}

impl<'a> Cmdline<'a> {
    /// Wraps `text` without copying it.
    pub const fn new(text: &'a str) -> Self {
        Self { text }
    }

    /// The original text.
    pub fn as_str(&self) -> &'a str {
        self.text
    }

    /// Every token in order.
    pub fn params(&self) -> Params<'a> {
        Params { rest: self.text }
    }

    /// The value of the last `key=value` for `key` (later ones override
    /// earlier ones, as on Linux).
    pub fn get(&self, key: &str) -> Option<&'a str> {
        self.params()
            .filter_map(|p| match p {
                Param::Pair(k, v) if k == key => Some(v),
                _ => None,
            })
            .last()
    }

    /// Whether the bare flag `name` is present.
    pub fn flag(&self, name: &str) -> bool {
        self.params().any(|p| p == Param::Flag(name))
    }

    /// The malformed tokens, for reporting.
    pub fn errors(&self) -> impl Iterator<Item = &'a str> + 'a {
        self.params().filter_map(|p| match p {
            Param::Malformed(t) => Some(t),
            _ => None,
        })
    }
}

/// Iterator over the tokens of a [`Cmdline`].
#[derive(Debug, Clone)]
pub struct Params<'a> {
    rest: &'a str,
}

impl<'a> Iterator for Params<'a> {
    type Item = Param<'a>;

    fn next(&mut self) -> Option<Param<'a>> {
        let text = self.rest.trim_start();
        if text.is_empty() {
            self.rest = text;
            return None;
        }
        let key_end = text
            .find(|c: char| c == '=' || c.is_whitespace())
            .unwrap_or(text.len());
        if !text[key_end..].starts_with('=') {
            self.rest = &text[key_end..];
            return Some(Param::Flag(&text[..key_end]));
        }
        let key = &text[..key_end];
        let after = &text[key_end + 1..];
        if let Some(quoted) = after.strip_prefix('"') {
            match quoted.find('"') {
                Some(close) => {
                    self.rest = &quoted[close + 1..];
                    Some(Param::Pair(key, &quoted[..close]))
                }
                None => {
                    self.rest = "";
                    Some(Param::Malformed(text))
                }
            }
        } else {
            let end = after.find(char::is_whitespace).unwrap_or(after.len());
            self.rest = &after[end..];
            Some(Param::Pair(key, &after[..end]))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_flags_and_overrides() {
        let c = Cmdline::new("  log=debug quiet round_robin.time_slice_ms=5 log=info ");
        assert_eq!(c.get("log"), Some("info"));
        assert_eq!(c.get("round_robin.time_slice_ms"), Some("5"));
        assert!(c.flag("quiet"));
        assert!(!c.flag("log"));
        assert_eq!(c.get("missing"), None);
        assert_eq!(c.params().count(), 4);
    }

    #[test]
    fn quoted_values_keep_spaces() {
        let c = Cmdline::new(r#"motd="hello world" x=1"#);
        assert_eq!(c.get("motd"), Some("hello world"));
        assert_eq!(c.get("x"), Some("1"));
    }

    #[test]
    fn unterminated_quote_is_reported_not_fatal() {
        let c = Cmdline::new(r#"a=1 motd="oops"#);
        assert_eq!(c.get("a"), Some("1"));
        assert_eq!(
            c.errors().collect::<heapless::Vec<_, 4>>().as_slice(),
            &[r#"motd="oops"#]
        );
    }

    #[test]
    fn a_line_of_max_cmdline_bytes_is_read_to_its_last_token() {
        extern crate std;
        let mut text = std::string::String::new();
        let mut n = 0;
        while text.len() < crate::MAX_CMDLINE - 40 {
            text.push_str(&std::format!("x{n}.y=z "));
            n += 1;
        }
        text.push_str("round_robin.time_slice_ms=5");
        let c = Cmdline::new(&text);
        assert_eq!(c.get("round_robin.time_slice_ms"), Some("5"));
        assert_eq!(c.get("x0.y"), Some("z"));
        assert_eq!(c.params().count(), n + 1);
        assert_eq!(c.errors().count(), 0);
    }

    #[test]
    fn empty_value_and_empty_line() {
        assert_eq!(Cmdline::new("k=").get("k"), Some(""));
        assert_eq!(Cmdline::new("   ").params().count(), 0);
        assert_eq!(Cmdline::new("").params().next(), None);
    }
}
