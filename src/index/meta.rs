//! The index's sidecar, `<index>.meta.json`: what the CSV alone cannot say. The schema version,
//! the columns, how ROOT was laid out, which shard (if any) the index covers, and the CSV's row
//! count and byte length (so a sidecar left from another write is recognised).
//!
//! The CSV stays a plain table (pandas reads it as is) and is read by column names without the
//! sidecar; `merge-index` needs the sidecars to check that parts belong together.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::index::columns;
use crate::index::shard::Shard;
use crate::layout::{Layout, LayoutKind};

/// Bumped when an existing column changes meaning (new columns alone do not bump it: readers
/// find columns by name).
pub const SCHEMA: u32 = 1;

/// The sidecar's content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    /// Always `cleansplit-index`.
    pub format: String,
    pub schema: u32,
    /// The CSV's header, in order.
    pub columns: Vec<String>,
    /// `split_class`, `class`, `split_labels` or `labels`.
    pub layout: String,
    /// Split folders found in ROOT (all of ROOT, also for a shard).
    pub splits: Vec<String>,
    /// The shard this index covers; `null` for all of ROOT.
    pub shard: Option<Shard>,
    pub rows: usize,
    pub csv_bytes: u64,
    /// The binary that wrote it (`cleansplit 0.1.0`).
    pub tool: String,
}

/// Stable name of a layout kind for the sidecar.
pub fn layout_name(kind: LayoutKind) -> &'static str {
    match kind {
        LayoutKind::SplitClass => "split_class",
        LayoutKind::Class => "class",
        LayoutKind::SplitLabels => "split_labels",
        LayoutKind::Labels => "labels",
        LayoutKind::SplitFlat => "split_flat",
        LayoutKind::Flat => "flat",
    }
}

/// Where the sidecar of `index` lives.
pub fn path_of(index: &Path) -> PathBuf {
    let mut s = index.as_os_str().to_owned();
    s.push(".meta.json");
    PathBuf::from(s)
}

impl Meta {
    /// The sidecar for an index just written at `index` with `rows` records.
    pub fn describe(
        index: &Path,
        layout: &str,
        splits: &[String],
        shard: Option<Shard>,
        rows: usize,
    ) -> Result<Meta> {
        let csv_bytes = fs::metadata(index)
            .with_context(|| format!("cannot stat {}", index.display()))?
            .len();
        Ok(Meta {
            format: "cleansplit-index".into(),
            schema: SCHEMA,
            columns: columns::header().map(str::to_owned).collect(),
            layout: layout.to_owned(),
            splits: splits.to_vec(),
            shard,
            rows,
            csv_bytes,
            tool: format!("cleansplit {}", env!("CARGO_PKG_VERSION")),
        })
    }

    /// The sidecar of a scan's index.
    pub fn of_scan(
        index: &Path,
        layout: &Layout,
        shard: Option<Shard>,
        rows: usize,
    ) -> Result<Meta> {
        Meta::describe(index, layout_name(layout.kind), &layout.splits, shard, rows)
    }

    /// Writes the sidecar of `index` atomically.
    pub fn write(&self, index: &Path) -> Result<()> {
        crate::output::atomic::write_json(&path_of(index), self)
    }

    /// Reads the sidecar of `index`; `Ok(None)` when there is none.
    pub fn read(index: &Path) -> Result<Option<Meta>> {
        let path = path_of(index);
        let text = match fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        let meta: Meta = serde_json::from_str(&text)
            .with_context(|| format!("{} is not an index sidecar", path.display()))?;
        Ok(Some(meta))
    }

    /// Was it written by this schema for this layout and shard?
    pub fn describes(&self, layout: &Layout, shard: Option<Shard>) -> bool {
        self.format == "cleansplit-index"
            && self.schema == SCHEMA
            && self
                .columns
                .iter()
                .map(String::as_str)
                .eq(columns::header())
            && self.layout == layout_name(layout.kind)
            && self.splits == layout.splits
            && self.shard == shard
    }

    /// Does the sidecar describe the CSV at `index` as it is now (rows and size)?
    pub fn matches(&self, index: &Path, rows: usize) -> bool {
        self.rows == rows && fs::metadata(index).is_ok_and(|m| m.len() == self.csv_bytes)
    }
}
