//! The crate's shape, kept: its modules form no cycle (each uses only
//! those before it in the order drawn in `src/lib.rs`), and no source file
//! grows past about 500 lines. Read from the source files themselves.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const MAX_LINES: usize = 500;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

fn src() -> (PathBuf, Vec<PathBuf>) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    (root, files)
}

/// The top-level module a file belongs to (`pipeline/fetch.rs` → `pipeline`).
fn top_module(root: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(root).unwrap();
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    first.trim_end_matches(".rs").to_string()
}

/// The top-level modules `code` names through `crate::` (paths, and the
/// names in `use crate::{a, b::c}` groups, over several lines too),
/// comments and the file's own `#[cfg(test)] mod tests` left out.
fn uses(code: &str) -> BTreeSet<String> {
    let code = code.split("#[cfg(test)]\nmod tests").next().unwrap_or(code);
    let code: String = code
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let ident = |s: &str| -> String {
        s.trim_start()
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || *c == '_')
            .collect()
    };
    let mut found = BTreeSet::new();
    let mut rest = code.as_str();
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // The group's top-level items, up to its closing brace.
            let mut depth = 0;
            let mut item_start = true;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => item_start = true,
                    c if item_start && !c.is_whitespace() => {
                        item_start = false;
                        let name = ident(&group[i..]);
                        if !name.is_empty() {
                            found.insert(name);
                        }
                    }
                    _ => {}
                }
            }
        } else {
            let name = ident(rest);
            if !name.is_empty() {
                found.insert(name);
            }
        }
    }
    found
}

#[test]
fn the_modules_of_the_gateway_form_no_cycle() {
    let (root, files) = src();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let name = file.file_name().unwrap().to_string_lossy();
        // Test-only files may reach anywhere.
        if name == "tests.rs" || name.ends_with("_tests.rs") || name == "test_support.rs" {
            continue;
        }
        let module = top_module(&root, file);
        let code = std::fs::read_to_string(file).unwrap();
        let used = uses(&code);
        let entry = graph.entry(module.clone()).or_default();
        entry.extend(used.into_iter().filter(|m| *m != module));
    }
    // Depth-first search for a back edge.
    fn visit(
        n: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(n.to_string(), 1);
        stack.push(n.to_string());
        for m in graph.get(n).into_iter().flatten() {
            match state.get(m.as_str()) {
                Some(1) => {
                    let at = stack.iter().position(|s| s == m).unwrap();
                    let mut cycle = stack[at..].to_vec();
                    cycle.push(m.clone());
                    return Some(cycle);
                }
                Some(_) => {}
                None => {
                    if let Some(c) = visit(m, graph, state, stack) {
                        return Some(c);
                    }
                }
            }
        }
        stack.pop();
        state.insert(n.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for n in graph.keys() {
        if !state.contains_key(n.as_str()) {
            let cycle = visit(n, &graph, &mut state, &mut Vec::new());
            assert_eq!(cycle, None, "a module cycle in crates/gateway/src");
        }
    }
    // The pipeline exists, and the edge is not reached from it.
    let pipeline = &graph["pipeline"];
    for edge in ["server", "fhir_api", "listener", "respond", "request"] {
        assert!(
            !pipeline.contains(edge),
            "the pipeline uses the edge's {edge}"
        );
    }
}

#[test]
fn no_source_file_of_the_gateway_is_over_500_lines() {
    let (root, files) = src();
    let long: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let n = std::fs::read_to_string(f).unwrap().lines().count();
            (n > MAX_LINES).then(|| format!("{} ({n})", f.strip_prefix(&root).unwrap().display()))
        })
        .collect();
    assert_eq!(long, Vec::<String>::new());
}

#[test]
fn the_usage_reader_sees_uses_and_skips_comments_and_unit_tests() {
    let code = "use crate::cache::X;\n// crate::server\nfn f() { crate::outcome::g(); }\n#[cfg(test)]\nmod tests {\n use crate::listener;\n}\n";
    let found: Vec<String> = uses(code).into_iter().collect();
    assert_eq!(found, ["cache", "outcome"]);
}
