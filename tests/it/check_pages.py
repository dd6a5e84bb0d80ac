"""Checks an index's pages against the PEPs with `packaging`'s parsers.

Usage: python check_pages.py <base URL>, the Authorization header in
PYPICTL_AUTHORIZATION. Reads /simple/ and every project page in both forms
(PEP 503 HTML, PEP 691 JSON) and each announced PEP 658 metadata file, and
fails (exit 1, saying what and where) on anything the PEPs do not allow:

- PEP 629: the HTML pages declare pypi:repository-version, major version 1;
  the JSON pages meta.api-version, the same.
- PEP 503: project names are normalized, each file's project (parsed from
  its file name) is the page's, hashes are `#sha256=<64 hex>`,
  data-requires-python parses as a version specifier set.
- PEP 691: the JSON page lists the same projects and files, with the same
  URLs, hashes and requires-python.
- PEP 658/714: data-core-metadata (and data-dist-info-metadata, the same)
  is the sha256 of the file at <URL>.metadata, which parses as core
  metadata naming the file's project and version, and whose Requires-Python
  is the page's; JSON core-metadata says the same.

Prints one line: how many projects, files and metadata files it checked.
"""
import hashlib
import json
import os
import re
import sys
import urllib.request
from html.parser import HTMLParser

from packaging.metadata import Metadata
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name, parse_sdist_filename, parse_wheel_filename

BASE = sys.argv[1].rstrip("/")
AUTH = os.environ["PYPICTL_AUTHORIZATION"]
HTML_TYPE, JSON_TYPE = "text/html", "application/vnd.pypi.simple.v1+json"


def fail(where, what):
    print(f"check_pages: {where}: {what}", file=sys.stderr)
    sys.exit(1)


def get(path, accept=None):
    req = urllib.request.Request(BASE + path, headers={"Authorization": AUTH, **({"Accept": accept} if accept else {})})
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.headers.get("Content-Type", ""), r.read()


class Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.meta, self.anchors, self.text = {}, [], None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "meta" and "name" in attrs:
            self.meta[attrs["name"]] = attrs.get("content")
        if tag == "a":
            self.anchors.append([attrs, ""])
            self.text = self.anchors[-1]

    def handle_data(self, data):
        if self.text is not None:
            self.text[1] += data

    def handle_endtag(self, tag):
        if tag == "a":
            self.text = None


def html_page(path):
    content_type, body = get(path, HTML_TYPE)
    if not content_type.startswith("text/html"):
        fail(path, f"HTML asked, {content_type!r} answered")
    page = Page()
    page.feed(body.decode("utf-8"))
    version = page.meta.get("pypi:repository-version") or fail(path, "no pypi:repository-version (PEP 629)")
    if version.split(".")[0] != "1":
        fail(path, f"repository version {version}")
    return page


def json_page(path):
    content_type, body = get(path, JSON_TYPE)
    if content_type != JSON_TYPE:
        fail(path, f"JSON asked, {content_type!r} answered")
    page = json.loads(body)
    if str(page.get("meta", {}).get("api-version", "")).split(".")[0] != "1":
        fail(path, f"api-version {page.get('meta')}")
    return page


def project_of(filename):
    if filename.endswith(".whl"):
        name, version, _, _ = parse_wheel_filename(filename)
    else:
        name, version = parse_sdist_filename(filename)
    return canonicalize_name(name), version


def main():
    root = html_page("/simple/")
    names = []
    for attrs, text in root.anchors:
        if canonicalize_name(text) != text or attrs.get("href") != f"{text}/":
            fail("/simple/", f"not a normalized project link: {attrs} {text!r}")
        names.append(text)
    listed = [p["name"] for p in json_page("/simple/")["projects"]]
    if listed != names:
        fail("/simple/", f"JSON lists {listed}, HTML {names}")
    files = metadata_files = 0
    for name in names:
        path = f"/simple/{name}/"
        page, data = html_page(path), json_page(path)
        if data.get("name") != name:
            fail(path, f"JSON name {data.get('name')!r}")
        by_name = {f["filename"]: f for f in data["files"]}
        if sorted(by_name) != sorted(text for _, text in page.anchors):
            fail(path, f"JSON lists {sorted(by_name)}, HTML {sorted(t for _, t in page.anchors)}")
        for attrs, filename in page.anchors:
            files += 1
            where = f"{path} {filename}"
            project, version = project_of(filename)
            if project != name:
                fail(where, f"the file belongs to {project}")
            url, _, fragment = attrs["href"].partition("#")
            if not re.fullmatch(r"sha256=[0-9a-f]{64}", fragment):
                fail(where, f"hash fragment {fragment!r}")
            entry = by_name[filename]
            if (entry["url"], entry["hashes"]) != (url, {"sha256": fragment[7:]}):
                fail(where, f"JSON says {entry['url']} {entry['hashes']}")
            python = attrs.get("data-requires-python")
            if python is not None:
                SpecifierSet(python)  # raises on what PEP 440 does not allow
            if entry.get("requires-python") != python:
                fail(where, f"requires-python: JSON {entry.get('requires-python')!r}, HTML {python!r}")
            announced = attrs.get("data-core-metadata")
            if attrs.get("data-dist-info-metadata") != announced:
                fail(where, "data-dist-info-metadata differs from data-core-metadata")
            if (entry.get("core-metadata"), entry.get("dist-info-metadata")) != (({"sha256": announced[7:]},) * 2 if announced else (None, None)):
                fail(where, f"JSON core-metadata {entry.get('core-metadata')}, HTML {announced}")
            if announced is None:
                continue
            metadata_files += 1
            _, body = get(url + ".metadata")
            if f"sha256={hashlib.sha256(body).hexdigest()}" != announced:
                fail(where, f"the metadata served is not the one announced ({announced})")
            meta = Metadata.from_email(body, validate=False)
            if (canonicalize_name(meta.name), meta.version) != (project, version):
                fail(where, f"the metadata is {meta.name} {meta.version}")
            if meta.requires_python != (SpecifierSet(python) if python is not None else None):
                fail(where, f"the metadata's Requires-Python {meta.requires_python} is not the page's {python!r}")
    print(f"checked {len(names)} projects, {files} files, {metadata_files} metadata files")


main()
