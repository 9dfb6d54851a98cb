//! Fuzz target: the index reader (`cleansplit::scan::fuzzing::index_round_trip`): no panic,
//! and what it accepts round-trips.

fn main() {
    afl::fuzz!(|data: &[u8]| {
        cleansplit::scan::fuzzing::index_round_trip(data);
    });
}
