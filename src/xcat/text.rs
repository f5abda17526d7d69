//! Text helpers shared by the parsers of xCAT values: noderanges and regular-expression
//! attributes both need the balanced `(` and a short regex error message.

/// The last line of a regex compile error: the part that says what is wrong.
pub(super) fn regex_message(e: &regex::Error) -> String {
    e.to_string()
        .lines()
        .last()
        .unwrap_or("")
        .trim()
        .to_string()
}

/// The index of the `)` that closes the `(` at index 0 of `text`; `None` when unbalanced.
pub(super) fn matching_paren(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (i, b) in text.bytes().enumerate() {
        match b {
            b'(' => depth += 1,
            b')' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}
