//! Class names across merged sources: renames from `--map`, the `--classes` selection, and
//! near-matching names that are reported but never merged on a guess.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::{Context, Result, bail};
use serde::Serialize;

/// One row of a `--map` file: in `source` (or every source when `None`, written `*`), the
/// class `old` becomes `new`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MapRule {
    pub source: Option<String>,
    pub old: String,
    pub new: String,
}

/// Reads a `--map` CSV: `source,old,new` per row, `source` a source name (its folder name, as
/// the merge prints it) or `*`. A header row `source,old,new` is skipped. Fields are taken
/// exactly (no trimming), so `"cat "` with its trailing space can be renamed.
pub fn read_map(path: &Path) -> Result<Vec<MapRule>> {
    let file = std::fs::File::open(path)
        .with_context(|| format!("--map {} cannot be read", path.display()))?;
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(file);
    let mut rules = Vec::new();
    for (i, row) in rdr.records().enumerate() {
        let row = row.with_context(|| format!("--map {}: row {}", path.display(), i + 1))?;
        if row.len() == 1 && row[0].trim().is_empty() {
            continue;
        }
        if row.len() != 3 {
            bail!(
                "--map {}: row {} has {} fields; each row is source,old,new",
                path.display(),
                i + 1,
                row.len()
            );
        }
        if i == 0 && &row[0] == "source" && &row[1] == "old" && &row[2] == "new" {
            continue;
        }
        if row[2].is_empty() || row[2].contains(['/', '\\']) || row[2].starts_with('.') {
            bail!(
                "--map {}: row {}: {:?} is not a usable class folder name",
                path.display(),
                i + 1,
                &row[2]
            );
        }
        rules.push(MapRule {
            source: (&row[0] != "*").then(|| row[0].to_string()),
            old: row[1].to_string(),
            new: row[2].to_string(),
        });
    }
    Ok(rules)
}

/// Checks the rules against the sources: every named source exists, no class is renamed two
/// ways. Returns warnings for rows that match no class.
pub fn check_map(
    rules: &[MapRule],
    sources: &[String],
    classes_of: &[BTreeSet<String>],
) -> Result<Vec<String>> {
    let mut warnings = Vec::new();
    let mut seen: BTreeMap<(Option<&str>, &str), &str> = BTreeMap::new();
    for r in rules {
        if let Some(s) = &r.source
            && !sources.contains(s)
        {
            bail!(
                "--map names source {s:?}, which is not one of the sources ({}); use a source name or *",
                sources.join(", ")
            );
        }
        if let Some(prev) = seen.insert((r.source.as_deref(), &r.old), &r.new)
            && prev != r.new
        {
            bail!(
                "--map renames {:?} twice in source {} ({prev:?} and {:?})",
                r.old,
                r.source.as_deref().unwrap_or("*"),
                r.new
            );
        }
        // Used when some source has the class and this is the rule that renames it there (a
        // source's own row wins over a `*` row).
        let used = sources.iter().zip(classes_of).any(|(s, cs)| {
            cs.contains(&r.old) && rule_for(rules, s, &r.old).is_some_and(|x| std::ptr::eq(x, r))
        });
        if !used {
            warnings.push(format!(
                "--map row {},{},{} matches no class folder",
                r.source.as_deref().unwrap_or("*"),
                r.old,
                r.new
            ));
        }
    }
    Ok(warnings)
}

/// The class a source's class folder becomes: a rule for that source first, then a `*` rule,
/// else the name unchanged.
pub fn mapped<'a>(rules: &'a [MapRule], source: &str, class: &'a str) -> &'a str {
    rule_for(rules, source, class).map_or(class, |r| r.new.as_str())
}

fn rule_for<'a>(rules: &'a [MapRule], source: &str, class: &str) -> Option<&'a MapRule> {
    rules
        .iter()
        .find(|r| r.source.as_deref() == Some(source) && r.old == class)
        .or_else(|| rules.iter().find(|r| r.source.is_none() && r.old == class))
}

/// Names that differ only in case, surrounding spaces, `_`/`-`/space separators or a final
/// plural `s` share this key ("Cat", "cats", "cat " -> "cat").
pub fn near_key(name: &str) -> String {
    let mut k: String = name
        .trim()
        .chars()
        .map(|c| if c == '_' || c == '-' { ' ' } else { c })
        .flat_map(char::to_lowercase)
        .collect();
    k = k.split_whitespace().collect::<Vec<_>>().join(" ");
    if k.len() > 2 && k.ends_with('s') && !k.ends_with("ss") {
        k.pop();
    }
    k
}

/// A set of distinct class names (after `--map`) that look like one class.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NearMatch {
    /// Each name with the sources it comes from.
    pub names: Vec<NameIn>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NameIn {
    pub class: String,
    pub sources: Vec<String>,
}

impl NearMatch {
    /// `"Ants" (extra) vs "ants" (hymenoptera_data)`.
    pub fn describe(&self) -> String {
        self.names
            .iter()
            .map(|n| format!("{:?} ({})", n.class, n.sources.join(", ")))
            .collect::<Vec<_>>()
            .join(" vs ")
    }
}

/// Groups the final class names by [`near_key`]; every group of two or more names is a
/// near-match. `by_source[i]` are the final class names of source `names[i]`.
pub fn near_matches(sources: &[String], by_source: &[BTreeSet<String>]) -> Vec<NearMatch> {
    let mut by_key: BTreeMap<String, BTreeMap<&str, Vec<String>>> = BTreeMap::new();
    for (s, classes) in sources.iter().zip(by_source) {
        for c in classes {
            by_key
                .entry(near_key(c))
                .or_default()
                .entry(c)
                .or_default()
                .push(s.clone());
        }
    }
    by_key
        .into_values()
        .filter(|names| names.len() > 1)
        .map(|names| NearMatch {
            names: names
                .into_iter()
                .map(|(class, sources)| NameIn {
                    class: class.to_string(),
                    sources,
                })
                .collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn near_keys_fold_case_spaces_separators_and_plural_s() {
        for n in ["Cat", "cats", "cat ", " CATS"] {
            assert_eq!(near_key(n), "cat", "{n:?}");
        }
        assert_eq!(near_key("golden_retriever"), near_key("Golden Retrievers"));
        assert_eq!(near_key("dog"), near_key("dogs"));
        assert_ne!(near_key("cat"), near_key("dog"));
        // Not a plural: "glass" stays, short names keep their s.
        assert_eq!(near_key("glass"), "glass");
        assert_eq!(near_key("bs"), "bs");
    }

    #[test]
    fn near_matches_are_reported_with_their_sources_not_merged() {
        let sources = vec!["a".to_string(), "b".to_string()];
        let m = near_matches(
            &sources,
            &[set(&["ants", "bees"]), set(&["Ants", "bee", "wasps"])],
        );
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].describe(), "\"Ants\" (b) vs \"ants\" (a)");
        assert_eq!(m[1].describe(), "\"bee\" (b) vs \"bees\" (a)");
        // Identical names across sources are an exact match, not a near one.
        assert!(near_matches(&sources, &[set(&["ants"]), set(&["ants"])]).is_empty());
    }

    #[test]
    fn map_rules_prefer_the_named_source_and_are_checked() {
        let rules = vec![
            MapRule {
                source: None,
                old: "Ants".into(),
                new: "ants".into(),
            },
            MapRule {
                source: Some("b".into()),
                old: "Ants".into(),
                new: "formicidae".into(),
            },
        ];
        assert_eq!(mapped(&rules, "a", "Ants"), "ants");
        assert_eq!(mapped(&rules, "b", "Ants"), "formicidae");
        assert_eq!(mapped(&rules, "a", "bees"), "bees");
        let sources = vec!["a".to_string(), "b".to_string()];
        let w = check_map(&rules, &sources, &[set(&["bees"]), set(&["Ants"])]).unwrap();
        assert_eq!(w, vec!["--map row *,Ants,ants matches no class folder"]);
        let bad = vec![MapRule {
            source: Some("c".into()),
            old: "x".into(),
            new: "y".into(),
        }];
        assert!(check_map(&bad, &sources, &[set(&[]), set(&[])]).is_err());
    }

    #[test]
    fn map_files_parse_with_or_without_header_and_refuse_bad_rows() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("map.csv");
        std::fs::write(&p, "source,old,new\n*,Ants,ants\nextra,\"cat \",cat\n").unwrap();
        let rules = read_map(&p).unwrap();
        assert_eq!(rules.len(), 2);
        assert_eq!(rules[1].old, "cat ");
        assert_eq!(rules[1].source.as_deref(), Some("extra"));
        std::fs::write(&p, "*,Ants\n").unwrap();
        assert!(read_map(&p).is_err());
        std::fs::write(&p, "*,Ants,../x\n").unwrap();
        assert!(read_map(&p).is_err());
    }
}
