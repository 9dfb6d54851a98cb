//! File-name shapes: a stem cut into tokens at separators, names of one shape grouped into a
//! family, and a rule's key of a family written as a regex branch.

use std::collections::BTreeMap;

use super::Rule;

/// Characters that separate the tokens of a stem.
pub const SEPARATORS: [char; 4] = ['_', '-', '.', ' '];

/// What a token holds, as the shape records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Class {
    /// ASCII digits only.
    Digits,
    /// Letters only.
    Letters,
    /// Anything else (letters and digits, hex, punctuation).
    Mixed,
}

impl Class {
    fn of(token: &str) -> Class {
        if token.bytes().all(|b| b.is_ascii_digit()) {
            Class::Digits
        } else if token.chars().all(char::is_alphabetic) {
            Class::Letters
        } else {
            Class::Mixed
        }
    }
}

/// The stem of a file name: the name without its last extension (a leading dot is no
/// extension).
pub fn stem(name: &str) -> &str {
    match name.rfind('.') {
        Some(i) if i > 0 => &name[..i],
        _ => name,
    }
}

/// A stem cut into tokens: `lead` (separators before the first token), then tokens, each
/// with the separator run that follows it (empty after the last).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tokens<'a> {
    pub lead: &'a str,
    pub tokens: Vec<(&'a str, &'a str)>,
}

pub fn tokens(stem: &str) -> Tokens<'_> {
    let is_sep = |c: char| SEPARATORS.contains(&c);
    let body_start = stem.find(|c| !is_sep(c)).unwrap_or(stem.len());
    let lead = &stem[..body_start];
    let mut out = Vec::new();
    let mut rest = &stem[body_start..];
    while !rest.is_empty() {
        let tok_end = rest.find(is_sep).unwrap_or(rest.len());
        let after = &rest[tok_end..];
        let sep_end = after.find(|c| !is_sep(c)).unwrap_or(after.len());
        out.push((&rest[..tok_end], &after[..sep_end]));
        rest = &after[sep_end..];
    }
    Tokens { lead, tokens: out }
}

/// The shape of a stem: its lead, token classes and separators. Names of one shape form a
/// family, whose key a rule reads at one token position.
pub fn shape_of(t: &Tokens) -> (String, Vec<Class>) {
    let mut s = String::from(t.lead);
    let mut classes = Vec::with_capacity(t.tokens.len());
    for (tok, sep) in &t.tokens {
        let c = Class::of(tok);
        s.push(match c {
            Class::Digits => 'D',
            Class::Letters => 'A',
            Class::Mixed => 'W',
        });
        s.push_str(sep);
        classes.push(c);
    }
    (s, classes)
}

/// What a family's names hold at one token position.
#[derive(Debug, Clone)]
struct Position {
    first: String,
    constant: bool,
    /// Every value's length (in chars), when they are all equal.
    len: Option<usize>,
    /// The letters before the digits, when every value is letters then digits (`person12`)
    /// with the same letters.
    letters_then_digits: Option<String>,
    /// Every value holds a digit.
    all_have_digit: bool,
}

impl Position {
    fn new(v: &str) -> Position {
        Position {
            first: v.to_owned(),
            constant: true,
            len: Some(v.chars().count()),
            letters_then_digits: letters_then_digits(v).map(str::to_owned),
            all_have_digit: v.bytes().any(|b| b.is_ascii_digit()),
        }
    }

    fn add(&mut self, v: &str) {
        self.constant &= v == self.first;
        if self.len != Some(v.chars().count()) {
            self.len = None;
        }
        if self.letters_then_digits.as_deref() != letters_then_digits(v) {
            self.letters_then_digits = None;
        }
        self.all_have_digit &= v.bytes().any(|b| b.is_ascii_digit());
    }
}

/// The letters of `person12` (letters then at least one ASCII digit), or `None`.
fn letters_then_digits(v: &str) -> Option<&str> {
    let cut = v.find(|c: char| c.is_ascii_digit())?;
    let (letters, digits) = v.split_at(cut);
    (!letters.is_empty()
        && letters.chars().all(char::is_alphabetic)
        && digits.bytes().all(|b| b.is_ascii_digit()))
    .then_some(letters)
}

/// The names of one shape.
#[derive(Debug, Clone)]
pub struct Family {
    pub files: usize,
    lead: String,
    seps: Vec<String>,
    classes: Vec<Class>,
    positions: Vec<Position>,
}

impl Family {
    fn new(t: &Tokens, classes: Vec<Class>) -> Family {
        Family {
            files: 1,
            lead: t.lead.to_owned(),
            seps: t.tokens.iter().map(|(_, s)| (*s).to_owned()).collect(),
            classes,
            positions: t.tokens.iter().map(|(v, _)| Position::new(v)).collect(),
        }
    }

    fn add(&mut self, t: &Tokens) {
        self.files += 1;
        for (p, (v, _)) in self.positions.iter_mut().zip(&t.tokens) {
            p.add(v);
        }
    }

    /// A token is constant when at least two names share it; one name's tokens all vary.
    fn constant(&self, i: usize) -> bool {
        self.files >= 2 && self.positions[i].constant
    }

    /// The last token position of the key `rule` reads in this family, if any. Every rule
    /// leaves at least one token after the key: a whole stem is a file, not a subject.
    pub fn key_end(&self, rule: Rule) -> Option<usize> {
        let n = self.positions.len();
        if n < 2 {
            return None;
        }
        match rule {
            // The first varying token that holds a digit: a number, `person12`, `S010`.
            Rule::IdToken => (0..n - 1).find(|&i| {
                !self.constant(i)
                    && (self.classes[i] == Class::Digits
                        || (self.classes[i] == Class::Mixed && self.positions[i].all_have_digit))
            }),
            // Everything before a trailing counter.
            Rule::StemWithoutCounter => (self.classes[n - 1] == Class::Digits).then_some(n - 2),
            Rule::FirstToken => Some(0),
        }
    }

    /// The regex branch matching the key of this family's names under `rule`: the tokens up
    /// to the key's end, constant ones literal, varying ones by their class.
    pub fn branch(&self, rule: Rule) -> Option<String> {
        let end = self.key_end(rule)?;
        let mut b = escape(&self.lead);
        for i in 0..=end {
            let p = &self.positions[i];
            if self.constant(i) {
                b.push_str(&escape(&p.first));
            } else {
                match (self.classes[i], p.len, &p.letters_then_digits) {
                    (Class::Digits, Some(n), _) if self.files >= 2 => {
                        b.push_str(&format!("[0-9]{{{n}}}"))
                    }
                    (Class::Digits, _, _) => b.push_str("[0-9]+"),
                    (Class::Letters, _, _) => b.push_str(r"\p{L}+"),
                    (Class::Mixed, _, Some(letters)) => {
                        b.push_str(&escape(letters));
                        b.push_str("[0-9]+");
                    }
                    (Class::Mixed, _, None) => b.push_str("[^-_. ]+"),
                }
            }
            if i < end {
                b.push_str(&escape(&self.seps[i]));
            }
        }
        Some(b)
    }
}

/// The families of `names`, by shape.
pub fn families<'a>(names: impl Iterator<Item = &'a str>) -> BTreeMap<String, Family> {
    let mut out: BTreeMap<String, Family> = BTreeMap::new();
    for name in names {
        let t = tokens(stem(name));
        let (shape, classes) = shape_of(&t);
        match out.get_mut(&shape) {
            Some(f) => f.add(&t),
            None => {
                out.insert(shape, Family::new(&t, classes));
            }
        }
    }
    out
}

/// At most this many families make branches (the largest); the names of the rest get no key.
pub const MAX_BRANCHES: usize = 64;

/// The regex of `rule` over `families`: one branch per family (the largest
/// [`MAX_BRANCHES`]), anchored at the start, the key its first capture group and followed by
/// a separator and more of the stem (so a key always ends where a token ends, and is never a
/// whole stem: `0.jpg` has no key). Branches with more tokens and more
/// literal text come first, so a shorter branch never takes a longer family's name. `None`
/// when no family has such a key.
pub fn pattern(families: &BTreeMap<String, Family>, rule: Rule) -> Option<String> {
    let mut fams: Vec<&Family> = families.values().collect();
    fams.sort_by_key(|f| std::cmp::Reverse(f.files));
    let mut branches: Vec<(usize, usize, String)> = fams
        .iter()
        .take(MAX_BRANCHES)
        .filter_map(|f| Some((f.key_end(rule)?, f.branch(rule)?)))
        .map(|(end, b)| (end, literal_len(&b), b))
        .collect();
    branches.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.cmp(&a.1)).then(a.2.cmp(&b.2)));
    branches.dedup_by(|a, b| a.2 == b.2);
    match branches.len() {
        0 => None,
        _ => Some(format!(
            "^({})[-_. ].*\\.",
            branches
                .iter()
                .map(|(_, _, b)| b.as_str())
                .collect::<Vec<_>>()
                .join("|")
        )),
    }
}

/// `s` as a regex literal; unlike `regex::escape`, `-` (literal outside a class) is kept.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "\\.+*?()|[]{}^$#&~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Roughly how much literal text a branch holds (letters and digits outside classes).
fn literal_len(branch: &str) -> usize {
    let mut n = 0;
    let mut depth = 0;
    let mut chars = branch.chars();
    while let Some(c) = chars.next() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            '{' => depth += 1,
            '}' => depth -= 1,
            '\\' => {
                // `\p{L}` is a class; an escaped literal counts.
                if chars.next() == Some('p') {
                    chars.next();
                    chars.next();
                    chars.next();
                } else if depth == 0 {
                    n += 1;
                }
            }
            c if depth == 0 && c.is_alphanumeric() => n += 1,
            _ => {}
        }
    }
    n
}
