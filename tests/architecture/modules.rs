//! The crate's module tree, read from `mod` declarations starting at `src/lib.rs` and
//! `src/main.rs`, and every path to a module of the crate that a file names: `use crate::…`,
//! `use super::…`, grouped `use crate::{a, b::c}`, `crate::x::` and `super::` in code, a child
//! module's name, and in `lib.rs` a top-level module's name. Each path is resolved through the
//! `use` lines it passes (`pub use` re-exports included) to the module that defines the item.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs;
use std::path::{Path, PathBuf};

use crate::lexer::{Kind, Token, tokens};

/// A module path from the crate root, `[]` being the root itself.
pub type ModPath = Vec<String>;

/// The scope `src/main.rs` is read in: the binary's own root, which reaches the library as
/// `llmrace::`.
pub const MAIN: &str = "<main>";

/// One path a file names, resolved to the module it lands in.
#[derive(Clone, Debug)]
pub struct Reference {
    /// The file it is written in, from the repository root (`src/config/race_file.rs`).
    pub file: String,
    pub line: usize,
    /// The module it is written in (an inline `mod tests {}` included).
    pub from: ModPath,
    /// The module that defines what it names.
    pub to: ModPath,
    /// A `pub use`: part of the module's surface rather than a need of its code.
    pub reexport: bool,
    /// Written in test code: a `#[cfg(test)]` module or item, or a file of one.
    pub test: bool,
}

pub struct Crate {
    /// Every module, with the file that holds it (an inline module's is its parent's).
    pub modules: BTreeMap<ModPath, String>,
    pub references: Vec<Reference>,
    /// Every file read, from the repository root.
    pub files: BTreeSet<String>,
}

impl Crate {
    /// The file holding a module's top two levels: `src/config.rs` for `config` and its inline
    /// modules, `src/config/race_file.rs` for `config::race_file` and everything under it.
    pub fn file_of_child(&self, module: &[String]) -> Option<&str> {
        let top: ModPath = module.iter().take(2).cloned().collect();
        self.modules.get(&top).map(String::as_str)
    }
}

/// A path as written, before it is resolved.
struct Written {
    file: String,
    line: usize,
    scope: ModPath,
    path: Vec<String>,
    test: bool,
    /// What a `use` binds the path to (its last segment or its `as` name).
    binds: Option<String>,
    /// Called or invoked (`crate::report(…)`, `crate::x::m!`): the last segment is a function
    /// or macro, never a module of the same name.
    value: bool,
    reexport: bool,
}

struct Declared {
    module: ModPath,
    file: PathBuf,
    test: bool,
}

/// Reads the crate under `root` (the folder holding `src/`).
pub fn read(root: &Path) -> Crate {
    let mut modules = BTreeMap::new();
    let mut written = Vec::new();
    let mut files = BTreeSet::new();
    let mut queue = vec![
        Declared {
            module: Vec::new(),
            file: PathBuf::from("src/lib.rs"),
            test: false,
        },
        Declared {
            module: vec![MAIN.to_owned()],
            file: PathBuf::from("src/main.rs"),
            test: false,
        },
    ];
    while let Some(next) = queue.pop() {
        let name = next.file.to_string_lossy().replace('\\', "/");
        let source = fs::read_to_string(root.join(&next.file))
            .unwrap_or_else(|e| panic!("{name} is declared as a module but cannot be read: {e}"));
        files.insert(name.clone());
        let mut scan = Scan {
            root,
            file: &name,
            path: &next.file,
            tokens: tokens(&source),
            modules: &mut modules,
            written: &mut written,
            declared: &mut queue,
            file_module: Vec::new(),
            scopes: Vec::new(),
            depth: 0,
            cfg_test: false,
            path_attr: None,
        };
        scan.run(next.module, next.test);
    }
    let aliases = aliases(&modules, &written);
    let references = written
        .iter()
        .filter_map(|w| {
            let path = absolute(&modules, &aliases, &w.scope, &w.path)?;
            Some(Reference {
                file: w.file.clone(),
                line: w.line,
                from: w.scope.clone(),
                to: defining_module(&modules, &aliases, &path, w.value, 0),
                reexport: w.reexport,
                test: w.test,
            })
        })
        .collect();
    Crate {
        modules,
        references,
        files,
    }
}

type Aliases = HashMap<(ModPath, String), Vec<String>>;

/// What each `use` binds a name to, as an absolute path; a few rounds, as a `use` may start
/// from a name another `use` bound.
fn aliases(modules: &BTreeMap<ModPath, String>, written: &[Written]) -> Aliases {
    let mut aliases = Aliases::new();
    for _ in 0..4 {
        for w in written {
            let Some(name) = &w.binds else { continue };
            if let Some(path) = absolute(modules, &aliases, &w.scope, &w.path) {
                aliases.insert((w.scope.clone(), name.clone()), path);
            }
        }
    }
    aliases
}

/// The path from the crate root, or `None` for a path outside the crate (std, a dependency,
/// a local type's associated item).
fn absolute(
    modules: &BTreeMap<ModPath, String>,
    aliases: &Aliases,
    scope: &[String],
    path: &[String],
) -> Option<Vec<String>> {
    let (first, rest) = path.split_first()?;
    let mut out = match first.as_str() {
        "crate" => Vec::new(),
        "llmrace" if scope.first().is_some_and(|s| s == MAIN) => Vec::new(),
        "self" => scope.to_vec(),
        "super" => {
            let supers = path.iter().take_while(|s| *s == "super").count();
            let mut out = scope.to_vec();
            for _ in 0..supers {
                out.pop()?;
            }
            out.extend(path[supers..].iter().cloned());
            return Some(out);
        }
        _ => {
            let mut child = scope.to_vec();
            child.push(first.clone());
            if modules.contains_key(&child) {
                child
            } else {
                aliases.get(&(scope.to_vec(), first.clone()))?.clone()
            }
        }
    };
    out.extend(rest.iter().cloned());
    Some(out)
}

/// The deepest module a path goes through, following re-exports to the item's own module.
fn defining_module(
    modules: &BTreeMap<ModPath, String>,
    aliases: &Aliases,
    path: &[String],
    value: bool,
    hops: usize,
) -> ModPath {
    let mut module = Vec::new();
    for (i, segment) in path.iter().enumerate() {
        let mut child = module.clone();
        child.push(segment.clone());
        let last = i + 1 == path.len();
        if modules.contains_key(&child) && !(value && last) {
            module = child;
            continue;
        }
        if hops < 8
            && let Some(target) = aliases.get(&(module.clone(), segment.clone()))
        {
            let mut through: Vec<String> = target.clone();
            through.extend(path[i + 1..].iter().cloned());
            return defining_module(modules, aliases, &through, value, hops + 1);
        }
        break;
    }
    module
}

/// One file being read.
struct Scan<'a> {
    root: &'a Path,
    file: &'a str,
    path: &'a Path,
    tokens: Vec<Token>,
    modules: &'a mut BTreeMap<ModPath, String>,
    written: &'a mut Vec<Written>,
    declared: &'a mut Vec<Declared>,
    /// The module the file itself is.
    file_module: ModPath,
    /// Open modules and test items, innermost last.
    scopes: Vec<Scope>,
    depth: usize,
    /// A `#[cfg(test)]` waiting for its item.
    cfg_test: bool,
    /// A `#[path = "…"]` waiting for its `mod`.
    path_attr: Option<String>,
}

/// A module or `#[cfg(test)]` item whose braces are open.
struct Scope {
    depth: usize,
    module: ModPath,
    test: bool,
}

impl Scan<'_> {
    fn at(&self, i: usize, text: &str) -> bool {
        self.tokens.get(i).is_some_and(|t| t.is(text))
    }

    fn ident(&self, i: usize) -> Option<&str> {
        self.tokens
            .get(i)
            .filter(|t| t.kind == Kind::Ident)
            .map(|t| t.text.as_str())
    }

    /// Whether the item starting at `i` is `pub` or `pub(…)`.
    fn public(&self, i: usize) -> bool {
        let mut before = i.checked_sub(1);
        if let Some(close) = before.filter(|&b| self.at(b, ")")) {
            before = (0..close)
                .rev()
                .find(|&b| self.at(b, "("))
                .and_then(|b| b.checked_sub(1));
        }
        before.is_some_and(|b| self.at(b, "pub"))
    }

    /// The index of the bracket that closes the one at `open`.
    fn closing(&self, open: usize, left: &str, right: &str) -> usize {
        let mut depth = 0;
        for i in open..self.tokens.len() {
            if self.at(i, left) {
                depth += 1;
            } else if self.at(i, right) {
                depth -= 1;
                if depth == 0 {
                    return i;
                }
            }
        }
        self.tokens.len()
    }

    fn run(&mut self, module: ModPath, test: bool) {
        self.modules.insert(module.clone(), self.file.to_owned());
        self.file_module.clone_from(&module);
        self.scopes = vec![Scope {
            depth: 0,
            module,
            test,
        }];
        let mut i = 0;
        while i < self.tokens.len() {
            i = self.step(i);
        }
    }

    /// Reads the item or token at `i`; the index of what follows it.
    fn step(&mut self, i: usize) -> usize {
        let scope = self
            .scopes
            .last()
            .expect("the file's own scope is never closed");
        let (module, test) = (scope.module.clone(), scope.test || self.cfg_test);
        if self.at(i, "#") && (self.at(i + 1, "[") || self.at(i + 2, "[")) {
            return self.attribute(i);
        }
        if self.at(i, "mod")
            && let Some(name) = self.ident(i + 1)
        {
            let mut child = module;
            child.push(name.to_owned());
            self.module(i, child, test);
            (self.cfg_test, self.path_attr) = (false, None);
            return i + 3;
        }
        if self.at(i, "use") {
            let end = (i..self.tokens.len())
                .find(|&j| self.at(j, ";"))
                .unwrap_or(self.tokens.len());
            let mut leaves = Vec::new();
            use_tree(&self.tokens[i + 1..end], &mut 0, &[], &mut leaves);
            let reexport = self.public(i);
            for (path, binds, line) in leaves {
                self.write(line, &module, path, test, binds, false);
                self.written.last_mut().expect("just written").reexport = reexport;
            }
            (self.cfg_test, self.path_attr) = (false, None);
            return end + 1;
        }
        if self.at(i, "{") {
            self.depth += 1;
            if self.cfg_test {
                let depth = self.depth;
                self.scopes.push(Scope {
                    depth,
                    module,
                    test: true,
                });
            }
            (self.cfg_test, self.path_attr) = (false, None);
        } else if self.at(i, "}") {
            if self.scopes.len() > 1 && self.scopes.last().is_some_and(|s| s.depth == self.depth) {
                self.scopes.pop();
            }
            self.depth = self.depth.saturating_sub(1);
        } else if self.at(i, ";") {
            (self.cfg_test, self.path_attr) = (false, None);
        } else if self.ident(i).is_some() && self.at(i + 1, "::") {
            return self.path(i, &module, test);
        }
        i + 1
    }

    /// `#[…]` or `#![…]` at `i`: notes `cfg(test)` and `path = "…"`.
    fn attribute(&mut self, i: usize) -> usize {
        let inner = self.at(i + 1, "!");
        let open = i + 1 + usize::from(inner);
        let close = self.closing(open, "[", "]");
        let attr = &self.tokens[open + 1..close.min(self.tokens.len())];
        let is_test = attr.first().is_some_and(|t| t.is("cfg"))
            && attr.iter().any(|t| t.is("test"))
            && !attr.iter().any(|t| t.is("not"));
        if inner {
            self.scopes.last_mut().expect("open").test |= is_test;
        } else {
            self.cfg_test |= is_test;
            if let [name, eq, value, ..] = attr
                && name.is("path")
                && eq.is("=")
                && value.kind == Kind::Str
            {
                self.path_attr = Some(value.text.clone());
            }
        }
        close + 1
    }

    /// `mod name;` (a file to read) or `mod name {` (a scope) at `i`.
    fn module(&mut self, i: usize, child: ModPath, test: bool) {
        if self.at(i + 2, ";") {
            let file = self.child_file(&child);
            self.declared.push(Declared {
                module: child,
                file,
                test,
            });
        } else if self.at(i + 2, "{") {
            self.depth += 1;
            self.modules.insert(child.clone(), self.file.to_owned());
            let depth = self.depth;
            self.scopes.push(Scope {
                depth,
                module: child,
                test,
            });
        }
    }

    /// A path in code at `i` (`crate::x::y`, `super::f`, `child::T`); the index after it.
    fn path(&mut self, mut i: usize, module: &[String], test: bool) -> usize {
        let continues = i > 0 && (self.at(i - 1, "::") || self.at(i - 1, "."));
        let mut path = vec![self.tokens[i].text.clone()];
        let line = self.tokens[i].line;
        while self.at(i + 1, "::")
            && let Some(next) = self.ident(i + 2)
        {
            path.push(next.to_owned());
            i += 2;
        }
        if !continues {
            let value = self.at(i + 1, "(") || self.at(i + 1, "!");
            self.write(line, module, path, test, None, value);
        }
        i + 1
    }

    fn write(
        &mut self,
        line: usize,
        scope: &[String],
        path: Vec<String>,
        test: bool,
        binds: Option<String>,
        value: bool,
    ) {
        self.written.push(Written {
            file: self.file.to_owned(),
            line,
            scope: scope.to_vec(),
            path,
            test,
            binds,
            value,
            reexport: false,
        });
    }

    /// Where `mod name;` finds its file: beside a crate root, under the folder named for the
    /// file otherwise, or where `#[path]` says (relative to the declaring file's folder).
    fn child_file(&self, child: &[String]) -> PathBuf {
        let folder = self.path.parent().unwrap_or(Path::new(""));
        if let Some(path) = &self.path_attr {
            return folder.join(path);
        }
        let stem = self.path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        let mut dir = if matches!(stem, "lib" | "main" | "mod") {
            folder.to_path_buf()
        } else {
            folder.join(stem)
        };
        // Inline modules between the file's own module and the declared one.
        for inline in &child[self.file_module.len()..child.len() - 1] {
            dir.push(inline);
        }
        let name = &child[child.len() - 1];
        let flat = dir.join(format!("{name}.rs"));
        let nested = dir.join(name).join("mod.rs");
        if !self.root.join(&flat).exists() && self.root.join(&nested).exists() {
            nested
        } else {
            flat
        }
    }
}

/// The leaves of a `use` tree (the tokens between `use` and `;`): each full path, what it
/// binds (`None` for a glob or `_`) and its line.
fn use_tree(
    tokens: &[Token],
    at: &mut usize,
    prefix: &[String],
    out: &mut Vec<(Vec<String>, Option<String>, usize)>,
) {
    let mut path = prefix.to_vec();
    if tokens.get(*at).is_some_and(|t| t.is("::")) {
        // `::name` is a dependency: a marker no module is called.
        path.push("::".to_owned());
        *at += 1;
    }
    while let Some(token) = tokens.get(*at) {
        *at += 1;
        if token.is("*") {
            out.push((path, None, token.line));
            return;
        }
        if token.is("{") {
            while tokens.get(*at).is_some_and(|t| !t.is("}")) {
                use_tree(tokens, at, &path, out);
                if tokens.get(*at).is_some_and(|t| t.is(",")) {
                    *at += 1;
                }
            }
            *at += 1;
            return;
        }
        if token.kind != Kind::Ident {
            return;
        }
        let is_self = token.text == "self" && path.len() == prefix.len() && !prefix.is_empty();
        if !is_self {
            path.push(token.text.clone());
        }
        if tokens.get(*at).is_some_and(|t| t.is("::")) {
            *at += 1;
            continue;
        }
        let mut binds = path.last().cloned();
        if tokens.get(*at).is_some_and(|t| t.is("as")) {
            binds = tokens.get(*at + 1).map(|t| t.text.clone());
            *at += 2;
        }
        out.push((path, binds.filter(|b| b != "_"), token.line));
        return;
    }
}

#[test]
fn use_trees_give_each_leaf_its_whole_path() {
    let source = "crate::{a, b::{self, c as d}, e::*}";
    let mut leaves = Vec::new();
    use_tree(&tokens(source), &mut 0, &[], &mut leaves);
    let leaves: Vec<(String, Option<String>)> = leaves
        .into_iter()
        .map(|(path, binds, _)| (path.join("::"), binds))
        .collect();
    let expected = [
        ("crate::a", Some("a")),
        ("crate::b", Some("b")),
        ("crate::b::c", Some("d")),
        ("crate::e", None),
    ];
    assert_eq!(
        leaves,
        expected.map(|(p, b)| (p.to_owned(), b.map(str::to_owned)))
    );
}
