//! The import graph, checked: no cycle between the crate's top-level modules (`src/x.rs` with
//! `src/x/` is module `x`), no import from a lower layer up into a higher one, and no cycle
//! between the files of a module folder. Every `src/**/*.rs` is read (what counts as an import
//! is in `architecture/modules.rs`); test code counts too, except an import of a test fixture
//! (a module named `fixture`) from test code, which is test scaffolding, not design. Between
//! the files of a folder, a `pub use` is the folder's surface, not an import of its code; so is
//! a `pub use` in `lib.rs`, the crate's surface (`main.rs` reaches the command edge through it).
//! `cargo test --test architecture`; with `ARCHITECTURE_GRAPH=1` and `-- --nocapture` it also
//! prints the whole graph.

#[path = "architecture/lexer.rs"]
mod lexer;
#[path = "architecture/modules.rs"]
mod modules;

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;
use std::path::Path;

use modules::{Crate, MAIN, Reference};

/// The layers, bottom to top: a module may import its own layer and the ones below, as
/// ARCHITECTURE.md's "Dependency direction" says.
const LAYERS: &[(&str, &[&str])] = &[
    ("bottom", &["convert", "format", "spelling"]),
    (
        "foundation",
        &[
            "aws_auth",
            "clock",
            "event",
            "print",
            "protocol",
            "proxy_env",
            "rx_time",
            "runtime_lag",
            "secret",
            "server_metrics",
            "signals",
            "tokenizer",
        ],
    ),
    ("race settings", &["pace", "threshold"]),
    ("mock", &["mock"]),
    ("config", &["config"]),
    ("workload", &["workload", "capacity"]),
    ("engine", &["engine"]),
    ("stats", &["stats"]),
    ("record", &["record"]),
    ("replay", &["replay"]),
    ("views", &["export", "report", "tui"]),
    (
        "wiring",
        &[
            "lib",
            "race",
            "sweep",
            "replay_dashboard",
            "share",
            "fuzzing",
        ],
    ),
    ("edge", &["cli", "commands", "main"]),
];

fn read_crate() -> Crate {
    modules::read(Path::new(env!("CARGO_MANIFEST_DIR")))
}

/// The top-level module a module belongs to: `lib` for the crate root, `main` for the binary.
fn top(module: &[String]) -> &str {
    match module.first().map(String::as_str) {
        None => "lib",
        Some(MAIN) => "main",
        Some(name) => name,
    }
}

fn to_fixture(reference: &Reference) -> bool {
    reference.test && reference.to.iter().any(|segment| segment == "fixture")
}

/// Where an edge was first seen: `src/config/fail_if.rs:9`.
type Graph = BTreeMap<String, BTreeMap<String, String>>;

fn add_edge(graph: &mut Graph, from: &str, to: &str, reference: &Reference) {
    let place = format!("{}:{}", reference.file, reference.line);
    graph.entry(to.to_owned()).or_default();
    let seen = graph.entry(from.to_owned()).or_default();
    let first = seen.entry(to.to_owned()).or_insert_with(|| place.clone());
    if place < *first {
        *first = place;
    }
}

/// Top-level modules and which others they import.
fn top_level_graph(krate: &Crate) -> Graph {
    let mut graph = Graph::new();
    for reference in &krate.references {
        let (from, to) = (top(&reference.from), top(&reference.to));
        graph.entry(from.to_owned()).or_default();
        let surface = reference.from.is_empty() && reference.reexport;
        if from != to && !to_fixture(reference) && !surface {
            add_edge(&mut graph, from, to, reference);
        }
    }
    graph
}

/// The cycles of a graph: for each module on one, the shortest cycle through it, each cycle
/// once, as its modules in order with the first again at the end.
fn cycles(graph: &Graph) -> Vec<Vec<String>> {
    let mut found: Vec<Vec<String>> = Vec::new();
    for start in graph.keys() {
        let Some(cycle) = shortest_path(graph, start, start) else {
            continue;
        };
        let ring = &cycle[..cycle.len() - 1];
        let same = |other: &Vec<String>| {
            let other = &other[..other.len() - 1];
            other.len() == ring.len()
                && (0..ring.len()).any(|turn| {
                    other
                        .iter()
                        .cycle()
                        .skip(turn)
                        .take(ring.len())
                        .eq(ring.iter())
                })
        };
        if !found.iter().any(same) {
            found.push(cycle);
        }
    }
    found
}

/// The shortest path of at least one edge from `from` to `to`, both ends included.
fn shortest_path(graph: &Graph, from: &str, to: &str) -> Option<Vec<String>> {
    let mut came_from: BTreeMap<&str, &str> = BTreeMap::new();
    let mut queue: VecDeque<&str> = VecDeque::from([from]);
    while let Some(node) = queue.pop_front() {
        for next in graph.get(node).into_iter().flat_map(BTreeMap::keys) {
            if next == to {
                let mut path = vec![to.to_owned(), node.to_owned()];
                let mut at = node;
                while at != from {
                    at = came_from[at];
                    path.push(at.to_owned());
                }
                path.reverse();
                return Some(path);
            }
            if next != from && !came_from.contains_key(next.as_str()) {
                came_from.insert(next, node);
                queue.push_back(next);
            }
        }
    }
    None
}

/// `config → cli (src/config.rs:12) → config (src/cli.rs:40)`
fn describe_cycle(graph: &Graph, cycle: &[String]) -> String {
    let mut text = cycle[0].clone();
    for pair in cycle.windows(2) {
        let place = &graph[&pair[0]][&pair[1]];
        let _ = write!(text, " → {} ({place})", pair[1]);
    }
    text
}

fn layer_of(module: &str) -> Option<usize> {
    LAYERS
        .iter()
        .position(|(_, modules)| modules.contains(&module))
}

#[test]
fn every_source_file_is_a_module_that_was_read() {
    let krate = read_crate();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut unread = Vec::new();
    let mut folders = vec![root.join("src")];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).expect("src/ is readable") {
            let path = entry.expect("src/ is readable").path();
            if path.is_dir() {
                folders.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let name = path.strip_prefix(root).expect("under the root");
                let name = name.to_string_lossy().replace('\\', "/");
                if !krate.files.contains(&name) {
                    unread.push(name);
                }
            }
        }
    }
    assert!(
        unread.is_empty(),
        "no `mod` declaration reaches these files, so their imports go unchecked: {unread:?}"
    );
}

#[test]
fn top_level_modules_import_each_other_in_no_cycle() {
    let graph = top_level_graph(&read_crate());
    if std::env::var_os("ARCHITECTURE_GRAPH").is_some() {
        for (from, imports) in &graph {
            println!(
                "{from} → {}",
                imports.keys().cloned().collect::<Vec<_>>().join(", ")
            );
        }
    }
    let found: Vec<String> = cycles(&graph)
        .iter()
        .map(|cycle| describe_cycle(&graph, cycle))
        .collect();
    assert!(
        found.is_empty(),
        "top-level modules import each other in a cycle:\n{}",
        found.join("\n")
    );
}

#[test]
fn no_module_imports_a_higher_layer() {
    let krate = read_crate();
    let graph = top_level_graph(&krate);
    let mut wrong = Vec::new();
    for (from, imports) in &graph {
        let Some(low) = layer_of(from) else {
            wrong.push(format!("{from} is in no layer: add it to LAYERS"));
            continue;
        };
        for (to, place) in imports {
            match layer_of(to) {
                Some(high) if high > low => wrong.push(format!(
                    "{from} imports {to} ({place}): {from} is below {to} ({} < {})",
                    LAYERS[low].0, LAYERS[high].0
                )),
                _ => {}
            }
        }
    }
    let exists = |module: &str| krate.modules.keys().any(|m| top(m) == module);
    for (layer, modules) in LAYERS {
        for module in modules.iter().filter(|m| !exists(m)) {
            wrong.push(format!(
                "{module} (layer {layer}) is no module: take it off LAYERS"
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn files_of_a_module_folder_import_each_other_in_no_cycle() {
    let krate = read_crate();
    let mut folders: BTreeMap<&str, Graph> = BTreeMap::new();
    for reference in &krate.references {
        let folder = top(&reference.from);
        if folder != top(&reference.to)
            || reference.from.is_empty()
            || reference.reexport
            || to_fixture(reference)
        {
            continue;
        }
        let (Some(from), Some(to)) = (
            krate.file_of_child(&reference.from),
            krate.file_of_child(&reference.to),
        ) else {
            continue;
        };
        let graph = folders.entry(folder).or_default();
        graph.entry(from.to_owned()).or_default();
        if from != to {
            add_edge(graph, from, to, reference);
        }
    }
    let mut wrong = Vec::new();
    for (folder, graph) in &folders {
        let found: Vec<String> = cycles(graph)
            .iter()
            .map(|cycle| describe_cycle(graph, cycle))
            .collect();
        for cycle in found {
            wrong.push(format!(
                "files of {folder}/ import each other in a cycle: {cycle}"
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
