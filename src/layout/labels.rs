//! `--labels`: the CSV of `file name or stem,label` for layouts without class folders.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{Context, Result, bail};

use super::name_of;

/// Reads a labels CSV: first column a file name or stem, second a label. A header row is
/// harmless (it matches no file).
pub(super) fn read_labels(path: &Path) -> Result<HashMap<String, String>> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_path(path)
        .with_context(|| format!("cannot read labels {}", path.display()))?;
    let mut map = HashMap::new();
    for row in rdr.records() {
        let row = row.with_context(|| format!("cannot read labels {}", path.display()))?;
        if let (Some(name), Some(label)) = (row.get(0), row.get(1)) {
            let (name, label) = (name.trim(), label.trim());
            if !name.is_empty() && !label.is_empty() {
                if let Err(e) = crate::base::paths::plain_component(label) {
                    bail!(
                        "labels file {}: label {label:?} {e}; a label becomes a folder name",
                        path.display()
                    );
                }
                map.insert(name.to_owned(), label.to_owned());
            }
        }
    }
    if map.is_empty() {
        bail!("labels file {} has no `name,label` rows", path.display());
    }
    Ok(map)
}

/// The label of `rel` (ROOT-relative): by its path, else its file name, else its stem.
pub(super) fn label_for(labels: &HashMap<String, String>, rel: &Path) -> Option<String> {
    let name = name_of(rel);
    let stem = rel
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let rel_str = rel.to_string_lossy();
    labels
        .get(rel_str.as_ref())
        .or_else(|| labels.get(&name))
        .or_else(|| labels.get(&stem))
        .cloned()
}
