//! Fuzz target: the scanner's bytes-to-record path (sniff, truncation check, decode, reduce,
//! hash) through `cleansplit::scan::fuzzing::examine`. A caught decoder panic is a finding:
//! the target aborts on it, so AFL saves the input.

fn main() {
    afl::fuzz!(|data: &[u8]| {
        if let Err(finding) = cleansplit::scan::fuzzing::examine(data) {
            eprintln!("{finding}");
            std::process::abort();
        }
    });
}
