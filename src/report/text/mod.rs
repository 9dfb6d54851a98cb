//! Plain-text output for the terminal, one file per command: [`scan`], [`leaks`], [`balance`],
//! [`split`], [`merge`], [`shortcuts`] and [`audit`]. The CLI prints these strings and
//! nothing it formats itself.

pub mod audit;
pub mod balance;
pub mod leaks;
pub mod merge;
pub mod scan;
pub mod shortcuts;
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

/// The last line of `split` and `merge`: where OUT is, and how long the run took.
pub fn wrote(out: &std::path::Path, elapsed: std::time::Duration) -> String {
    format!("wrote {} in {:.2} s", out.display(), elapsed.as_secs_f64())
}
