//! [`Name`]: an interned string for the values a million records share (split, class, colour
//! type). One allocation per distinct value for the whole process, kept for its lifetime (a
//! dataset has few distinct splits, classes and colour types); a record holds a 4-byte id
//! instead of a 24-byte `String` plus its own heap copy (docs/BENCHMARKS.md "At a million
//! images": bytes per image).

use std::borrow::Borrow;
use std::collections::HashMap;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;
use std::sync::{Mutex, OnceLock};

/// An interned, immutable string: the id of the one process-wide copy of its text. Equal
/// text means the same id, so equality is an integer comparison; hashing and ordering follow
/// the text (so `Borrow<str>` lookups work).
#[derive(Clone, PartialEq, Eq)]
pub struct Name(u32);

/// Entries in the first segment of the id table; segment `k` holds `FIRST << k`.
const FIRST: usize = 64;
/// Segments enough for every `u32` id.
const SEGMENTS: usize = 27;

/// The id table, read without a lock: segments that, once made, never move, each slot set
/// once (under the interning lock) before its id is handed out.
static TEXTS: [OnceLock<Box<[OnceLock<&'static str>]>>; SEGMENTS] =
    [const { OnceLock::new() }; SEGMENTS];

/// Segment and slot of `id`.
fn slot(id: u32) -> (usize, usize) {
    let x = id as usize / FIRST + 1;
    let seg = x.ilog2() as usize;
    (seg, id as usize - FIRST * ((1 << seg) - 1))
}

/// Text to id, for interning; `""` is id 0, made with the table.
fn table() -> &'static Mutex<HashMap<&'static str, u32>> {
    static TABLE: OnceLock<Mutex<HashMap<&'static str, u32>>> = OnceLock::new();
    TABLE.get_or_init(|| {
        publish(0, "");
        Mutex::new(HashMap::from([("", 0)]))
    })
}

/// Stores `text` as `id`'s (once; under the interning lock, or before the table exists).
fn publish(id: u32, text: &'static str) {
    let (seg, at) = slot(id);
    let segment = TEXTS[seg].get_or_init(|| (0..FIRST << seg).map(|_| OnceLock::new()).collect());
    let _ = segment[at].set(text);
}

impl Name {
    /// The shared copy of `s` (made, and kept for the process's lifetime, on first use).
    pub fn new(s: &str) -> Name {
        let mut t = table().lock().unwrap_or_else(|e| e.into_inner());
        if let Some(&id) = t.get(s) {
            return Name(id);
        }
        let id = u32::try_from(t.len()).expect("fewer than 2^32 distinct names");
        let text: &'static str = Box::leak(s.to_owned().into_boxed_str());
        publish(id, text);
        t.insert(text, id);
        Name(id)
    }

    pub fn as_str(&self) -> &'static str {
        let (seg, at) = slot(self.0);
        // Set before the id existed (see `publish`): a `Name` is only made from the table.
        TEXTS[seg]
            .get()
            .and_then(|s| s[at].get())
            .copied()
            .unwrap_or_default()
    }
}

/// A reader's cache of the names it met last, in front of the process-wide table: an index
/// repeats a few splits, classes and colour types run after run, so a parallel reader almost
/// never takes the table's lock (one per reading thread, not shared).
#[derive(Default)]
pub struct NameCache {
    recent: [Option<(&'static str, Name)>; 8],
    next: usize,
}

impl NameCache {
    /// The interned `s`, from the cache when it was met lately.
    pub fn get(&mut self, s: &str) -> Name {
        if let Some((_, n)) = self.recent.iter().flatten().find(|(t, _)| *t == s) {
            return n.clone();
        }
        let n = Name::new(s);
        self.recent[self.next] = Some((n.as_str(), n.clone()));
        self.next = (self.next + 1) % self.recent.len();
        n
    }
}

impl Hash for Name {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.as_str().hash(h)
    }
}

impl PartialOrd for Name {
    fn partial_cmp(&self, other: &Name) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Name {
    fn cmp(&self, other: &Name) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

/// The empty name, `""` (every record starts from it): id 0, not looked up per use.
impl Default for Name {
    fn default() -> Self {
        table();
        Name(0)
    }
}

impl Deref for Name {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Name {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<std::path::Path> for Name {
    fn as_ref(&self) -> &std::path::Path {
        std::path::Path::new(self.as_str())
    }
}

impl Borrow<str> for Name {
    fn borrow(&self) -> &str {
        self.as_str()
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
        n.as_str().to_owned()
    }
}

impl PartialEq<str> for Name {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Name {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for Name {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other.as_str()
    }
}

impl PartialEq<Name> for String {
    fn eq(&self, other: &Name) -> bool {
        *self == other.as_str()
    }
}

impl PartialEq<Name> for &str {
    fn eq(&self, other: &Name) -> bool {
        *self == other.as_str()
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl serde::Serialize for Name {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interned_and_compared_as_text() {
        let a = Name::new("train");
        let b = Name::from(String::from("train"));
        assert_eq!(a.0, b.0);
        assert_ne!(a, Name::new("test"));
        assert_eq!(a, "train");
        assert_eq!(a, *"train");
        assert!(Name::new("a") < Name::new("b"));
        assert_eq!(a.to_string(), "train");
        assert_eq!(format!("{a:?}"), "\"train\"");
        assert_eq!(std::mem::size_of::<Name>(), 4);
        let mut set = std::collections::HashSet::new();
        set.insert(Name::new("val"));
        assert!(set.contains("val"));
    }

    #[test]
    fn ids_past_the_first_segments_read_back() {
        assert_eq!(slot(0), (0, 0));
        assert_eq!(slot(63), (0, 63));
        assert_eq!(slot(64), (1, 0));
        assert_eq!(slot(191), (1, 127));
        assert_eq!(slot(192), (2, 0));
        assert_eq!(slot(u32::MAX).0, SEGMENTS - 1);
        let names: Vec<(Name, String)> = (0..1000)
            .map(|i| format!("segment-test-{i}"))
            .map(|s| (Name::new(&s), s))
            .collect();
        for (n, s) in &names {
            assert_eq!(n.as_str(), s);
        }
        assert_eq!(Name::default().as_str(), "");
        assert_eq!(Name::new(""), Name::default());
    }

    #[test]
    fn the_cache_gives_the_interned_name() {
        let mut cache = NameCache::default();
        for i in 0..20 {
            let s = format!("class_{}", i % 11);
            let n = cache.get(&s);
            assert_eq!(n.0, Name::new(&s).0);
        }
    }
}
