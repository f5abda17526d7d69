//! The man pages and `--help` agree: every binary of Cargo.toml has a page and every page a
//! binary, and each long option of each (sub)command's `--help` is in its binary's page and
//! each option a page names exists in `--help` of some subcommand of its binary.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::root;

/// The `[[bin]]` names of Cargo.toml that the packages ship: those without
/// `required-features` (a binary that needs a feature, such as the fuzzing entry point, is
/// neither built by `cargo build` nor packaged).
fn binaries() -> BTreeSet<String> {
    let manifest = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
    let manifest: toml::Table = manifest.parse().unwrap();
    manifest["bin"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b.get("required-features").is_none())
        .map(|b| b["name"].as_str().unwrap().to_string())
        .collect()
}

fn man_pages() -> BTreeSet<String> {
    std::fs::read_dir(root().join("packaging/man"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "1"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect()
}

/// Cargo builds every binary of the package next to each other for the integration tests.
fn binary_path(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_BIN_EXE_extnfs")).parent().unwrap();
    let path = dir.join(name);
    assert!(path.is_file(), "{name} was not built in {}", dir.display());
    path
}

fn help(binary: &Path, subcommand: &[String]) -> String {
    let out = Command::new(binary)
        .args(subcommand)
        .arg("--help")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{} {subcommand:?} --help failed",
        binary.display()
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The long options of a `--help` text, without --help and --version.
fn help_options(text: &str) -> BTreeSet<String> {
    let option = regex::Regex::new(r"^\s+(?:-[A-Za-z0-9], )?--([a-z0-9][a-z0-9-]*)").unwrap();
    text.lines()
        .filter_map(|l| option.captures(l))
        .map(|c| c[1].to_string())
        .filter(|o| o != "help" && o != "version")
        .collect()
}

/// The subcommands a `--help` text lists, without `help`.
fn help_subcommands(text: &str) -> Vec<String> {
    let Some(start) = text.find("\nCommands:\n") else {
        return Vec::new();
    };
    text[start + 11..]
        .lines()
        .take_while(|l| !l.trim().is_empty())
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .map(str::to_string)
        .collect()
}

/// The long options a man page names (`\-\-name`, in any font).
fn man_options(page: &str) -> BTreeSet<String> {
    let option = regex::Regex::new(r"\\-\\-([a-z0-9]+(?:\\-[a-z0-9]+)*)").unwrap();
    option
        .captures_iter(page)
        .map(|c| c[1].replace(r"\-", "-"))
        .filter(|o| o != "help" && o != "version")
        .collect()
}

#[test]
fn every_binary_has_a_man_page_and_every_page_a_binary() {
    assert_eq!(
        binaries(),
        man_pages(),
        "[[bin]] of Cargo.toml vs packaging/man/*.1"
    );
    assert!(binaries().contains("extnfs"));
}

#[test]
fn man_pages_and_help_name_the_same_options() {
    let mut problems = Vec::new();
    for name in binaries() {
        let binary = binary_path(&name);
        let page = std::fs::read_to_string(root().join(format!("packaging/man/{name}.1")))
            .unwrap_or_else(|e| panic!("man page of {name}: {e}"));
        let in_page = man_options(&page);
        let mut in_help = BTreeSet::new();
        let mut pending: Vec<Vec<String>> = vec![Vec::new()];
        while let Some(sub) = pending.pop() {
            let text = help(&binary, &sub);
            let options = help_options(&text);
            for missing in options.difference(&in_page) {
                problems.push(format!(
                    "{name} {}: --{missing} is in --help, not in {name}(1)",
                    sub.join(" ")
                ));
            }
            in_help.extend(options);
            for child in help_subcommands(&text) {
                let mut path = sub.clone();
                path.push(child);
                pending.push(path);
            }
        }
        for extra in in_page.difference(&in_help) {
            problems.push(format!(
                "{name}(1) names --{extra}, which no --help of {name} has"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_parsers_find_what_they_look_for() {
    let help = "Usage: x\n\nCommands:\n  nodels   List\n  exports  The\n  help     Print\n\n\
                Options:\n  -H, --with-fieldname\n      --db <DIR>\n          Read --not-this\n  -h, --help\n";
    assert_eq!(help_subcommands(help), ["nodels", "exports"]);
    assert_eq!(
        help_options(help).into_iter().collect::<Vec<_>>(),
        ["db", "with-fieldname"]
    );
    let page =
        ".RB [ \\-\\-no\\-local ]\n.BI \\-\\-db \" DIR\"\n\\fB\\-\\-dry\\-run\\fR\n.B \\-\\-help\n";
    assert_eq!(
        man_options(page).into_iter().collect::<Vec<_>>(),
        ["db", "dry-run", "no-local"]
    );
}
