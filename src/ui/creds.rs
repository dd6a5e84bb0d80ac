//! What `pypictl creds` prints: one credential and ready-to-paste
//! configuration for the clients of its role.
//!
//! The service has two credentials ([`Role`]), each its own secret:
//!
//! - read (`pypictl creds`): list and download, for installers: pip, uv and
//!   Poetry sources;
//! - publish (`pypictl creds --publish`): upload, and list and download too,
//!   for twine, `uv publish` and `poetry publish`.
//!
//! Every format prints only what the role's clients need:
//!
//! | format | read | publish |
//! |--------|------|---------|
//! | text | role, username, password, index URL, the read formats | role, username, password, upload and index URLs, the publish formats |
//! | pip | pip.conf, `PIP_INDEX_URL` | the same, noting that installers should use the read credential |
//! | pypirc | refused by [`check_format`] | `~/.pypirc` for twine |
//! | env | `PIP_INDEX_URL`, `UV_INDEX_<NAME>_*`, `POETRY_HTTP_BASIC_<NAME>_*` | `TWINE_*`, `UV_PUBLISH_*`, `POETRY_REPOSITORIES_<NAME>_URL`, `POETRY_HTTP_BASIC_<NAME>_*` |
//! | uv | `[[tool.uv.index]]` (the default index), `UV_INDEX_<NAME>_*` | the entry with `publish-url`, `UV_PUBLISH_*` and `UV_INDEX_<NAME>_*`, `uv publish --index` |
//! | poetry | `poetry source add`, `http-basic` | `poetry config repositories.<name>`, `http-basic`, `poetry publish` |
//! | json | every field, and `"role"` | the same |
//!
//! Pure formatting, no I/O. Every value is written in the syntax of the file
//! it goes in, so that the tool reading it gets back exactly the bytes of the
//! username and password (tests/it/creds_format.rs checks each format of each
//! role with the real parsers: pip's, twine's, `tomllib`, `sh`):
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
//! file or a shell script, introduced by a comment. A command that uploads is
//! printed commented out (`#   uv publish ...`, `#   poetry publish ...`), so
//! that pasting a snippet sets things up and never publishes.
//!
//! Tools that name indexes (twine, uv, Poetry) get [`index_name`]: the given
//! name, made safe for all three, and never `pypi` or `testpypi`, which twine
//! and Poetry reserve for the public indexes. uv and Poetry find an index's
//! environment variables under the name upper-cased, every `-` (and `.`) as
//! `_` (see `env_name`).

use std::borrow::Cow;
use std::fmt::Write as _;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
pub use pypictl_stacks::components::credentials::Role;
use crate::engine::creds::creds_command;

/// What `pypictl creds` prints (`--format`): each for the clients of the
/// credential's role (see the module documentation).
#[derive(Copy, Clone, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// The role, username, password and URLs, for people
    Text,
    /// pip.conf / pip.ini and PIP_INDEX_URL
    Pip,
    /// ~/.pypirc for twine (publish credential only)
    Pypirc,
    /// Shell exports: pip, uv and Poetry (read); twine, uv publish and poetry publish (--publish)
    Env,
    /// A [[tool.uv.index]] entry and uv's credential variables (with --publish: publish-url, uv publish)
    Uv,
    /// Poetry commands: the source and its credentials (with --publish: the repository, poetry publish)
    Poetry,
    /// All of it as JSON
    Json,
}

/// One of the service's credentials and where the service is. Its `Debug`
/// leaves the password out.
#[derive(Copy, Clone)]
pub struct Credentials<'a> {
    pub username: &'a str,
    pub password: &'a str,
    /// The service's base URL, e.g. `https://pypi.example.com/` (always ends with `/`).
    pub url: &'a str,
    /// A short index name for tools that name indexes, e.g. the service name "pypi".
    pub name: &'a str,
    /// What the credential may do: it decides which clients' configuration is printed.
    pub role: Role,
}

impl std::fmt::Debug for Credentials<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("url", &self.url)
            .field("name", &self.name)
            .field("role", &self.role)
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

/// Whether `format` suits a credential of `role`; Err: why not, naming the flag.
pub fn check_format(role: Role, format: Format) -> Result<(), String> {
    match (role, format) {
        (Role::Read, Format::Pypirc) => Err("--format pypirc is twine's upload configuration, and the read credential cannot upload: use `pypictl creds --publish --format pypirc`".into()),
        _ => Ok(()),
    }
}

/// What a credential of `role` may do, as the text format says it.
pub fn role_does(role: Role) -> &'static str {
    match role {
        Role::Read => "list and download",
        Role::Publish => "upload, list and download",
    }
}

/// The text format's first line: the role and what it may do.
fn role_line(role: Role) -> String {
    format!("Role:        {} ({})", role.as_str(), role_does(role))
}

/// `format` as `--format` takes it.
fn format_name(format: Format) -> String {
    use clap::ValueEnum as _;
    format.to_possible_value().expect("no format is skipped").get_name().to_string()
}

/// What `format` holds for a credential of `role`, for the text format's list.
fn format_summary(role: Role, format: Format) -> &'static str {
    match (role, format) {
        (_, Format::Text) => "the role, username, password and URLs",
        (Role::Read, Format::Pip) => "pip.conf / pip.ini, PIP_INDEX_URL",
        (Role::Publish, Format::Pip) => "pip.conf / pip.ini (installers: use the read credential)",
        (_, Format::Pypirc) => "~/.pypirc for twine upload",
        (Role::Read, Format::Env) => "shell exports for pip, uv and Poetry",
        (Role::Publish, Format::Env) => "shell exports for twine, uv publish and poetry publish",
        (Role::Read, Format::Uv) => "[[tool.uv.index]] for uv, its credential variables",
        (Role::Publish, Format::Uv) => "[[tool.uv.index]] with publish-url, uv publish",
        (Role::Read, Format::Poetry) => "poetry source and its credentials",
        (Role::Publish, Format::Poetry) => "poetry repository and its credentials, poetry publish",
        (_, Format::Json) => "all of the above as JSON",
    }
}

/// The formats the text format lists for `role`, in the order it lists them.
fn listed_formats(role: Role) -> impl Iterator<Item = Format> {
    let order = match role {
        Role::Read => [Format::Pip, Format::Env, Format::Uv, Format::Poetry, Format::Pypirc, Format::Json],
        Role::Publish => [Format::Pypirc, Format::Env, Format::Uv, Format::Poetry, Format::Pip, Format::Json],
    };
    order.into_iter().filter(move |f| check_format(role, *f).is_ok())
}

/// The credentials and client configuration in `format`: a complete text
/// ending in a newline. A format that [`check_format`] refuses for the role
/// (the command never asks for one) is a comment saying why, never
/// configuration the credential cannot serve.
pub fn render(c: &Credentials, format: Format) -> String {
    if let Err(why) = check_format(c.role, format) {
        return format!("# {why}\n");
    }
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
    let _ = writeln!(out, "{}", role_line(c.role));
    let _ = writeln!(out, "Username:    {}", c.username);
    let _ = writeln!(out, "Password:    {}", c.password);
    if c.role == Role::Publish {
        let _ = writeln!(out, "Upload URL:  {}", upload_url(c));
    }
    let _ = writeln!(out, "Index URL:   {}", index_url(c));
    let _ = writeln!(
        out,
        "\nReady-to-paste client configuration ({}):",
        match c.role {
            Role::Read => "installing: pip, uv, Poetry",
            Role::Publish => "publishing: twine, uv publish, poetry publish",
        }
    );
    let command = creds_command(c.role);
    for format in listed_formats(c.role) {
        let _ = writeln!(out, "  {command} --format {:<7} {}", format_name(format), format_summary(c.role, format));
    }
    out.push_str(match c.role {
        Role::Read => "To publish, use the publish credential: pypictl creds --publish\n",
        Role::Publish => "Whatever only installs should use the read credential: pypictl creds\n",
    });
    out
}

/// For the publish credential's installer configuration: the read one suits
/// installers better (it cannot upload).
const INSTALLERS_USE_READ: &str = "# This is the publish credential, which can upload too: whatever only installs (people,\n# CI jobs, images) should use the read credential instead: `pypictl creds --format pip`.\n";

fn pip(c: &Credentials) -> String {
    let url = index_url_with_credentials(c);
    let mut out = String::new();
    out.push_str("# --- pip.conf (Linux, macOS: ~/.config/pip/pip.conf; Windows: %APPDATA%\\pip\\pip.ini; `pip config debug` lists them) ---\n");
    if c.role == Role::Publish {
        out.push_str(INSTALLERS_USE_READ);
    }
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
    if c.role == Role::Publish {
        out.push_str(INSTALLERS_USE_READ);
    }
    let _ = writeln!(out, "export PIP_INDEX_URL={}", sh_quote(&url));
    out
}

/// Publish only ([`check_format`]).
fn pypirc(c: &Credentials) -> String {
    let name = index_name(c);
    let mut out = String::new();
    let _ = writeln!(out, "# ~/.pypirc for twine, with the publish credential: twine upload -r {name} dist/*");
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
            let _ = writeln!(out, "# set {var} instead (pypictl creds --publish --format env).");
        }
    }
    out
}

// The variables, as each tool documents them:
// - pip: PIP_INDEX_URL, the `--index-url` option
//   (https://pip.pypa.io/en/stable/topics/configuration/, "Environment variables");
// - uv (https://docs.astral.sh/uv/reference/environment/): UV_INDEX_{name}_USERNAME
//   and UV_INDEX_{name}_PASSWORD, the credentials of the index named {name}
//   (upper-cased, non-alphanumerics as `_`), used to install and by
//   `uv publish --index` to check the index for files it already has
//   (astral-sh/uv#10386, #11836); UV_PUBLISH_URL, UV_PUBLISH_USERNAME and
//   UV_PUBLISH_PASSWORD, `uv publish`'s --publish-url, --username and --password;
// - twine (https://twine.readthedocs.io/en/stable/#environment-variables, and
//   the `env=` of twine 7.0.0's settings.py): TWINE_REPOSITORY_URL,
//   TWINE_USERNAME, TWINE_PASSWORD;
// - Poetry (https://python-poetry.org/docs/configuration/#using-environment-variables):
//   any setting as POETRY_ + its name upper-cased, `.` and `-` as `_`:
//   `repositories.<name>.url` is POETRY_REPOSITORIES_<NAME>_URL (what
//   `poetry publish -r <name>` reads) and `http-basic.<name>.username|password`
//   is POETRY_HTTP_BASIC_<NAME>_USERNAME|PASSWORD (a source's or a repository's
//   credentials).
fn env(c: &Credentials) -> String {
    let name = index_name(c);
    let var = env_name(&name);
    let mut out = String::new();
    out.push_str("# POSIX shell (sh, bash, zsh): paste into a shell, or save to a file only you can\n");
    out.push_str("# read and load it with `. ./file`.\n");
    match c.role {
        Role::Read => {
            out.push_str("# The read credential, for installing (to publish: pypictl creds --publish --format env).\n");
            out.push_str("# pip: only the private index (no dependency confusion)\n");
            let _ = writeln!(out, "export PIP_INDEX_URL={}", sh_quote(&index_url_with_credentials(c)));
            let _ = writeln!(out, "# uv: the credentials of the index named \"{name}\" (pypictl creds --format uv)");
            let _ = writeln!(out, "export UV_INDEX_{var}_USERNAME={}", sh_quote(c.username));
            let _ = writeln!(out, "export UV_INDEX_{var}_PASSWORD={}", sh_quote(c.password));
            let _ = writeln!(out, "# Poetry: the credentials of the source named \"{name}\" (pypictl creds --format poetry)");
            let _ = writeln!(out, "export POETRY_HTTP_BASIC_{var}_USERNAME={}", sh_quote(c.username));
            let _ = writeln!(out, "export POETRY_HTTP_BASIC_{var}_PASSWORD={}", sh_quote(c.password));
        }
        Role::Publish => {
            out.push_str("# The publish credential, for uploading (whatever only installs should use the read\n");
            out.push_str("# credential: pypictl creds --format env).\n");
            out.push_str("# twine upload dist/* (to the private index, no .pypirc needed)\n");
            let _ = writeln!(out, "export TWINE_REPOSITORY_URL={}", sh_quote(&upload_url(c)));
            let _ = writeln!(out, "export TWINE_USERNAME={}", sh_quote(c.username));
            let _ = writeln!(out, "export TWINE_PASSWORD={}", sh_quote(c.password));
            out.push_str("# uv publish (uploads dist/* to the private index)\n");
            let _ = writeln!(out, "export UV_PUBLISH_URL={}", sh_quote(&upload_url(c)));
            let _ = writeln!(out, "export UV_PUBLISH_USERNAME={}", sh_quote(c.username));
            let _ = writeln!(out, "export UV_PUBLISH_PASSWORD={}", sh_quote(c.password));
            let _ = writeln!(out, "# poetry publish --build -r {}: the repository named \"{name}\" and its credentials", sh_word(&name));
            let _ = writeln!(out, "export POETRY_REPOSITORIES_{var}_URL={}", sh_quote(&upload_url(c)));
            let _ = writeln!(out, "export POETRY_HTTP_BASIC_{var}_USERNAME={}", sh_quote(c.username));
            let _ = writeln!(out, "export POETRY_HTTP_BASIC_{var}_PASSWORD={}", sh_quote(c.password));
        }
    }
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
    if c.role == Role::Publish {
        let _ = writeln!(out, "# Where `uv publish --index {name}` uploads; it first checks the url above and skips");
        out.push_str("# the files the index already has.\n");
        let _ = writeln!(out, "publish-url = {}", toml_string(&upload_url(c)));
    }
    out.push_str("# The default index replaces PyPI: uv resolves every package from the private index\n");
    out.push_str("# only (no dependency confusion). Without this line uv also asks PyPI, but only for\n");
    out.push_str("# packages the private index does not have (uv's first-index strategy).\n");
    out.push_str("default = true\n");
    out.push('\n');
    out.push_str("# --- the credentials, in a POSIX shell (keep them out of pyproject.toml) ---\n");
    match c.role {
        Role::Read => {
            let _ = writeln!(out, "export UV_INDEX_{var}_USERNAME={}", sh_quote(c.username));
            let _ = writeln!(out, "export UV_INDEX_{var}_PASSWORD={}", sh_quote(c.password));
            out.push_str("# To publish, use the publish credential: pypictl creds --publish --format uv\n");
        }
        Role::Publish => {
            out.push_str("# uv publish uploads with these (it does not upload with the UV_INDEX_ credentials)\n");
            let _ = writeln!(out, "export UV_PUBLISH_USERNAME={}", sh_quote(c.username));
            let _ = writeln!(out, "export UV_PUBLISH_PASSWORD={}", sh_quote(c.password));
            out.push_str("# and checks the index with these (the publish credential can list it too)\n");
            let _ = writeln!(out, "export UV_INDEX_{var}_USERNAME={}", sh_quote(c.username));
            let _ = writeln!(out, "export UV_INDEX_{var}_PASSWORD={}", sh_quote(c.password));
            out.push_str("# Then, to upload dist/*:\n");
            let _ = writeln!(out, "#   uv publish --index {}", sh_word(&name));
        }
    }
    out
}

fn poetry(c: &Credentials) -> String {
    let name = index_name(c);
    let name_word = sh_word(&name);
    let credentials_line = format!(" poetry config -- {} {} {}\n", sh_word(&format!("http-basic.{name}")), sh_word(c.username), sh_quote(c.password));
    let mut out = String::new();
    match c.role {
        Role::Read => {
            out.push_str("# Poetry, in the project's directory. A primary source replaces PyPI: Poetry resolves\n");
            out.push_str("# every package from the private index only (no dependency confusion).\n");
            let _ = writeln!(out, "poetry source add --priority=primary {name_word} {}", sh_word(&index_url(c)));
        }
        Role::Publish => {
            out.push_str("# Poetry: the repository `poetry publish` uploads to (kept in Poetry's own config,\n");
            out.push_str("# not in pyproject.toml: a source there is for installing only).\n");
            let _ = writeln!(out, "poetry config {} {}", sh_word(&format!("repositories.{name}")), sh_word(&upload_url(c)));
        }
    }
    out.push_str("# The credentials (Poetry keeps the password in the system keyring, or in its\n");
    out.push_str("# auth.toml without one). `--` keeps a password starting with '-' from being read as\n");
    out.push_str("# an option; a leading space keeps the line out of most shells' history.\n");
    if c.role == Role::Publish {
        let _ = writeln!(out, "# A source named \"{name}\" shares them: there the publish credential, which can also");
        out.push_str("# download, replaces the read one.\n");
    }
    out.push_str(&credentials_line);
    match c.role {
        Role::Read => out.push_str("# To publish, use the publish credential: pypictl creds --publish --format poetry\n"),
        Role::Publish => {
            out.push_str("# Then, in the project's directory, to build and upload:\n");
            let _ = writeln!(out, "#   poetry publish --build -r {name_word}");
        }
    }
    out
}

fn json(c: &Credentials) -> String {
    let value = serde_json::json!({
        "role": c.role.as_str(),
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
        Credentials { username: "pypi-1a2b3c4d", password, url: "https://pypi.example.com/", name, role: Role::Read }
    }

    const FORMATS: [Format; 7] = [Format::Text, Format::Pip, Format::Pypirc, Format::Env, Format::Uv, Format::Poetry, Format::Json];

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
        for role in Role::ALL {
            let c = Credentials { role, ..creds("p@ss:w/rd%41 #?+", "pypi") };
            for format in FORMATS {
                let out = render(&c, format);
                assert!(out.ends_with('\n') && !out.ends_with("\n\n"), "{role:?} {format:?}: {out}");
            }
        }
    }

    #[test]
    fn check_format_refuses_pypirc_for_read_only() {
        for format in FORMATS {
            assert_eq!(check_format(Role::Publish, format), Ok(()), "{format:?}");
            if format != Format::Pypirc {
                assert_eq!(check_format(Role::Read, format), Ok(()), "{format:?}");
            }
        }
        let why = check_format(Role::Read, Format::Pypirc).unwrap_err();
        assert!(why.contains("--format pypirc") && why.contains("pypictl creds --publish --format pypirc"), "{why}");
        // Rendered anyway, it is that reason as a comment, and no configuration.
        let out = render(&creds("p@ss", "pypi"), Format::Pypirc);
        assert_eq!(out, format!("# {why}\n"));
        assert!(!out.contains("p@ss") && !out.contains("[distutils]"), "{out}");
    }

    #[test]
    fn role_line_names_the_role_and_what_it_may_do() {
        assert_eq!(role_line(Role::Read), "Role:        read (list and download)");
        assert_eq!(role_line(Role::Publish), "Role:        publish (upload, list and download)");
        for role in Role::ALL {
            let out = render(&Credentials { role, ..creds("x", "pypi") }, Format::Text);
            assert!(out.starts_with(&format!("{}\nUsername:    pypi-1a2b3c4d\n", role_line(role))), "{out}");
        }
    }

    #[test]
    fn text_lists_the_role_s_formats_with_its_flag() {
        let read = render(&creds("x", "pypi"), Format::Text);
        let publish = render(&Credentials { role: Role::Publish, ..creds("x", "pypi") }, Format::Text);
        for format in ["pip", "env", "uv", "poetry", "json"] {
            assert!(read.contains(&format!("\n  pypictl creds --format {format} ")), "{format}:\n{read}");
            assert!(publish.contains(&format!("\n  pypictl creds --publish --format {format} ")), "{format}:\n{publish}");
        }
        assert!(!read.contains("--format pypirc"), "{read}");
        assert!(publish.contains("\n  pypictl creds --publish --format pypirc "), "{publish}");
        assert!(!publish.contains("\n  pypictl creds --format"), "{publish}");
        assert!(!read.contains("Upload URL") && publish.contains("Upload URL:  https://pypi.example.com/\n"), "{read}\n{publish}");
        assert_eq!(format_name(Format::Pypirc), "pypirc");
    }

    #[test]
    fn read_outputs_configure_no_upload() {
        let c = creds("x", "pypi");
        for format in FORMATS {
            let out = render(&c, format);
            for publishing in ["TWINE_", "UV_PUBLISH_", "poetry publish", "publish-url", "repositories."] {
                assert!(!out.contains(publishing), "{format:?} has {publishing}:\n{out}");
            }
        }
    }
}
