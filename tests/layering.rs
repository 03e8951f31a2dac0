//! The layering of `src/` (`tests/layering/layers.txt`, the picture of
//! DESIGN.md as data): every `crate::` path of a top-level module names a
//! module of a lower layer, or of its own layer without closing a cycle.
//! The paths are read from the source text with comments and string
//! literals taken out, so a doc link is not an import.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// `from` imports `to` in `file`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Import {
    from: String,
    to: String,
    file: String,
}

/// Each module's layer, 0 at the bottom.
fn layers(text: &str) -> BTreeMap<String, usize> {
    let rows: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    let mut layer_of = BTreeMap::new();
    for (i, row) in rows.iter().enumerate() {
        for module in row.split_whitespace() {
            let previous = layer_of.insert(module.to_string(), rows.len() - 1 - i);
            assert!(previous.is_none(), "{module} is named twice in layers.txt");
        }
    }
    layer_of
}

/// `text` without comments, and with every string and char literal
/// emptied (raw strings included).
fn code_only(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let mut depth = 0;
                while i < b.len() {
                    if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
                        depth += 1;
                        i += 2;
                    } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        i += 1;
                    }
                }
            }
            b'r' if matches!(b.get(i + 1), Some(b'#' | b'"'))
                && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_')) =>
            {
                let hashes = b[i + 1..].iter().take_while(|&&c| c == b'#').count();
                let open = i + 1 + hashes;
                if b.get(open) != Some(&b'"') {
                    out.push('r');
                    i += 1;
                    continue;
                }
                let close: Vec<u8> = std::iter::once(b'"')
                    .chain(std::iter::repeat_n(b'#', hashes))
                    .collect();
                let end = b[open + 1..]
                    .windows(close.len())
                    .position(|w| w == close.as_slice())
                    .map_or(b.len(), |p| open + 1 + p + close.len());
                out.push_str("\"\"");
                i = end;
            }
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                out.push_str("\"\"");
                i += 1;
            }
            // A char literal ('x', '\n', '\u{1F600}'), not a lifetime ('a).
            b'\'' if b.get(i + 2) == Some(&b'\'') || b.get(i + 1) == Some(&b'\\') => {
                i += 1;
                while i < b.len() && b[i] != b'\'' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                out.push_str("' '");
                i += 1;
            }
            c => {
                out.push(c as char);
                i += 1;
            }
        }
    }
    out
}

/// The top-level modules that `code` names after `crate::`, including
/// each of a group's (`use crate::{a::X, b};`).
fn named_modules(code: &str) -> BTreeSet<String> {
    let ident = |s: &str| -> String {
        s.trim_start()
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut found = BTreeSet::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        let before = rest[..at].chars().next_back();
        rest = &rest[at + "crate::".len()..];
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$') {
            continue;
        }
        let Some(group) = rest.trim_start().strip_prefix('{') else {
            found.insert(ident(rest));
            continue;
        };
        let (mut depth, mut item) = (0, String::new());
        for c in group.chars() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => break,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    found.insert(ident(&item));
                    item.clear();
                    continue;
                }
                _ => {}
            }
            if depth == 0 {
                item.push(c);
            }
        }
        found.insert(ident(&item));
    }
    found.remove("");
    found
}

/// Every `.rs` file under `src/` with its text: `(path from src, text)`.
fn sources(src: &Path) -> Vec<(String, String)> {
    fn walk(dir: &Path, src: &Path, out: &mut Vec<(String, String)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, src, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path
                    .strip_prefix(src)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                out.push((rel, std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
    let mut out = Vec::new();
    walk(src, src, &mut out);
    out.sort();
    out
}

/// The top-level module a file of `src/` belongs to (`None` for the
/// crate roots).
fn module_of(file: &str) -> Option<String> {
    let first = file.split('/').next()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    (!matches!(name, "lib" | "main")).then(|| name.to_string())
}

/// The imports between top-level modules in `files`.
fn imports(files: &[(String, String)]) -> Vec<Import> {
    let modules: BTreeSet<String> = files.iter().filter_map(|(f, _)| module_of(f)).collect();
    let mut out = BTreeSet::new();
    for (file, text) in files {
        let Some(from) = module_of(file) else {
            continue;
        };
        for to in named_modules(&code_only(text)) {
            if to != from && modules.contains(&to) {
                out.insert(Import {
                    from: from.clone(),
                    to,
                    file: file.clone(),
                });
            }
        }
    }
    out.into_iter().collect()
}

/// What is wrong with `files` against the layers of `layers_txt`, one
/// line each; empty when the tree keeps its layering.
fn violations(files: &[(String, String)], layers_txt: &str) -> Vec<String> {
    let layer_of = layers(layers_txt);
    let mut wrong = Vec::new();
    let modules: BTreeSet<String> = files.iter().filter_map(|(f, _)| module_of(f)).collect();
    for m in &modules {
        if !layer_of.contains_key(m) {
            wrong.push(format!("module {m} is not in layers.txt: give it a layer"));
        }
    }
    for m in layer_of.keys() {
        if !modules.contains(m) {
            wrong.push(format!("layers.txt names {m}, which src/ does not have"));
        }
    }
    let imports = imports(files);
    for i in &imports {
        if let (Some(a), Some(b)) = (layer_of.get(&i.from), layer_of.get(&i.to))
            && b > a
        {
            wrong.push(format!("{} imports {} upward ({})", i.from, i.to, i.file));
        }
    }
    // Cycles: a depth-first search over the imports within a layer (a
    // cycle through an upward import is reported above already).
    let mut edges: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for i in imports.iter().filter(|i| {
        layer_of
            .get(&i.from)
            .is_some_and(|a| layer_of.get(&i.to) == Some(a))
    }) {
        edges.entry(&i.from).or_default().insert(&i.to);
    }
    let mut done = BTreeSet::new();
    for start in edges.keys() {
        let mut path = vec![*start];
        find_cycle(&edges, &mut path, &mut done, &mut wrong, &imports);
    }
    wrong
}

fn find_cycle<'a>(
    edges: &BTreeMap<&'a str, BTreeSet<&'a str>>,
    path: &mut Vec<&'a str>,
    done: &mut BTreeSet<&'a str>,
    wrong: &mut Vec<String>,
    imports: &[Import],
) {
    let here = *path.last().unwrap();
    if done.contains(here) {
        return;
    }
    for &next in edges.get(here).into_iter().flatten() {
        if let Some(at) = path.iter().position(|m| *m == next) {
            let mut cycle: Vec<&str> = path[at..].to_vec();
            cycle.push(next);
            let files: Vec<String> = cycle
                .windows(2)
                .map(|w| {
                    let i = imports
                        .iter()
                        .find(|i| i.from == w[0] && i.to == w[1])
                        .unwrap();
                    format!("{} → {} in {}", w[0], w[1], i.file)
                })
                .collect();
            wrong.push(format!("a cycle: {}", files.join("; ")));
            continue;
        }
        path.push(next);
        find_cycle(edges, path, done, wrong, imports);
        path.pop();
    }
    done.insert(here);
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn layers_txt() -> String {
    std::fs::read_to_string(root().join("tests/layering/layers.txt")).unwrap()
}

#[test]
fn src_imports_only_downwards_and_has_no_cycle() {
    let files = sources(&root().join("src"));
    assert!(files.len() > 100, "src/ was not found");
    let wrong = violations(&files, &layers_txt());
    assert!(
        wrong.is_empty(),
        "the layering of src/ is broken:\n{}",
        wrong.join("\n")
    );
}

/// The test above can fail: an upward import planted into the real
/// tree is reported, with the file.
#[test]
fn a_planted_upward_import_is_reported() {
    let mut files = sources(&root().join("src"));
    let (_, text) = files.iter_mut().find(|(f, _)| f == "store/mod.rs").unwrap();
    text.push_str("\nuse crate::{clock, http::AppContext};\n");
    let wrong = violations(&files, &layers_txt());
    assert_eq!(
        wrong,
        ["store imports http upward (store/mod.rs)"],
        "{wrong:#?}"
    );
}

/// So can a cycle between two modules of one layer, and a module that
/// has no layer.
#[test]
fn a_planted_cycle_and_an_unplaced_module_are_reported() {
    let mut files = sources(&root().join("src"));
    let (_, text) = files
        .iter_mut()
        .find(|(f, _)| f == "firewall/mod.rs")
        .unwrap();
    text.push_str("\nfn planted() { let _ = crate::system::units::Units::new; }\n");
    let (_, text) = files
        .iter_mut()
        .find(|(f, _)| f == "system/mod.rs")
        .unwrap();
    text.push_str("\nuse crate::firewall::model::Policy;\n");
    files.push(("nodes/mod.rs".into(), "use crate::store::Store;\n".into()));
    let wrong = violations(&files, &layers_txt());
    assert!(
        wrong.contains(&"module nodes is not in layers.txt: give it a layer".to_string()),
        "{wrong:#?}"
    );
    assert!(
        wrong.iter().any(
            |w| w.starts_with("a cycle: firewall → system in firewall/mod.rs")
                || w.starts_with("a cycle: system → firewall in system/mod.rs")
        ),
        "{wrong:#?}"
    );
}

#[test]
fn comments_strings_and_groups_are_read_right() {
    let code = code_only(
        "//! see [`crate::daemon`]\n/* crate::http */ let s = \"crate::cli\";\n\
         let r = r#\"crate::console\"#; let c = '\"';\n\
         use crate::{store::{Store, Table}, auth::Role};\nlet x = crate::names::x();\n\
         let y = $crate::events::z; fn f<'a>(v: &'a str) {}",
    );
    assert_eq!(
        named_modules(&code),
        ["auth", "names", "store"]
            .map(String::from)
            .into_iter()
            .collect()
    );
}
