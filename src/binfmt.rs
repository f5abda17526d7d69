//! What system an executable is built for, from its first bytes (ELF machine and byte order, or
//! AIX XCOFF), and whether it can run on a node of a given `nodetype.os` and `nodetype.arch`.
//!
//! Only the magic numbers and the ELF machine field are read. A parsing crate (object, goblin)
//! would read far more than the twenty bytes this needs, and this module also builds on AIX
//! with std alone.

use std::fmt;
use std::io::Read;
use std::path::Path;

/// An executable's format, as far as deciding where it runs needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// ELF (Linux): `e_machine` and whether the file is little-endian.
    Elf { machine: u16, little_endian: bool },
    /// XCOFF (AIX); `bits64` for the 64-bit form.
    Xcoff { bits64: bool },
    /// Neither: a script, or a format this module does not know.
    Other,
}

const EM_386: u16 = 3;
const EM_PPC: u16 = 20;
const EM_PPC64: u16 = 21;
const EM_X86_64: u16 = 62;
const EM_AARCH64: u16 = 183;
const XCOFF32_MAGIC: u16 = 0x01DF;
const XCOFF64_MAGIC: u16 = 0x01F7;

impl Format {
    /// The format of a file that starts with `head` (at least its first 20 bytes for ELF).
    pub fn detect(head: &[u8]) -> Format {
        if head.len() >= 20 && head.starts_with(b"\x7fELF") {
            let little_endian = head[5] == 1;
            let field = [head[18], head[19]];
            let machine = if little_endian {
                u16::from_le_bytes(field)
            } else {
                u16::from_be_bytes(field)
            };
            return Format::Elf {
                machine,
                little_endian,
            };
        }
        // XCOFF headers are big-endian: f_magic is the first half-word.
        match head.get(..2).map(|m| u16::from_be_bytes([m[0], m[1]])) {
            Some(XCOFF32_MAGIC) => Format::Xcoff { bits64: false },
            Some(XCOFF64_MAGIC) => Format::Xcoff { bits64: true },
            _ => Format::Other,
        }
    }

    /// Reads the header of the file at `path`.
    pub fn of_file(path: &Path) -> std::io::Result<Format> {
        let mut head = Vec::with_capacity(20);
        std::fs::File::open(path)?.take(20).read_to_end(&mut head)?;
        Ok(Format::detect(&head))
    }

    /// The format of this running program, from the constants it was compiled with.
    pub fn of_this_build() -> Option<Format> {
        platform_format(std::env::consts::OS, std::env::consts::ARCH)
    }

    /// Whether a binary of this format runs on a node whose `nodetype.os` is `os` and
    /// `nodetype.arch` is `arch`. `None` when that cannot be told (no os, an unknown arch).
    pub fn runs_on(&self, os: Option<&str>, arch: Option<&str>) -> Option<bool> {
        let os = os.map(str::trim).filter(|o| !o.is_empty())?;
        let wanted_os = if is_aix(os) { "aix" } else { "linux" };
        let wanted = match arch.map(str::trim).filter(|a| !a.is_empty()) {
            Some(arch) => platform_format(wanted_os, arch),
            None => None,
        };
        match (self, wanted) {
            (Format::Other, _) => None,
            (_, Some(wanted)) => Some(self.compatible(&wanted)),
            // The arch is unknown: at least the system must be the right one.
            (Format::Xcoff { .. }, None) => Some(wanted_os == "aix"),
            (Format::Elf { .. }, None) => (wanted_os == "aix").then_some(false),
        }
    }

    fn compatible(&self, wanted: &Format) -> bool {
        match (self, wanted) {
            // A 64-bit AIX kernel runs 32-bit programs too.
            (Format::Xcoff { bits64 }, Format::Xcoff { bits64: want64 }) => *bits64 <= *want64,
            (a, b) => a == b,
        }
    }
}

/// True for xCAT's names of AIX in `nodetype.os` (`AIX`, `aix`, `AIX7.2`, ...).
pub fn is_aix(os: &str) -> bool {
    os.trim().to_ascii_lowercase().starts_with("aix")
}

/// The executable format of `os` (Rust's or xCAT's name) on `arch` (Rust's or xCAT's name).
fn platform_format(os: &str, arch: &str) -> Option<Format> {
    let elf = |machine, little_endian| {
        Some(Format::Elf {
            machine,
            little_endian,
        })
    };
    if is_aix(os) {
        // xCAT records AIX nodes as ppc64 (sometimes ppc); Rust's target is powerpc64.
        return match arch {
            "ppc64" | "powerpc64" | "ppc" => Some(Format::Xcoff { bits64: true }),
            _ => None,
        };
    }
    match arch {
        "x86_64" | "x86-64" | "amd64" => elf(EM_X86_64, true),
        "x86" | "i386" | "i686" => elf(EM_386, true),
        "ppc64le" | "ppc64el" | "powerpc64le" => elf(EM_PPC64, true),
        "ppc64" | "powerpc64" => elf(EM_PPC64, false),
        "ppc" | "powerpc" => elf(EM_PPC, false),
        "aarch64" | "arm64" => elf(EM_AARCH64, true),
        _ => None,
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Format::Elf {
                machine,
                little_endian,
            } => match (*machine, *little_endian) {
                (EM_X86_64, _) => f.write_str("a Linux x86_64 (ELF) binary"),
                (EM_386, _) => f.write_str("a Linux x86 (ELF) binary"),
                (EM_PPC64, true) => f.write_str("a Linux ppc64le (ELF) binary"),
                (EM_PPC64, false) => f.write_str("a Linux ppc64 big-endian (ELF) binary"),
                (EM_PPC, _) => f.write_str("a Linux ppc (ELF) binary"),
                (EM_AARCH64, _) => f.write_str("a Linux aarch64 (ELF) binary"),
                (m, _) => write!(f, "an ELF binary for machine {m}"),
            },
            Format::Xcoff { bits64: true } => f.write_str("an AIX 64-bit (XCOFF) binary"),
            Format::Xcoff { bits64: false } => f.write_str("an AIX 32-bit (XCOFF) binary"),
            Format::Other => f.write_str("not a binary this tool recognises"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn elf(machine: u16, little_endian: bool) -> Vec<u8> {
        let mut head = b"\x7fELF".to_vec();
        head.extend([2, if little_endian { 1 } else { 2 }, 1]);
        head.resize(18, 0);
        if little_endian {
            head.extend(machine.to_le_bytes());
        } else {
            head.extend(machine.to_be_bytes());
        }
        head.extend([1, 0, 0, 0]);
        head
    }

    #[test]
    fn detects_elf_machines_and_byte_order() {
        let x86 = Format::detect(&elf(EM_X86_64, true));
        assert_eq!(x86.to_string(), "a Linux x86_64 (ELF) binary");
        let le = Format::detect(&elf(EM_PPC64, true));
        let be = Format::detect(&elf(EM_PPC64, false));
        assert_ne!(le, be);
        assert_eq!(le.runs_on(Some("rhels8.6"), Some("ppc64le")), Some(true));
        assert_eq!(be.runs_on(Some("rhels7.9"), Some("ppc64le")), Some(false));
        assert_eq!(x86.runs_on(Some("sles15.4"), Some("ppc64le")), Some(false));
    }

    #[test]
    fn detects_xcoff_and_aix_nodes_need_it() {
        let aix64 = Format::detect(&[0x01, 0xF7, 0, 3]);
        let aix32 = Format::detect(&[0x01, 0xDF, 0, 3]);
        assert_eq!(aix64, Format::Xcoff { bits64: true });
        assert_eq!(aix64.runs_on(Some("AIX"), Some("ppc64")), Some(true));
        assert_eq!(aix32.runs_on(Some("aix"), Some("ppc64")), Some(true));
        assert_eq!(aix64.runs_on(Some("AIX"), None), Some(true));
        assert_eq!(aix64.runs_on(Some("rhels8"), Some("ppc64le")), Some(false));
        let linux = Format::detect(&elf(EM_PPC64, false));
        assert_eq!(linux.runs_on(Some("AIX"), Some("ppc64")), Some(false));
        assert_eq!(linux.runs_on(Some("AIX"), None), Some(false));
    }

    #[test]
    fn unknown_facts_give_no_verdict() {
        let x86 = Format::detect(&elf(EM_X86_64, true));
        assert_eq!(x86.runs_on(None, Some("x86_64")), None);
        assert_eq!(x86.runs_on(Some(" "), Some("x86_64")), None);
        assert_eq!(x86.runs_on(Some("rhels9"), None), None);
        assert_eq!(x86.runs_on(Some("rhels9"), Some("s390x")), None);
        let script = Format::detect(b"#!/bin/sh\n");
        assert_eq!(script, Format::Other);
        assert_eq!(script.runs_on(Some("AIX"), Some("ppc64")), None);
        assert_eq!(Format::detect(b""), Format::Other);
        assert_eq!(Format::detect(b"\x7fELF"), Format::Other);
    }

    #[test]
    fn this_test_binary_is_what_it_was_built_for() {
        let exe = std::env::current_exe().unwrap();
        let format = Format::of_file(&exe).unwrap();
        assert_eq!(Some(format), Format::of_this_build());
    }
}
