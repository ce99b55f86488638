//! ARCHITECTURE.md's invariants about the core, checked on the source: the
//! core (and the pure rules it consults) imports nothing that reads a clock,
//! draws randomness or does I/O, nothing of the shell, the scenario runner or
//! the wire layer, no hash-ordered collection, no JSON and no floats; the
//! vocabulary in `core/api` imports no behaviour of the core.
//!
//! Every path form is seen: `use` trees (grouped, nested, renamed) are
//! expanded into full paths, and paths written inline in code (`std::time::
//! SystemTime::now()`) are read too. Comments and string literals are skipped.

use std::fs;
use std::path::{Path, PathBuf};

/// Paths (as `a::b` prefixes, or single names) that the core must not use.
const BANNED: &[&str] = &[
    "crate::sim",
    "crate::scenario",
    "crate::wire",
    "crate::server",
    "crate::tools",
    "std::time",
    "std::fs",
    "std::net",
    "std::io",
    "std::env",
    "std::thread",
    "std::process",
    "std::collections::HashMap",
    "std::collections::HashSet",
    "rand",
    "rand_chacha",
    "serde_json",
    "imbl::HashMap",
    "imbl::HashSet",
    "HashMap",
    "HashSet",
    "SystemTime",
    "thread_rng",
    "f32",
    "f64",
];

/// The core's own behaviour, which the vocabulary must not import.
const BEHAVIOUR: &[&str] = &[
    "crate::core::pipeline",
    "crate::core::limit",
    "crate::core::lifecycle",
    "crate::core::thread",
    "crate::core::token",
    "crate::core::State",
];

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .expect("source folder")
        .map(|e| e.expect("entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code above the file's own unit tests, without comments and string
/// or char literals.
fn code(text: &str) -> String {
    let text = text.split("#[cfg(test)]").next().unwrap_or_default();
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '/' if chars.peek() == Some(&'/') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            '"' => {
                let mut escaped = false;
                for c in chars.by_ref() {
                    if escaped {
                        escaped = false;
                    } else if c == '\\' {
                        escaped = true;
                    } else if c == '"' {
                        break;
                    }
                }
                out.push_str("\"\"");
            }
            _ => out.push(c),
        }
    }
    out
}

/// Every full path a `use` tree names: `a::{b, c::{d as e}}` gives `a::b`,
/// `a::c::d`.
fn expand(prefix: &str, tree: &str, out: &mut Vec<String>) {
    let tree = tree.trim();
    let Some(open) = tree.find('{') else {
        let path = tree.split(" as ").next().unwrap_or(tree).trim();
        if !path.is_empty() && path != "self" {
            out.push(format!("{prefix}{path}"));
        } else if path == "self" {
            out.push(prefix.trim_end_matches("::").to_string());
        }
        return;
    };
    let head = format!("{prefix}{}", &tree[..open]);
    let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
    let (mut depth, mut start) = (0, 0);
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                expand(&head, &inner[start..i], out);
                start = i + 1;
            }
            _ => {}
        }
    }
    expand(&head, &inner[start..], out);
}

/// Every path the code names: expanded `use` trees, and `a::b::c` runs
/// and lone identifiers elsewhere. `super::` and `self::` in a file under
/// `src/core` are resolved against the file's module path.
fn paths(code: &str, module: &str) -> Vec<String> {
    let resolve = |path: String| -> String {
        let mut parts: Vec<&str> = module.split("::").collect();
        let mut rest = path.as_str();
        loop {
            if let Some(r) = rest.strip_prefix("super::") {
                parts.pop();
                rest = r;
            } else if let Some(r) = rest.strip_prefix("self::") {
                rest = r;
            } else {
                break;
            }
        }
        if rest.len() != path.len() {
            format!("{}::{rest}", parts.join("::"))
        } else {
            path
        }
    };
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("use ") {
        let boundary = at == 0 || !rest.as_bytes()[at - 1].is_ascii_alphanumeric();
        let Some(end) = rest[at..].find(';') else {
            break;
        };
        if boundary {
            let mut found = Vec::new();
            expand("", &rest[at + 4..at + end], &mut found);
            out.extend(
                found
                    .into_iter()
                    .map(|p| resolve(p.replace(char::is_whitespace, ""))),
            );
        }
        rest = &rest[at + end..];
    }
    let mut run = String::new();
    for c in code.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_alphanumeric() || c == '_' || c == ':' {
            run.push(c);
        } else if !run.is_empty() {
            out.push(resolve(run.trim_matches(':').to_string()));
            run.clear();
        }
    }
    out
}

fn names(path: &str, banned: &str) -> bool {
    path == banned
        || path.starts_with(&format!("{banned}::"))
        || path.split("::").any(|segment| segment == banned)
}

fn module_of(root: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(root).expect("under src");
    let mut parts: Vec<String> = rel
        .with_extension("")
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    format!("crate::{}", parts.join("::"))
}

#[test]
fn the_core_reads_no_clock_draws_no_randomness_and_does_no_io() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&root.join("core"), &mut files);
    sources(&root.join("rules"), &mut files);
    files.push(root.join("profile").join("carrier.rs"));
    assert!(files.len() > 20, "the walk found the core's files");
    for file in &files {
        let text = fs::read_to_string(file).expect("readable source");
        let module = module_of(&root, file);
        for path in paths(&code(&text), &module) {
            for banned in BANNED {
                let single = !banned.contains("::");
                let hit = if single {
                    path.split("::").any(|s| s == *banned)
                } else {
                    names(&path, banned) && path.starts_with(banned.split("::").next().unwrap())
                };
                assert!(!hit, "{}: the core names {banned} ({path})", file.display());
            }
        }
    }
}

#[test]
fn the_vocabulary_imports_no_behaviour() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&root.join("core").join("api"), &mut files);
    assert!(files.len() >= 5, "the walk found the vocabulary");
    for file in &files {
        let text = fs::read_to_string(file).expect("readable source");
        let module = module_of(&root, file);
        for path in paths(&code(&text), &module) {
            for behaviour in BEHAVIOUR {
                assert!(
                    !(path == *behaviour || path.starts_with(&format!("{behaviour}::"))),
                    "{}: the vocabulary imports {behaviour} ({path})",
                    file.display()
                );
            }
        }
    }
}

/// The checker itself sees the forms it claims to see.
#[test]
fn the_checker_sees_grouped_nested_and_inline_paths() {
    let code = code(
        "use std::{collections::BTreeMap, time::{Duration as D}};\n\
         // use std::fs; (a comment)\n\
         fn f() { let s = \"std::net\"; std::process::exit(0); }",
    );
    let found = paths(&code, "crate::core::x");
    assert!(
        found.iter().any(|p| p == "std::time::Duration"),
        "{found:?}"
    );
    assert!(
        found.iter().any(|p| p.starts_with("std::process::exit")),
        "{found:?}"
    );
    assert!(!found.iter().any(|p| p.starts_with("std::fs")), "{found:?}");
    assert!(
        !found.iter().any(|p| p.starts_with("std::net")),
        "{found:?}"
    );
    let found = paths("use super::super::sim::Simulator;", "crate::core::x");
    assert!(
        found.iter().any(|p| p == "crate::sim::Simulator"),
        "{found:?}"
    );
}

/// No import circle among the core's files: each file's imports of its
/// siblings (`super::x::…`, `crate::core::x::…`, `crate::core::api::x`) form
/// a graph without a cycle.
#[test]
fn the_core_has_no_import_circle() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&root.join("core"), &mut files);
    let module = |file: &Path| module_of(&root, file);
    let modules: Vec<String> = files.iter().map(|f| module(f)).collect();
    let mut edges: Vec<Vec<usize>> = vec![Vec::new(); files.len()];
    for (i, file) in files.iter().enumerate() {
        let text = fs::read_to_string(file).expect("readable source");
        for path in paths(&code(&text), &modules[i]) {
            for (j, target) in modules.iter().enumerate() {
                let parent = modules[i].rsplit_once("::").map(|(p, _)| p);
                let is_sibling_path = path.starts_with(&format!("{target}::"));
                if j != i
                    && target != "crate::core"
                    && Some(target.as_str()) != parent
                    && is_sibling_path
                    && !edges[i].contains(&j)
                {
                    edges[i].push(j);
                }
            }
        }
    }
    // Depth-first search for a back edge.
    fn visit(n: usize, edges: &[Vec<usize>], state: &mut [u8], stack: &mut Vec<usize>) -> bool {
        state[n] = 1;
        stack.push(n);
        for &m in &edges[n] {
            if state[m] == 1 {
                stack.push(m);
                return true;
            }
            if state[m] == 0 && visit(m, edges, state, stack) {
                return true;
            }
        }
        stack.pop();
        state[n] = 2;
        false
    }
    let mut state = vec![0u8; files.len()];
    for n in 0..files.len() {
        let mut stack = Vec::new();
        if state[n] == 0 && visit(n, &edges, &mut state, &mut stack) {
            let names: Vec<&str> = stack.iter().map(|&i| modules[i].as_str()).collect();
            panic!("an import circle in the core: {}", names.join(" -> "));
        }
    }
    assert!(
        edges.iter().map(Vec::len).sum::<usize>() > 10,
        "the graph has edges"
    );
}
