//! What `pypictl creds` prints: the service's credentials and ready-to-paste
//! client configuration for pip, twine, uv and Poetry.
//!
//! Pure formatting, no I/O. Every value is written in the syntax of the file
//! it goes in, so that the tool reading it gets back exactly the bytes of the
//! username and password (tests/creds_format.rs checks each format with the
//! real parsers: pip's, twine's, `tomllib`, `sh`):
//!
//! - URLs carry the credentials percent-encoded (RFC 3986 userinfo: every byte
//!   but the unreserved characters is encoded);
//! - shell values are single-quoted (a `'` becomes `'\''`);
//! - `.pypirc` values are written raw: twine reads the file with
//!   `configparser.RawConfigParser` (no `%` interpolation, no inline comments),
//!   so no escaping exists or is needed. A value it cannot hold (a line break,
//!   or leading or trailing whitespace, which configparser strips) is left out,
//!   with a comment pointing to the environment variables instead;
//! - TOML strings are basic strings with `\\`, `\"` and control characters
//!   (`\uXXXX`) escaped.
//!
//! A format holding several snippets (`pip`, `uv`) starts each with a comment
//! line `# --- <what goes where> ---`; the others are one snippet, a whole
//! file or a shell script, introduced by a comment.
//!
//! Tools that name indexes (twine, uv, Poetry) get [`index_name`]: the given
//! name, made safe for all three, and never `pypi` or `testpypi`, which twine
//! and Poetry reserve for the public indexes.

use std::borrow::Cow;
use std::fmt::Write as _;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// What `pypictl creds` prints (`--format`).
#[derive(Copy, Clone, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// The username, password and URLs, for people
    Text,
    /// pip.conf / pip.ini and PIP_INDEX_URL
    Pip,
    /// ~/.pypirc for twine
    Pypirc,
    /// Shell exports for pip, twine, uv and Poetry
    Env,
    /// A [[tool.uv.index]] entry and uv's credential variables
    Uv,
    /// Poetry commands: the source, its credentials, publishing
    Poetry,
    /// All of it as JSON
    Json,
}

/// The service's credentials and where it is. Its `Debug` leaves the
/// password out.
#[derive(Copy, Clone)]
pub struct Credentials<'a> {
    pub username: &'a str,
    pub password: &'a str,
    /// The service's base URL, e.g. "https://pypi.example.com/" (always ends with '/').
    pub url: &'a str,
    /// A short index name for tools that name indexes, e.g. the service name "pypi".
    pub name: &'a str,
}

impl std::fmt::Debug for Credentials<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("url", &self.url)
            .field("name", &self.name)
            .finish()
    }
}

/// RFC 3986 `unreserved`: ALPHA / DIGIT / "-" / "." / "_" / "~". Everything
/// else is percent-encoded in the userinfo.
const USERINFO: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// The base URL, with the trailing '/' it should have.
fn base_url<'a>(c: &Credentials<'a>) -> Cow<'a, str> {
    if c.url.ends_with('/') {
        Cow::Borrowed(c.url)
    } else {
        Cow::Owned(format!("{}/", c.url))
    }
}

/// The simple index (PEP 503) URL, without credentials: `<url>simple/`.
pub fn index_url(c: &Credentials) -> String {
    format!("{}simple/", base_url(c))
}

/// Where uploads go (twine, `uv publish`, `poetry publish`): pypiserver takes
/// them at its root.
pub fn upload_url(c: &Credentials) -> String {
    base_url(c).into_owned()
}

/// The index URL (`<url>simple/`) with the credentials in it, percent-encoded
/// (RFC 3986 userinfo: every byte but unreserved characters is encoded).
pub fn index_url_with_credentials(c: &Credentials) -> String {
    let userinfo = format!("{}:{}", utf8_percent_encode(c.username, USERINFO), utf8_percent_encode(c.password, USERINFO));
    let url = index_url(c);
    match url.split_once("://") {
        Some((scheme, rest)) => format!("{scheme}://{userinfo}@{rest}"),
        None => format!("{userinfo}@{url}"),
    }
}

/// The index's name for twine, uv and Poetry: `c.name` with every character
/// but ASCII letters, digits, `-` and `_` replaced by `-` (uv allows no other;
/// a `.` would split Poetry's `http-basic.<name>` key), and `-private`
/// appended to `pypi` and `testpypi` (any case): Poetry refuses a URL for a
/// source named `pypi`, and twine's `pypi`/`testpypi` are the public indexes.
pub fn index_name(c: &Credentials) -> String {
    let mut name: String = c.name.chars().map(|ch| if ch.is_ascii_alphanumeric() || ch == '-' || ch == '_' { ch } else { '-' }).collect();
    if name.is_empty() {
        name.push_str("private");
    } else if name.eq_ignore_ascii_case("pypi") || name.eq_ignore_ascii_case("testpypi") {
        name.push_str("-private");
    }
    name
}

/// The name as uv and Poetry put it in environment variable names: upper case,
/// every non-alphanumeric character as `_` (uv's `IndexName::to_env_var`;
/// Poetry upper-cases and maps `-` to `_`, the same on [`index_name`]'s
/// alphabet).
fn env_name(index_name: &str) -> String {
    index_name.chars().map(|ch| if ch.is_ascii_alphanumeric() { ch.to_ascii_uppercase() } else { '_' }).collect()
}

/// A POSIX shell word: always single-quoted, a `'` inside as `'\''`.
fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// A POSIX shell word, quoted only when it has to be (for readable commands).
fn sh_word(s: &str) -> Cow<'_, str> {
    let plain = !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_./:@%+,=".contains(&b));
    if plain {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(sh_quote(s))
    }
}

/// A TOML basic string.
fn toml_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            ch if ch <= '\u{1f}' || ch == '\u{7f}' => {
                let _ = write!(out, "\\u{:04X}", ch as u32);
            }
            ch => out.push(ch),
        }
    }
    out.push('"');
    out
}

/// Python's `str.isspace`, which configparser's `strip()` uses: Unicode
/// White_Space plus the separators U+001C..U+001F.
fn py_isspace(ch: char) -> bool {
    ch.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&ch)
}

/// Whether configparser gives back `value` exactly from `key = value`.
fn ini_value_ok(value: &str) -> bool {
    !value.contains(['\n', '\r']) && !value.starts_with(py_isspace) && !value.ends_with(py_isspace)
}

/// The credentials and client configuration in `format`: a complete text
/// ending in a newline.
pub fn render(c: &Credentials, format: Format) -> String {
    match format {
        Format::Text => text(c),
        Format::Pip => pip(c),
        Format::Pypirc => pypirc(c),
        Format::Env => env(c),
        Format::Uv => uv(c),
        Format::Poetry => poetry(c),
        Format::Json => json(c),
    }
}

fn text(c: &Credentials) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Username:    {}", c.username);
    let _ = writeln!(out, "Password:    {}", c.password);
    let _ = writeln!(out, "Index URL:   {}", index_url(c));
    let _ = writeln!(out, "Upload URL:  {}", upload_url(c));
    out.push_str("\nReady-to-paste client configuration:\n");
    for (format, what) in [
        ("pip", "pip.conf / pip.ini, PIP_INDEX_URL"),
        ("pypirc", "~/.pypirc for twine upload"),
        ("env", "shell exports for pip, twine, uv and Poetry"),
        ("uv", "[[tool.uv.index]] for uv, its credential variables"),
        ("poetry", "poetry source and credentials, publishing"),
        ("json", "all of the above as JSON"),
    ] {
        let _ = writeln!(out, "  pypictl creds --format {format:<7} {what}");
    }
    out
}

fn pip(c: &Credentials) -> String {
    let url = index_url_with_credentials(c);
    let mut out = String::new();
    out.push_str("# --- pip.conf (Linux, macOS: ~/.config/pip/pip.conf; Windows: %APPDATA%\\pip\\pip.ini; `pip config debug` lists them) ---\n");
    out.push_str("[global]\n");
    out.push_str("# Only the private index: pip never asks the public PyPI, so no public package can\n");
    out.push_str("# stand in for a private one (dependency confusion); every dependency must be on it.\n");
    let _ = writeln!(out, "index-url = {url}");
    out.push_str("# Alternative: the public PyPI plus the private index (replace the index-url line).\n");
    out.push_str("# WARNING: with extra-index-url pip takes the highest version from either index, so\n");
    out.push_str("# anyone can publish a same-named package on PyPI and pip will install it instead.\n");
    let _ = writeln!(out, "# extra-index-url = {url}");
    out.push('\n');
    out.push_str("# --- or instead, in a POSIX shell (overrides pip.conf) ---\n");
    let _ = writeln!(out, "export PIP_INDEX_URL={}", sh_quote(&url));
    out
}

fn pypirc(c: &Credentials) -> String {
    let name = index_name(c);
    let mut out = String::new();
    let _ = writeln!(out, "# ~/.pypirc for twine: twine upload -r {name} dist/*");
    out.push_str("# (keep it private: chmod 600 ~/.pypirc; to merge into an existing one, add the\n");
    let _ = writeln!(out, "# name to its index-servers and append the [{name}] section)");
    out.push_str("[distutils]\n");
    let _ = writeln!(out, "index-servers = {name}");
    out.push('\n');
    let _ = writeln!(out, "[{name}]");
    let _ = writeln!(out, "repository = {}", upload_url(c));
    for (key, value, var) in [("username", c.username, "TWINE_USERNAME"), ("password", c.password, "TWINE_PASSWORD")] {
        if ini_value_ok(value) {
            let _ = writeln!(out, "{key} = {value}");
        } else {
            let _ = writeln!(out, "# The {key} cannot be written in .pypirc (a line break, or whitespace at an end):");
            let _ = writeln!(out, "# set {var} instead (pypictl creds --format env).");
        }
    }
    out
}

fn env(c: &Credentials) -> String {
    let name = index_name(c);
    let var = env_name(&name);
    let mut out = String::new();
    out.push_str("# POSIX shell (sh, bash, zsh): paste into a shell, or save to a file only you can\n");
    out.push_str("# read and load it with `. ./file`.\n");
    out.push_str("# pip: only the private index (no dependency confusion)\n");
    let _ = writeln!(out, "export PIP_INDEX_URL={}", sh_quote(&index_url_with_credentials(c)));
    out.push_str("# twine upload dist/* (uploads go to the private index)\n");
    let _ = writeln!(out, "export TWINE_REPOSITORY_URL={}", sh_quote(&upload_url(c)));
    let _ = writeln!(out, "export TWINE_USERNAME={}", sh_quote(c.username));
    let _ = writeln!(out, "export TWINE_PASSWORD={}", sh_quote(c.password));
    let _ = writeln!(out, "# uv: the credentials of the index named \"{name}\" (pypictl creds --format uv)");
    let _ = writeln!(out, "export UV_INDEX_{var}_USERNAME={}", sh_quote(c.username));
    let _ = writeln!(out, "export UV_INDEX_{var}_PASSWORD={}", sh_quote(c.password));
    let _ = writeln!(out, "# Poetry: the credentials of the source named \"{name}\" (pypictl creds --format poetry)");
    let _ = writeln!(out, "export POETRY_HTTP_BASIC_{var}_USERNAME={}", sh_quote(c.username));
    let _ = writeln!(out, "export POETRY_HTTP_BASIC_{var}_PASSWORD={}", sh_quote(c.password));
    out
}

fn uv(c: &Credentials) -> String {
    let name = index_name(c);
    let var = env_name(&name);
    let mut out = String::new();
    out.push_str("# --- pyproject.toml (in uv.toml, write [[index]] instead of [[tool.uv.index]]) ---\n");
    out.push_str("[[tool.uv.index]]\n");
    let _ = writeln!(out, "name = {}", toml_string(&name));
    let _ = writeln!(out, "url = {}", toml_string(&index_url(c)));
    let _ = writeln!(out, "publish-url = {}", toml_string(&upload_url(c)));
    out.push_str("# The default index replaces PyPI: uv resolves every package from the private index\n");
    out.push_str("# only (no dependency confusion). Without this line uv also asks PyPI, but only for\n");
    out.push_str("# packages the private index does not have (uv's first-index strategy).\n");
    out.push_str("default = true\n");
    out.push('\n');
    out.push_str("# --- the credentials, in a POSIX shell (keep them out of pyproject.toml) ---\n");
    let _ = writeln!(out, "export UV_INDEX_{var}_USERNAME={}", sh_quote(c.username));
    let _ = writeln!(out, "export UV_INDEX_{var}_PASSWORD={}", sh_quote(c.password));
    out.push_str("# To publish (uv publish does not read the UV_INDEX_ credentials):\n");
    let _ = writeln!(
        out,
        "#   UV_PUBLISH_USERNAME=\"$UV_INDEX_{var}_USERNAME\" UV_PUBLISH_PASSWORD=\"$UV_INDEX_{var}_PASSWORD\" uv publish --index {}",
        sh_word(&name)
    );
    out
}

fn poetry(c: &Credentials) -> String {
    let name = index_name(c);
    let name_word = sh_word(&name);
    let mut out = String::new();
    out.push_str("# Poetry, in the project's directory. A primary source replaces PyPI: Poetry resolves\n");
    out.push_str("# every package from the private index only (no dependency confusion).\n");
    let _ = writeln!(out, "poetry source add --priority=primary {name_word} {}", sh_word(&index_url(c)));
    out.push_str("# The credentials (Poetry keeps the password in the system keyring, or in its\n");
    out.push_str("# auth.toml without one). `--` keeps a password starting with '-' from being read as\n");
    out.push_str("# an option; a leading space keeps the line out of most shells' history.\n");
    let _ = writeln!(out, " poetry config -- {} {} {}", sh_word(&format!("http-basic.{name}")), sh_word(c.username), sh_quote(c.password));
    out.push_str("# To publish (the same credentials are used):\n");
    let _ = writeln!(out, "#   poetry config {} {}", sh_word(&format!("repositories.{name}")), sh_word(&upload_url(c)));
    let _ = writeln!(out, "#   poetry publish --build -r {name_word}");
    out
}

fn json(c: &Credentials) -> String {
    let value = serde_json::json!({
        "username": c.username,
        "password": c.password,
        "url": upload_url(c),
        "index_url": index_url(c),
        "index_url_with_credentials": index_url_with_credentials(c),
        "upload_url": upload_url(c),
    });
    let mut out = serde_json::to_string_pretty(&value).expect("a JSON object of strings serializes");
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds<'a>(password: &'a str, name: &'a str) -> Credentials<'a> {
        Credentials { username: "pypi-1a2b3c4d", password, url: "https://pypi.example.com/", name }
    }

    #[test]
    fn userinfo_encodes_all_but_unreserved() {
        let c = creds("p@ss:w/rd%41 #?+~-._", "pypi");
        assert_eq!(index_url_with_credentials(&c), "https://pypi-1a2b3c4d:p%40ss%3Aw%2Frd%2541%20%23%3F%2B~-._@pypi.example.com/simple/");
        let c = creds("pässwörd", "pypi");
        assert_eq!(index_url_with_credentials(&c), "https://pypi-1a2b3c4d:p%C3%A4ssw%C3%B6rd@pypi.example.com/simple/");
    }

    #[test]
    fn url_without_trailing_slash_gets_one() {
        let c = Credentials { url: "https://pypi.example.com", ..creds("x", "pypi") };
        assert_eq!(index_url(&c), "https://pypi.example.com/simple/");
        assert_eq!(upload_url(&c), "https://pypi.example.com/");
    }

    #[test]
    fn index_names_avoid_reserved_and_unsafe_names() {
        assert_eq!(index_name(&creds("x", "pypi")), "pypi-private");
        assert_eq!(index_name(&creds("x", "PyPI")), "PyPI-private");
        assert_eq!(index_name(&creds("x", "testpypi")), "testpypi-private");
        assert_eq!(index_name(&creds("x", "pypiserver")), "pypiserver");
        assert_eq!(index_name(&creds("x", "my.index name")), "my-index-name");
        assert_eq!(index_name(&creds("x", "")), "private");
        assert_eq!(env_name("pypi-private"), "PYPI_PRIVATE");
    }

    #[test]
    fn quoting() {
        assert_eq!(sh_quote("it's"), r"'it'\''s'");
        assert_eq!(sh_word("https://x/simple/"), "https://x/simple/");
        assert_eq!(sh_word("a b"), "'a b'");
        assert_eq!(sh_word(""), "''");
        assert_eq!(toml_string("a\"b\\c\u{1}\t\u{7f}é"), r#""a\"b\\c\u0001\u0009\u007Fé""#);
    }

    #[test]
    fn ini_values() {
        assert!(ini_value_ok("p@ss:w/rd%41 #?+ ;x = y"));
        assert!(!ini_value_ok(" leading"));
        assert!(!ini_value_ok("trailing\t"));
        assert!(!ini_value_ok("two\nlines"));
        assert!(!ini_value_ok("x\u{1f}"));
    }

    #[test]
    fn every_format_ends_with_a_newline() {
        let c = creds("p@ss:w/rd%41 #?+", "pypi");
        for format in [Format::Text, Format::Pip, Format::Pypirc, Format::Env, Format::Uv, Format::Poetry, Format::Json] {
            let out = render(&c, format);
            assert!(out.ends_with('\n') && !out.ends_with("\n\n"), "{format:?}: {out}");
        }
    }
}
