//! `RelPath::release_all` (the Python module frees the path arena after each call): one test in
//! a binary of its own, since it frees every path of the process.

use std::path::Path;

use cleansplit::base::rel_path::{RelPath, arena_bytes, release_all};

fn make(threads: usize, per: usize, tag: &str) -> Vec<(RelPath, String)> {
    std::thread::scope(|s| {
        let hs: Vec<_> = (0..threads)
            .map(|t| {
                s.spawn(move || {
                    (0..per)
                        .map(|i| {
                            let p = format!("{tag}/t{t}/{i:06}.jpg");
                            (RelPath::from(p.as_str()), p)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        hs.into_iter().flat_map(|h| h.join().unwrap()).collect()
    })
}

#[test]
fn release_all_frees_every_block_and_later_paths_read_back() {
    // The calling thread keeps its chunk across the release: its next path must not go there.
    let first = RelPath::from("before/a.jpg");
    assert_eq!(first, "before/a.jpg");
    let mut held = make(3, 20_000, "one");
    held.push((first, "before/a.jpg".into()));
    let one = arena_bytes();
    assert!(one >= 3 * 20_000 * 20, "{one} bytes for 60,000 paths");
    drop(held);
    // SAFETY: every path made above was dropped; no other test runs in this binary.
    unsafe { release_all() };
    assert_eq!(arena_bytes(), 0);
    for round in 0..5 {
        let paths = make(3, 20_000, &format!("round{round}"));
        let here = RelPath::from("after/b.jpg");
        assert_eq!(here.as_path(), Path::new("after/b.jpg"));
        for (p, s) in &paths {
            assert_eq!(p.as_path(), Path::new(s));
        }
        // The same work takes the same room each round: nothing accumulates.
        let bytes = arena_bytes();
        assert!(
            bytes <= one + (256 << 10),
            "round {round}: {bytes} bytes, first {one}"
        );
        drop((paths, here));
        // SAFETY: as above.
        unsafe { release_all() };
    }
}
