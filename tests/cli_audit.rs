//! End-to-end tests of `cleansplit audit`: the verdict, the files it writes, `--fail-on`
//! exit codes, hostile file names in `report.html`, and the report rendered by headless
//! Chromium (a visible skip when Chromium is missing, a failure when `CI` is set).

mod common;

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

const THUMB: &str = "data:image/jpeg;base64,";
/// The hostile names: a file name that is an HTML tag, and a class folder plus file name
/// that read `<script>alert(1)</script>.jpg` as a path.
const IMG_NAME: &str = "<img src=x onerror=alert(1)>.jpg";
const SCRIPT_DIR: &str = "<script>alert(1)<";
const SCRIPT_FILE: &str = "script>.jpg";
const BOLD_NAME: &str = "<b onmouseover=alert(2)>.jpg";
const ROOT_NAME: &str = "<svg onload=alert(3)>";

fn s(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

fn read_json(path: &Path) -> Value {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `audit ROOT ARGS..` with WORK's index; returns (exit code, stdout).
fn audit(work: &Path, root: &Path, args: &[&str]) -> (i32, String) {
    let mut v = vec!["audit".to_string(), s(root)];
    v.extend(args.iter().map(|a| a.to_string()));
    let o = cleansplit(work, v).output().unwrap();
    assert!(
        o.status.code().is_some_and(|c| c == 0 || c == 1),
        "audit failed: {o:?}"
    );
    (
        o.status.code().unwrap(),
        String::from_utf8(o.stdout).unwrap(),
    )
}

/// A work folder holding a clean dataset (`make_clean_dataset(_, seed)`) at `WORK/data`.
fn clean_dataset_in_work(seed: u64) -> (tempfile::TempDir, PathBuf) {
    let work = tempfile::tempdir().unwrap();
    let root = work.path().join("data");
    make_clean_dataset(&root, seed);
    (work, root)
}

/// `audit ROOT --format json ARGS..`: the exit code, the finding on `topic` if there is one,
/// and the JSON (for failure messages).
fn audit_finding(
    work: &Path,
    root: &Path,
    topic: &str,
    args: &[&str],
) -> (i32, Option<Value>, String) {
    let mut all = vec!["--format", "json"];
    all.extend_from_slice(args);
    let (code, json) = audit(work, root, &all);
    let v: Value = serde_json::from_str(&json).unwrap();
    let finding = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["topic"] == topic)
        .cloned();
    (code, finding, json)
}

/// The HTML of `<section id="ID">` up to its end.
fn section<'a>(html: &'a str, id: &str) -> &'a str {
    let open = format!("<section id=\"{id}\">");
    let start = html
        .find(&open)
        .unwrap_or_else(|| panic!("no section {id}"));
    let end = html[start..].find("</section>").expect("section end") + start;
    &html[start..end]
}

/// `<tr class="pair">` rows, with `<wbr>` line-break hints removed.
fn pair_rows(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find("<tr class=\"pair\">") {
        let end = rest[i..].find("</tr>").expect("row end") + i;
        out.push(rest[i..end].replace("<wbr>", ""));
        rest = &rest[end..];
    }
    out
}

/// Checks the demo report's content (raw page or Chromium's DOM): the resized leak as a
/// pair with two thumbnails, the label conflict, the broken files.
fn check_demo_report(html: &str) {
    let rows = pair_rows(section(html, "cross-split"));
    assert!(rows.len() >= 7, "{} cross-split rows", rows.len());
    let row = rows
        .iter()
        .find(|r| {
            r.contains("val/apple/resized_copy.jpg") && r.contains("train/apple/apple_003.jpg")
        })
        .expect("no pair row for resized_copy.jpg and apple_003.jpg");
    assert_eq!(row.matches(THUMB).count(), 2, "thumbnails in {row}");
    let conflicts = section(html, "conflicts").replace("<wbr>", "");
    for p in ["train/apple/conflict.jpg", "train/banana/conflict.jpg"] {
        assert!(conflicts.contains(p), "{p} not under Label conflicts");
    }
    assert!(conflicts.matches(THUMB).count() >= 2);
    let problems = section(html, "problems").replace("<wbr>", "");
    for p in [
        "train/banana/corrupt.jpg",
        "train/apple/empty.jpg",
        "val/apple/truncated.jpg",
    ] {
        assert!(problems.contains(p), "{p} not under Problem files");
    }
    assert!(problems.contains(">corrupt<"), "no corrupt status badge");
}

#[test]
fn audit_of_the_demo_gives_the_verdict_and_writes_every_file() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let root = copy_demo(w);
    let before = tree_fingerprint(&root);
    let dir = w.join("report");
    let (code, stdout) = audit(w, &root, &["--out", &s(&dir)]);
    assert_eq!(code, 0, "{stdout}");
    assert!(
        stdout.starts_with("verdict: 3 problem(s)"),
        "verdict line: {stdout}"
    );
    let line = |severity: &str, topic: &str| -> String {
        stdout
            .lines()
            .find(|l| {
                l.trim_start()
                    .starts_with(&format!("{severity:<8} {topic}:"))
            })
            .unwrap_or_else(|| panic!("no `{severity} {topic}` line in:\n{stdout}"))
            .to_string()
    };
    assert!(line("PROBLEM", "leakage").contains("7 of 16 val images"));
    assert!(line("PROBLEM", "label conflicts").contains("1 group"));
    let problems = line("PROBLEM", "problem files");
    for status in ["1 corrupt", "1 empty", "1 truncated"] {
        assert!(problems.contains(status), "{problems}");
    }
    line("warning", "duplicates");
    assert!(line("warning", "imbalance").contains("cherry"));

    let mut names = names_in(&dir);
    names.sort();
    assert_eq!(
        names,
        [
            "audit.json",
            "class_weights.json",
            "groups.csv",
            "pairs.csv",
            "report.html",
            "summary.json"
        ]
    );
    let a = read_json(&dir.join("audit.json"));
    assert_eq!(
        a["kinds"],
        serde_json::json!({"leak": true, "conflict": true, "duplicate": true, "problem": true, "shortcut": false, "subject": false})
    );
    assert_eq!(a["images"], 56);
    let summary = read_json(&dir.join("summary.json"));
    assert_eq!(summary["cross_split_groups"], 7, "{summary:#}");
    assert_eq!(summary["label_conflict_groups"], 1);
    let weights = read_json(&dir.join("class_weights.json"));
    assert_eq!(
        weights["class_names"],
        serde_json::json!(["apple", "banana", "cherry"])
    );
    let pairs = fs::read_to_string(dir.join("pairs.csv")).unwrap();
    assert!(pairs.starts_with("path_a,path_b,"), "{pairs}");
    assert!(pairs.contains("train/apple/apple_003.jpg,val/apple/resized_copy.jpg"));
    let groups = fs::read_to_string(dir.join("groups.csv")).unwrap();
    assert!(groups.starts_with("group,path,"), "{groups}");

    let html = fs::read_to_string(dir.join("report.html")).unwrap();
    for scheme in ["http://", "https://"] {
        assert!(!html.contains(scheme), "report.html references {scheme}");
    }
    assert!(html.contains(THUMB));
    check_demo_report(&html);
    assert_eq!(tree_fingerprint(&root), before, "audit changed the dataset");
}

#[test]
fn fail_on_sets_the_exit_code() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let root = copy_demo(w);
    for (fail_on, want) in [
        (None, 0),
        (Some("leak"), 1),
        (Some("problem"), 1),
        (Some("conflict"), 1),
        (Some("duplicate"), 1),
        (Some("any"), 1),
        (Some("leak,problem"), 1),
    ] {
        let args: Vec<&str> = fail_on.map(|f| vec!["--fail-on", f]).unwrap_or_default();
        let (code, stdout) = audit(w, &root, &args);
        assert_eq!(code, want, "--fail-on {fail_on:?}:\n{stdout}");
    }
}

#[test]
fn fail_on_any_passes_on_a_clean_dataset_and_fails_once_it_leaks() {
    let (work, root) = clean_dataset_in_work(1);
    let w = work.path();
    let (code, stdout) = audit(w, &root, &["--fail-on", "any"]);
    assert_eq!(code, 0, "clean dataset fails:\n{stdout}");
    let (_, json) = audit(w, &root, &["--format", "json"]);
    let v: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        v["kinds"],
        serde_json::json!({"leak": false, "conflict": false, "duplicate": false, "problem": false, "shortcut": false, "subject": false}),
        "{v:#}"
    );
    // The same dataset with one training image copied into val.
    fs::copy(
        root.join("train/cats/00.png"),
        root.join("val/cats/leak.png"),
    )
    .unwrap();
    let (code, stdout) = audit(w, &root, &["--fail-on", "leak"]);
    assert_eq!(code, 1, "a leak does not fail:\n{stdout}");
    assert_eq!(audit(w, &root, &["--fail-on", "any"]).0, 1);
    assert_eq!(audit(w, &root, &["--fail-on", "problem"]).0, 0);
}

#[test]
fn class_folders_that_differ_between_splits_are_a_finding() {
    let (work, root) = clean_dataset_in_work(3);
    let w = work.path();
    let topic = "class folders";
    // Same class folders in train and val: nothing to say.
    let (_, f, json) = audit_finding(w, &root, topic, &[]);
    assert_eq!(f, None, "{json}");
    // A class only in val, sorting first: val numbers cats 1 and dogs 2, train 0 and 1.
    write_image(&root.join("val/birds/00.png"), 3_500);
    let (_, f, json) = audit_finding(w, &root, topic, &[]);
    let f = f.unwrap_or_else(|| panic!("no class folders finding:\n{json}"));
    assert_eq!(f["severity"], "problem", "{f:#}");
    let headline = f["headline"].as_str().unwrap();
    assert!(
        headline.contains("folders train lacks: birds"),
        "{headline}"
    );
    assert!(
        headline.contains("`cats` is class 1 there and 0 in train"),
        "{headline}"
    );
    assert!(
        f["fix"]
            .as_str()
            .unwrap()
            .contains(r#"class_names=["cats", "dogs"]"#),
        "{f:#}"
    );
    // A class only in train, sorting last: the shared classes keep their numbers, so it is
    // a warning (the class is never evaluated), and the text says so.
    fs::remove_dir_all(root.join("val/birds")).unwrap();
    write_image(&root.join("train/zebras/00.png"), 3_600);
    let (_, stdout) = audit(w, &root, &[]);
    assert!(
        stdout.contains("class folders differ from train's: val: no folder for zebras"),
        "{stdout}"
    );
    let (_, f, json) = audit_finding(w, &root, topic, &[]);
    assert_eq!(f.unwrap_or_else(|| panic!("{json}"))["severity"], "warning");
}

#[test]
fn an_empty_class_folder_is_a_problem_for_torchvision_only() {
    let (work, root) = clean_dataset_in_work(4);
    let w = work.path();
    // A class folder whose only file is one torchvision does not list.
    fs::create_dir_all(root.join("val/zebras")).unwrap();
    fs::write(root.join("val/zebras/readme.txt"), "no images yet").unwrap();
    let topic = "empty class folders";
    let fail_on = ["--fail-on", "problem"];
    let (code, f, json) = audit_finding(
        w,
        &root,
        topic,
        &[&["--loader", "torch"][..], &fail_on].concat(),
    );
    let f = f.unwrap_or_else(|| panic!("no finding:\n{json}"));
    assert_eq!(f["severity"], "problem");
    assert_eq!(
        f["headline"],
        "1 class folder with no file torchvision's ImageFolder lists: val/zebras"
    );
    assert_eq!(
        code, 1,
        "--fail-on problem passes a dataset ImageFolder refuses"
    );
    // Keras numbers the folder and loads nothing from it: no error, so no such finding.
    let (code, f, json) = audit_finding(w, &root, topic, &fail_on);
    assert_eq!(f, None, "{json}");
    assert_eq!(code, 0);
}

#[test]
fn a_loose_image_is_a_layout_finding_and_a_readme_is_not() {
    let (work, root) = clean_dataset_in_work(5);
    let w = work.path();
    fs::write(root.join("README.md"), "# my dataset\n").unwrap();
    fs::write(root.join("train/notes.txt"), "to do\n").unwrap();
    let (_, f, json) = audit_finding(w, &root, "layout", &[]);
    assert_eq!(f, None, "{json}");
    // An image beside the split folders is in no class: loaders never see it.
    write_image(&root.join("stray.png"), 5_500);
    let (_, f, json) = audit_finding(w, &root, "layout", &[]);
    let f = f.unwrap_or_else(|| panic!("no layout finding:\n{json}"));
    assert!(
        f["headline"]
            .as_str()
            .unwrap()
            .starts_with("1 files or folders"),
        "{f:#}"
    );
}

/// A dataset whose names are HTML: two cross-split copies with hostile names (so the report
/// shows them, with thumbnails), a hostile class folder, and an empty file with a hostile
/// name (listed under Problem files).
fn hostile_dataset(root: &Path) {
    write_image(&root.join("train/cats").join(IMG_NAME), 1);
    fs::create_dir_all(root.join("val/cats")).unwrap();
    fs::copy(
        root.join("train/cats").join(IMG_NAME),
        root.join("val/cats").join(IMG_NAME),
    )
    .unwrap();
    write_image(&root.join("train").join(SCRIPT_DIR).join(SCRIPT_FILE), 2);
    fs::create_dir_all(root.join("val").join(SCRIPT_DIR)).unwrap();
    fs::copy(
        root.join("train").join(SCRIPT_DIR).join(SCRIPT_FILE),
        root.join("val").join(SCRIPT_DIR).join(SCRIPT_FILE),
    )
    .unwrap();
    for i in 0..4u64 {
        write_image(&root.join(format!("train/cats/{i}.jpg")), 10 + i);
        write_image(
            &root.join("train").join(SCRIPT_DIR).join(format!("{i}.jpg")),
            20 + i,
        );
    }
    write_image(&root.join("val/cats/v.jpg"), 30);
    write_image(&root.join("val").join(SCRIPT_DIR).join("v.jpg"), 31);
    fs::write(root.join("train/cats").join(BOLD_NAME), b"").unwrap();
}

/// Audits the hostile dataset into WORK/report and returns report.html's path.
fn hostile_report(work: &Path) -> PathBuf {
    // The root's own name is hostile too: it is in the title, the header and the fixes.
    let root = work.join(ROOT_NAME);
    hostile_dataset(&root);
    let dir = work.join("report");
    let (code, stdout) = audit(work, &root, &["--out", &s(&dir)]);
    assert_eq!(code, 0, "{stdout}");
    dir.join("report.html")
}

#[test]
fn hostile_file_names_stay_text_in_the_report() {
    let work = tempfile::tempdir().unwrap();
    let html = fs::read_to_string(hostile_report(work.path())).unwrap();
    for raw in [
        "<img src=x onerror",
        "<script>alert",
        "<b onmouseover",
        "<svg onload",
    ] {
        assert!(!html.contains(raw), "report.html contains raw {raw:?}");
    }
    let flat = html.replace("<wbr>", "");
    for escaped in [
        "&lt;img src=x onerror=alert(1)&gt;.jpg",
        "train/cats/&lt;img src=x onerror=alert(1)&gt;.jpg",
        "val/cats/&lt;img src=x onerror=alert(1)&gt;.jpg",
        "&lt;script&gt;alert(1)&lt;/script&gt;.jpg",
        "<td>&lt;script&gt;alert(1)&lt;</td>",
        "&lt;b onmouseover=alert(2)&gt;.jpg",
        "<title>cleansplit audit: ",
        "&lt;svg onload=alert(3)&gt;</title>",
    ] {
        assert!(flat.contains(escaped), "report.html lacks {escaped:?}");
    }
    // The hostile pairs are shown with their thumbnails.
    let rows = pair_rows(section(&html, "cross-split"));
    assert_eq!(rows.len(), 2, "{rows:#?}");
    assert!(rows.iter().all(|r| r.matches(THUMB).count() == 2));
    // Only the page's own script element.
    assert_eq!(html.matches("<script").count(), 1);
}

// ---------------------------------------------------------------------------------------
// Headless Chromium.

/// Chromium's path, or `None` with a skip notice; a failure when `CI` is set (not "false").
/// `CLEANSPLIT_CHROMIUM` names the browser instead of looking for it (the skip test below
/// points it nowhere).
fn chromium() -> Option<PathBuf> {
    let found = match std::env::var_os("CLEANSPLIT_CHROMIUM") {
        Some(p) => Some(PathBuf::from(p)).filter(|p| p.is_file()),
        None => {
            let fixed = PathBuf::from("/usr/bin/chromium");
            if fixed.is_file() {
                Some(fixed)
            } else {
                std::env::var_os("PATH").and_then(|paths| {
                    std::env::split_paths(&paths)
                        .map(|d| d.join("chromium"))
                        .find(|p| p.is_file())
                })
            }
        }
    };
    if found.is_none() {
        let ci = std::env::var("CI").unwrap_or_default();
        if !ci.is_empty() && ci != "false" && ci != "0" {
            panic!("chromium is not installed: CI must install it (apt-get install -y chromium)");
        }
        // Straight to the process's stderr: `eprintln!` is captured by the test harness and
        // shown only for failures, which made a missing browser a silent pass.
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "skipped: chromium not found (/usr/bin/chromium or on PATH): report.html was not \
             rendered in a browser (CI=true makes this a failure)"
        );
    }
    found
}

/// A missing browser shows in `cargo test`'s output even though the test passes, and fails
/// the test under CI (runs this test binary again as a child).
#[test]
fn missing_chromium_is_a_visible_skip_and_a_ci_failure() {
    let run = |ci: Option<&str>| {
        let mut c = Command::new(std::env::current_exe().unwrap());
        c.args(["report_renders_in_headless_chromium", "--exact"])
            .env("CLEANSPLIT_CHROMIUM", "/nonexistent/chromium")
            .env_remove("CI");
        if let Some(v) = ci {
            c.env("CI", v);
        }
        c.output().unwrap()
    };
    let o = run(None);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{o:?}");
    assert!(stderr.contains("skipped: chromium not found"), "{stderr}");
    let o = run(Some("true"));
    assert!(!o.status.success(), "{o:?}");
    assert!(String::from_utf8_lossy(&o.stdout).contains("chromium is not installed"));
}

const CHROMIUM_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs headless Chromium on `page` with `args`, killing it after [`CHROMIUM_TIMEOUT`];
/// returns its stdout.
fn run_chromium(chromium: &Path, profile: &Path, page: &Path, args: &[String]) -> String {
    let page = fs::canonicalize(page).unwrap();
    let stdout_path = profile.with_extension("stdout");
    let stderr_path = profile.with_extension("stderr");
    let mut child = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(fs::File::create(&stdout_path).unwrap())
        .stderr(fs::File::create(&stderr_path).unwrap())
        .spawn()
        .expect("start chromium");
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > CHROMIUM_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within {CHROMIUM_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut out = String::new();
    fs::File::open(&stdout_path)
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    assert!(
        status.success(),
        "chromium failed ({status}): {}",
        fs::read_to_string(&stderr_path).unwrap_or_default()
    );
    out
}

fn dump_dom(chromium: &Path, work: &Path, page: &Path, name: &str) -> String {
    let dom = run_chromium(chromium, &work.join(name), page, &["--dump-dom".into()]);
    assert!(dom.contains("</html>"), "no DOM dumped: {dom:.200}");
    dom
}

#[test]
fn report_renders_in_headless_chromium() {
    let Some(chromium) = chromium() else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let root = copy_demo(w);
    let dir = w.join("report");
    let (code, stdout) = audit(w, &root, &["--out", &s(&dir)]);
    assert_eq!(code, 0, "{stdout}");
    let page = dir.join("report.html");

    let dom = dump_dom(&chromium, w, &page, "profile-dom");
    check_demo_report(&dom);
    // The page's script ran under its Content-Security-Policy: it unhides the filter boxes.
    let filters: Vec<&str> = dom
        .split("<input")
        .skip(1)
        .map(|t| &t[..t.find('>').unwrap()])
        .filter(|t| t.contains("class=\"filter\""))
        .collect();
    assert!(filters.len() >= 3, "{filters:?}");
    assert!(
        filters.iter().all(|t| !t.contains("hidden")),
        "the script did not run: {filters:?}"
    );

    let png = w.join("report.png");
    run_chromium(
        &chromium,
        &w.join("profile-shot"),
        &page,
        &[
            format!("--screenshot={}", png.display()),
            "--window-size=1280,2000".into(),
        ],
    );
    let size = fs::metadata(&png).expect("no screenshot").len();
    assert!(size > 10 * 1024, "screenshot is only {size} bytes");
    let shot = image::open(&png).expect("screenshot is an image").to_rgb8();
    assert!(
        shot.width() >= 1000 && shot.height() >= 1000,
        "{:?}",
        shot.dimensions()
    );
    if let Some(keep) = std::env::var_os("CLEANSPLIT_KEEP_SCREENSHOT") {
        fs::copy(&png, keep).unwrap();
    }

    // Hostile names stay text in the browser too.
    let hw = tempfile::tempdir().unwrap();
    let page = hostile_report(hw.path());
    let dom = dump_dom(&chromium, hw.path(), &page, "profile-hostile");
    assert!(
        !dom.contains("<img src=\"x\""),
        "a file name became an element"
    );
    assert!(
        !dom.contains("onerror=\"alert"),
        "a file name became an attribute"
    );
    assert!(
        !dom.contains("<svg onload"),
        "the root's name became an element"
    );
    let flat = dom.replace("<wbr>", "");
    assert!(
        flat.contains("train/cats/&lt;img src=x onerror=alert(1)&gt;.jpg"),
        "the hostile name is not shown as text"
    );
    assert_eq!(pair_rows(section(&dom, "cross-split")).len(), 2);
}
