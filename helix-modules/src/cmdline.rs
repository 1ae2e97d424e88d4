//! The kernel command line as modules see it: `module.key=value` tokens
//! (double quotes group a value with spaces) picked out of everything the
//! kernel itself reads, for the registry to apply at `init`.

use alloc::string::{String, ToString};
use alloc::vec::Vec;

/// One `module.key=value` setting from the command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CmdlineParam {
    pub(crate) module: String,
    pub(crate) key: String,
    pub(crate) value: String,
}

/// Extracts module parameters from a kernel command line.
///
/// Tokens are separated by whitespace; double quotes group a value with
/// spaces (`m.motd="hello world"`). A token is a module parameter when it
/// has the form `module.key=value` with a non-empty module and key; the
/// module name ends at the first `.`. Other tokens (`quiet`, `log=debug`)
/// belong to the kernel and are skipped. Later settings of the same key win.
///
/// ```
/// use helix_modules::parse_cmdline;
/// let p = parse_cmdline(r#"quiet log=debug round_robin.time_slice_ms=5 m.motd="hi there""#);
/// assert_eq!(p, [
///     ("round_robin".to_string(), "time_slice_ms".to_string(), "5".to_string()),
///     ("m".to_string(), "motd".to_string(), "hi there".to_string()),
/// ]);
/// ```
pub fn parse_cmdline(cmdline: &str) -> Vec<(String, String, String)> {
    parse_params(cmdline)
        .into_iter()
        .map(|p| (p.module, p.key, p.value))
        .collect()
}

pub(crate) fn parse_params(cmdline: &str) -> Vec<CmdlineParam> {
    let mut out = Vec::new();
    for token in tokens(cmdline) {
        let Some((lhs, value)) = token.split_once('=') else {
            continue;
        };
        let Some((module, key)) = lhs.split_once('.') else {
            continue;
        };
        if module.is_empty() || key.is_empty() {
            continue;
        }
        out.push(CmdlineParam {
            module: module.to_string(),
            key: key.to_string(),
            value: value.to_string(),
        });
    }
    out
}

/// Splits on whitespace outside double quotes and drops the quotes.
fn tokens(cmdline: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut started = false;
    for c in cmdline.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                started = true;
            }
            c if c.is_whitespace() && !quoted => {
                if started {
                    out.push(core::mem::take(&mut cur));
                    started = false;
                }
            }
            c => {
                cur.push(c);
                started = true;
            }
        }
    }
    if started {
        out.push(cur);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_handle_quotes_and_runs_of_spaces() {
        assert_eq!(tokens("  a   b=\"c d\"  \"\" "), ["a", "b=c d", ""]);
    }

    #[test]
    fn non_module_tokens_are_skipped() {
        assert!(parse_params("quiet log=debug .x=1 m.=2 nodot").is_empty());
    }
}
