//! `lsps -c` output: the colon-separated list of paging spaces, read so that a file path
//! containing `:` and both the older 8-field and the current 9-field forms parse correctly.
//!
//! A row is `name:host:path:size:used:active:auto:type[:chksum]`. For logical-volume spaces the
//! host and path fields hold the physical volume and the volume group. The name and host are
//! taken from the left, the fixed fields from the right, and everything in between, re-joined
//! with `:`, is the path.

use std::fmt;

/// The kind of backing store of a paging space (the `type` field).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A logical volume (`lv`), e.g. `hd6`.
    Lv,
    /// A file on an NFS server (`nfs`), e.g. a diskless node's `swapnfs0`.
    Nfs,
    /// Any other type AIX reports (`ps_helper`, …), kept as printed.
    Other(String),
}

impl Kind {
    fn parse(word: &str) -> Kind {
        match word {
            "lv" => Kind::Lv,
            "nfs" => Kind::Nfs,
            other => Kind::Other(other.to_string()),
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Kind::Lv => f.write_str("lv"),
            Kind::Nfs => f.write_str("nfs"),
            Kind::Other(word) => f.write_str(word),
        }
    }
}

/// One paging space as `lsps -c` lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PagingSpace {
    /// Device name (`swapnfs0`, `hd6`, …); `/dev/<name>` is what `swapoff` takes.
    pub name: String,
    /// NFS server host name or address; the physical volume for `lv` spaces.
    pub host: String,
    /// File path on the NFS server; the volume group for `lv` spaces.
    pub path: String,
    /// Size as printed (logical partitions for `lv`; the unit for `nfs` is undocumented).
    pub size: String,
    /// Use as printed (AIX may print `NaNQ` for NFS spaces).
    pub used: String,
    /// Whether the space is in use now.
    pub active: bool,
    /// Whether the space is activated at boot.
    pub auto: bool,
    pub kind: Kind,
    /// The checksum size; `None` in the older 8-field form.
    pub checksum: Option<String>,
}

/// Which of the two known layouts a row uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Form {
    /// `name:host:path:size:used:active:auto:type` (older AIX releases).
    WithoutChecksum,
    /// `name:host:path:size:used:active:auto:type:chksum`.
    WithChecksum,
}

impl Form {
    /// How many fields follow the path.
    fn tail_len(self) -> usize {
        match self {
            Form::WithoutChecksum => 5,
            Form::WithChecksum => 6,
        }
    }

    /// The smallest number of fields a row of this form has (name, host, a path of one field).
    fn min_fields(self) -> usize {
        self.tail_len() + 3
    }

    /// Reads the form from a `#` header line, `None` when the header is not one of the two.
    fn from_header(line: &str) -> Option<Form> {
        let last = line.trim_start_matches('#').rsplit(':').next()?;
        match last.trim().to_ascii_lowercase().as_str() {
            "chksum" | "checksum" => Some(Form::WithChecksum),
            "type" => Some(Form::WithoutChecksum),
            _ => None,
        }
    }

    /// Tells the form of a row without a header: the type field (`nfs` or `lv`) is last in the
    /// 8-field form and next to last in the 9-field form.
    fn from_row(fields: &[&str]) -> Result<Form, Problem> {
        let is_type = |i: usize| matches!(fields.get(i).map(|f| f.trim()), Some("nfs" | "lv"));
        let n = fields.len();
        if n < Form::WithoutChecksum.min_fields() {
            return Err(Problem::TooFewFields {
                found: n,
                needed: Form::WithoutChecksum.min_fields(),
            });
        }
        if is_type(n - 1) {
            Ok(Form::WithoutChecksum)
        } else if n >= Form::WithChecksum.min_fields() && is_type(n - 2) {
            Ok(Form::WithChecksum)
        } else {
            Err(Problem::UnknownForm)
        }
    }
}

/// A line of `lsps -c` output that could not be understood.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("lsps output line {number} `{text}`: {problem}")]
pub struct ParseError {
    /// 1-based line number in the output.
    pub number: usize,
    pub text: String,
    pub problem: Problem,
}

/// What is wrong with a line.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    #[error("it has {found} colon-separated fields where at least {needed} are expected")]
    TooFewFields { found: usize, needed: usize },
    #[error(
        "without a header the form is told from the type field, but neither the last field \
         (8-field form) nor the one before it (9-field form) is `nfs` or `lv`"
    )]
    UnknownForm,
    #[error("the {field} field is empty")]
    Empty { field: &'static str },
    #[error("the {field} field `{value}` is neither y/yes nor n/no")]
    NotYesNo { field: &'static str, value: String },
    #[error(
        "the paging space name `{0}` is not a device name (letters, digits, `_`, `.` and `-`, \
         not starting with `-`)"
    )]
    BadName(String),
}

/// Parses `lsps -c` output. `#` lines are headers: a recognised one fixes the form of the rows
/// after it; without one, each row's form is told from its type field. Blank lines are skipped.
pub fn parse(text: &str) -> Result<Vec<PagingSpace>, ParseError> {
    let mut form = None;
    let mut spaces = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        if line.starts_with('#') {
            form = Form::from_header(line).or(form);
            continue;
        }
        let space = parse_row(line, form).map_err(|problem| ParseError {
            number: index + 1,
            text: line.to_string(),
            problem,
        })?;
        spaces.push(space);
    }
    Ok(spaces)
}

/// Parses one row, in `form` when a header gave it.
fn parse_row(line: &str, form: Option<Form>) -> Result<PagingSpace, Problem> {
    let fields: Vec<&str> = line.split(':').collect();
    let form = match form {
        Some(form) => form,
        None => Form::from_row(&fields)?,
    };
    if fields.len() < form.min_fields() {
        return Err(Problem::TooFewFields {
            found: fields.len(),
            needed: form.min_fields(),
        });
    }
    let (head, tail) = fields.split_at(fields.len() - form.tail_len());
    let tail: Vec<&str> = tail.iter().map(|f| f.trim()).collect();
    let name = head[0].trim();
    check_name(name)?;
    Ok(PagingSpace {
        name: name.to_string(),
        host: non_empty("host", head[1].trim())?,
        path: non_empty("path", &head[2..].join(":"))?,
        size: tail[0].to_string(),
        used: tail[1].to_string(),
        active: yes_no("active", tail[2])?,
        auto: yes_no("auto", tail[3])?,
        kind: Kind::parse(&non_empty("type", tail[4])?),
        checksum: tail.get(5).map(|c| c.to_string()),
    })
}

/// Device names end up in `/dev/<name>` and as command arguments, so only the characters AIX
/// uses in device names are accepted.
fn check_name(name: &str) -> Result<(), Problem> {
    let valid = !name.is_empty()
        && !name.starts_with('-')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
        && name != "."
        && name != "..";
    if valid {
        Ok(())
    } else {
        Err(Problem::BadName(name.to_string()))
    }
}

fn non_empty(field: &'static str, value: &str) -> Result<String, Problem> {
    if value.is_empty() {
        Err(Problem::Empty { field })
    } else {
        Ok(value.to_string())
    }
}

/// `y`/`yes` and `n`/`no`, in any case: AIX prints `y`/`n` in `-c` and `yes`/`no` in tables.
fn yes_no(field: &'static str, value: &str) -> Result<bool, Problem> {
    match value.to_ascii_lowercase().as_str() {
        "y" | "yes" => Ok(true),
        "n" | "no" => Ok(false),
        _ => Err(Problem::NotYesNo {
            field,
            value: value.to_string(),
        }),
    }
}

/// An NFS paging space as the unit tests need one: auto-activated, size 64, checksum 0.
#[cfg(test)]
pub(crate) fn test_nfs(name: &str, host: &str, path: &str, active: bool) -> PagingSpace {
    PagingSpace {
        name: name.to_string(),
        host: host.to_string(),
        path: path.to_string(),
        size: "64".to_string(),
        used: "1".to_string(),
        active,
        auto: true,
        kind: Kind::Nfs,
        checksum: Some("0".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::test_nfs as nfs;
    use super::*;
    use proptest::prelude::*;

    const HEADER9: &str = "#Psname:Hostname:Filename:Size:Used:Active:Auto:Type:Chksum";
    const HEADER8: &str = "#Psname:Hostname:Filename:Size:Used:Active:Auto:Type";

    /// A row as `lsps -c` prints it (9 fields with a checksum, 8 without).
    fn row(space: &PagingSpace) -> String {
        let yn = |b| if b { "y" } else { "n" };
        let mut fields = vec![
            space.name.clone(),
            space.host.clone(),
            space.path.clone(),
            space.size.clone(),
            space.used.clone(),
            yn(space.active).to_string(),
            yn(space.auto).to_string(),
            space.kind.to_string(),
        ];
        fields.extend(space.checksum.clone());
        fields.join(":")
    }

    #[test]
    fn reads_nine_field_rows_after_the_header() {
        let text = format!(
            "{HEADER9}\nswapnfs0:sn01:/install/nim/paging/cn001/swapnfs0:128:1:y:y:nfs:0\n\
             swapnfs1:nfs1:/export/p1:64:0:n:n:nfs:0\n"
        );
        let got = parse(&text).unwrap();
        assert_eq!(
            got,
            vec![
                PagingSpace {
                    size: "128".to_string(),
                    ..nfs(
                        "swapnfs0",
                        "sn01",
                        "/install/nim/paging/cn001/swapnfs0",
                        true
                    )
                },
                PagingSpace {
                    used: "0".to_string(),
                    auto: false,
                    ..nfs("swapnfs1", "nfs1", "/export/p1", false)
                },
            ]
        );
    }

    #[test]
    fn reads_the_older_eight_field_form() {
        let text = format!("{HEADER8}\nswapnfs0:sn01:/p/swapnfs0:64:1:yes:no:nfs\n");
        let got = parse(&text).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].path, "/p/swapnfs0");
        assert!(got[0].active);
        assert!(!got[0].auto);
        assert_eq!(got[0].checksum, None);
    }

    #[test]
    fn keeps_colons_inside_the_path() {
        let text =
            format!("{HEADER9}\nswapnfs1:nfs1:/install/paging/cn001/swapnfs1:fur:64:1:y:y:nfs:0");
        let got = parse(&text).unwrap();
        assert_eq!(got[0].path, "/install/paging/cn001/swapnfs1:fur");
        assert_eq!(got[0].host, "nfs1");
        assert_eq!(got[0].size, "64");
    }

    #[test]
    fn tells_the_form_from_the_type_field_without_a_header() {
        let got = parse("a:h:/p:x:64:1:y:y:nfs:0\nhd6:hdisk0:rootvg:8:1:y:n:lv\n").unwrap();
        assert_eq!(got[0].path, "/p:x");
        assert_eq!(got[0].checksum.as_deref(), Some("0"));
        assert_eq!(got[1].kind, Kind::Lv);
        assert_eq!(got[1].path, "rootvg");
        assert_eq!(got[1].checksum, None);
    }

    #[test]
    fn a_header_allows_other_types_and_odd_used_values() {
        let text = format!("{HEADER9}\nps1:h:/p:64:NaNQ:y:y:ps_helper:0\n");
        let got = parse(&text).unwrap();
        assert_eq!(got[0].kind, Kind::Other("ps_helper".to_string()));
        assert_eq!(got[0].used, "NaNQ");
    }

    #[test]
    fn skips_blank_lines_and_trailing_carriage_returns() {
        let text = format!("{HEADER9}\r\n\r\nswapnfs0:sn01:/p:64:1:y:y:nfs:0\r\n");
        let got = parse(&text).unwrap();
        assert_eq!(got, vec![nfs("swapnfs0", "sn01", "/p", true)]);
    }

    #[test]
    fn empty_output_is_no_paging_space() {
        assert_eq!(parse(""), Ok(vec![]));
        assert_eq!(parse(&format!("{HEADER9}\n")), Ok(vec![]));
    }

    #[test]
    fn errors_name_the_line_and_the_problem() {
        let text = format!("{HEADER9}\nswapnfs0:sn01:/p:64:1:maybe:y:nfs:0\n");
        let err = parse(&text).unwrap_err();
        assert_eq!(err.number, 2);
        assert_eq!(err.text, "swapnfs0:sn01:/p:64:1:maybe:y:nfs:0");
        assert_eq!(
            err.problem,
            Problem::NotYesNo {
                field: "active",
                value: "maybe".to_string()
            }
        );
        let msg = err.to_string();
        assert!(msg.contains("line 2"), "{msg}");
        assert!(msg.contains("`maybe` is neither y/yes nor n/no"), "{msg}");
    }

    #[test]
    fn rejects_short_rows() {
        let err = parse(&format!("{HEADER9}\nswapnfs0:sn01:/p:64:1:y:y:nfs")).unwrap_err();
        assert_eq!(
            err.problem,
            Problem::TooFewFields {
                found: 8,
                needed: 9
            }
        );
        let err = parse("garbage").unwrap_err();
        assert_eq!(
            err.problem,
            Problem::TooFewFields {
                found: 1,
                needed: 8
            }
        );
    }

    #[test]
    fn rejects_rows_whose_form_cannot_be_told() {
        let err = parse("swapnfs0:sn01:/p:64:1:y:y:cd:0").unwrap_err();
        assert_eq!(err.problem, Problem::UnknownForm);
    }

    #[test]
    fn rejects_names_that_are_not_device_names() {
        for name in ["-a", "../etc", "a b", ""] {
            let err = parse(&format!("{HEADER9}\n{name}:sn01:/p:64:1:y:y:nfs:0")).unwrap_err();
            assert_eq!(err.problem, Problem::BadName(name.to_string()), "{name}");
        }
    }

    #[test]
    fn rejects_empty_host_and_path() {
        let err = parse(&format!("{HEADER9}\nswapnfs0::/p:64:1:y:y:nfs:0")).unwrap_err();
        assert_eq!(err.problem, Problem::Empty { field: "host" });
        let err = parse(&format!("{HEADER9}\nswapnfs0:sn01::64:1:y:y:nfs:0")).unwrap_err();
        assert_eq!(err.problem, Problem::Empty { field: "path" });
    }

    fn arb_space() -> impl Strategy<Value = PagingSpace> {
        (
            "[a-z][a-z0-9]{0,8}",
            "[a-z0-9][a-z0-9.-]{0,15}",
            "/[a-zA-Z0-9 ._+*()\\[\\]-]{0,12}",
            "[a-zA-Z0-9 ._+*()\\[\\]:-]{0,12}",
            any::<bool>(),
            any::<bool>(),
            prop_oneof![Just(Kind::Nfs), Just(Kind::Lv)],
            proptest::option::of("[0-9]{1,3}"),
        )
            .prop_map(|(name, host, dir, file, active, auto, kind, checksum)| {
                PagingSpace {
                    name,
                    host,
                    path: format!("{dir}:{file}"),
                    size: "64".to_string(),
                    used: "1".to_string(),
                    active,
                    auto,
                    kind,
                    checksum,
                }
            })
    }

    proptest! {
        #[test]
        fn a_path_with_colons_round_trips(space in arb_space(), with_header in any::<bool>()) {
            let header = match (with_header, space.checksum.is_some()) {
                (false, _) => "",
                (true, true) => HEADER9,
                (true, false) => HEADER8,
            };
            let text = format!("{header}\n{}\n", row(&space));
            prop_assert_eq!(parse(&text), Ok(vec![space]));
        }
    }
}
