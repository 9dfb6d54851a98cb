//! The audit verdict: every finding of scan, leaks and balance as one line that says what
//! it means for training and which command fixes it.

use serde::Serialize;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Checked and clean.
    Ok,
    /// Worth knowing; training still works.
    Warning,
    /// Distorts training or evaluation.
    Problem,
}

/// One line of the verdict.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub severity: Severity,
    /// Short topic: `leakage`, `label conflicts`, `duplicates`, `problem files`, `imbalance`, `drift`.
    pub topic: String,
    /// What was found, with figures ("6 of 16 val images (37.5%) have a duplicate in train").
    pub headline: String,
    /// What it means for training.
    pub meaning: String,
    /// The command that fixes it (empty when nothing needs fixing).
    pub fix: String,
}
