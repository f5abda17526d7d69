//! The library's files import each other one way only: a test that reads src/, builds the
//! graph of which file uses which (`crate::`, `super::`, `self::` and child-module paths) and
//! fails on any cycle, naming it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A module path (`["sync", "plan"]`) and the file that defines it.
type Modules = BTreeMap<Vec<String>, PathBuf>;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `src/sync/plan.rs` -> `["sync", "plan"]`; `src/sync/mod.rs` -> `["sync"]`; test files
/// (a `tests` module or a file below a `tests` directory) are left out.
fn module_of(src: &Path, file: &Path) -> Option<Vec<String>> {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.iter().any(|p| p == "tests") || parts.first().is_some_and(|p| p == "bin") {
        return None;
    }
    if parts.last().is_some_and(|p| p == "mod" || p == "lib") {
        parts.pop();
    }
    Some(parts)
}

/// The code of a file without plain comments, string and character literals, and the items
/// marked `#[cfg(test)]` (tests may import freely). Doc comments stay: an intra-doc link
/// (`[`crate::cli`]`) is a dependency of the documentation.
fn code(text: &str) -> String {
    let mut out = String::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if line.trim() == "#[cfg(test)]" {
            skip_item(&mut lines);
            continue;
        }
        let trimmed = line.trim_start();
        if trimmed.starts_with("///") || trimmed.starts_with("//!") {
            out.push_str(&trimmed[3..]);
        } else {
            out.push_str(&plain(line));
        }
        out.push('\n');
    }
    out
}

/// One line without its comment, string and character literals.
fn plain(line: &str) -> String {
    let chars: Vec<char> = line.chars().collect();
    let mut out = String::new();
    let mut in_str = false;
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '\\' if in_str => i += 1,
            '"' => in_str = !in_str,
            _ if in_str => {}
            '/' if chars.get(i + 1) == Some(&'/') => break,
            // A character literal: '"', '\'' or 'x' (a lifetime has no closing quote).
            '\'' if chars.get(i + 1) == Some(&'\\') => i += 3,
            '\'' if chars.get(i + 2) == Some(&'\'') => i += 2,
            c => out.push(c),
        }
        i += 1;
    }
    out
}

/// Skips the item after a `#[cfg(test)]`: one line ending in `;`, or up to its closing brace
/// (braces in comments and literals do not count).
fn skip_item<'a>(lines: &mut impl Iterator<Item = &'a str>) {
    let mut depth = 0i64;
    let mut opened = false;
    for line in lines {
        let code = plain(line);
        depth += code.matches('{').count() as i64 - code.matches('}').count() as i64;
        opened |= code.contains('{');
        if (opened && depth <= 0) || (!opened && code.trim_end().ends_with(';')) {
            return;
        }
    }
}

/// Every path written in `code` as words joined by `::`, brace groups expanded.
fn paths(code: &str) -> Vec<Vec<String>> {
    let chars: Vec<char> = code.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let starts_word = (chars[i].is_alphabetic() || chars[i] == '_')
            && (i == 0 || !(chars[i - 1].is_alphanumeric() || chars[i - 1] == '_'));
        let after_colons = i >= 2 && chars[i - 1] == ':' && chars[i - 2] == ':';
        if starts_word && !after_colons {
            let (found, end) = path_at(&chars, i, Vec::new());
            out.extend(found.into_iter().filter(|p| p.len() > 1));
            i = end.max(i + 1);
        } else {
            i += 1;
        }
    }
    out
}

/// Reads `a::b::{c, d::e}` from `i` with `prefix` before it; the paths and where it ended.
fn path_at(chars: &[char], mut i: usize, prefix: Vec<String>) -> (Vec<Vec<String>>, usize) {
    let mut path = prefix;
    loop {
        let start = i;
        while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
            i += 1;
        }
        if i == start {
            return (vec![path], i);
        }
        path.push(chars[start..i].iter().collect());
        if chars.get(i) == Some(&':') && chars.get(i + 1) == Some(&':') {
            i += 2;
            if chars.get(i) == Some(&'{') {
                return group(chars, i + 1, path);
            }
        } else {
            return (vec![path], i);
        }
    }
}

fn group(chars: &[char], mut i: usize, prefix: Vec<String>) -> (Vec<Vec<String>>, usize) {
    let mut out = Vec::new();
    while i < chars.len() {
        match chars[i] {
            '}' => return (out, i + 1),
            c if c.is_alphabetic() || c == '_' => {
                let (found, end) = path_at(chars, i, prefix.clone());
                out.extend(found);
                i = end;
            }
            _ => i += 1,
        }
    }
    (out, i)
}

/// The module file a path refers to, seen from module `from`: the longest known module that
/// the path names.
fn target(modules: &Modules, from: &[String], path: &[String]) -> Option<Vec<String>> {
    let mut base: Vec<String> = match path[0].as_str() {
        "crate" => Vec::new(),
        "self" => from.to_vec(),
        "super" => from[..from.len().checked_sub(1)?].to_vec(),
        first => {
            let mut child = from.to_vec();
            child.push(first.to_string());
            if !modules.contains_key(&child) {
                return None;
            }
            from.to_vec()
        }
    };
    let rest = match path[0].as_str() {
        "crate" | "self" | "super" => &path[1..],
        _ => path,
    };
    let mut rest = rest.iter().peekable();
    while rest.peek().is_some_and(|p| *p == "super") {
        base.pop();
        rest.next();
    }
    for word in rest {
        let mut next = base.clone();
        next.push(word.clone());
        if !modules.contains_key(&next) {
            break;
        }
        base = next;
    }
    Some(base)
}

/// A cycle in the graph, if any, as the modules along it.
fn find_cycle(graph: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>) -> Option<Vec<Vec<String>>> {
    fn visit(
        node: &Vec<String>,
        graph: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        state: &mut BTreeMap<Vec<String>, u8>,
        stack: &mut Vec<Vec<String>>,
    ) -> Option<Vec<Vec<String>>> {
        state.insert(node.clone(), 1);
        stack.push(node.clone());
        for next in graph.get(node).into_iter().flatten() {
            match state.get(next).copied().unwrap_or(0) {
                1 => {
                    let at = stack.iter().position(|n| n == next).unwrap();
                    let mut cycle = stack[at..].to_vec();
                    cycle.push(next.clone());
                    return Some(cycle);
                }
                0 => {
                    if let Some(c) = visit(next, graph, state, stack) {
                        return Some(c);
                    }
                }
                _ => {}
            }
        }
        stack.pop();
        state.insert(node.clone(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for node in graph.keys() {
        if !state.contains_key(node) {
            if let Some(c) = visit(node, graph, &mut state, &mut Vec::new()) {
                return Some(c);
            }
        }
    }
    None
}

fn graph(src: &Path) -> BTreeMap<Vec<String>, BTreeSet<Vec<String>>> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let modules: Modules = files
        .iter()
        .filter_map(|f| module_of(src, f).map(|m| (m, f.clone())))
        .collect();
    let mut graph = BTreeMap::new();
    for (module, file) in &modules {
        let text = std::fs::read_to_string(file).unwrap();
        let edges: BTreeSet<Vec<String>> = paths(&code(&text))
            .iter()
            .filter_map(|p| target(&modules, module, p))
            .filter(|t| t != module && modules.contains_key(t))
            .collect();
        graph.insert(module.clone(), edges);
    }
    graph
}

#[test]
fn no_import_cycles_between_the_files_of_src() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let graph = graph(&src);
    assert!(graph.len() > 20, "the library's files were not found");
    assert!(
        graph[&vec!["sync".to_string()]].contains(&vec!["sync".to_string(), "plan".to_string()]),
        "the checker does not see sync's use of its plan module"
    );
    let mut graph = graph;
    let mut cycles = Vec::new();
    while let Some(cycle) = find_cycle(&graph) {
        let names: Vec<String> = cycle.iter().map(|m| m.join("::")).collect();
        cycles.push(names.join(" -> "));
        graph.get_mut(&cycle[0]).unwrap().remove(&cycle[1]);
    }
    assert!(cycles.is_empty(), "import cycles:\n{}", cycles.join("\n"));
}

#[test]
fn the_checker_finds_a_cycle() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    std::fs::create_dir(src.join("a")).unwrap();
    std::fs::write(src.join("lib.rs"), "pub mod a;\npub mod b;\n").unwrap();
    std::fs::write(src.join("a/mod.rs"), "mod c;\nuse c::X;\n").unwrap();
    std::fs::write(src.join("a/c.rs"), "use crate::b::{self, Y};\n").unwrap();
    std::fs::write(
        src.join("b.rs"),
        "// crate::nothing::here\nuse crate::a::Z;\n",
    )
    .unwrap();
    let cycle = find_cycle(&graph(src)).expect("a cycle");
    assert_eq!(cycle.len(), 4, "{cycle:?}");
}

#[test]
fn the_checker_sees_doc_links_and_code_after_a_test_item() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    std::fs::write(src.join("lib.rs"), "pub mod a;\npub mod b;\npub mod c;\n").unwrap();
    std::fs::write(
        src.join("a.rs"),
        "#[cfg(test)]\nfn t() {\n    let _ = (\"{\", '{'); // {\n}\n\npub fn f() { crate::b::g(); }\n",
    )
    .unwrap();
    std::fs::write(src.join("b.rs"), "//! Called from [`crate::a::f`].\n").unwrap();
    std::fs::write(
        src.join("c.rs"),
        "// crate::a::f\nconst Q: char = '\"';\nconst S: &str = \"crate::a::f\";\n",
    )
    .unwrap();
    let graph = graph(src);
    let cycle = find_cycle(&graph).expect("the doc link closes a cycle");
    assert_eq!(cycle.len(), 3, "{cycle:?}");
    assert!(graph[&vec!["c".to_string()]].is_empty(), "{graph:?}");
}
