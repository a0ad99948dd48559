//! Rust source as a list of tokens, just enough to read paths and module declarations:
//! comments, string, character and number literals are read past so that a `crate::` inside
//! them is never taken for an import.

/// What a token is; punctuation is kept as its text (`::` is one token).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Ident,
    Punct,
    Str,
    Other,
}

#[derive(Clone, Debug)]
pub struct Token {
    pub kind: Kind,
    pub text: String,
    pub line: usize,
}

impl Token {
    pub fn is(&self, text: &str) -> bool {
        self.kind != Kind::Str && self.text == text
    }
}

pub fn tokens(source: &str) -> Vec<Token> {
    let mut lexer = Lexer {
        chars: source.chars().collect(),
        at: 0,
        line: 1,
        out: Vec::new(),
    };
    lexer.run();
    lexer.out
}

struct Lexer {
    chars: Vec<char>,
    at: usize,
    line: usize,
    out: Vec<Token>,
}

impl Lexer {
    fn peek(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.at + ahead).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek(0)?;
        self.at += 1;
        if c == '\n' {
            self.line += 1;
        }
        Some(c)
    }

    fn push(&mut self, kind: Kind, text: String, line: usize) {
        self.out.push(Token { kind, text, line });
    }

    fn run(&mut self) {
        while let Some(c) = self.peek(0) {
            let line = self.line;
            if c.is_whitespace() {
                self.bump();
            } else if c == '/' && self.peek(1) == Some('/') {
                while self.peek(0).is_some_and(|c| c != '\n') {
                    self.bump();
                }
            } else if c == '/' && self.peek(1) == Some('*') {
                self.block_comment();
            } else if c == '"' {
                self.bump();
                let text = self.quoted();
                self.push(Kind::Str, text, line);
            } else if c == '\'' {
                self.quote_or_lifetime();
            } else if c.is_ascii_digit() {
                while self
                    .peek(0)
                    .is_some_and(|c| c.is_alphanumeric() || c == '_')
                    || (self.peek(0) == Some('.')
                        && self.peek(1).is_some_and(|c| c.is_ascii_digit()))
                {
                    self.bump();
                }
                self.push(Kind::Other, String::new(), line);
            } else if c.is_alphabetic() || c == '_' {
                self.word(line);
            } else if c == ':' && self.peek(1) == Some(':') {
                self.at += 2;
                self.push(Kind::Punct, "::".to_owned(), line);
            } else {
                self.bump();
                self.push(Kind::Punct, c.to_string(), line);
            }
        }
    }

    fn block_comment(&mut self) {
        let mut open = 0;
        while let Some(c) = self.peek(0) {
            if c == '/' && self.peek(1) == Some('*') {
                open += 1;
                self.at += 2;
            } else if c == '*' && self.peek(1) == Some('/') {
                open -= 1;
                self.at += 2;
                if open == 0 {
                    return;
                }
            } else {
                self.bump();
            }
        }
    }

    /// The rest of a `"…"` string after its opening quote, escapes kept as written.
    fn quoted(&mut self) -> String {
        let mut text = String::new();
        while let Some(c) = self.bump() {
            match c {
                '"' => break,
                '\\' => {
                    text.push(c);
                    if let Some(next) = self.bump() {
                        text.push(next);
                    }
                }
                _ => text.push(c),
            }
        }
        text
    }

    /// The rest of `r#"…"#` after the `r`.
    fn raw_quoted(&mut self) -> String {
        let mut hashes = 0;
        while self.peek(0) == Some('#') {
            hashes += 1;
            self.bump();
        }
        self.bump();
        let mut text = String::new();
        while let Some(c) = self.bump() {
            if c == '"' && (0..hashes).all(|i| self.peek(i) == Some('#')) {
                self.at += hashes;
                break;
            }
            text.push(c);
        }
        text
    }

    fn quote_or_lifetime(&mut self) {
        let line = self.line;
        self.bump();
        if self.peek(0) == Some('\\') {
            while let Some(c) = self.bump() {
                if c == '\\' {
                    self.bump();
                } else if c == '\'' {
                    break;
                }
            }
        } else if self.peek(1) == Some('\'') {
            self.at += 2;
        } else {
            // A lifetime or a label: its name is not a path.
            while self
                .peek(0)
                .is_some_and(|c| c.is_alphanumeric() || c == '_')
            {
                self.bump();
            }
        }
        self.push(Kind::Other, String::new(), line);
    }

    fn word(&mut self, line: usize) {
        let start = self.at;
        while self
            .peek(0)
            .is_some_and(|c| c.is_alphanumeric() || c == '_')
        {
            self.bump();
        }
        let word: String = self.chars[start..self.at].iter().collect();
        let next = self.peek(0);
        let raw_string =
            next == Some('"') || (next == Some('#') && matches!(self.peek(1), Some('"' | '#')));
        match word.as_str() {
            "r" | "br" | "cr" if raw_string => {
                let text = self.raw_quoted();
                self.push(Kind::Str, text, line);
            }
            "b" | "c" if next == Some('"') => {
                self.bump();
                let text = self.quoted();
                self.push(Kind::Str, text, line);
            }
            "b" if next == Some('\'') => self.quote_or_lifetime(),
            "r" if next == Some('#') => {
                self.bump();
                let start = self.at;
                while self
                    .peek(0)
                    .is_some_and(|c| c.is_alphanumeric() || c == '_')
                {
                    self.bump();
                }
                let word = self.chars[start..self.at].iter().collect();
                self.push(Kind::Ident, word, line);
            }
            _ => self.push(Kind::Ident, word, line),
        }
    }
}

#[test]
fn literals_and_comments_hide_their_paths() {
    let source = concat!(
        "// use crate::a;\n",
        "/* use crate::b; /* nested */ use crate::c; */\n",
        "let s = \"crate::d\"; let r = r#\"crate::e \"quoted\"\"#; let c = '\"'; let l: &'static str;\n",
        "let b = b'\\''; use crate::f;\n",
    );

    let idents: Vec<String> = tokens(source)
        .into_iter()
        .filter(|t| t.kind == Kind::Ident)
        .map(|t| t.text)
        .collect();
    assert_eq!(
        idents,
        [
            "let", "s", "let", "r", "let", "c", "let", "l", "str", "let", "b", "use", "crate", "f"
        ]
    );
    let last = tokens(source).into_iter().rfind(|t| t.is("f"));
    assert_eq!(last.map(|t| t.line), Some(4));
}
