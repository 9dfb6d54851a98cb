//! How bad a finding is: the one scale of the audit's verdict, the shortcut check's tests and
//! the report's problem files.

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
