//! Interrupted `split --mode copy` runs, with real signals to a real child process: Ctrl-C
//! (SIGINT) and SIGTERM remove the work folder and exit 130; after SIGKILL the next run
//! removes the stale folder and says so; a live run's folder is never touched.
//!
//! The child pauses after placing its third file (`CLEANSPLIT_PAUSE_AFTER_FILES`, a test hook
//! in `split::write`) and says so on stderr, so the signal lands mid-copy every time.
#![cfg(unix)]

mod common;

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use common::{cleansplit_std, copy_demo, files_under, names_in, tree_fingerprint};

/// Starts `split ROOT OUT --mode copy` paused after 3 files; returns once it is paused.
/// The caller signals and waits for the child.
#[allow(clippy::zombie_processes)]
fn paused_split(
    work: &Path,
    root: &Path,
    out: &Path,
) -> (Child, BufReader<std::process::ChildStderr>) {
    let mut child = cleansplit_std(work, ["split".as_ref(), root.as_os_str(), out.as_os_str()])
        .args(["--mode", "copy"])
        .env("CLEANSPLIT_PAUSE_AFTER_FILES", "3")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    loop {
        line.clear();
        if err.read_line(&mut line).unwrap_or(0) == 0 {
            let status = child.wait();
            panic!("the child ended before pausing: {status:?}");
        }
        if line.contains("paused for a test") {
            return (child, err);
        }
    }
}

/// The hidden work folders beside OUT (named `out`).
fn work_folders(dir: &Path) -> Vec<PathBuf> {
    names_in(dir)
        .into_iter()
        .filter(|n| n.starts_with(".out.cleansplit-tmp-"))
        .map(|n| dir.join(n))
        .collect()
}

fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill")
        .args([format!("-{sig}"), child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
}

#[test]
fn ctrl_c_and_sigterm_remove_the_work_folder_and_exit_130() {
    for sig in ["INT", "TERM"] {
        let work = tempfile::tempdir().unwrap();
        let w = work.path();
        let root = copy_demo(w);
        let before = tree_fingerprint(&root);
        let out = w.join("out");
        let (mut child, mut err) = paused_split(w, &root, &out);
        let folders = work_folders(w);
        assert_eq!(folders.len(), 1, "{sig}");
        assert_eq!(files_under(&folders[0]).len(), 3, "{sig}: not mid-copy");
        signal(&child, sig);
        let status = child.wait().unwrap();
        let mut rest = String::new();
        err.read_to_string(&mut rest).unwrap();
        assert_eq!(status.code(), Some(130), "{sig}: {status:?} {rest}");
        assert!(
            rest.contains("interrupted; removed the unfinished"),
            "{sig}: {rest}"
        );
        assert!(work_folders(w).is_empty(), "{sig}: work folder left behind");
        assert!(!out.exists(), "{sig}: OUT exists");
        assert_eq!(tree_fingerprint(&root), before, "{sig}: ROOT changed");
    }
}

#[test]
fn after_sigkill_the_next_run_removes_the_stale_folder() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let root = copy_demo(w);
    let out = w.join("out");
    let (mut child, _err) = paused_split(w, &root, &out);
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let stale = work_folders(w);
    assert_eq!(stale.len(), 1);
    assert_eq!(files_under(&stale[0]).len(), 3);

    let o = cleansplit_std(w, ["split".as_ref(), root.as_os_str(), out.as_os_str()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{o:?}");
    assert!(
        stderr.contains(&format!(
            "removed {}, left by an interrupted run",
            stale[0].display()
        )),
        "{stderr}"
    );
    assert!(work_folders(w).is_empty());
    assert!(out.join("manifest.csv").exists());
}

#[test]
fn a_live_run_keeps_its_folder() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let root = copy_demo(w);
    let out = w.join("out");
    let (mut child, _err) = paused_split(w, &root, &out);
    let live = work_folders(w);
    assert_eq!(live.len(), 1);
    // A second run to the same OUT meanwhile: it must not take the live run's folder away.
    let o = cleansplit_std(w, ["split".as_ref(), root.as_os_str(), out.as_os_str()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{o:?}");
    assert!(!stderr.contains("left by an interrupted run"), "{stderr}");
    assert!(live[0].exists(), "the live run's folder was removed");
    assert_eq!(files_under(&live[0]).len(), 3);
    child.kill().unwrap();
    child.wait().unwrap();
}
