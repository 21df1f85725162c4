//! The layer table of `docs/design.md` is true of `src/`: every file is listed, every file
//! uses only files on its own row or below, and no files use each other in a circle.
//!
//! "Uses" means a path that names another file's module: `use crate::a::b::C`, an inline
//! `crate::a::f()`, `use super::x::Y`. A path that stops at a folder's `mod.rs` which only
//! re-exports (a *door*: nothing but `mod` and `use` lines) is followed to the file that
//! defines the item. Test modules (`#[cfg(test)] mod tests`) and comments are not read.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

/// Every `.rs` file under `src/`, by path relative to it, with the text that counts.
fn sources() -> BTreeMap<String, String> {
    fn walk(dir: &Path, root: &Path, out: &mut BTreeMap<String, String>) {
        for entry in fs::read_dir(dir).expect("src/ is readable") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                walk(&path, root, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path.strip_prefix(root).expect("under src/");
                let rel = rel.to_string_lossy().replace('\\', "/");
                let text = fs::read_to_string(&path).expect("a source file is readable");
                out.insert(rel, code_of(&text));
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = BTreeMap::new();
    walk(&root, &root, &mut out);
    out
}

/// The text of a file without comments and without its test module.
fn code_of(text: &str) -> String {
    let mut out = String::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("#[cfg(") && trimmed.contains("test") {
            // Skip further attributes, then stop at a `mod` that follows.
            while lines
                .peek()
                .is_some_and(|l| l.trim_start().starts_with("#["))
            {
                lines.next();
            }
            if lines
                .peek()
                .is_some_and(|l| l.trim_start().starts_with("mod "))
            {
                break;
            }
            continue;
        }
        let code = match line.find("//") {
            Some(i) => &line[..i],
            None => line,
        };
        out.push_str(code);
        out.push('\n');
    }
    out
}

/// The module path of a file (`sched/context/ctx.rs` -> `["sched", "context", "ctx"]`).
fn module_of(rel: &str) -> Vec<String> {
    if rel == "lib.rs" {
        return Vec::new();
    }
    let stem = rel.trim_end_matches(".rs");
    let stem = stem.strip_suffix("/mod").unwrap_or(stem);
    stem.split('/').map(str::to_string).collect()
}

/// The file of a module path, if it is one.
fn file_of(files: &BTreeMap<String, String>, module: &[String]) -> Option<String> {
    if module.is_empty() {
        return Some("lib.rs".into());
    }
    let base = module.join("/");
    [format!("{base}.rs"), format!("{base}/mod.rs")]
        .into_iter()
        .find(|f| files.contains_key(f))
}

/// Whether a file only declares and re-exports modules.
fn is_door(code: &str) -> bool {
    code.split(';')
        .map(|stmt| stmt.trim())
        .filter(|stmt| !stmt.is_empty())
        .all(|stmt| {
            let stmt = stmt
                .lines()
                .filter(|l| !l.trim_start().starts_with("#"))
                .collect::<Vec<_>>()
                .join(" ");
            let stmt = stmt.trim();
            let stmt = stmt
                .strip_prefix("pub(crate) ")
                .or_else(|| stmt.strip_prefix("pub "))
                .unwrap_or(stmt);
            stmt.is_empty() || stmt.starts_with("mod ") || stmt.starts_with("use ")
        })
}

/// Expands `a::{b, c::{d}}` into `a::b`, `a::c::d`.
fn expand(path: &str) -> Vec<String> {
    let path: String = path.chars().filter(|c| !c.is_whitespace()).collect();
    let Some(open) = path.find("::{") else {
        return vec![path];
    };
    let prefix = &path[..open];
    let inner = &path[open + 3..path.len() - 1];
    let mut parts = Vec::new();
    let (mut depth, mut current) = (0, String::new());
    for ch in inner.chars() {
        match ch {
            '{' => depth += 1,
            '}' => depth -= 1,
            _ => {}
        }
        if ch == ',' && depth == 0 {
            parts.push(std::mem::take(&mut current));
        } else {
            current.push(ch);
        }
    }
    parts.push(current);
    parts
        .into_iter()
        .filter(|p| !p.is_empty())
        .flat_map(|p| match p.as_str() {
            "self" => vec![prefix.to_string()],
            _ => expand(&format!("{prefix}::{p}")),
        })
        .collect()
}

/// Every path a file's code names: its `use` items (expanded) and inline `crate::` paths.
fn paths_named(rel: &str, code: &str) -> Vec<String> {
    let mut out = use_paths(rel, code);
    let bytes = code.as_bytes();
    let mut from = 0;
    while let Some(i) = code[from..].find("crate::") {
        let start = from + i;
        let mut end = start + "crate::".len();
        while end < bytes.len() {
            if code[end..].starts_with("::") {
                end += 2;
            } else if bytes[end].is_ascii_alphanumeric() || bytes[end] == b'_' {
                end += 1;
            } else {
                break;
            }
        }
        let inside_word =
            start > 0 && (bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_');
        if !inside_word {
            out.push(code[start..end].trim_end_matches("::").to_string());
        }
        from = end;
    }
    out
}

/// The paths of a file's `use` items, expanded, each starting with `crate`, `super` or
/// `self` (std and dependencies left out).
fn use_paths(rel: &str, code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let top_modules: BTreeSet<String> = code
        .lines()
        .filter_map(|l| {
            let l = l.trim();
            let l = l.strip_prefix("pub(crate) ").unwrap_or(l);
            l.strip_prefix("mod ")
                .map(|m| m.trim_end_matches(';').trim().to_string())
        })
        .collect();
    for stmt in code.split(';') {
        let stmt = stmt.trim();
        let Some(i) = stmt.find("use ") else { continue };
        let before = &stmt[..i];
        if !before
            .split_whitespace()
            .all(|w| w == "pub" || w == "pub(crate)" || w.starts_with("#["))
        {
            continue;
        }
        let used = stmt[i + 4..].trim();
        let first = used.split("::").next().unwrap_or("");
        let used = if first == "crate" || first == "super" || first == "self" {
            used.to_string()
        } else if rel == "lib.rs" || top_modules.contains(first) {
            // A path relative to this module (the crate root, or a folder's door).
            let prefix = module_of(rel);
            if prefix.is_empty() {
                format!("crate::{used}")
            } else {
                format!("crate::{}::{used}", prefix.join("::"))
            }
        } else {
            continue; // std and dependencies
        };
        out.extend(expand(&used));
    }
    out
}

/// The file a path names, following doors' re-exports.
fn resolve(files: &BTreeMap<String, String>, rel: &str, path: &str) -> Option<String> {
    let path = path.split(" as ").next().unwrap_or(path);
    let mut segments: Vec<String> = path.split("::").map(str::to_string).collect();
    let mut module = match segments.first().map(String::as_str) {
        Some("crate") => Vec::new(),
        Some("self") => module_of(rel),
        Some("super") => {
            let mut m = module_of(rel);
            m.pop();
            m
        }
        _ => return None,
    };
    segments.remove(0);
    let mut file = file_of(files, &module)?;
    for segment in &segments {
        if segment == "super" {
            module.pop();
            file = file_of(files, &module)?;
            continue;
        }
        let mut next = module.clone();
        next.push(segment.clone());
        if let Some(f) = file_of(files, &next) {
            module = next;
            file = f;
            continue;
        }
        // An item: if this module re-exports it, follow the re-export.
        for named in use_paths(&file, &files[&file]) {
            if named.rsplit("::").next() == Some(segment.as_str())
                && let Some(target) = resolve(files, &file, &named)
                && target != file
            {
                return Some(target);
            }
        }
        break;
    }
    Some(file)
}

/// The rows of `docs/design.md`'s layer table, top first.
fn layer_table() -> Vec<Vec<String>> {
    let design = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/design.md"))
        .expect("docs/design.md is readable");
    let section = design
        .split("\n## Layers")
        .nth(1)
        .expect("design.md has a Layers section");
    let block = section
        .split("```")
        .nth(1)
        .expect("the Layers section has a fenced table");
    block
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty() && !l.starts_with(' '))
        .map(|l| {
            let files = l.split("  ").next().unwrap_or("");
            files
                .split(',')
                .map(|f| f.trim().trim_start_matches("src/").to_string())
                .filter(|f| !f.is_empty())
                .collect()
        })
        .collect()
}

#[test]
fn the_layer_table_is_true_of_src() {
    let files = sources();
    let table = layer_table();
    let mut row_of = BTreeMap::new();
    let mut problems = Vec::new();
    for (row, names) in table.iter().enumerate() {
        for name in names {
            if !files.contains_key(name) {
                problems.push(format!("the table lists {name}, which is not in src/"));
            }
            if row_of.insert(name.clone(), row).is_some() {
                problems.push(format!("the table lists {name} twice"));
            }
        }
    }
    let mut uses: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (rel, code) in &files {
        if is_door(code) {
            continue;
        }
        if !row_of.contains_key(rel) {
            problems.push(format!("src/{rel} is not in the layer table"));
        }
        for path in paths_named(rel, code) {
            if let Some(target) = resolve(&files, rel, &path)
                && &target != rel
                && !is_door(&files[&target])
            {
                uses.entry(rel.clone()).or_default().insert(target);
            }
        }
    }
    for (from, targets) in &uses {
        for to in targets {
            if let (Some(a), Some(b)) = (row_of.get(from), row_of.get(to))
                && b < a
            {
                problems.push(format!("{from} (row {a}) uses {to}, a higher row ({b})"));
            }
        }
    }
    // No circle: depth-first search for a back edge.
    fn visit(
        node: &str,
        uses: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
        problems: &mut Vec<String>,
    ) {
        state.insert(node.to_string(), 1);
        stack.push(node.to_string());
        for next in uses.get(node).into_iter().flatten() {
            match state.get(next.as_str()) {
                Some(1) => {
                    let from = stack.iter().position(|n| n == next).unwrap_or(0);
                    problems.push(format!(
                        "import circle: {} -> {next}",
                        stack[from..].join(" -> ")
                    ));
                }
                Some(_) => {}
                None => visit(next, uses, state, stack, problems),
            }
        }
        stack.pop();
        state.insert(node.to_string(), 2);
    }
    let mut state = BTreeMap::new();
    for node in uses.keys() {
        if !state.contains_key(node) {
            visit(node, &uses, &mut state, &mut Vec::new(), &mut problems);
        }
    }
    assert!(
        uses.values().map(BTreeSet::len).sum::<usize>() > 50,
        "the scan found too few uses to be reading src/ correctly: {uses:?}"
    );
    assert!(
        problems.is_empty(),
        "layer table vs src/:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_scan_sees_a_known_use_through_a_door() {
    let files = sources();
    // `sched/wait.rs` uses `crate::sched::context::Ctx`, re-exported by a door.
    let wait = &files["sched/wait.rs"];
    let targets: BTreeSet<_> = paths_named("sched/wait.rs", wait)
        .iter()
        .filter_map(|p| resolve(&files, "sched/wait.rs", p))
        .collect();
    assert!(targets.contains("sched/context/ctx.rs"), "{targets:?}");
    assert!(targets.contains("sched/target.rs"), "{targets:?}");
    assert!(is_door(&files["sched/context/mod.rs"]));
    assert!(!is_door(&files["backend/mod.rs"]));
}
