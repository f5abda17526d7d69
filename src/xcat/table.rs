//! Loading xCAT tables from `tabdump` or a `dumpxCATdb -p DIR` directory, keeping only enabled
//! rows, with columns looked up by name and rows by key.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::tabdump::{self, ParseError};
use crate::process::{find_program, Cmd, CommandError};

/// Where tables come from.
#[derive(Clone, Debug)]
pub enum Source {
    /// `tabdump <table>`, the program found on PATH (or at the given path).
    Tabdump(PathBuf),
    /// A directory written by `dumpxCATdb -p DIR`: one `<table>.csv` per table.
    Dir(PathBuf),
}

impl Source {
    /// `--db DIR` if given, else the `tabdump` command.
    pub fn new(db: Option<&Path>) -> Source {
        match db {
            Some(dir) => Source::Dir(dir.to_path_buf()),
            None => Source::Tabdump(PathBuf::from("tabdump")),
        }
    }

    fn describe(&self, table: &str) -> String {
        match self {
            Source::Tabdump(p) => format!("`{} {table}`", p.display()),
            Source::Dir(d) => d.join(format!("{table}.csv")).display().to_string(),
        }
    }

    fn read(&self, table: &str) -> Result<String, TableError> {
        match self {
            Source::Dir(dir) => {
                let path = dir.join(format!("{table}.csv"));
                std::fs::read(&path)
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                    .map_err(|e| {
                        if e.kind() == std::io::ErrorKind::NotFound {
                            TableError::Missing {
                                table: table.to_string(),
                                detail: format!("no file {}", path.display()),
                            }
                        } else {
                            TableError::Read {
                                table: table.to_string(),
                                path,
                                source: e,
                            }
                        }
                    })
            }
            Source::Tabdump(program) => {
                let program = find_program(&program.to_string_lossy()).map_err(|source| {
                    TableError::Tabdump {
                        table: table.to_string(),
                        source,
                    }
                })?;
                let cmd = Cmd::new(&program).arg(table);
                let out = cmd.run().map_err(|source| TableError::Tabdump {
                    table: table.to_string(),
                    source,
                })?;
                if !out.success() {
                    let said = format!("{}{}", out.stdout, out.stderr);
                    if said.contains("No such table") {
                        return Err(TableError::Missing {
                            table: table.to_string(),
                            detail: said.trim().to_string(),
                        });
                    }
                    return Err(TableError::Tabdump {
                        table: table.to_string(),
                        source: cmd.failed(out),
                    });
                }
                Ok(out.stdout)
            }
        }
    }
}

/// A table that could not be loaded or used.
#[derive(Debug, thiserror::Error)]
pub enum TableError {
    #[error("table {table} does not exist: {detail}")]
    Missing { table: String, detail: String },
    #[error("table {table}: cannot read {path}: {source}")]
    Read {
        table: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("table {table}: {source}")]
    Tabdump {
        table: String,
        #[source]
        source: CommandError,
    },
    #[error("table {table} ({origin}): {source}")]
    Parse {
        table: String,
        origin: String,
        #[source]
        source: ParseError,
    },
    #[error("table {table} has no column `{column}` (columns: {available})")]
    UnknownColumn {
        table: String,
        column: String,
        available: String,
    },
}

/// One table's enabled rows.
#[derive(Debug)]
pub struct Table {
    name: String,
    columns: Vec<String>,
    rows: Vec<Vec<Option<String>>>,
    lines: Vec<usize>,
    indexes: Mutex<HashMap<usize, Arc<HashMap<String, usize>>>>,
}

/// Whether a `disable` value leaves the row enabled: NULL, empty, `0` or `no` in any case.
pub fn is_enabled(disable: Option<&str>) -> bool {
    match disable {
        None => true,
        Some(v) => v.is_empty() || v == "0" || v.eq_ignore_ascii_case("no"),
    }
}

impl Table {
    /// Builds a table from tabdump text, dropping disabled rows.
    pub fn parse(name: &str, origin: &str, text: &str) -> Result<Table, TableError> {
        let dump = tabdump::parse(text).map_err(|source| TableError::Parse {
            table: name.to_string(),
            origin: origin.to_string(),
            source,
        })?;
        let disable = dump.columns.iter().position(|c| c == "disable");
        let mut rows = Vec::with_capacity(dump.rows.len());
        let mut lines = Vec::with_capacity(dump.rows.len());
        for row in dump.rows {
            if is_enabled(disable.and_then(|i| row.values[i].as_deref())) {
                rows.push(row.values);
                lines.push(row.line);
            }
        }
        Ok(Table {
            name: name.to_string(),
            columns: dump.columns,
            rows,
            lines,
            indexes: Mutex::new(HashMap::new()),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// The position of a column, by name.
    pub fn column(&self, column: &str) -> Result<usize, TableError> {
        self.columns
            .iter()
            .position(|c| c == column)
            .ok_or_else(|| TableError::UnknownColumn {
                table: self.name.clone(),
                column: column.to_string(),
                available: self.columns.join(", "),
            })
    }

    /// Whether the table has a column of that name.
    pub fn has_column(&self, column: &str) -> bool {
        self.columns.iter().any(|c| c == column)
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// A value; empty strings count as NULL, as xCAT's `getAttribs` drops them.
    pub fn value(&self, row: usize, column: usize) -> Option<&str> {
        self.rows[row][column].as_deref().filter(|v| !v.is_empty())
    }

    /// The line a row starts on in its source, for messages.
    pub fn line(&self, row: usize) -> usize {
        self.lines[row]
    }

    /// The first enabled row whose `column` equals `key`.
    pub fn find(&self, column: usize, key: &str) -> Option<usize> {
        self.index(column).get(key).copied()
    }

    fn index(&self, column: usize) -> Arc<HashMap<String, usize>> {
        let mut indexes = self.indexes.lock().unwrap_or_else(|e| e.into_inner());
        indexes
            .entry(column)
            .or_insert_with(|| {
                let mut map = HashMap::with_capacity(self.rows.len());
                for (i, row) in self.rows.iter().enumerate() {
                    if let Some(k) = &row[column] {
                        map.entry(k.clone()).or_insert(i);
                    }
                }
                Arc::new(map)
            })
            .clone()
    }
}

/// The xCAT database as this process sees it: tables loaded on first use and kept.
#[derive(Debug)]
pub struct Db {
    source: Source,
    tables: Mutex<HashMap<String, Arc<Table>>>,
}

impl Db {
    pub fn new(source: Source) -> Db {
        Db {
            source,
            tables: Mutex::new(HashMap::new()),
        }
    }

    /// A database read from `--db DIR`, or through `tabdump` when `None`.
    pub fn open(db: Option<&Path>) -> Db {
        Db::new(Source::new(db))
    }

    pub fn source(&self) -> &Source {
        &self.source
    }

    /// Unit tests' database: one `<table>.csv` per `(table, dumpxCATdb text)` in a new
    /// temporary directory, which lives as long as the returned guard.
    #[cfg(test)]
    pub(crate) fn with_tables(tables: &[(&str, &str)]) -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in tables {
            std::fs::write(dir.path().join(format!("{name}.csv")), text).unwrap();
        }
        let db = Db::open(Some(dir.path()));
        (dir, db)
    }

    /// A table, loaded on first use.
    pub fn table(&self, name: &str) -> Result<Arc<Table>, TableError> {
        if let Some(t) = self.lock().get(name) {
            return Ok(t.clone());
        }
        let text = self.source.read(name)?;
        let table = Arc::new(Table::parse(name, &self.source.describe(name), &text)?);
        self.lock().insert(name.to_string(), table.clone());
        Ok(table)
    }

    /// A table that may legitimately be absent: `None` when it does not exist.
    pub fn optional_table(&self, name: &str) -> Result<Option<Arc<Table>>, TableError> {
        match self.table(name) {
            Ok(t) => Ok(Some(t)),
            Err(TableError::Missing { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// A `site` attribute (`None` when unset or when there is no site table).
    pub fn site(&self, key: &str) -> Result<Option<String>, TableError> {
        let Some(site) = self.optional_table("site")? else {
            return Ok(None);
        };
        let k = site.column("key")?;
        let v = site.column("value")?;
        Ok(site
            .find(k, key)
            .and_then(|row| site.value(row, v))
            .map(str::to_string))
    }

    /// `site.installdir`, default `/install`.
    pub fn installdir(&self) -> Result<String, TableError> {
        Ok(self
            .site("installdir")?
            .unwrap_or_else(|| "/install".into()))
    }

    /// `site.tftpdir`, default `/tftpboot`.
    pub fn tftpdir(&self) -> Result<String, TableError> {
        Ok(self.site("tftpdir")?.unwrap_or_else(|| "/tftpboot".into()))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Table>>> {
        self.tables.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disabled_rows_are_skipped() {
        let text = "#node,groups,comments,disable\n\
                    \"a\",\"g\",,\n\"b\",\"g\",,\"1\"\n\"c\",\"g\",,\"NO\"\n\
                    \"d\",\"g\",,\"yes\"\n\"e\",\"g\",,\"0\"\n\"f\",\"g\",,\"No\"\n";
        let t = Table::parse("nodelist", "test", text).unwrap();
        let n = t.column("node").unwrap();
        let names: Vec<_> = (0..t.len()).map(|r| t.value(r, n).unwrap()).collect();
        assert_eq!(names, ["a", "c", "e", "f"]);
    }

    #[test]
    fn unknown_column_lists_the_real_ones() {
        let t = Table::parse("site", "test", "#key,value\n").unwrap();
        let e = t.column("vaule").unwrap_err().to_string();
        assert_eq!(e, "table site has no column `vaule` (columns: key, value)");
    }

    #[test]
    fn directory_source_reports_missing_tables() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(Some(dir.path()));
        let e = db.table("noderes").unwrap_err().to_string();
        assert!(e.contains("table noderes does not exist"), "{e}");
        assert!(db.optional_table("noderes").unwrap().is_none());
        assert_eq!(db.installdir().unwrap(), "/install");
    }

    #[test]
    fn parse_errors_name_table_and_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("site.csv"),
            "#key,value\n\"a\",\"b\",\"c\"\n",
        )
        .unwrap();
        let e = Db::open(Some(dir.path()))
            .table("site")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("table site ("), "{e}");
        assert!(e.contains("site.csv): line 2: 3 fields"), "{e}");
    }
}
