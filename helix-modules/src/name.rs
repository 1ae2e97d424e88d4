//! [`ModuleName`], the one shared copy of a registered module's name.
//!
//! The registry names a module in its slot, in the symbol index that
//! dependency resolution and IPC by name read, in every context it builds,
//! in the audit ring and in start reports. Each of those used to hold a
//! `String` of its own, so starting a module allocated and freed the name
//! half a dozen times. A `ModuleName` is either the module's own `'static`
//! name (every v2 module has one: copies are free) or a reference-counted
//! copy allocated once at registration (a v1 module's `String`): every
//! later copy is a counter increment.

use alloc::string::String;
use alloc::sync::Arc;
use core::borrow::Borrow;
use core::fmt;
use core::ops::Deref;

/// A registered module's name, cheap to clone; reads as a `&str`.
///
/// ```
/// use helix_modules::ModuleName;
/// let name = ModuleName::from("e1000");
/// let copy = name.clone();
/// assert_eq!(copy, "e1000");
/// assert_eq!(copy.len(), 5);
/// assert_eq!(format!("{name}"), "e1000");
/// ```
#[derive(Clone)]
pub struct ModuleName(Repr);

#[derive(Clone)]
enum Repr {
    Static(&'static str),
    Shared(Arc<str>),
}

impl ModuleName {
    /// A name that is already `'static`: nothing is allocated or counted.
    pub const fn from_static(name: &'static str) -> Self {
        ModuleName(Repr::Static(name))
    }

    /// The name as a string slice.
    pub fn as_str(&self) -> &str {
        match &self.0 {
            Repr::Static(name) => name,
            Repr::Shared(name) => name,
        }
    }
}

// Names compare, hash and order as their text, whichever way they are held
// (the symbol index looks `&str`s up among them).
impl PartialEq for ModuleName {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for ModuleName {}

impl core::hash::Hash for ModuleName {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl PartialOrd for ModuleName {
    fn partial_cmp(&self, other: &Self) -> Option<core::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ModuleName {
    fn cmp(&self, other: &Self) -> core::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl Deref for ModuleName {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl Borrow<str> for ModuleName {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for ModuleName {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl From<&str> for ModuleName {
    fn from(name: &str) -> Self {
        ModuleName(Repr::Shared(Arc::from(name)))
    }
}

impl From<String> for ModuleName {
    fn from(name: String) -> Self {
        ModuleName(Repr::Shared(Arc::from(name)))
    }
}

impl From<&String> for ModuleName {
    fn from(name: &String) -> Self {
        ModuleName::from(name.as_str())
    }
}

impl From<&ModuleName> for ModuleName {
    fn from(name: &ModuleName) -> Self {
        name.clone()
    }
}

impl From<&ModuleName> for String {
    fn from(name: &ModuleName) -> Self {
        String::from(name.as_str())
    }
}

impl fmt::Display for ModuleName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for ModuleName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl PartialEq<str> for ModuleName {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for ModuleName {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for ModuleName {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<ModuleName> for str {
    fn eq(&self, other: &ModuleName) -> bool {
        self == other.as_str()
    }
}

impl PartialEq<ModuleName> for &str {
    fn eq(&self, other: &ModuleName) -> bool {
        *self == other.as_str()
    }
}

impl PartialEq<ModuleName> for String {
    fn eq(&self, other: &ModuleName) -> bool {
        *self == other.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::ModuleName;
    use alloc::string::String;

    #[test]
    fn static_and_shared_names_are_the_same_name() {
        let held = ModuleName::from_static("e1000");
        let copied = ModuleName::from(String::from("e1000"));
        assert_eq!(held, copied);
        assert_eq!(held.cmp(&copied), core::cmp::Ordering::Equal);
        let (a, b) = (
            ModuleName::from_static("a"),
            ModuleName::from(String::from("b")),
        );
        assert!(a < b);
        // A map keyed by names finds either kind by its text.
        let mut map = hashbrown::HashMap::with_hasher(foldhash::fast::FixedState::default());
        map.insert(held, 1);
        assert_eq!(map.get("e1000"), Some(&1));
        assert_eq!(map.get(&copied), Some(&1));
        assert_eq!(copied, "e1000");
        assert_eq!(String::from("e1000"), copied);
        assert_eq!(alloc::format!("{copied:?}"), "\"e1000\"");
    }
}
