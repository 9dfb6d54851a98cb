//! End to end: shell completions and man pages generated from the clap definitions, and
//! colour in the verdict only where it is wanted.

mod common;

use std::process::Command;

use common::{RUN_TIMEOUT, cleansplit_with_index, copy_demo};

fn bin() -> assert_cmd::Command {
    let mut c = assert_cmd::Command::cargo_bin("cleansplit").expect("cleansplit binary");
    c.timeout(RUN_TIMEOUT);
    c
}

fn stdout_of(args: &[&str]) -> String {
    let o = bin().args(args).output().unwrap();
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

/// The subcommands as `cleansplit --help` lists them (so this test follows new ones).
fn subcommands() -> Vec<String> {
    let help = stdout_of(&["--help"]);
    let list: Vec<String> = help
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.split_whitespace().next().map(String::from))
        .filter(|c| c != "help")
        .collect();
    for c in [
        "scan",
        "leaks",
        "balance",
        "split",
        "audit",
        "merge",
        "completions",
        "man",
    ] {
        assert!(list.iter().any(|x| x == c), "{c} missing from {list:?}");
    }
    list
}

#[test]
fn completions_name_every_subcommand_in_every_shell() {
    let subs = subcommands();
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let script = stdout_of(&["completions", shell]);
        for s in &subs {
            assert!(script.contains(s.as_str()), "{shell} completion lacks {s}");
        }
        // Options of a subcommand are completed too.
        assert!(script.contains("keep-splits"), "{shell}");
    }
    let o = bin().args(["completions", "tcsh"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    // The bash script is valid bash.
    if Command::new("bash").arg("--version").output().is_ok() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("c.bash");
        std::fs::write(&f, stdout_of(&["completions", "bash"])).unwrap();
        let st = Command::new("bash").arg("-n").arg(&f).status().unwrap();
        assert!(st.success());
    }
}

#[test]
fn man_pages_render_and_list_every_subcommand() {
    let subs = subcommands();
    let page = stdout_of(&["man"]);
    assert!(
        page.starts_with(".ie") || page.contains(".TH cleansplit"),
        "{page}"
    );
    for s in &subs {
        // roff escapes a hyphen (`merge\-index`).
        let roff = s.replace('-', "\\-");
        assert!(page.contains(roff.as_str()), "man page lacks {s}");
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("man1");
    let listed = stdout_of(&["man", "--out", out.to_str().unwrap()]);
    assert_eq!(listed.lines().count(), subs.len() + 1);
    let merge_page = std::fs::read_to_string(out.join("cleansplit-merge.1")).unwrap();
    assert!(merge_page.contains("keep\\-splits"), "{merge_page}");
    // Rendered by man(1) where it is installed.
    match Command::new("man")
        .arg("-l")
        .arg(out.join("cleansplit.1"))
        .env("MANWIDTH", "100")
        .env("MANPAGER", "cat")
        .env("PAGER", "cat")
        .output()
    {
        Ok(o) if o.status.success() => {
            let text = String::from_utf8_lossy(&o.stdout);
            assert!(text.contains("cleansplit"), "{text}");
            for s in &subs {
                assert!(text.contains(s.as_str()), "rendered page lacks {s}: {text}");
            }
        }
        other => eprintln!("skipped rendering: man -l unavailable ({other:?})"),
    }
}

/// Removes ANSI escape sequences (CSI ... letter).
fn strip_ansi(s: &str) -> String {
    let re = regex::Regex::new("\x1b\\[[0-9;]*[A-Za-z]").unwrap();
    re.replace_all(s, "").into_owned()
}

#[test]
fn verdict_colour_only_when_wanted() {
    let work = tempfile::tempdir().unwrap();
    let demo = copy_demo(work.path());
    let index = work.path().join("index.csv");
    let run = |env: &[(&str, &str)]| {
        let mut c =
            cleansplit_with_index(&index, [std::ffi::OsStr::new("audit"), demo.as_os_str()]);
        c.env_remove("NO_COLOR")
            .env_remove("CLICOLOR_FORCE")
            .env_remove("CLICOLOR");
        for (k, v) in env {
            c.env(k, v);
        }
        let o = c.output().unwrap();
        assert!(o.status.success());
        String::from_utf8(o.stdout).unwrap()
    };
    // Times vary between runs; the first run fills the index, so later ones reuse it all.
    let norm = |s: &str| {
        regex::Regex::new(r"[0-9]+\.[0-9]+ s")
            .unwrap()
            .replace_all(s, "T s")
            .into_owned()
    };
    run(&[]);
    // Piped: no colour.
    let plain = norm(&run(&[]));
    assert!(!plain.contains('\x1b'));
    assert!(plain.contains("PROBLEM"));
    // Forced (as a terminal would get it): coloured tags, and only styles were added.
    let forced = norm(&run(&[("CLICOLOR_FORCE", "1")]));
    assert!(
        forced.contains("\x1b[1m\x1b[31mPROBLEM")
            || forced.contains("\x1b[31m\x1b[1mPROBLEM")
            || forced.contains("\x1b[1;31mPROBLEM"),
        "{forced:?}"
    );
    assert_eq!(strip_ansi(&forced), plain);
    // NO_COLOR wins over CLICOLOR_FORCE.
    let no = norm(&run(&[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")]));
    assert_eq!(no, plain);
}
