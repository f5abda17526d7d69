//! NIM `<client>.info` files (`export VAR=value` lines): point `SPOT=` and `ROOT=` at the
//! external server and add it to `NIM_HOSTS`, exactly where mkdsklsnode does, nothing else.

/// An `.info` file that cannot be redirected.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InfoError {
    #[error("no `export {0}=host:path` line")]
    Missing(&'static str),
    #[error("`export NIM_HOSTS` is not a double-quoted list")]
    BadHosts,
}

/// Redirects `SPOT` and `ROOT` (the host part: everything between `=` and the last `:` of
/// the line, as mkdsklsnode's substitution takes it) and adds `ip:host` to `NIM_HOSTS`.
/// `None` when the file already says all that.
pub fn redirect(text: &str, host: &str, ip: &str) -> Result<Option<String>, InfoError> {
    let mut lines: Vec<String> = text.split_inclusive('\n').map(str::to_string).collect();
    let mut changed = false;
    for var in ["SPOT", "ROOT"] {
        let i = find_export(&lines, var).ok_or(InfoError::Missing(var))?;
        if let Some(new) = redirect_location(&lines[i], var, host) {
            lines[i] = new;
            changed = true;
        }
    }
    let i = find_export(&lines, "NIM_HOSTS").ok_or(InfoError::Missing("NIM_HOSTS"))?;
    if let Some(new) = add_nim_host(&lines[i], ip, host)? {
        lines[i] = new;
        changed = true;
    }
    Ok(changed.then(|| lines.concat()))
}

fn find_export(lines: &[String], var: &str) -> Option<usize> {
    lines.iter().position(|l| {
        let t = l.trim_start();
        t.strip_prefix("export")
            .filter(|r| r.starts_with([' ', '\t']))
            .map(|r| r.trim_start().starts_with(&format!("{var}=")))
            .unwrap_or(false)
    })
}

fn redirect_location(line: &str, var: &str, host: &str) -> Option<String> {
    let start = line.find(&format!("{var}="))? + var.len() + 1;
    let body_end = line.trim_end_matches(['\n', '\r']).len();
    let colon = line[start..body_end].rfind(':')? + start;
    if &line[start..colon] == host {
        return None;
    }
    Some(format!("{}{host}{}", &line[..start], &line[colon..]))
}

fn add_nim_host(line: &str, ip: &str, host: &str) -> Result<Option<String>, InfoError> {
    let open = line.find('"').ok_or(InfoError::BadHosts)?;
    let close = line
        .rfind('"')
        .filter(|&c| c > open)
        .ok_or(InfoError::BadHosts)?;
    let entry = format!("{ip}:{host}");
    if line[open + 1..close].split_whitespace().any(|e| e == entry) {
        return Ok(None);
    }
    let sep = if line[..close].ends_with([' ', '\t', '"']) {
        ""
    } else {
        " "
    };
    Ok(Some(format!(
        "{}{sep}{entry} {}",
        &line[..close],
        &line[close..]
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    const INFO: &str = "export NIM_NAME=cn001\nexport NIM_CONFIGURATION=diskless\n\
        export SPOT=sn1:/install/nim/spot/71Bcosi/usr\n\
        export ROOT=sn1:/install/nim/root/71Bcosi_root/cn001\n\
        export DUMP=sn1:/install/nim/dump/71Bcosi_dump/cn001\n\
        export NIM_HOSTS=\" 10.0.0.5:cn001 10.0.0.1:sn1 \"\n";

    #[test]
    fn matches_the_observed_xcat_rewrite() {
        let out = redirect(INFO, "nfs1", "10.0.0.9").unwrap().unwrap();
        assert_eq!(
            out,
            "export NIM_NAME=cn001\nexport NIM_CONFIGURATION=diskless\n\
             export SPOT=nfs1:/install/nim/spot/71Bcosi/usr\n\
             export ROOT=nfs1:/install/nim/root/71Bcosi_root/cn001\n\
             export DUMP=sn1:/install/nim/dump/71Bcosi_dump/cn001\n\
             export NIM_HOSTS=\" 10.0.0.5:cn001 10.0.0.1:sn1 10.0.0.9:nfs1 \"\n"
        );
        assert_eq!(redirect(&out, "nfs1", "10.0.0.9").unwrap(), None);
    }

    #[test]
    fn a_list_without_trailing_space_stays_separated() {
        let text = "export SPOT=a:/s\nexport ROOT=a:/r\nexport NIM_HOSTS=\"1.1.1.1:a\"\n";
        let out = redirect(text, "b", "2.2.2.2").unwrap().unwrap();
        assert!(
            out.ends_with("export NIM_HOSTS=\"1.1.1.1:a 2.2.2.2:b \"\n"),
            "{out}"
        );
    }

    #[test]
    fn missing_lines_are_errors() {
        assert_eq!(
            redirect("export ROOT=a:/r\n", "b", "1"),
            Err(InfoError::Missing("SPOT"))
        );
        assert_eq!(
            redirect(
                "export SPOT=a:/s\nexport ROOT=a:/r\nexport NIM_HOSTS=x\n",
                "b",
                "1"
            ),
            Err(InfoError::BadHosts)
        );
    }
}
