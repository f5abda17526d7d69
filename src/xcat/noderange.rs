//! Noderange expansion as xCAT's NodeRange.pm does it: lists, ranges, brackets, `+N`, groups,
//! `/regex`, exclusion (applied last), intersection, parentheses; sorted and de-duplicated.

use std::collections::BTreeSet;
use std::path::Path;

use regex::Regex;

use super::resolve::NodeList;
use super::text::{matching_paren, regex_message};

/// Expansion stops past this many generated names, to keep a typo from exhausting memory.
const MAX_RANGE: usize = 1_000_000;
/// Nesting of parentheses and brackets; each level holds a copy of its text, so this also
/// bounds memory (a noderange written by a person nests a few levels).
const MAX_DEPTH: usize = 256;
/// Steps (atoms expanded) allowed per name of the limit: a range costs about one step per
/// name, each nested bracket one or two more; four leaves room for any real noderange.
const STEPS_PER_NAME: usize = 4;
/// The longest name a bracket, range or `+N` atom may generate from: a host name has at most
/// 253 characters, and each generated name is about as long as its atom, so this bounds the
/// memory of an expansion at its name limit.
const MAX_NAME: usize = 255;

/// A noderange that cannot be expanded.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NodeRangeError {
    #[error("invalid nodes and/or groups in noderange: {}", shown(.0))]
    Unknown(Vec<String>),
    #[error("unbalanced parentheses in noderange `{0}`")]
    Unbalanced(String),
    #[error("noderange `/{pattern}`: {message}")]
    Regex { pattern: String, message: String },
    #[error("noderange file {path}: {message}")]
    File { path: String, message: String },
    #[error("noderange `{atom}` would expand to more than {limit} names")]
    TooLarge { atom: String, limit: usize },
    #[error("noderange `{0}` nests too deeply")]
    TooDeep(String),
    #[error("noderange `{0}` takes too many steps to expand (ranges within ranges)")]
    TooComplex(String),
    #[error(
        "noderange `{0}`: selections by attribute value are not supported; name nodes or groups"
    )]
    Selection(String),
}

/// A noderange file, read up to a size no list of node names reaches (a device such as
/// `/dev/zero` given by mistake must not fill the memory).
fn read_limited(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    const LIMIT: u64 = 64 << 20;
    let file = std::fs::File::open(path)?;
    // A device, FIFO or socket (`^/dev/stdin`, `^/dev/zero`) would block or never end.
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    let mut bytes = Vec::new();
    file.take(LIMIT + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > LIMIT {
        return Err(std::io::Error::other(format!(
            "larger than {} MiB, not a list of nodes",
            LIMIT >> 20
        )));
    }
    String::from_utf8(bytes).map_err(|_| std::io::Error::other("not UTF-8 text"))
}

/// The names of an error message: the first few and a count, so that a mistyped large range
/// gives a readable line.
fn shown(names: &[String]) -> String {
    const SHOWN: usize = 20;
    let mut text = names[..names.len().min(SHOWN)].join(",");
    if names.len() > SHOWN {
        text.push_str(&format!(" and {} more", names.len() - SHOWN));
    }
    text
}

/// Expands noderanges against one node list.
pub struct Expander<'a> {
    nodes: &'a NodeList,
    prefix: String,
    suffix: String,
    excludenodes: Option<String>,
    missing: Vec<String>,
    depth: usize,
    /// Names generated so far by this expansion: the limit holds for the whole noderange,
    /// not for each atom (`a+999999,b+999999,...` would otherwise have no bound).
    generated: usize,
    /// The most names one expansion may generate.
    limit: usize,
    /// Atoms expanded so far: brackets and ranges nested in one another can cost far more
    /// steps than the names they end with, so the steps have a budget of their own.
    steps: usize,
}

impl<'a> Expander<'a> {
    /// `XCAT_NODE_PREFIX`/`XCAT_NODE_SUFFIX` (for all-digit atoms) come from the environment,
    /// as in xCAT; `site.excludenodes` is subtracted from every result.
    pub fn new(nodes: &'a NodeList, excludenodes: Option<String>) -> Expander<'a> {
        Expander {
            nodes,
            prefix: std::env::var("XCAT_NODE_PREFIX").unwrap_or_else(|_| "node".into()),
            suffix: std::env::var("XCAT_NODE_SUFFIX").unwrap_or_default(),
            excludenodes,
            missing: Vec::new(),
            depth: 0,
            generated: 0,
            limit: MAX_RANGE,
            steps: 0,
        }
    }

    /// The same expander with a smaller name limit (the fuzz tests explore the limit's paths
    /// without generating a million names each time).
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) fn with_limit(mut self, limit: usize) -> Expander<'a> {
        self.limit = limit;
        self
    }

    /// Expands a noderange; any name that is neither a node nor a group is an error.
    pub fn expand(&mut self, range: &str) -> Result<Vec<String>, NodeRangeError> {
        self.missing.clear();
        self.generated = 0;
        self.steps = 0;
        let mut set = self.range(range)?;
        if let Some(ex) = self.excludenodes.clone().filter(|e| !e.is_empty()) {
            for node in self.range(&ex)? {
                set.remove(&node);
            }
        }
        if !self.missing.is_empty() {
            let mut missing = std::mem::take(&mut self.missing);
            missing.dedup();
            return Err(NodeRangeError::Unknown(missing));
        }
        Ok(set.into_iter().collect())
    }

    fn range(&mut self, range: &str) -> Result<BTreeSet<String>, NodeRangeError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(NodeRangeError::TooDeep(range.to_string()));
        }
        let result = self.range_inner(&range.replace(['\'', '"'], ""));
        self.depth -= 1;
        result
    }

    fn range_inner(&mut self, range: &str) -> Result<BTreeSet<String>, NodeRangeError> {
        let mut nodes = BTreeSet::new();
        let mut excluded = BTreeSet::new();
        let mut range = range.to_string();
        if let Some(open) = range.find('(') {
            let close = matching_paren(&range[open..])
                .ok_or_else(|| NodeRangeError::Unbalanced(range.clone()))?
                + open;
            let start = &range[..open];
            let middle = &range[open + 1..close];
            let op = if start.ends_with('-') {
                Op::Exclude
            } else if start.ends_with('@') {
                Op::Intersect
            } else {
                Op::Union
            };
            let start = start
                .strip_suffix(",-")
                .or_else(|| start.strip_suffix(','))
                .or_else(|| start.strip_suffix('@'))
                .unwrap_or(start);
            nodes = self.range(start)?;
            let inner = self.range(middle)?;
            op.apply_now(&mut nodes, inner);
            range = range[close + 1..].to_string();
        }
        let mut elems = split_outside(&range, ',', true);
        if elems.len() == 1 {
            elems = split_outside(&range, '@', false);
        }
        for (sep, atom) in elems {
            let mut op = match sep {
                Some('@') => Op::Intersect,
                _ => Op::Union,
            };
            let mut atom = atom.as_str();
            if let Some(rest) = atom.strip_prefix('-') {
                atom = rest;
                op = Op::Exclude;
            } else if let Some(rest) = atom.strip_prefix('@') {
                atom = rest;
                op = Op::Intersect;
            }
            if atom.is_empty() {
                continue;
            }
            let missing = self.missing.len();
            let set = match atom.strip_prefix('^') {
                Some(path) => self.nodes_from_file(path)?,
                None => self.atom(atom, true, false)?.into_iter().collect(),
            };
            self.generated += set.len() + self.missing.len().saturating_sub(missing);
            if self.generated > self.limit {
                return Err(NodeRangeError::TooLarge {
                    atom: atom.to_string(),
                    limit: self.limit,
                });
            }
            match op {
                Op::Union => nodes.extend(set),
                Op::Intersect => nodes.retain(|n| set.contains(n)),
                Op::Exclude => excluded.extend(set),
            }
        }
        nodes.retain(|n| !excluded.contains(n));
        Ok(nodes)
    }

    fn nodes_from_file(&mut self, path: &str) -> Result<BTreeSet<String>, NodeRangeError> {
        let text = read_limited(Path::new(path)).map_err(|e| NodeRangeError::File {
            path: path.to_string(),
            message: e.to_string(),
        })?;
        let mut out = BTreeSet::new();
        for line in text.lines() {
            if line.starts_with('#') || line.starts_with('^') {
                continue;
            }
            let first = line.split([':', ' ', '\t']).next().unwrap_or("").trim();
            if !first.is_empty() {
                out.extend(self.range(first)?);
            }
        }
        Ok(out)
    }

    /// `expandatom`: one atom to names. `verify` records unknown names as missing;
    /// `generic` only generates names (inner brackets of `a[1-2]b[1-2]`).
    fn atom(
        &mut self,
        atom: &str,
        verify: bool,
        generic: bool,
    ) -> Result<Vec<String>, NodeRangeError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(NodeRangeError::TooDeep(atom.to_string()));
        }
        self.steps += 1;
        if self.steps
            > self
                .limit
                .saturating_mul(STEPS_PER_NAME)
                .saturating_add(1024)
        {
            self.depth -= 1;
            return Err(NodeRangeError::TooComplex(atom.to_string()));
        }
        let result = self.atom_inner(atom, verify, generic);
        self.depth -= 1;
        result
    }

    fn atom_inner(
        &mut self,
        atom: &str,
        verify: bool,
        generic: bool,
    ) -> Result<Vec<String>, NodeRangeError> {
        if !generic && self.nodes.contains(atom) {
            return Ok(vec![atom.to_string()]);
        }
        if atom.starts_with('(') && atom.ends_with(')') && atom.len() >= 2 {
            return Ok(self.range(&atom[1..atom.len() - 1])?.into_iter().collect());
        }
        if atom.contains('@') {
            return Ok(self.range(atom)?.into_iter().collect());
        }
        let members = if generic {
            &[][..]
        } else {
            self.nodes.members(atom)
        };
        if members.is_empty() && !generic && (atom.contains('=') || atom.contains('~')) {
            return Err(NodeRangeError::Selection(atom.to_string()));
        }
        if !atom.is_empty() && atom.bytes().all(|b| b.is_ascii_digit()) {
            let name = format!("{}{atom}{}", self.prefix, self.suffix);
            return self.atom(&name, verify, generic);
        }
        if !members.is_empty() {
            return Ok(members.to_vec());
        }
        if let Some(pattern) = atom.strip_prefix('/') {
            if !verify || generic {
                return Ok(vec![atom.to_string()]);
            }
            let re =
                Regex::new(&format!("^(?:{pattern})$")).map_err(|e| NodeRangeError::Regex {
                    pattern: pattern.to_string(),
                    message: regex_message(&e),
                })?;
            return Ok(self
                .nodes
                .nodes
                .iter()
                .filter(|n| re.is_match(n))
                .cloned()
                .collect());
        }
        if atom.len() > MAX_NAME {
            return Ok(self.unknown(atom, verify));
        }
        if let Some(out) = self.brackets(atom, verify, generic)? {
            return Ok(out);
        }
        if atom.contains('+') {
            return self.plus(atom, verify, generic);
        }
        if atom.contains(['-', ':']) {
            return self.dash_range(atom, verify, generic);
        }
        Ok(self.unknown(atom, verify))
    }

    fn unknown(&mut self, atom: &str, verify: bool) -> Vec<String> {
        if verify {
            self.missing.push(atom.to_string());
            Vec::new()
        } else {
            vec![atom.to_string()]
        }
    }

    /// Refuses an atom once it has generated more names (with those missing) than the limit.
    fn within_limit(&self, generated: usize, atom: &str) -> Result<(), NodeRangeError> {
        if generated + self.missing.len() > self.limit {
            return Err(NodeRangeError::TooLarge {
                atom: atom.to_string(),
                limit: self.limit,
            });
        }
        Ok(())
    }

    /// `pre[spec]post`: the first bracket becomes a plain range (`cn[001-100]` → `cn001-cn100`),
    /// further brackets are expanded for each result.
    fn brackets(
        &mut self,
        atom: &str,
        verify: bool,
        generic: bool,
    ) -> Result<Option<Vec<String>>, NodeRangeError> {
        // The bracket opens after the first character (a character, not a byte: names may
        // hold any UTF-8).
        let first = atom.chars().next().map_or(0, char::len_utf8);
        let Some(open) = atom[first..].find('[').map(|i| i + first) else {
            return Ok(None);
        };
        let Some(close) = atom[open + 1..].find(']').map(|i| i + open + 1) else {
            return Ok(None);
        };
        if close == open + 1 {
            return Ok(None);
        }
        let (start, spec, ending) = (&atom[..open], &atom[open + 1..close], &atom[close + 1..]);
        let more = ending.contains('[') && ending[ending.find('[').unwrap()..].contains(']');
        let mut subrange = String::new();
        let mut piece = String::new();
        let flush = |subrange: &mut String, piece: &mut String, sep: Option<char>| {
            subrange.push_str(start);
            subrange.push_str(piece);
            if !more {
                subrange.push_str(ending);
            }
            if let Some(s) = sep {
                subrange.push(s);
            }
            piece.clear();
        };
        for c in spec.chars() {
            if matches!(c, ',' | '-' | ':') {
                flush(&mut subrange, &mut piece, Some(c));
            } else {
                piece.push(c);
            }
        }
        flush(&mut subrange, &mut piece, None);
        let mut out = Vec::new();
        for part in subrange.split(',') {
            let generated = self.atom(part, !more && verify, more || generic)?;
            if more {
                for prefix in generated {
                    out.extend(self.atom(&format!("{prefix}{ending}"), verify, generic)?);
                    // Each bracket multiplies: `a[1-2]` repeated 40 times is 2^40 names.
                    self.within_limit(out.len(), atom)?;
                }
            } else {
                out.extend(generated);
                self.within_limit(out.len(), atom)?;
            }
        }
        Ok(Some(out))
    }

    /// `node10+3`: the last number and the three after it, padding kept.
    fn plus(
        &mut self,
        atom: &str,
        verify: bool,
        generic: bool,
    ) -> Result<Vec<String>, NodeRangeError> {
        static FRONT: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
        let front_re = FRONT.get_or_init(|| Regex::new(r"^(.*?)(\d+)(\..+)?$").expect("valid"));
        let (front, increment) = atom.split_once('+').expect("caller checked for +");
        let (Some(caps), Ok(increment)) = (front_re.captures(front), increment.parse::<u64>())
        else {
            return Ok(self.unknown(atom, verify));
        };
        let (mut pref, start) = (caps[1].to_string(), caps[2].to_string());
        let mut suf = caps
            .get(3)
            .map_or(String::new(), |m| m.as_str().to_string());
        let end = start.parse::<u64>().unwrap_or(0).saturating_add(increment);
        let mut end_text = end.to_string();
        if start.len() > end_text.len() {
            end_text = format!("{end:0width$}", width = start.len());
        }
        if pref.is_empty() && suf.is_empty() {
            pref = self.prefix.clone();
            suf = self.suffix.clone();
        }
        let mut out = Vec::new();
        for n in limited_range(&start, &end_text, atom, self.limit)? {
            out.extend(self.atom(&format!("{pref}{n}{suf}"), verify, generic)?);
            self.within_limit(out.len(), atom)?;
        }
        Ok(out)
    }

    /// `left-right` or `left:right`: the first differing number is iterated; every other part
    /// must be the same on both sides.
    fn dash_range(
        &mut self,
        atom: &str,
        verify: bool,
        generic: bool,
    ) -> Result<Vec<String>, NodeRangeError> {
        let (left, right) = if atom.contains(':') {
            let mut parts = atom.split(':');
            (parts.next().unwrap_or(""), parts.next().unwrap_or(""))
        } else {
            let count = atom.matches('-').count();
            if count.is_multiple_of(2) {
                return Ok(self.unknown(atom, verify));
            }
            let split = atom
                .match_indices('-')
                .nth(count / 2)
                .map(|(i, _)| i)
                .expect("count is odd");
            (&atom[..split], &atom[split + 1..])
        };
        if left == right {
            return self.atom(left, verify, generic);
        }
        let l = split_digits(left);
        let r = split_digits(right);
        if l.len() != r.len() {
            return Ok(self.unknown(atom, verify));
        }
        for i in 0..l.len() {
            let numeric = is_digits(l[i]) && is_digits(r[i]);
            if numeric && l[i] != r[i] {
                if l[i + 1..] != r[i + 1..] {
                    return Ok(self.unknown(atom, verify));
                }
                let prefix = l[..i].concat();
                let suffix = l[i + 1..].concat();
                let mut out = Vec::new();
                for n in limited_range(l[i], r[i], atom, self.limit)? {
                    out.extend(self.atom(&format!("{prefix}{n}{suffix}"), verify, generic)?);
                    // Each name may itself be a range (`a1-a[1-3]9` holds ranges in ranges):
                    // the limit holds for the whole atom, not per level.
                    self.within_limit(out.len(), atom)?;
                }
                return Ok(out);
            }
            if l[i] != r[i] {
                return Ok(self.unknown(atom, verify));
            }
        }
        Ok(self.unknown(atom, verify))
    }
}

#[derive(Clone, Copy)]
enum Op {
    Union,
    Intersect,
    Exclude,
}

impl Op {
    /// Combines a parenthesised sub-range with what stands before it.
    fn apply_now(self, nodes: &mut BTreeSet<String>, inner: BTreeSet<String>) {
        match self {
            Op::Union => nodes.extend(inner),
            Op::Intersect => nodes.retain(|n| inner.contains(n)),
            Op::Exclude => nodes.retain(|n| !inner.contains(n)),
        }
    }
}

/// Splits on `sep` outside `( )` (and outside `[ ]` when `brackets`), keeping for each part
/// the separator before it.
fn split_outside(text: &str, sep: char, brackets: bool) -> Vec<(Option<char>, String)> {
    let mut out = Vec::new();
    let (mut paren, mut bracket) = (0i32, 0i32);
    let mut cur = String::new();
    let mut before = None;
    for c in text.chars() {
        match c {
            '(' => paren += 1,
            ')' => paren -= 1,
            '[' if brackets => bracket += 1,
            ']' if brackets => bracket -= 1,
            _ => {}
        }
        if c == sep && paren <= 0 && bracket <= 0 {
            out.push((before, std::mem::take(&mut cur)));
            before = Some(sep);
        } else {
            cur.push(c);
        }
    }
    out.push((before, cur));
    out
}

/// Perl's `split(/(\d+)/, s)`: text and digit runs alternating, a leading empty text kept.
fn split_digits(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_digit() {
            let j = bytes[i..]
                .iter()
                .position(|b| !b.is_ascii_digit())
                .map_or(bytes.len(), |n| i + n);
            out.push(&s[start..i]);
            out.push(&s[i..j]);
            start = j;
            i = j;
        } else {
            i += 1;
        }
    }
    if start < s.len() {
        out.push(&s[start..]);
    }
    out
}

fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Perl's `"$left" .. "$right"` for digit strings: numeric unless `left` starts with `0`
/// (then the magic string increment, which keeps the width, until `right` or until the
/// next value would be longer than `right`).
pub fn perl_range(left: &str, right: &str, atom: &str) -> Result<Vec<String>, NodeRangeError> {
    limited_range(left, right, atom, MAX_RANGE)
}

/// [`perl_range`] with at most `limit` names.
fn limited_range(
    left: &str,
    right: &str,
    atom: &str,
    limit: usize,
) -> Result<Vec<String>, NodeRangeError> {
    let too_large = || NodeRangeError::TooLarge {
        atom: atom.to_string(),
        limit,
    };
    if !(left.starts_with('0') && left.len() > 1) {
        let (a, b): (u64, u64) = (
            left.parse().map_err(|_| too_large())?,
            right.parse().map_err(|_| too_large())?,
        );
        if b >= a && b - a >= limit as u64 {
            return Err(too_large());
        }
        return Ok((a..=b).map(|n| n.to_string()).collect());
    }
    let mut out = Vec::new();
    let mut cur = left.to_string();
    loop {
        out.push(cur.clone());
        if cur == right || out.len() > limit {
            break;
        }
        cur = increment(&cur);
        if cur.len() > right.len() {
            break;
        }
    }
    if out.len() > limit {
        return Err(too_large());
    }
    Ok(out)
}

/// Increments a digit string keeping its width ("099" → "100", "999" → "1000").
fn increment(digits: &str) -> String {
    let mut bytes = digits.as_bytes().to_vec();
    for b in bytes.iter_mut().rev() {
        if *b == b'9' {
            *b = b'0';
        } else {
            *b += 1;
            return String::from_utf8(bytes).expect("ascii");
        }
    }
    format!("1{}", String::from_utf8(bytes).expect("ascii"))
}

/// The shortest noderange naming exactly `nodes`, for output: runs of names that differ only
/// in a trailing number of the same width become `cn001-cn250`; everything else is listed.
/// Sorted by prefix then number; duplicates dropped. (Not NodeRange.pm's: xCAT has no such
/// compaction; this is only for reading.)
pub fn compact<S: AsRef<str>>(nodes: &[S]) -> String {
    // (prefix, number, width) for names ending in digits; the rest kept whole.
    let mut numbered: BTreeSet<(&str, u64, usize)> = BTreeSet::new();
    let mut plain: BTreeSet<&str> = BTreeSet::new();
    for n in nodes {
        let n = n.as_ref();
        let digits = n.len() - n.trim_end_matches(|c: char| c.is_ascii_digit()).len();
        let (prefix, tail) = n.split_at(n.len() - digits);
        match tail.parse::<u64>() {
            Ok(v) if digits > 0 && digits < 19 => {
                numbered.insert((prefix, v, digits));
            }
            _ => {
                plain.insert(n);
            }
        }
    }
    let mut out: Vec<String> = Vec::new();
    // (prefix, first number and width, last number and width)
    type Run<'a> = Option<(&'a str, (u64, usize), (u64, usize))>;
    let mut run: Run<'_> = None;
    let name = |p: &str, w: usize, v: u64| format!("{p}{v:0w$}");
    let flush = |run: Run<'_>, out: &mut Vec<String>| {
        if let Some((p, (a, aw), (b, bw))) = run {
            out.push(match a == b {
                true => name(p, bw, b),
                false => format!("{}-{}", name(p, aw, a), name(p, bw, b)),
            });
        }
    };
    // Without a leading zero a number is its own width, and `x9-x10` is a valid range.
    let natural = |v: u64, w: usize| v.to_string().len() == w;
    for (p, v, w) in numbered {
        match run {
            Some((rp, first, (b, bw)))
                if rp == p && b + 1 == v && (bw == w || (natural(b, bw) && natural(v, w))) =>
            {
                run = Some((rp, first, (v, w)))
            }
            _ => {
                flush(run, &mut out);
                run = Some((p, (v, w), (v, w)));
            }
        }
    }
    flush(run, &mut out);
    out.extend(plain.into_iter().map(str::to_string));
    out.join(",")
}

#[cfg(test)]
mod tests {
    #[test]
    fn compact_runs_and_keeps_the_rest() {
        let nodes = [
            "cn003", "cn001", "cn002", "cn005", "gpu1", "mn", "cn001", "x9", "x10",
        ];
        assert_eq!(super::compact(&nodes), "cn001-cn003,cn005,gpu1,x9-x10,mn");
        let many: Vec<String> = (1..=250).map(|i| format!("cn{i:03}")).collect();
        assert_eq!(super::compact(&many), "cn001-cn250");
        // Another width is another name: cn1 and cn01 are different nodes.
        assert_eq!(super::compact(&["cn1", "cn01", "cn2"]), "cn1,cn01,cn2");
        assert_eq!(super::compact(&["cn099", "cn100", "cn101"]), "cn099-cn101");
        assert_eq!(super::compact(&[] as &[&str]), "");
    }

    use super::*;
    use crate::xcat::table::Table;

    fn nodelist() -> NodeList {
        let mut text = String::from("#node,groups,comments,disable\n");
        for i in 1..=12 {
            let rack = if i <= 6 { "rack1" } else { "rack2" };
            text.push_str(&format!("\"cn{i:03}\",\"compute,{rack}\",,\n"));
        }
        for (n, g) in [
            ("sn1", "service"),
            ("sn2", "service"),
            ("node5", "all"),
            ("node1-compute", "x"),
            ("r1n007", "y"),
        ] {
            text.push_str(&format!("\"{n}\",\"{g}\",,\n"));
        }
        NodeList::from_table(&Table::parse("nodelist", "t", &text).unwrap()).unwrap()
    }

    fn x(range: &str) -> Result<Vec<String>, NodeRangeError> {
        let list = nodelist();
        let mut e = Expander::new(&list, None);
        e.prefix = "node".into();
        e.suffix = String::new();
        e.expand(range)
    }

    fn ok(range: &str) -> String {
        x(range).unwrap().join(",")
    }

    #[test]
    fn the_name_limit_holds_for_the_whole_noderange() {
        let list = nodelist();
        let small = |range: &str| Expander::new(&list, None).with_limit(1000).expand(range);
        let many = (1..=6)
            .map(|i| format!("a{i}+400"))
            .collect::<Vec<_>>()
            .join(",");
        assert!(matches!(small(&many), Err(NodeRangeError::TooLarge { .. })));
        let doubling = format!("cn[01-12]{}", "a[1-2]".repeat(40));
        assert!(matches!(
            small(&doubling),
            Err(NodeRangeError::TooLarge { .. })
        ));
        assert!(small("cn001-cn012,rack1").is_ok());
        let err = x("zz1+30").unwrap_err().to_string();
        assert!(
            err.ends_with("zz1,zz2,zz3,zz4,zz5,zz6,zz7,zz8,zz9,zz10,zz11,zz12,zz13,zz14,zz15,zz16,zz17,zz18,zz19,zz20 and 11 more"),
            "{err}"
        );
        assert!(matches!(x("é[1-2]"), Err(NodeRangeError::Unknown(_))));
        let long = format!("{}[1-999]", "n".repeat(300));
        assert_eq!(x(&long), Err(NodeRangeError::Unknown(vec![long.clone()])));
    }

    #[test]
    fn ranges_inside_ranges_stop_at_the_limit() {
        // `node001-node[1-3]010` is `node001-node1010-node001-node3010`: 2001 ranges of about
        // 2000 names each, found slow by the fuzz run; refused as soon as the limit is passed.
        let list = nodelist();
        let mut small = Expander::new(&list, None).with_limit(5000);
        let started = std::time::Instant::now();
        let err = small.expand("node001-node[1-3]010").unwrap_err();
        assert!(matches!(err, NodeRangeError::TooLarge { .. }), "{err}");
        // A hang guard, not a speed target: before the limit held per atom, this took minutes
        // in a debug build (two million names generated, then refused).
        assert!(started.elapsed() < std::time::Duration::from_secs(30));
    }

    #[test]
    fn brackets_within_ranges_have_a_step_budget() {
        // Found by the fuzz run: each `a[112]` re-expands every range before it, so the steps
        // grow far beyond the names; the budget refuses it instead of running for minutes.
        let list = nodelist();
        let atom = format!(
            "cn[655350yes1-12]a[1-212]a[1-212]{}a[1-2%]",
            "a[112]".repeat(17)
        );
        let err = Expander::new(&list, None)
            .with_limit(20_000)
            .expand(&atom)
            .unwrap_err();
        assert!(matches!(err, NodeRangeError::TooComplex(_)), "{err}");
        assert!(err.to_string().contains("too many steps"), "{err}");
        // A real noderange with nested brackets stays well within it.
        let names = Expander::new(&list, None)
            .with_limit(20_000)
            .expand("r[1-20]n[001-100]")
            .unwrap_err();
        assert!(
            matches!(names, NodeRangeError::Unknown(ref n) if n.len() == 1999),
            "{names}"
        );
    }

    #[test]
    fn each_expansion_has_its_own_budgets() {
        // One expander serves many noderanges (a file of them, a long-lived caller): the
        // names and steps of earlier ones must not count against the next.
        let list = nodelist();
        let mut small = Expander::new(&list, None).with_limit(100);
        for _ in 0..1000 {
            assert_eq!(small.expand("cn001-cn012").unwrap().len(), 12);
        }
    }

    #[test]
    fn a_device_given_as_noderange_file_is_refused() {
        for device in ["/dev/zero", "/dev/null"] {
            let err = x(&format!("^{device}")).unwrap_err().to_string();
            assert!(
                err.contains(device) && err.contains("not a regular file"),
                "{err}"
            );
        }
    }

    #[test]
    fn lists_ranges_brackets_plus() {
        assert_eq!(ok("cn003,cn001"), "cn001,cn003");
        assert_eq!(ok("cn001-cn003"), "cn001,cn002,cn003");
        assert_eq!(ok("cn[001-003]"), "cn001,cn002,cn003");
        assert_eq!(ok("cn[001-002,005]"), "cn001,cn002,cn005");
        assert_eq!(ok("cn010+2"), "cn010,cn011,cn012");
        assert_eq!(ok("cn001:cn002"), "cn001,cn002");
        assert_eq!(ok("5"), "node5");
        assert_eq!(ok("node1-compute"), "node1-compute");
    }

    #[test]
    fn groups_exclusion_intersection_regex() {
        assert_eq!(ok("service"), "sn1,sn2");
        assert_eq!(ok("rack1,-cn002-cn005"), "cn001,cn006");
        // Exclusion is applied last, whatever the order.
        assert_eq!(ok("cn001-cn006,-cn003-cn005,cn004"), "cn001,cn002,cn006");
        assert_eq!(ok("compute@rack2"), "cn007,cn008,cn009,cn010,cn011,cn012");
        assert_eq!(ok("rack1@cn005-cn008"), "cn005,cn006");
        assert_eq!(ok("/sn\\d"), "sn1,sn2");
        assert_eq!(ok("/cn00[12]"), "cn001,cn002");
        assert_eq!(ok("(rack1,rack2)@cn006-cn007"), "cn006,cn007");
        assert_eq!(
            ok("compute,-(rack1)"),
            "cn007,cn008,cn009,cn010,cn011,cn012"
        );
        assert_eq!(ok("'sn1',\"sn2\""), "sn1,sn2");
    }

    #[test]
    fn unknown_names_are_listed() {
        assert_eq!(
            x("cn001,bogus,cn011-cn013"),
            Err(NodeRangeError::Unknown(vec![
                "bogus".into(),
                "cn013".into()
            ]))
        );
        assert!(matches!(x("(cn001"), Err(NodeRangeError::Unbalanced(_))));
        assert!(matches!(x("/cn["), Err(NodeRangeError::Regex { .. })));
        assert!(matches!(
            x("groups==compute"),
            Err(NodeRangeError::Selection(_))
        ));
    }

    #[test]
    fn excludenodes_is_subtracted() {
        let list = nodelist();
        let mut e = Expander::new(&list, Some("cn002,service".into()));
        assert_eq!(e.expand("cn001-cn003,sn1").unwrap(), ["cn001", "cn003"]);
    }

    #[test]
    fn perl_ranges_keep_padding() {
        assert_eq!(
            perl_range("098", "102", "t").unwrap(),
            ["098", "099", "100", "101", "102"]
        );
        assert_eq!(perl_range("8", "11", "t").unwrap(), ["8", "9", "10", "11"]);
        assert_eq!(perl_range("01", "3", "t").unwrap(), ["01"]);
        assert!(perl_range("1", "99999999", "t").is_err());
        assert_eq!(split_digits("r1n007"), ["r", "1", "n", "007"]);
        assert_eq!(split_digits("1a"), ["", "1", "a"]);
    }
}
