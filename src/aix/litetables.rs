//! The statelite tables `mkdsklsnode` writes to the top of a shared_root (`statelite.table`,
//! `litetree.table`): which server address each AIX statelite node will mount, read robustly.
//!
//! Formats (reference statelite.md §6, written by xCAT's `dolitesetup`): `statelite.table`
//! lines are `node|serverIP|dir[|mntopts]`, or `node|dir` when the statemnt has no server;
//! `litetree.table` lines are `node|serverIP|dir[|mntopts]`. Blanks were removed by xCAT. The
//! address is empty when it could not be resolved there. Versions differ in the optional
//! fields, so a line is read by what its fields look like (a directory starts with `/`), and a
//! line that fits neither form is kept as unknown, to be reported, never fatal.

/// One row: the node, the server address it mounts from (`None`: none given), the directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    pub line: usize,
    pub node: String,
    pub server: Option<String>,
    pub dir: String,
    pub mntopts: Option<String>,
}

/// A table's rows and the lines that are neither rows nor blank: `(line number, text)`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Table {
    pub rows: Vec<Row>,
    pub unknown: Vec<(usize, String)>,
}

impl Table {
    /// The rows of `node` (the xCAT node name, as xCAT writes it).
    pub fn rows_of<'t>(&'t self, node: &'t str) -> impl Iterator<Item = &'t Row> + 't {
        self.rows.iter().filter(move |r| r.node == node)
    }
}

/// Parses either table; `statelite.table` alone allows the `node|dir` form.
pub fn parse(text: &str) -> Table {
    let mut table = Table::default();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match row(line, i + 1) {
            Some(r) => table.rows.push(r),
            None => table.unknown.push((i + 1, raw.to_string())),
        }
    }
    table
}

fn row(line: &str, number: usize) -> Option<Row> {
    let fields: Vec<&str> = line.split('|').map(str::trim).collect();
    let node = *fields.first()?;
    if node.is_empty() || node.contains(char::is_whitespace) || fields.len() < 2 {
        return None;
    }
    let is_dir = |f: &str| f.starts_with('/');
    let opt = |f: Option<&&str>| f.filter(|f| !f.is_empty()).map(|f| f.to_string());
    let (server, dir, mntopts) = match fields.len() {
        // node|dir
        2 if is_dir(fields[1]) => (None, fields[1], None),
        // node|dir|mntopts (no server) or node|server|dir
        3 if is_dir(fields[1]) => (None, fields[1], opt(fields.get(2))),
        3 | 4 if is_dir(fields[2]) && !is_dir(fields[1]) => {
            (opt(fields.get(1)), fields[2], opt(fields.get(3)))
        }
        _ => return None,
    };
    Some(Row {
        line: number,
        node: node.to_string(),
        server,
        dir: dir.to_string(),
        mntopts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_form_and_keeps_what_it_cannot_read() {
        let t = parse(
            "cn003|10.1.0.250|/install/aixdata\n\
             cn004|10.1.0.1|/install/aixdata|soft,timeo=10\n\
             cn005|/install/aixdata\n\
             cn006||/install/aixdata\n\
             \n\
             # a comment\n\
             garbage line\n\
             cn007|10.1.0.250|relative\n\
             cn008|a|b|c|d\n",
        );
        assert_eq!(t.rows.len(), 4, "{t:?}");
        assert_eq!(t.rows[0].server.as_deref(), Some("10.1.0.250"));
        assert_eq!(t.rows[1].mntopts.as_deref(), Some("soft,timeo=10"));
        assert_eq!(t.rows[1].line, 2);
        assert_eq!(
            (t.rows[2].server.as_deref(), t.rows[2].dir.as_str()),
            (None, "/install/aixdata")
        );
        assert_eq!(t.rows[3].server, None, "an unresolved address is empty");
        let lines: Vec<usize> = t.unknown.iter().map(|(n, _)| *n).collect();
        assert_eq!(lines, [7, 8, 9]);
        assert_eq!(t.rows_of("cn004").count(), 1);
        assert_eq!(t.rows_of("cn00").count(), 0, "names match whole");
    }
}
