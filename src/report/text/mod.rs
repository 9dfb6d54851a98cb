//! Plain-text output for the terminal, one file per command: [`scan`], [`leaks`], [`balance`],
//! [`split`] and the audit's [`audit::verdict`]. The CLI prints these strings and nothing it
//! formats itself.

pub mod audit;
pub mod balance;
pub mod leaks;
pub mod scan;
pub mod split;

/// Counts as `a 3, b 1` in key order.
pub fn counts_line<K: std::fmt::Display>(counts: impl IntoIterator<Item = (K, usize)>) -> String {
    counts
        .into_iter()
        .map(|(k, n)| format!("{k} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The name an option value has on the command line and in JSON (`flip`, `balanced`), never
/// its Rust Debug name.
pub fn name<T: serde::Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

fn pct(share: f64) -> String {
    format!("{:.1}%", 100.0 * share)
}
