//! xCAT's regular-expression table values (`/pattern/replacement/`, `|pattern|replacement|`
//! and the one-part `|replacement|`), applied to a node name exactly as `transRegexAttrs` does.

use regex::Regex;

use super::arith::{self, ArithError, Expr};
use super::text::{matching_paren, regex_message};

/// A value that looks like a regular expression but cannot be evaluated as xCAT would.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum RegexAttrError {
    #[error("pattern `{pattern}` does not compile: {message}")]
    Pattern { pattern: String, message: String },
    #[error("{0}")]
    Arith(#[from] ArithError),
    #[error("pattern `{pattern}` matches only `{matched}` of node name `{node}`; xCAT would evaluate the leftover text as Perl")]
    PartialMatch {
        pattern: String,
        matched: String,
        node: String,
    },
}

/// A table value prepared once and applied to many nodes.
#[derive(Clone, Debug)]
pub enum Compiled {
    /// Not a regular expression: returned as it is.
    Verbatim(String),
    /// `/pattern/replacement/` or a `|..|..|` without `( )`: one literal substitution.
    Substitute { pattern: Regex, replacement: String },
    /// `|pattern|replacement|` whose replacement has `( )` groups to evaluate.
    Arithmetic { pattern: Regex, pieces: Vec<Piece> },
    /// `|replacement|`: the pattern is generated from the node name's numbers.
    Easy { pieces: Vec<Piece> },
}

/// A part of a replacement: literal text, or a bracketed group evaluated as arithmetic.
#[derive(Clone, Debug)]
pub enum Piece {
    Text(String),
    Group { source: String, expr: Expr },
}

impl Compiled {
    /// Prepares a value. Only the shapes xCAT treats as regular expressions are compiled.
    pub fn new(value: &str) -> Result<Compiled, RegexAttrError> {
        if is_slash_form(value) {
            let inner = &value[1..value.len() - 1];
            let (pattern, replacement) = inner.split_once('/').unwrap_or((inner, ""));
            return Ok(Compiled::Substitute {
                pattern: compile(pattern)?,
                replacement: replacement.to_string(),
            });
        }
        if !is_pipe_form(value) {
            return Ok(Compiled::Verbatim(value.to_string()));
        }
        let inner = &value[1..value.len() - 1];
        match inner.split_once('|') {
            None => Ok(Compiled::Easy {
                pieces: pieces(inner)?,
            }),
            Some((pattern, replacement)) => {
                let pattern = compile(pattern)?;
                let pieces = pieces(replacement)?;
                if pieces.iter().all(|p| matches!(p, Piece::Text(_))) {
                    Ok(Compiled::Substitute {
                        pattern,
                        replacement: replacement.to_string(),
                    })
                } else {
                    Ok(Compiled::Arithmetic { pattern, pieces })
                }
            }
        }
    }

    /// Whether the value is a regular expression at all.
    pub fn is_regex(&self) -> bool {
        !matches!(self, Compiled::Verbatim(_))
    }

    /// The value for `node`; `None` when the result is empty (xCAT then treats it as unset).
    pub fn apply(&self, node: &str) -> Result<Option<String>, RegexAttrError> {
        let out = match self {
            Compiled::Verbatim(v) => v.clone(),
            Compiled::Substitute {
                pattern,
                replacement,
            } => substitute(pattern, node, replacement),
            Compiled::Arithmetic { pattern, pieces } => evaluate(pattern, pieces, node)?,
            Compiled::Easy { pieces } => {
                let numbers = digit_runs(node);
                let generated = format!("{}.*$", r"[\D0]*(\d+)".repeat(numbers));
                evaluate(&compile(&generated)?, pieces, node)?
            }
        };
        Ok((!out.is_empty()).then_some(out))
    }
}

/// Applies a value to a node in one step (compiling it each time; prefer [`Compiled`]).
pub fn transform(node: &str, value: &str) -> Result<Option<String>, RegexAttrError> {
    Compiled::new(value)?.apply(node)
}

/// `^/[^/]*/[^/]*/$`: exactly three slashes, first and last. (A plain path such as
/// `/install/state/` has this shape too, and xCAT then returns the node name.)
pub fn is_slash_form(value: &str) -> bool {
    value.len() >= 3
        && value.starts_with('/')
        && value.ends_with('/')
        && value.bytes().filter(|&b| b == b'/').count() == 3
}

/// `^\|.*\|$` (Perl's `.` does not cross a newline).
pub fn is_pipe_form(value: &str) -> bool {
    value.len() >= 2 && value.starts_with('|') && value.ends_with('|') && !value.contains('\n')
}

fn compile(pattern: &str) -> Result<Regex, RegexAttrError> {
    Regex::new(pattern).map_err(|e| RegexAttrError::Pattern {
        pattern: pattern.to_string(),
        message: regex_message(&e),
    })
}

/// Perl's `s/pattern/replacement/` without `/g`: the first match replaced by literal text,
/// the node name unchanged when nothing matches.
fn substitute(pattern: &Regex, node: &str, replacement: &str) -> String {
    match pattern.find(node) {
        Some(m) => format!("{}{replacement}{}", &node[..m.start()], &node[m.end()..]),
        None => node.to_string(),
    }
}

fn evaluate(pattern: &Regex, pieces: &[Piece], node: &str) -> Result<String, RegexAttrError> {
    let Some(caps) = pattern.captures(node) else {
        return Ok(node.to_string());
    };
    let whole = caps.get(0).expect("group 0 always matches");
    if whole.start() != 0 || whole.end() != node.len() {
        return Err(RegexAttrError::PartialMatch {
            pattern: pattern.as_str().to_string(),
            matched: whole.as_str().to_string(),
            node: node.to_string(),
        });
    }
    let captures: Vec<Option<&str>> = caps.iter().map(|m| m.map(|m| m.as_str())).collect();
    let mut replacement = String::new();
    for piece in pieces {
        match piece {
            Piece::Text(t) => replacement.push_str(t),
            Piece::Group { source, expr } => {
                replacement.push_str(&arith::eval(expr, &captures, source)?.to_string())
            }
        }
    }
    Ok(replacement)
}

/// Splits a replacement the way xCAT walks it with `extract_bracketed`: literal text up to
/// the first balanced `( )` group, the group, and so on; an unbalanced or stray parenthesis
/// ends the walk and everything from there on stays literal.
fn pieces(replacement: &str) -> Result<Vec<Piece>, RegexAttrError> {
    let mut out = Vec::new();
    let mut rest = replacement;
    while let Some(open) = rest.find(['(', ')']) {
        if rest.as_bytes()[open] == b')' {
            break;
        }
        let Some(close) = matching_paren(&rest[open..]) else {
            break;
        };
        if open > 0 {
            out.push(Piece::Text(rest[..open].to_string()));
        }
        let source = &rest[open..open + close + 1];
        out.push(Piece::Group {
            source: source.to_string(),
            expr: arith::parse(source)?,
        });
        rest = &rest[open + close + 1..];
    }
    if !rest.is_empty() {
        out.push(Piece::Text(rest.to_string()));
    }
    Ok(out)
}

/// How many times `[\D0]*(\d+)` matches in the name, as xCAT counts the easy form's numbers.
fn digit_runs(node: &str) -> usize {
    static RUN: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    RUN.get_or_init(|| Regex::new(r"[\D0]*(\d+)").expect("valid"))
        .find_iter(node)
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(node: &str, value: &str) -> Option<String> {
        transform(node, value).unwrap()
    }

    #[test]
    fn documented_examples() {
        assert_eq!(
            t("node020", r"|node(\d+)|10.0.0.($1+0)|").as_deref(),
            Some("10.0.0.20")
        );
        assert_eq!(
            t("node20", r"|\D+(\d+)|cmm(sprintf('%02d',($1-1)/14+1))|").as_deref(),
            Some("cmm02")
        );
        assert_eq!(
            t("cn3", r"|cn(\d+)|nfs($1%2+1):/state|").as_deref(),
            Some("nfs2:/state")
        );
        assert_eq!(
            t("r1n007", "|10.1.($1).($2+100)|").as_deref(),
            Some("10.1.1.107")
        );
    }

    #[test]
    fn no_interpolation_outside_brackets() {
        assert_eq!(t("cn05", r"/cn(\d+)/x$1/").as_deref(), Some("x$1"));
        assert_eq!(t("cn05", r"|cn(\d+)|x$1|").as_deref(), Some("x$1"));
    }

    #[test]
    fn substitution_replaces_only_the_match() {
        assert_eq!(t("cn05", "/cn/sn/").as_deref(), Some("sn05"));
        assert_eq!(
            t("cn05.cluster", "|cn|sn|").as_deref(),
            Some("sn05.cluster")
        );
    }

    #[test]
    fn quirks() {
        // Three slashes make any path a regex; no match yields the node name.
        assert_eq!(t("cn3", "/install/state/").as_deref(), Some("cn3"));
        // Four slashes: a plain value.
        assert_eq!(
            t("cn3", "/install/state/x/").as_deref(),
            Some("/install/state/x/")
        );
        assert_eq!(t("cn3", r"|sn(\d+)|foo|").as_deref(), Some("cn3"));
        assert_eq!(t("cn3", r"|sn(\d+)|foo($1)|").as_deref(), Some("cn3"));
        // An empty result means unset.
        assert_eq!(t("cn3", "||"), None);
        assert_eq!(t("cn3", "/cn3//"), None);
        assert_eq!(t("cn3", "|cn3||"), None);
        assert_eq!(t("cn3", "plain"), Some("plain".into()));
    }

    #[test]
    fn replacement_may_contain_pipes_and_stray_parens() {
        assert_eq!(t("cn3", r"|cn(\d+)|a|b|").as_deref(), Some("a|b"));
        assert_eq!(t("cn3", r"|cn(\d+)|x($1+1)y(|").as_deref(), Some("x4y("));
    }

    #[test]
    fn unsupported_values_are_errors() {
        assert!(matches!(
            transform("cn3", r"|cn(\d+)|(a2idx($1))|"),
            Err(RegexAttrError::Arith(_))
        ));
        assert!(matches!(
            transform("cn3", r"|cn(?=\d)|x|"),
            Err(RegexAttrError::Pattern { .. })
        ));
        assert!(matches!(
            transform("cn3", "/cn(/x/"),
            Err(RegexAttrError::Pattern { .. })
        ));
        assert!(matches!(
            transform("xcn3", r"|cn(\d+)|10.0.0.($1)|"),
            Err(RegexAttrError::PartialMatch { .. })
        ));
    }

    #[test]
    fn easy_form_eats_leading_zeros() {
        assert_eq!(t("r01n007", "|($1)-($2)|").as_deref(), Some("1-7"));
        assert_eq!(t("node", "|x|").as_deref(), Some("x"));
    }
}
