//! `extnfs nodels`: xCAT's `nodels` on our reading of the database, so admins and tests can
//! compare what we resolve with what xCAT resolves.

use std::fmt::Write as _;

use super::error::Error;
use super::noderange::Expander;
use super::resolve::Resolver;

impl Resolver<'_> {
    /// Expands a noderange against this database's node list, minus `site.excludenodes`.
    pub fn noderange(&self, range: &str) -> Result<Vec<String>, Error> {
        let nodelist = self.nodelist()?;
        let exclude = self.db().site("excludenodes")?;
        Ok(Expander::new(&nodelist, exclude).expand(range)?)
    }
}

/// Short attribute names `nodels` accepts, as in xCAT.
const SHORT_NAMES: [(&str, &str, &str); 2] = [
    ("groups", "nodelist", "groups"),
    ("tags", "nodelist", "groups"),
];

/// One requested attribute: `table.column` or a short name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attribute {
    pub label: String,
    pub table: String,
    pub column: String,
}

impl Attribute {
    pub fn parse(text: &str) -> Result<Attribute, Error> {
        if let Some((_, t, c)) = SHORT_NAMES.iter().find(|(s, _, _)| *s == text) {
            return Ok(Attribute {
                label: text.to_string(),
                table: t.to_string(),
                column: c.to_string(),
            });
        }
        match text.split_once('.') {
            Some((t, c)) if !t.is_empty() && !c.is_empty() => Ok(Attribute {
                label: text.to_string(),
                table: t.to_string(),
                column: c.to_string(),
            }),
            _ => Err(Error::BadAttribute(text.to_string())),
        }
    }
}

/// The output of `nodels RANGE ATTR...`: node names alone, or `node: value` for exactly one
/// attribute (xCAT's terse form), or `node: table.column: value` for several or with
/// `with_fieldname` (`-H`). Nodes sorted, attributes in the order asked.
pub fn nodels(
    resolver: &Resolver<'_>,
    range: &str,
    attrs: &[String],
    with_fieldname: bool,
) -> Result<String, Error> {
    let attrs = attrs
        .iter()
        .map(|a| Attribute::parse(a))
        .collect::<Result<Vec<_>, _>>()?;
    let nodes = resolver.noderange(range)?;
    let terse = attrs.len() == 1 && !with_fieldname;
    let mut out = String::new();
    for node in &nodes {
        if attrs.is_empty() {
            out.push_str(node);
            out.push('\n');
        }
        for attr in &attrs {
            let value = resolver.attr(node, &attr.table, &attr.column)?;
            let value = value.as_deref().unwrap_or("");
            if terse {
                let _ = writeln!(out, "{node}: {value}");
            } else {
                let _ = writeln!(out, "{node}: {}: {value}", attr.label);
            }
        }
    }
    Ok(out)
}
