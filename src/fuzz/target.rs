//! What a fuzz target is: a parser with valid samples to mutate and a bound on its output;
//! its own file so that the targets and the harness both import it, neither the other.

/// One parser under test: valid samples to mutate, and a run that returns the size of what
/// the parser produced (its value or its error, as text).
pub(crate) struct Target {
    pub name: &'static str,
    pub samples: &'static [&'static str],
    pub run: fn(&str) -> usize,
    /// The most output an input of `n` bytes may produce.
    pub max_output: fn(usize) -> usize,
}

/// Output allowed for most parsers: proportional to the input (values and error messages
/// quote it, escaped; a one-byte line may get a message of its own), never more.
pub(crate) fn linear(n: usize) -> usize {
    256 * n + 64 * 1024
}
