//! The lines of a keepalived.conf as nested statements: `keyword args... { statements }`.
//!
//! Owns block structure only: a statement is the words of one line up to a `{`, a `}` or the
//! end of the line; a `{` opens the block of the statement before it (also when it starts the
//! next line, as keepalived allows); `}` closes it, anywhere on a line (`url { path / }` is a
//! statement with a block of one statement). Unbalanced braces are refused with their line.

use super::lex::{Loc, Source};
use super::Refusal;

/// One statement and its block, if it has one.
#[derive(Debug, Clone)]
pub struct Node {
    /// Where its keyword is.
    pub at: Loc,
    /// The keyword and its arguments.
    pub words: Vec<String>,
    /// `{ ... }` after it.
    pub block: Option<Vec<Node>>,
}

impl Node {
    /// The keyword.
    pub fn key(&self) -> &str {
        self.words.first().map_or("", String::as_str)
    }

    /// The arguments after the keyword.
    pub fn args(&self) -> &[String] {
        self.words.get(1..).unwrap_or_default()
    }

    /// The block's statements (none when it has no block).
    pub fn children(&self) -> &[Node] {
        self.block.as_deref().unwrap_or_default()
    }
}

/// Builds the statements of `src`.
pub fn build(src: &Source) -> Result<Vec<Node>, Vec<Refusal>> {
    // The stack of open blocks: the statements so far of each (the bottom one is the file's).
    let mut stack: Vec<Vec<Node>> = vec![Vec::new()];
    let mut refusals = Vec::new();
    for line in &src.lines {
        let mut cur: Vec<String> = Vec::new();
        let mut first = true;
        for w in &line.words {
            match (w.quoted, w.text.as_str()) {
                (false, "{") => {
                    let top = stack.last_mut();
                    if !cur.is_empty() {
                        let words = std::mem::take(&mut cur);
                        if let Some(t) = top {
                            t.push(Node { at: line.at, words, block: None });
                        }
                    } else if !(first
                        && top.and_then(|t| t.last()).is_some_and(|n| n.block.is_none()))
                    {
                        // `{` at the start of a line opens the block of the statement before
                        // it; anywhere else it needs a keyword.
                        refusals.push(Refusal {
                            place: src.place(line.at).to_string(),
                            reason: "`{` without a keyword before it".into(),
                        });
                        if let Some(t) = stack.last_mut() {
                            t.push(Node { at: line.at, words: Vec::new(), block: None });
                        }
                    }
                    stack.push(Vec::new());
                }
                (false, "}") => {
                    if !cur.is_empty() {
                        if let Some(t) = stack.last_mut() {
                            t.push(Node {
                                at: line.at,
                                words: std::mem::take(&mut cur),
                                block: None,
                            });
                        }
                    }
                    if stack.len() < 2 {
                        refusals.push(Refusal {
                            place: src.place(line.at).to_string(),
                            reason: "`}` closes no block".into(),
                        });
                    } else {
                        let done = stack.pop().unwrap_or_default();
                        if let Some(owner) = stack.last_mut().and_then(|t| t.last_mut()) {
                            owner.block = Some(done);
                        }
                    }
                }
                _ => cur.push(w.text.clone()),
            }
            first = false;
        }
        if !cur.is_empty() {
            if let Some(t) = stack.last_mut() {
                t.push(Node { at: line.at, words: cur, block: None });
            }
        }
    }
    if stack.len() > 1 {
        let open = stack
            .get(stack.len() - 2)
            .and_then(|t| t.last())
            .map(|n| (src.place(n.at).to_string(), n.key().to_owned()));
        let (place, key) = open.unwrap_or_default();
        refusals.push(Refusal {
            place,
            reason: format!("the block of `{key}` is not closed: a `}}` is missing"),
        });
    }
    if refusals.is_empty() {
        Ok(stack.pop().unwrap_or_default())
    } else {
        Err(refusals)
    }
}

#[cfg(test)]
mod tests {
    use super::super::lex::read_str;
    use super::*;

    fn tree(text: &str) -> Vec<Node> {
        build(&read_str(text, "t.conf", "").unwrap()).unwrap()
    }

    #[test]
    fn blocks_nest_wherever_braces_are() {
        let t = tree(
            "virtual_server 10.0.0.1 80\n{\n  real_server 10.0.0.2 80 { weight 2\n    HTTP_GET {\n      url { path / }\n      url {\n path /x\n }\n    }\n  }\n}\nglobal_defs { }\n",
        );
        assert_eq!(t.len(), 2);
        let vs = &t[0];
        assert_eq!(
            (vs.key(), vs.args()),
            ("virtual_server", &["10.0.0.1".to_owned(), "80".to_owned()][..])
        );
        let rs = &vs.children()[0];
        assert_eq!(rs.children()[0].words, ["weight", "2"]);
        let http = &rs.children()[1];
        assert_eq!(http.key(), "HTTP_GET");
        assert_eq!(http.children().len(), 2);
        assert_eq!(http.children()[1].children()[0].words, ["path", "/x"]);
        assert_eq!(http.children()[1].children()[0].at.line, 7);
        assert_eq!(t[1].block.as_ref().map(Vec::len), Some(0));
    }

    #[test]
    fn unbalanced_braces_name_their_line() {
        let e = build(&read_str("a {\n b 1\n", "t.conf", "").unwrap()).unwrap_err();
        assert_eq!(e[0].place, "t.conf:1");
        assert!(e[0].reason.contains("`a` is not closed"), "{}", e[0].reason);
        let e = build(&read_str("a 1\n}\n", "t.conf", "").unwrap()).unwrap_err();
        assert_eq!(
            (e[0].place.as_str(), e[0].reason.as_str()),
            ("t.conf:2", "`}` closes no block")
        );
    }
}
