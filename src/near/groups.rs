//! Duplicate groups: pairs joined by union-find, one representative per group, and the
//! group's kind (cross-split, within-split, label conflict).

use std::collections::BTreeSet;

use crate::index::Record;

/// Disjoint sets over `0..n` with path halving and union by size.
#[derive(Debug, Clone)]
pub struct UnionFind {
    parent: Vec<usize>,
    size: Vec<usize>,
}

impl UnionFind {
    pub fn new(n: usize) -> Self {
        UnionFind {
            parent: (0..n).collect(),
            size: vec![1; n],
        }
    }

    pub fn find(&mut self, mut x: usize) -> usize {
        while self.parent[x] != x {
            self.parent[x] = self.parent[self.parent[x]];
            x = self.parent[x];
        }
        x
    }

    /// Joins the sets of `a` and `b`; returns whether they were apart.
    pub fn union(&mut self, a: usize, b: usize) -> bool {
        let (mut ra, mut rb) = (self.find(a), self.find(b));
        if ra == rb {
            return false;
        }
        if self.size[ra] < self.size[rb] {
            std::mem::swap(&mut ra, &mut rb);
        }
        self.parent[rb] = ra;
        self.size[ra] += self.size[rb];
        true
    }
}

/// Byte-identical copies up to this many are listed pair by pair; a larger set (a scraped
/// "image not available" placeholder) is linked member to head instead, so `pairs.csv` and the
/// time to build it stay linear in the set's size (docs/FORMATS.md, `pairs.csv`).
pub const ALL_PAIRS_UP_TO: usize = 64;

/// The links that join a set of identical records (`members` in path order): every pair up to
/// [`ALL_PAIRS_UP_TO`] members, else the first member (which [`representative`] picks among
/// identical files) to each other one.
pub fn exact_links(members: &[usize]) -> Vec<(usize, usize)> {
    if members.len() <= ALL_PAIRS_UP_TO {
        members
            .iter()
            .enumerate()
            .flat_map(|(k, &i)| members[k + 1..].iter().map(move |&j| (i, j)))
            .collect()
    } else {
        members[1..].iter().map(|&j| (members[0], j)).collect()
    }
}

/// A set of records that are copies of one another (directly or through a chain of pairs).
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// 1-based, in order of the group's first member path: stable for the same input.
    pub id: usize,
    /// Record indices, in path order.
    pub members: Vec<usize>,
    /// The member to keep (see [`representative`]).
    pub representative: usize,
    pub splits: BTreeSet<String>,
    /// The members' class labels; an unlabeled member (empty class) adds none, so it is
    /// never half of a label conflict.
    pub classes: BTreeSet<String>,
}

impl Group {
    /// Members in more than one split: the leak that inflates validation accuracy.
    pub fn cross_split(&self) -> bool {
        self.splits.len() > 1
    }

    /// Members under more than one class label.
    pub fn label_conflict(&self) -> bool {
        self.classes.len() > 1
    }

    /// All members in one split.
    pub fn within_split(&self) -> bool {
        self.splits.len() == 1
    }
}

/// Do two class labels conflict? Only when both are known: an unlabeled image (empty class)
/// copied into a labelled one is a leak or a duplicate, never a label conflict.
pub fn labels_conflict(a: &str, b: &str) -> bool {
    !a.is_empty() && !b.is_empty() && a != b
}

/// The member a clean dataset keeps: one the default loader reads (`keras_ok`; a TIFF named
/// `.png` must not win over the JPEG of the same photo), then highest pixel count, then
/// lossless over lossy format, then the larger file, then the first path. Deterministic for
/// the same records. `split` passes only members its `--loader` reads.
pub fn representative(members: &[usize], records: &[Record]) -> usize {
    *members
        .iter()
        .min_by(|&&a, &&b| {
            let (ra, rb) = (&records[a], &records[b]);
            rb.keras_ok()
                .cmp(&ra.keras_ok())
                .then(rb.pixels().cmp(&ra.pixels()))
                .then(rb.lossless_format().cmp(&ra.lossless_format()))
                .then(rb.size.cmp(&ra.size))
                .then(ra.path.cmp(&rb.path))
        })
        .expect("a group has members")
}

/// Joins `pairs` (record indices) into groups of two or more members.
pub fn build(records: &[Record], pairs: impl IntoIterator<Item = (usize, usize)>) -> Vec<Group> {
    let mut uf = UnionFind::new(records.len());
    for (a, b) in pairs {
        uf.union(a, b);
    }
    // Only records in a set of two or more: at a million images a list per record cost ~100
    // bytes per image while a few percent of them have a copy.
    let mut by_root: std::collections::HashMap<usize, Vec<usize>> =
        std::collections::HashMap::new();
    for i in 0..records.len() {
        let root = uf.find(i);
        if uf.size[root] > 1 {
            by_root.entry(root).or_default().push(i);
        }
    }
    let mut sets: Vec<Vec<usize>> = by_root.into_values().collect();
    for m in &mut sets {
        m.sort_by(|&a, &b| records[a].path.cmp(&records[b].path));
    }
    sets.sort_by(|a, b| records[a[0]].path.cmp(&records[b[0]].path));
    sets.into_iter()
        .enumerate()
        .map(|(i, members)| Group {
            id: i + 1,
            representative: representative(&members, records),
            splits: members
                .iter()
                .map(|&m| records[m].split.to_string())
                .collect(),
            classes: members
                .iter()
                .map(|&m| records[m].class.to_string())
                .filter(|c| !c.is_empty())
                .collect(),
            members,
        })
        .collect()
}

/// For each record, the id of its group (`None` when it has no duplicate).
pub fn membership(n: usize, groups: &[Group]) -> Vec<Option<usize>> {
    let mut out = vec![None; n];
    for g in groups {
        for &m in &g.members {
            out[m] = Some(g.id);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::rec;

    #[test]
    fn union_find_joins_chains() {
        let mut uf = UnionFind::new(5);
        assert!(uf.union(0, 1));
        assert!(uf.union(1, 2));
        assert!(!uf.union(0, 2));
        assert_eq!(uf.find(2), uf.find(0));
        assert_ne!(uf.find(3), uf.find(0));
    }

    #[test]
    fn groups_are_deterministic_and_classified() {
        let records = vec![
            rec("train/a/1.jpg", "train", "a"),
            rec("val/a/2.jpg", "val", "a"),
            rec("train/a/3.jpg", "train", "a"),
            rec("train/b/4.jpg", "train", "b"),
            rec("train/a/5.jpg", "train", "a"),
        ];
        let g1 = build(&records, [(1, 0), (2, 3)]);
        let g2 = build(&records, [(3, 2), (0, 1)]);
        assert_eq!(g1, g2);
        assert_eq!(g1.len(), 2);
        assert_eq!(g1[0].members, vec![0, 1]);
        assert!(g1[0].cross_split() && !g1[0].label_conflict());
        assert!(g1[1].within_split() && g1[1].label_conflict());
        assert_eq!(
            membership(5, &g1),
            vec![Some(1), Some(1), Some(2), Some(2), None]
        );
    }

    #[test]
    fn representative_rule() {
        let mut records = vec![
            rec("b.jpg", "", "x"),
            rec("a.jpg", "", "x"),
            rec("c.png", "", "x"),
        ];
        // Ties everywhere: path order decides.
        assert_eq!(representative(&[0, 1], &records), 1);
        // Larger file wins over path.
        records[0].size = 200;
        assert_eq!(representative(&[0, 1], &records), 0);
        // Lossless wins over size.
        records[2].format = Some(crate::base::format::Format::Png);
        assert_eq!(representative(&[0, 1, 2], &records), 2);
        // Pixels win over everything.
        records[1].width = 20;
        assert_eq!(representative(&[0, 1, 2], &records), 1);
    }
}
