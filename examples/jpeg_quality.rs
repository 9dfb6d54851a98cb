//! Prints the estimated encoder quality of each JPEG given on the command line, as read from
//! its quantisation tables (`cleansplit::scan::quality`): a check against other tools
//! (`identify -format %Q`, files saved by Pillow at known qualities).
//!
//! `cargo run --release --example jpeg_quality -- FILE...`

fn main() {
    for path in std::env::args_os().skip(1) {
        let q = std::fs::read(&path)
            .ok()
            .and_then(|b| cleansplit::scan::quality::jpeg_quality(&b));
        let q = q.map_or_else(|| "-".to_string(), |q| q.to_string());
        println!("{}\t{q}", path.to_string_lossy());
    }
}
