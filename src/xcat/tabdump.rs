//! The tabdump/dumpxCATdb CSV format: a `#` header naming the columns, double-quoted values
//! with `""` escapes that may span lines, and bare empty fields for NULL.

use std::fmt::Write as _;

/// One parsed table file: column names from the header and every row, disabled ones included.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dump {
    pub columns: Vec<String>,
    /// Rows with one entry per column; `None` is NULL (an empty field).
    pub rows: Vec<Row>,
}

/// A row and the line it starts on (1-based), for error messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    pub line: usize,
    pub values: Vec<Option<String>>,
}

/// Text that is not what tabdump writes.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("line {line}: {message}")]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

fn error<T>(line: usize, message: impl Into<String>) -> Result<T, ParseError> {
    Err(ParseError {
        line,
        message: message.into(),
    })
}

/// Parses tabdump output. Rows with fewer fields than columns get NULL for the rest (as
/// tabrestore accepts); more fields than columns, a stray or unbalanced quote are errors.
pub fn parse(text: &str) -> Result<Dump, ParseError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let (header, body) = match text.find('\n') {
        Some(i) => (&text[..i], &text[i + 1..]),
        None => (text, ""),
    };
    let header = header.trim_end_matches('\r');
    let Some(names) = header.strip_prefix('#') else {
        return error(1, "the first line must be a header starting with `#`");
    };
    // tabrestore strips every `"` from the header; do the same.
    let columns: Vec<String> = names
        .split(',')
        .map(|c| c.replace('"', "").trim().to_string())
        .collect();
    if let Some(i) = columns.iter().position(String::is_empty) {
        return error(1, format!("column {} of the header has no name", i + 1));
    }
    for (i, c) in columns.iter().enumerate() {
        if columns[..i].contains(c) {
            return error(1, format!("column `{c}` appears twice in the header"));
        }
    }
    let mut parser = RowParser {
        bytes: body.as_bytes(),
        text: body,
        pos: 0,
        line: 2,
    };
    let mut rows = Vec::new();
    while let Some(row) = parser.next_row()? {
        if row.values.len() > columns.len() {
            return error(
                row.line,
                format!(
                    "{} fields, but the header names {} columns",
                    row.values.len(),
                    columns.len()
                ),
            );
        }
        let mut values = row.values;
        values.resize(columns.len(), None);
        rows.push(Row {
            line: row.line,
            values,
        });
    }
    Ok(Dump { columns, rows })
}

struct RowParser<'a> {
    bytes: &'a [u8],
    text: &'a str,
    pos: usize,
    line: usize,
}

impl RowParser<'_> {
    /// The next row, skipping blank lines; `None` at the end.
    fn next_row(&mut self) -> Result<Option<Row>, ParseError> {
        loop {
            if self.pos >= self.bytes.len() {
                return Ok(None);
            }
            let rest = &self.bytes[self.pos..];
            let blank = rest
                .iter()
                .position(|&b| b == b'\n')
                .map(|n| rest[..n].iter().all(|&b| b == b'\r'))
                .unwrap_or_else(|| rest.iter().all(|&b| b == b'\r'));
            if !blank {
                break;
            }
            self.skip_line();
        }
        let line = self.line;
        let mut values = Vec::new();
        loop {
            values.push(self.field()?);
            match self.bytes.get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(b'\r') if self.bytes.get(self.pos + 1) != Some(&b'\n') => {
                    return error(self.line, "carriage return inside a row");
                }
                _ => {
                    self.skip_line();
                    return Ok(Some(Row { line, values }));
                }
            }
        }
    }

    fn skip_line(&mut self) {
        match self.bytes[self.pos..].iter().position(|&b| b == b'\n') {
            Some(n) => self.pos += n + 1,
            None => self.pos = self.bytes.len(),
        }
        self.line += 1;
    }

    fn field(&mut self) -> Result<Option<String>, ParseError> {
        if self.bytes.get(self.pos) == Some(&b'"') {
            return self.quoted().map(Some);
        }
        let start = self.pos;
        while let Some(&b) = self.bytes.get(self.pos) {
            match b {
                b',' | b'\n' => break,
                b'\r' if self.bytes.get(self.pos + 1) == Some(&b'\n') => break,
                b'"' => return error(self.line, "stray `\"` inside an unquoted value"),
                _ => self.pos += 1,
            }
        }
        let value = &self.text[start..self.pos];
        Ok((!value.is_empty()).then(|| value.to_string()))
    }

    fn quoted(&mut self) -> Result<String, ParseError> {
        let opened = self.line;
        self.pos += 1;
        let mut value = String::new();
        let mut start = self.pos;
        loop {
            let Some(&b) = self.bytes.get(self.pos) else {
                return error(opened, "quoted value is never closed (unbalanced `\"`)");
            };
            match b {
                b'"' if self.bytes.get(self.pos + 1) == Some(&b'"') => {
                    value.push_str(&self.text[start..=self.pos]);
                    self.pos += 2;
                    start = self.pos;
                }
                b'"' => {
                    value.push_str(&self.text[start..self.pos]);
                    self.pos += 1;
                    return match self.bytes.get(self.pos) {
                        None | Some(b',') | Some(b'\n') => Ok(value),
                        Some(b'\r') if self.bytes.get(self.pos + 1) == Some(&b'\n') => Ok(value),
                        Some(_) => error(self.line, "text after a closing `\"`"),
                    };
                }
                b'\n' => {
                    self.line += 1;
                    self.pos += 1;
                }
                _ => self.pos += 1,
            }
        }
    }
}

/// Writes rows the way tabdump does: the header, then every defined value quoted with `"`
/// doubled, NULL as an empty field.
pub fn write(columns: &[&str], rows: &[Vec<Option<&str>>]) -> String {
    let mut out = format!("#{}\n", columns.join(","));
    for row in rows {
        let fields: Vec<String> = row
            .iter()
            .map(|v| match v {
                Some(v) => format!("\"{}\"", v.replace('"', "\"\"")),
                None => String::new(),
            })
            .collect();
        let _ = writeln!(out, "{}", fields.join(","));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(d: &Dump, i: usize) -> Vec<Option<&str>> {
        d.rows[i].values.iter().map(|v| v.as_deref()).collect()
    }

    #[test]
    fn reads_what_tabdump_writes() {
        let text = "#node,groups,comments,disable\n\
                    \"cn001\",\"compute,aix\",,\n\
                    \"cn002\",\"say \"\"hi\"\"\",\"two\nlines\",\"1\"\n";
        let d = parse(text).unwrap();
        assert_eq!(d.columns, ["node", "groups", "comments", "disable"]);
        assert_eq!(
            values(&d, 0),
            [Some("cn001"), Some("compute,aix"), None, None]
        );
        assert_eq!(
            values(&d, 1),
            [
                Some("cn002"),
                Some("say \"hi\""),
                Some("two\nlines"),
                Some("1")
            ]
        );
        assert_eq!(d.rows[1].line, 3);
    }

    #[test]
    fn header_only_is_an_empty_table() {
        let d = parse("#key,value,comments,disable\n").unwrap();
        assert!(d.rows.is_empty());
    }

    #[test]
    fn short_rows_are_padded_with_null() {
        let d = parse("#a,b,c\n\"1\"\n").unwrap();
        assert_eq!(values(&d, 0), [Some("1"), None, None]);
    }

    #[test]
    fn accepts_unquoted_values_and_crlf() {
        let d = parse("#a,b\r\nx,\"y\"\r\n").unwrap();
        assert_eq!(values(&d, 0), [Some("x"), Some("y")]);
    }

    #[test]
    fn malformed_input_names_the_line() {
        let e = parse("#a,b\n\"1\",\"2\",\"3\"\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("3 fields"), "{e}");
        let e = parse("#a,b\n\"1\",\"2\n3,4\n").unwrap_err();
        assert!(e.message.contains("never closed"), "{e}");
        let e = parse("#a,b\n\"1\"x,\"2\"\n").unwrap_err();
        assert!(e.message.contains("after a closing"), "{e}");
        let e = parse("#a,b\nab\"c,\"2\"\n").unwrap_err();
        assert!(e.message.contains("stray"), "{e}");
        let e = parse("node,groups\n").unwrap_err();
        assert_eq!(e.line, 1);
    }
}
