//! Every input the fuzzer (`fuzz/`, docs/DESIGN.md "Fuzzing") found crashing or hanging, replayed
//! through the same library entry points the fuzz targets use. Files in
//! `tests/fuzz_regressions/` are named `<target>-<what>`: `examine-*` inputs start with the
//! byte that picks the file name (see `scan::fuzzing::NAMES`), `index-*` are index files.

use std::path::PathBuf;

use cleansplit::base::flags::Status;
use cleansplit::scan::fuzzing;

fn inputs(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_regressions");
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&format!("{target}-")))
        })
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).unwrap())
        })
        .collect();
    v.sort();
    v
}

// A hang is a finding too, but no replay here is timed: a loaded machine would turn slowness
// into a failure. An input that hangs again makes its test never end, which the CI's time
// limit reports; each replay returns a record (or round-trips) to pass.

#[test]
fn examine_inputs_neither_panic_nor_hang() {
    let all = inputs("examine");
    assert!(all.len() >= 2, "the regression inputs are missing");
    for (name, data) in all {
        let rec = fuzzing::examine(&data).unwrap_or_else(|e| panic!("{name}: {e}"));
        let rec = rec.unwrap_or_else(|| panic!("{name}: no record"));
        // Every one of them is a clean status with a message, or a decoded image.
        assert!(
            rec.status == Status::Ok || !rec.message.is_empty(),
            "{name}: {rec:?}"
        );
    }
}

#[test]
fn the_zero_screen_gif_decodes_at_its_frame_size() {
    let (_, data) = inputs("examine")
        .into_iter()
        .find(|(n, _)| n == "examine-zero-screen.gif")
        .unwrap();
    let rec = fuzzing::examine(&data).unwrap().unwrap();
    assert_eq!(
        (rec.status, rec.width, rec.height),
        (Status::Ok, 1, 1),
        "{rec:?}"
    );
}

#[test]
fn index_inputs_round_trip() {
    for (_, data) in inputs("index") {
        fuzzing::index_round_trip(&data);
    }
}
