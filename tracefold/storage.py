"""Where inputs and datasets live: local paths, or URLs (``s3://…``, ``gs://…``, ``file://…``)
through fsspec where it is installed (Dask brings it) — storage every worker of a cluster
sees. Writes to a URL go to a local temporary file first and are uploaded whole when
complete (an object appears at once, never half written)."""
from __future__ import annotations

import os
import re

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def is_url(path) -> bool:
    return bool(_URL.match(str(path)))


def _fs(url):
    try:
        import fsspec
    except ImportError:
        from .errors import InputError
        raise InputError(url, "a URL needs fsspec (pip install fsspec, and the package of "
                              "its protocol, e.g. s3fs)") from None
    fs, path = fsspec.core.url_to_fs(str(url))
    return fs, path


def open_read(path):
    """A binary file object for reading (a local path or a URL)."""
    if not is_url(path):
        return open(path, "rb")
    fs, p = _fs(path)
    return fs.open(p, "rb")


def exists(path) -> bool:
    if not is_url(path):
        return os.path.exists(path)
    fs, p = _fs(path)
    return fs.exists(p)


def isdir(path) -> bool:
    if not is_url(path):
        return os.path.isdir(path)
    fs, p = _fs(path)
    return fs.isdir(p)


def size(path) -> int:
    if not is_url(path):
        return os.path.getsize(path)
    fs, p = _fs(path)
    return fs.size(p)


def join(base, rel) -> str:
    return f"{str(base).rstrip('/')}/{rel}" if is_url(base) else os.path.join(base, rel)


def _url_of(fs, path) -> str:
    proto = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    return f"{proto}://{path}"


def find(url) -> list[str]:
    """Every file under a URL folder, as URLs, sorted."""
    fs, p = _fs(url)
    return sorted(_url_of(fs, x) for x in fs.find(p))


def glob(url) -> list[str]:
    fs, p = _fs(url)
    return sorted(_url_of(fs, x) for x in fs.glob(p))


def makedirs(path):
    if not is_url(path):
        os.makedirs(path, exist_ok=True)
        return
    fs, p = _fs(path)
    fs.makedirs(p, exist_ok=True)


def upload(local, url):
    """A complete local file to a URL (the object appears whole)."""
    fs, p = _fs(url)
    parent = p.rsplit("/", 1)[0]
    if parent and parent != p:
        fs.makedirs(parent, exist_ok=True)
    fs.put_file(local, p)
