//! The library's layer rule, checked from the source: every top-level module has a layer in
//! [`LAYERS`] and uses only modules of its own layer or below (`base` nothing else at all),
//! the top-level modules import each other without cycles, and the files of one module do too.
//!
//! Reads every `src/**/*.rs` of the library (not `src/cli`, `src/main.rs`: the binary) and
//! collects `crate::a::b` paths (and `super::x` paths between sibling files), comments removed.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// The layers, bottom first, and their top-level modules (ARCHITECTURE.md "Layers"). A new
/// top-level module gets a row here, or `every_module_has_a_layer` fails.
const LAYERS: &[(&str, &[&str])] = &[
    ("base", &["base"]),
    ("files", &["layout", "output"]),
    ("index", &["index"]),
    ("loader", &["loader"]),
    ("scan", &["scan"]),
    ("near", &["near"]),
    (
        "analysis",
        &[
            "leaks",
            "balance",
            "shortcuts",
            "subjects",
            "split",
            "merge",
        ],
    ),
    ("audit", &["audit"]),
    ("report", &["report"]),
    ("binding", &["python"]),
];

/// The layer (position in [`LAYERS`]) of top-level module `m`.
fn layer_of(m: &str) -> Option<usize> {
    LAYERS.iter().position(|(_, ms)| ms.contains(&m))
}

/// A module as its path below `src`, e.g. `["scan", "hash"]`; `mod.rs` is its folder's module.
type Module = Vec<String>;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

fn module_of(src: &Path, file: &Path) -> Module {
    let rel = file.strip_prefix(src).unwrap();
    let mut parts: Vec<String> = rel
        .iter()
        .map(|c| c.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().unwrap();
    if last != "mod.rs" && last != "lib.rs" {
        parts.push(last.trim_end_matches(".rs").to_owned());
    }
    parts
}

/// The identifiers after each occurrence of `prefix` (`crate::` or `super::`), up to the
/// first that is not a module name (a type, a function, a brace).
fn paths_after<'a>(code: &'a str, prefix: &str) -> Vec<Vec<&'a str>> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find(prefix) {
        let before = rest[..i].chars().last();
        rest = &rest[i + prefix.len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let mut segs = Vec::new();
        let mut s = rest;
        loop {
            let end = s
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(s.len());
            let ident = &s[..end];
            if ident.is_empty() {
                break;
            }
            segs.push(ident);
            if s[end..].starts_with("::") {
                s = &s[end + 2..];
            } else {
                break;
            }
        }
        out.push(segs);
    }
    out
}

fn strip_comments(text: &str) -> String {
    text.lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Module-level import graph of the library: file module -> modules it names.
fn graph() -> (BTreeSet<Module>, BTreeMap<Module, BTreeSet<Module>>) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut modules = BTreeSet::new();
    let mut texts = Vec::new();
    for f in files {
        let m = module_of(&src, &f);
        if m.first().is_some_and(|t| t == "cli" || t == "main") {
            continue;
        }
        modules.insert(m.clone());
        texts.push((m, strip_comments(&fs::read_to_string(&f).unwrap())));
    }
    let mut edges: BTreeMap<Module, BTreeSet<Module>> = BTreeMap::new();
    for (m, text) in &texts {
        let is_mod_rs = modules
            .iter()
            .any(|o| o.len() > m.len() && o.starts_with(m));
        let mut named = Vec::new();
        for segs in paths_after(text, "crate::") {
            named.push(segs.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        }
        if !is_mod_rs && m.len() > 1 {
            let parent = &m[..m.len() - 1];
            for segs in paths_after(text, "super::") {
                let mut p = parent.to_vec();
                p.extend(segs.iter().map(|s| s.to_string()));
                named.push(p);
            }
        }
        for path in named {
            // The longest prefix of the path that is a module.
            let target = (1..=path.len())
                .rev()
                .map(|n| path[..n].to_vec())
                .find(|p| modules.contains(p));
            if let Some(t) = target
                && &t != m
            {
                edges.entry(m.clone()).or_default().insert(t);
            }
        }
    }
    (modules, edges)
}

/// A cycle in `edges` (over nodes mapped by `key`), if any, as the nodes along it.
fn find_cycle(edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        n: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(n.to_owned(), 1);
        stack.push(n.to_owned());
        for t in edges.get(n).into_iter().flatten() {
            match state.get(t.as_str()).copied().unwrap_or(0) {
                1 => {
                    let i = stack.iter().position(|s| s == t).unwrap();
                    let mut cyc = stack[i..].to_vec();
                    cyc.push(t.clone());
                    return Some(cyc);
                }
                0 => {
                    if let Some(c) = visit(t, edges, state, stack) {
                        return Some(c);
                    }
                }
                _ => {}
            }
        }
        stack.pop();
        state.insert(n.to_owned(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for n in edges.keys() {
        if state.get(n.as_str()).copied().unwrap_or(0) == 0
            && let Some(c) = visit(n, edges, &mut state, &mut Vec::new())
        {
            return Some(c);
        }
    }
    None
}

#[test]
fn base_uses_nothing_above_it() {
    let (_, edges) = graph();
    let mut bad = Vec::new();
    for (from, tos) in &edges {
        if from.first().is_some_and(|t| t == "base") {
            for to in tos {
                if to.first().is_none_or(|t| t != "base") {
                    bad.push(format!("{} -> {}", from.join("::"), to.join("::")));
                }
            }
        }
    }
    assert!(bad.is_empty(), "base imports modules above it: {bad:?}");
    assert!(edges.keys().any(|m| m.first().is_some_and(|t| t == "base")));
}

#[test]
fn every_module_has_a_layer() {
    let (modules, _) = graph();
    let tops: BTreeSet<&str> = modules
        .iter()
        .filter_map(|m| m.first().map(String::as_str))
        .collect();
    let missing: Vec<&&str> = tops.iter().filter(|t| layer_of(t).is_none()).collect();
    assert!(missing.is_empty(), "modules without a layer: {missing:?}");
    // The table is the real one: every layer but the planned binding names a module of `src`.
    for (name, ms) in &LAYERS[..LAYERS.len() - 1] {
        assert!(ms.iter().any(|m| tops.contains(m)), "layer {name} is empty");
    }
}

#[test]
fn modules_use_only_their_layer_and_below() {
    let (_, edges) = graph();
    let mut bad = Vec::new();
    for (from, tos) in &edges {
        let Some(lf) = from.first().and_then(|f| layer_of(f)) else {
            continue;
        };
        for to in tos {
            if let Some(lt) = to.first().and_then(|t| layer_of(t))
                && lt > lf
            {
                bad.push(format!(
                    "{} ({}) -> {} ({})",
                    from.join("::"),
                    LAYERS[lf].0,
                    to.join("::"),
                    LAYERS[lt].0
                ));
            }
        }
    }
    assert!(bad.is_empty(), "imports from a higher layer: {bad:?}");
    // The graph is real: the audit reads the leaks.
    assert!(
        edges
            .iter()
            .any(|(f, t)| f[0] == "audit" && t.iter().any(|t| t[0] == "leaks"))
    );
}

#[test]
fn top_level_modules_have_no_cycles() {
    let (_, edges) = graph();
    let mut top: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (from, tos) in &edges {
        let (Some(f), true) = (from.first(), !from.is_empty()) else {
            continue;
        };
        for to in tos {
            if let Some(t) = to.first()
                && t != f
            {
                top.entry(f.clone()).or_default().insert(t.clone());
            }
        }
    }
    // The graph is real: the scan reads the layout and writes the index.
    assert!(top["scan"].contains("layout") && top["scan"].contains("index"));
    assert_eq!(
        find_cycle(&top),
        None,
        "import cycle between top-level modules"
    );
}

#[test]
fn files_within_a_module_have_no_cycles() {
    let (modules, edges) = graph();
    // Sibling files only: a folder's mod.rs is its parent, which its children may use.
    let parents: BTreeSet<&Module> = modules
        .iter()
        .filter(|m| {
            modules
                .iter()
                .any(|o| o.len() > m.len() && o.starts_with(m))
        })
        .collect();
    let mut files: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (from, tos) in &edges {
        if parents.contains(from) {
            continue;
        }
        for to in tos {
            if !parents.contains(to) {
                files
                    .entry(from.join("::"))
                    .or_default()
                    .insert(to.join("::"));
            }
        }
    }
    assert_eq!(find_cycle(&files), None, "import cycle between files");
}

#[test]
fn cycle_finder_finds_cycles() {
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    g.entry("a".into()).or_default().insert("b".into());
    g.entry("b".into()).or_default().insert("c".into());
    assert_eq!(find_cycle(&g), None);
    g.entry("c".into()).or_default().insert("a".into());
    assert_eq!(
        find_cycle(&g),
        Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
    );
    let p = paths_after("use crate::scan::hash::{Transform}; x_crate::no", "crate::");
    assert_eq!(p, vec![vec!["scan", "hash"]]);
}
