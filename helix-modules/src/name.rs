//! [`ModuleName`], the one shared copy of a registered module's name.
//!
//! The registry names a module in its slot, in the symbol index that
//! dependency resolution and IPC by name read, in every context it builds,
//! in the audit ring and in start reports. Each of those used to hold a
//! `String` of its own, so starting a module allocated and freed the name
//! half a dozen times. A `ModuleName` is reference-counted: it is allocated
//! once at registration and every later copy is a counter increment.

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
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ModuleName(Arc<str>);

impl ModuleName {
    /// The name as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Deref for ModuleName {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for ModuleName {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for ModuleName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl From<&str> for ModuleName {
    fn from(name: &str) -> Self {
        ModuleName(Arc::from(name))
    }
}

impl From<String> for ModuleName {
    fn from(name: String) -> Self {
        ModuleName(Arc::from(name))
    }
}

impl From<&String> for ModuleName {
    fn from(name: &String) -> Self {
        ModuleName(Arc::from(name.as_str()))
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
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ModuleName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl PartialEq<str> for ModuleName {
    fn eq(&self, other: &str) -> bool {
        *self.0 == *other
    }
}

impl PartialEq<&str> for ModuleName {
    fn eq(&self, other: &&str) -> bool {
        *self.0 == **other
    }
}

impl PartialEq<String> for ModuleName {
    fn eq(&self, other: &String) -> bool {
        *self.0 == **other
    }
}

impl PartialEq<ModuleName> for str {
    fn eq(&self, other: &ModuleName) -> bool {
        *self == *other.0
    }
}

impl PartialEq<ModuleName> for &str {
    fn eq(&self, other: &ModuleName) -> bool {
        **self == *other.0
    }
}

impl PartialEq<ModuleName> for String {
    fn eq(&self, other: &ModuleName) -> bool {
        **self == *other.0
    }
}
