//! The arithmetic xCAT evaluates inside `( )` of a `|pattern|replacement|` table value: Perl
//! integer expressions over `$1`.. with `+ - * / %`, parentheses and `sprintf`, nothing more.

use std::fmt;

/// An expression this evaluator does not accept, or one that cannot be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} in `{expr}`")]
pub struct ArithError {
    pub expr: String,
    pub message: String,
}

/// A parsed expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expr {
    Int(i64),
    Str(String),
    Capture(usize),
    Neg(Box<Expr>),
    Binary(Box<Expr>, Op, Box<Expr>),
    Sprintf(String, Vec<Expr>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
}

/// A value as Perl holds it: a number, or a string that becomes a number when used as one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    Int(i64),
    Str(String),
}

impl Value {
    /// Perl's numeric reading of a string: leading blanks, a sign, digits; the rest ignored.
    pub fn to_int(&self) -> i64 {
        match self {
            Value::Int(i) => *i,
            Value::Str(s) => {
                let t = s.trim_start();
                let (neg, digits) = match t.as_bytes().first() {
                    Some(b'-') => (true, &t[1..]),
                    Some(b'+') => (false, &t[1..]),
                    _ => (false, t),
                };
                let n = digits
                    .bytes()
                    .take_while(u8::is_ascii_digit)
                    .fold(0i64, |acc, d| {
                        acc.saturating_mul(10).saturating_add(i64::from(d - b'0'))
                    });
                if neg {
                    -n
                } else {
                    n
                }
            }
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Int(i) => write!(f, "{i}"),
            Value::Str(s) => f.write_str(s),
        }
    }
}

/// Parses one expression (the text of a bracketed group, parentheses included).
pub fn parse(text: &str) -> Result<Expr, ArithError> {
    let mut p = Parser {
        text,
        bytes: text.as_bytes(),
        pos: 0,
        steps: 0,
    };
    let e = p.expr()?;
    p.skip_ws();
    if p.pos != p.bytes.len() {
        return Err(p.error(format!("unexpected `{}`", &text[p.pos..])));
    }
    Ok(e)
}

/// Evaluates with `captures[i]` as `$i` (`captures[0]` is the whole match); a capture that
/// did not take part is undefined, i.e. empty.
pub fn eval(expr: &Expr, captures: &[Option<&str>], source: &str) -> Result<Value, ArithError> {
    let err = |message: String| ArithError {
        expr: source.to_string(),
        message,
    };
    Ok(match expr {
        Expr::Int(i) => Value::Int(*i),
        Expr::Str(s) => Value::Str(s.clone()),
        Expr::Capture(i) => Value::Str(
            captures
                .get(*i)
                .copied()
                .flatten()
                .unwrap_or("")
                .to_string(),
        ),
        Expr::Neg(e) => Value::Int(eval(e, captures, source)?.to_int().wrapping_neg()),
        Expr::Binary(a, op, b) => {
            let x = eval(a, captures, source)?.to_int();
            let y = eval(b, captures, source)?.to_int();
            // `use integer`: C semantics, truncation toward zero.
            Value::Int(match op {
                Op::Add => x.wrapping_add(y),
                Op::Sub => x.wrapping_sub(y),
                Op::Mul => x.wrapping_mul(y),
                Op::Div | Op::Rem if y == 0 => return Err(err("division by zero".into())),
                Op::Div => x.wrapping_div(y),
                Op::Rem => x.wrapping_rem(y),
            })
        }
        Expr::Sprintf(format, args) => {
            let values = args
                .iter()
                .map(|a| eval(a, captures, source))
                .collect::<Result<Vec<_>, _>>()?;
            Value::Str(sprintf(format, &values).map_err(err)?)
        }
    })
}

/// The widest field `sprintf` pads to.
const MAX_WIDTH: usize = 4096;

/// Perl's `sprintf` for the conversions xCAT tables use: `%d %i %u %s %x %X %o %%` with
/// flags `-+ 0` and a width.
pub fn sprintf(format: &str, args: &[Value]) -> Result<String, String> {
    let mut out = String::new();
    let mut args = args.iter();
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        if chars.peek() == Some(&'%') {
            chars.next();
            out.push('%');
            continue;
        }
        let mut flags = String::new();
        while let Some(&f) = chars.peek().filter(|f| "-+ 0".contains(**f)) {
            flags.push(f);
            chars.next();
        }
        let mut width = 0usize;
        while let Some(d) = chars.peek().and_then(|d| d.to_digit(10)) {
            width = width.saturating_mul(10).saturating_add(d as usize);
            chars.next();
        }
        // A table value must not make us allocate at will: no name or path needs more.
        if width > MAX_WIDTH {
            return Err(format!(
                "sprintf format `{format}`: width {width} is larger than {MAX_WIDTH}"
            ));
        }
        let conv = chars
            .next()
            .ok_or_else(|| format!("sprintf format `{format}` ends inside a conversion"))?;
        let arg = args.next().cloned().unwrap_or(Value::Str(String::new()));
        let body = match conv {
            'd' | 'i' | 'u' => {
                let n = arg.to_int();
                let sign = if n < 0 {
                    "-"
                } else if flags.contains('+') {
                    "+"
                } else if flags.contains(' ') {
                    " "
                } else {
                    ""
                };
                (sign.to_string(), n.unsigned_abs().to_string())
            }
            'x' => (String::new(), format!("{:x}", arg.to_int())),
            'X' => (String::new(), format!("{:X}", arg.to_int())),
            'o' => (String::new(), format!("{:o}", arg.to_int())),
            's' => (String::new(), arg.to_string()),
            other => return Err(format!("sprintf conversion `%{other}` is not supported")),
        };
        out.push_str(&pad(body, width, &flags, conv != 's'));
    }
    Ok(out)
}

fn pad((sign, digits): (String, String), width: usize, flags: &str, numeric: bool) -> String {
    let len = sign.len() + digits.len();
    if len >= width {
        return sign + &digits;
    }
    let fill = width - len;
    if flags.contains('-') {
        format!("{sign}{digits}{}", " ".repeat(fill))
    } else if flags.contains('0') && numeric {
        format!("{sign}{}{digits}", "0".repeat(fill))
    } else {
        format!("{}{sign}{digits}", " ".repeat(fill))
    }
}

/// The most operators, parentheses and calls one expression may have. xCAT's expressions
/// are a handful of terms; the bound keeps parsing, evaluation and dropping of the tree (all
/// recursive) within any thread's stack whatever a table holds.
const MAX_STEPS: usize = 256;

struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    /// Operators, parentheses and calls so far (see [`MAX_STEPS`]).
    steps: usize,
}

impl Parser<'_> {
    fn error(&self, message: String) -> ArithError {
        ArithError {
            expr: self.text.to_string(),
            message,
        }
    }

    /// Counts one operator, parenthesis or call; refuses an expression with too many.
    fn step(&mut self) -> Result<(), ArithError> {
        self.steps += 1;
        if self.steps > MAX_STEPS {
            return Err(self.error(format!(
                "more than {MAX_STEPS} operators, parentheses and calls"
            )));
        }
        Ok(())
    }

    fn skip_ws(&mut self) {
        while self
            .bytes
            .get(self.pos)
            .is_some_and(u8::is_ascii_whitespace)
        {
            self.pos += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_ws();
        self.bytes.get(self.pos).copied()
    }

    fn expect(&mut self, b: u8) -> Result<(), ArithError> {
        if self.peek() == Some(b) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.error(format!("expected `{}`", b as char)))
        }
    }

    fn expr(&mut self) -> Result<Expr, ArithError> {
        let mut left = self.term()?;
        while let Some(op) = match self.peek() {
            Some(b'+') => Some(Op::Add),
            Some(b'-') => Some(Op::Sub),
            _ => None,
        } {
            self.pos += 1;
            self.step()?;
            left = Expr::Binary(Box::new(left), op, Box::new(self.term()?));
        }
        Ok(left)
    }

    fn term(&mut self) -> Result<Expr, ArithError> {
        let mut left = self.unary()?;
        while let Some(op) = match self.peek() {
            Some(b'*') if self.bytes.get(self.pos + 1) != Some(&b'*') => Some(Op::Mul),
            Some(b'/') => Some(Op::Div),
            Some(b'%') => Some(Op::Rem),
            _ => None,
        } {
            self.pos += 1;
            self.step()?;
            left = Expr::Binary(Box::new(left), op, Box::new(self.unary()?));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, ArithError> {
        match self.peek() {
            Some(b'-') => {
                self.pos += 1;
                self.step()?;
                Ok(Expr::Neg(Box::new(self.unary()?)))
            }
            Some(b'+') => {
                self.pos += 1;
                self.step()?;
                self.unary()
            }
            _ => self.primary(),
        }
    }

    fn primary(&mut self) -> Result<Expr, ArithError> {
        match self.peek() {
            Some(b'(') => {
                self.pos += 1;
                self.step()?;
                let e = self.expr()?;
                self.expect(b')')?;
                Ok(e)
            }
            Some(b'$') => {
                self.pos += 1;
                let digits = self.take_while(|b| b.is_ascii_digit());
                match digits.parse::<usize>() {
                    Ok(n) if n > 0 => Ok(Expr::Capture(n)),
                    _ => Err(self.error("only `$1`, `$2`... may be used as variables".into())),
                }
            }
            Some(b) if b.is_ascii_digit() => {
                let digits = self.take_while(|b| b.is_ascii_digit());
                digits
                    .parse()
                    .map(Expr::Int)
                    .map_err(|_| self.error(format!("number {digits} is too large")))
            }
            Some(b'\'' | b'"') => self.string().map(Expr::Str),
            Some(b) if b.is_ascii_alphabetic() || b == b'_' => {
                let name = self.take_while(|b| b.is_ascii_alphanumeric() || b == b'_');
                if name != "sprintf" {
                    return Err(self.error(format!(
                        "function `{name}` is not supported (only sprintf and integer arithmetic)"
                    )));
                }
                self.sprintf_call()
            }
            Some(b) => Err(self.error(format!("unexpected `{}`", b as char))),
            None => Err(self.error("expression ends too early".into())),
        }
    }

    fn sprintf_call(&mut self) -> Result<Expr, ArithError> {
        self.step()?;
        self.expect(b'(')?;
        let format = match self.primary()? {
            Expr::Str(s) => s,
            _ => return Err(self.error("sprintf needs a quoted format first".into())),
        };
        let mut args = Vec::new();
        while self.peek() == Some(b',') {
            self.pos += 1;
            args.push(self.expr()?);
        }
        self.expect(b')')?;
        Ok(Expr::Sprintf(format, args))
    }

    fn string(&mut self) -> Result<String, ArithError> {
        let quote = self.bytes[self.pos];
        self.pos += 1;
        let mut out = String::new();
        loop {
            let Some(&b) = self.bytes.get(self.pos) else {
                return Err(self.error("unterminated string".into()));
            };
            self.pos += 1;
            match b {
                _ if b == quote => return Ok(out),
                b'\\' if quote == b'\'' => match self.bytes.get(self.pos) {
                    Some(&n @ (b'\\' | b'\'')) => {
                        out.push(n as char);
                        self.pos += 1;
                    }
                    _ => out.push('\\'),
                },
                b'$' | b'@' | b'\\' if quote == b'"' => {
                    return Err(self.error(
                        "double-quoted strings with `$`, `@` or `\\` are not supported".into(),
                    ))
                }
                _ => {
                    // Copy the whole UTF-8 character.
                    let start = self.pos - 1;
                    let len = self.text[start..].chars().next().map_or(1, char::len_utf8);
                    out.push_str(&self.text[start..start + len]);
                    self.pos = start + len;
                }
            }
        }
    }

    fn take_while(&mut self, f: impl Fn(u8) -> bool) -> String {
        let start = self.pos;
        while self.bytes.get(self.pos).is_some_and(|&b| f(b)) {
            self.pos += 1;
        }
        self.text[start..self.pos].to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(expr: &str, caps: &[&str]) -> Result<String, ArithError> {
        let caps: Vec<Option<&str>> = std::iter::once(None)
            .chain(caps.iter().map(|c| Some(*c)))
            .collect();
        eval(&parse(expr)?, &caps, expr).map(|v| v.to_string())
    }

    #[test]
    fn deep_or_long_expressions_are_refused_not_a_stack_overflow() {
        for text in [
            "(".repeat(100_000) + "1" + &")".repeat(100_000),
            "-".repeat(100_000) + "1",
            "1".to_string() + &"+1".repeat(100_000),
        ] {
            let e = parse(&text).unwrap_err();
            assert!(e.message.contains("more than 256"), "{}", e.message);
        }
        assert!(parse(&("1".to_string() + &"+1".repeat(200))).is_ok());
    }

    #[test]
    fn sprintf_widths_are_bounded() {
        let e = sprintf("%099999999999999999999999d", &[Value::Int(1)]).unwrap_err();
        assert!(e.contains("larger than 4096"), "{e}");
        assert_eq!(sprintf("%05d", &[Value::Int(42)]).unwrap(), "00042");
    }

    #[test]
    fn integer_arithmetic_like_perl_use_integer() {
        assert_eq!(run("($1+0)", &["020"]).unwrap(), "20");
        assert_eq!(run("($1%2+1)", &["3"]).unwrap(), "2");
        assert_eq!(run("(($1-1)/14+1)", &["20"]).unwrap(), "2");
        assert_eq!(run("(-7/2)", &[]).unwrap(), "-3");
        assert_eq!(run("(-7%3)", &[]).unwrap(), "-1");
        assert_eq!(run("(2*(3+4))", &[]).unwrap(), "14");
        assert_eq!(run("($1)", &["007"]).unwrap(), "007");
    }

    #[test]
    fn sprintf_pads() {
        assert_eq!(run("(sprintf('%02d',($1-1)/14+1))", &["20"]).unwrap(), "02");
        assert_eq!(run("(sprintf('%03d', $1))", &["7"]).unwrap(), "007");
        assert_eq!(
            run("(sprintf(\"r%dn%02d\", $1, $2))", &["1", "7"]).unwrap(),
            "r1n07"
        );
        assert_eq!(run("(sprintf('%-3d|', 5))", &[]).unwrap(), "5  |");
        assert_eq!(run("(sprintf('%x', 255))", &[]).unwrap(), "ff");
    }

    #[test]
    fn unsupported_expressions_are_errors() {
        assert!(run("(a2idx($1))", &["1"])
            .unwrap_err()
            .message
            .contains("a2idx"));
        assert!(run("(system('x'))", &[]).is_err());
        assert!(run("($1+)", &["1"]).is_err());
        assert!(run("(1/0)", &[])
            .unwrap_err()
            .message
            .contains("division by zero"));
        assert!(run("(2**3)", &[]).is_err());
        assert!(run("(sprintf('%f', 1))", &[]).is_err());
    }
}
