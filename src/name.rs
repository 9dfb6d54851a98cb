//! [`Name`]: an interned string for the values a million records share (split, class, colour
//! type). One allocation per distinct value for the whole process, kept for its lifetime (a
//! dataset has few distinct splits, classes and colour types); a record holds one 8-byte thin
//! pointer instead of a 24-byte `String` plus its own heap copy (README "At a million images":
//! bytes per image).

use std::borrow::Borrow;
use std::collections::HashMap;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;
use std::sync::{Mutex, OnceLock};

/// An interned, immutable string: a pointer to the one process-wide copy of its text.
/// Equal text means the same pointer, so equality is a pointer comparison; hashing and
/// ordering follow the text (so `Borrow<str>` lookups work).
#[derive(Clone)]
pub struct Name(&'static &'static str);

type Table = HashMap<&'static str, &'static &'static str>;

fn table() -> &'static Mutex<Table> {
    static TABLE: OnceLock<Mutex<Table>> = OnceLock::new();
    TABLE.get_or_init(Default::default)
}

impl Name {
    /// The shared copy of `s` (made, and kept for the process's lifetime, on first use).
    pub fn new(s: &str) -> Name {
        let mut t = table().lock().unwrap_or_else(|e| e.into_inner());
        if let Some(a) = t.get(s) {
            return Name(a);
        }
        let text: &'static str = Box::leak(s.to_owned().into_boxed_str());
        let a: &'static &'static str = Box::leak(Box::new(text));
        t.insert(text, a);
        Name(a)
    }

    pub fn as_str(&self) -> &'static str {
        self.0
    }
}

/// A reader's cache of the names it met last, in front of the process-wide table: an index
/// repeats a few splits, classes and colour types run after run, so a parallel reader almost
/// never takes the table's lock (one per reading thread, not shared).
#[derive(Default)]
pub struct NameCache {
    recent: [Option<Name>; 8],
    next: usize,
}

impl NameCache {
    /// The interned `s`, from the cache when it was met lately.
    pub fn get(&mut self, s: &str) -> Name {
        if let Some(n) = self.recent.iter().flatten().find(|n| n.as_str() == s) {
            return n.clone();
        }
        let n = Name::new(s);
        self.recent[self.next] = Some(n.clone());
        self.next = (self.next + 1) % self.recent.len();
        n
    }
}

impl PartialEq for Name {
    fn eq(&self, other: &Name) -> bool {
        std::ptr::eq(self.0, other.0)
    }
}

impl Eq for Name {}

impl Hash for Name {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.0.hash(h)
    }
}

impl PartialOrd for Name {
    fn partial_cmp(&self, other: &Name) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Name {
    fn cmp(&self, other: &Name) -> std::cmp::Ordering {
        self.0.cmp(other.0)
    }
}

/// The empty name, `""` (every record starts from it): interned once, not looked up per use.
impl Default for Name {
    fn default() -> Self {
        static EMPTY: OnceLock<Name> = OnceLock::new();
        EMPTY.get_or_init(|| Name::new("")).clone()
    }
}

impl Deref for Name {
    type Target = str;
    fn deref(&self) -> &str {
        self.0
    }
}

impl AsRef<str> for Name {
    fn as_ref(&self) -> &str {
        self.0
    }
}

impl AsRef<std::path::Path> for Name {
    fn as_ref(&self) -> &std::path::Path {
        std::path::Path::new(self.0)
    }
}

impl Borrow<str> for Name {
    fn borrow(&self) -> &str {
        self.0
    }
}

impl From<&str> for Name {
    fn from(s: &str) -> Self {
        Name::new(s)
    }
}

impl From<String> for Name {
    fn from(s: String) -> Self {
        Name::new(&s)
    }
}

impl From<&String> for Name {
    fn from(s: &String) -> Self {
        Name::new(s)
    }
}

impl From<Name> for String {
    fn from(n: Name) -> Self {
        (*n.0).to_owned()
    }
}

impl PartialEq<str> for Name {
    fn eq(&self, other: &str) -> bool {
        *self.0 == other
    }
}

impl PartialEq<&str> for Name {
    fn eq(&self, other: &&str) -> bool {
        *self.0 == *other
    }
}

impl PartialEq<String> for Name {
    fn eq(&self, other: &String) -> bool {
        *self.0 == other.as_str()
    }
}

impl PartialEq<Name> for String {
    fn eq(&self, other: &Name) -> bool {
        *self == *other.0
    }
}

impl PartialEq<Name> for &str {
    fn eq(&self, other: &Name) -> bool {
        *self == *other.0
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(*self.0, f)
    }
}

impl serde::Serialize for Name {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interned_and_compared_as_text() {
        let a = Name::new("train");
        let b = Name::from(String::from("train"));
        assert!(std::ptr::eq(a.0, b.0));
        assert_ne!(a, Name::new("test"));
        assert_eq!(a, "train");
        assert_eq!(a, *"train");
        assert!(Name::new("a") < Name::new("b"));
        assert_eq!(a.to_string(), "train");
        assert_eq!(format!("{a:?}"), "\"train\"");
        assert_eq!(std::mem::size_of::<Name>(), 8);
        let mut set = std::collections::HashSet::new();
        set.insert(Name::new("val"));
        assert!(set.contains("val"));
    }

    #[test]
    fn the_cache_gives_the_interned_name() {
        let mut cache = NameCache::default();
        for i in 0..20 {
            let s = format!("class_{}", i % 11);
            let n = cache.get(&s);
            assert!(std::ptr::eq(n.0, Name::new(&s).0));
        }
    }
}
