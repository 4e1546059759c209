"""The disk cache of a client's run: files that cannot run code or lie, private to the user.

A client's cache folder (``$CXLIB_CACHE_DIR/<client>-<key>/``, see :func:`cache_dir`) holds one
entry per cached step: ``<name>.<token>.json`` (the value, :func:`cxlib.run._cache_codec.encode`)
and ``<name>.<token>.<n>.arrow`` (its frames, Arrow IPC), the token new at each write so that a
reader never mixes two writes. ``index.json`` records each file's SHA-256; a file is parsed
only after its bytes match, so a damaged entry, a file planted by hand or an entry of the wrong
type is recomputed, with a one-line notice naming it, and never read as something else.
Nothing is unpickled.

The cache folder and each client's folder are made ``0700`` and files ``0600``, whatever the
umask. A folder that another user owns, or that group or others may write to, is not used: the
run goes on without a disk cache (every process computes its own steps) after a notice that
names the folder and the fix. That costs time, never a wrong number, and never stops a report
(a cache is an optimisation; refusing to run would make a shared ``/tmp`` path an easy way to
stop another user's reports).

Notices go to the process's own standard error (:func:`notice`): the console of ``cxlib
report``, and each notebook kernel's log (``logs/<notebook>.log``), never a cell's output, so
never the reviewer's or the full HTML.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import stat
import sys
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

from cxlib.run._cache_codec import Unstorable, decode, encode, read_frame, write_frame

__all__ = ["MISSING", "Cache", "cache_dir", "notice", "private_folder", "replace_atomically"]

#: What :meth:`Cache.read` returns for an entry it has not got (or could not trust).
MISSING = object()

INDEX = "index.json"
FORMAT = 1
_HEX = re.compile(r"^[0-9a-f]{64}$")
_ENTRY = re.compile(r"^[a-z][a-z0-9_]*$")

#: Notices already given in this process (one line each, not one per read).
_GIVEN: set[str] = set()


def cache_dir() -> Path:
    """Folder of cxlib's disk cache (``$CXLIB_CACHE_DIR``, else the user's cache folder)."""
    if os.environ.get("CXLIB_CACHE_DIR"):
        return Path(os.environ["CXLIB_CACHE_DIR"])
    root = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(root) / "cxlib"


def notice(message: str) -> str:
    """Write ``cxlib cache: <message>`` once per process to the process's own standard error.

    That is the console of ``cxlib report`` and the kernel's log of a notebook (a kernel's
    ``sys.stderr`` is its cell output; ``sys.__stderr__`` is the process's). Returns the line.
    """
    line = f"cxlib cache: {message}"
    if line not in _GIVEN:
        _GIVEN.add(line)
        stream = sys.__stderr__ or sys.stderr
        try:
            print(line, file=stream, flush=True)
        except (OSError, ValueError):  # a closed stderr must not stop a run
            pass
    return line


def private_folder(path: Path) -> str | None:
    """Create ``path`` (mode 0700) or check it; return why it must not be used, or None.

    A folder owned by this user and not writable by group or others is used; one that others
    may read (an older cxlib made them ``0755``) is made ``0700``. Anything else is refused.
    """
    try:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        info = path.stat()
    except OSError as exc:
        return f"it cannot be created or read ({exc.strerror or exc})"
    if not stat.S_ISDIR(info.st_mode):
        return "it is not a folder"
    if hasattr(os, "geteuid") and info.st_uid != os.geteuid():
        return (
            f"it belongs to another user (uid {info.st_uid}); set CXLIB_CACHE_DIR to a folder "
            "of your own"
        )
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o022:
        return (
            f"group or others may write to it (mode {mode:04o}); make it private with "
            f"`chmod 700 {path}`, or remove it"
        )
    if mode != 0o700:
        try:
            os.chmod(path, 0o700)
        except OSError as exc:
            return f"it cannot be made private ({exc.strerror or exc})"
    return None


def replace_atomically(path: Path, write: Callable[[BinaryIO], Any]) -> str:
    """Write ``path`` (mode 0600) through a temporary file renamed over it; return its SHA-256.

    Readers never see half a file, and the mode is set explicitly, not left to the umask.
    """
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        if hasattr(os, "fchmod"):  # POSIX: the mode whatever the umask
            os.fchmod(descriptor, 0o600)
        with os.fdopen(descriptor, "wb") as raw:
            handle = _Hashing(raw)
            write(handle)
        temporary.replace(path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return handle.digest.hexdigest()


class _Hashing:
    """A binary file that hashes what is written to it (one pass, no second read)."""

    def __init__(self, raw: BinaryIO):
        self.raw = raw
        self.digest = hashlib.sha256()
        self.closed = False

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        self.digest.update(view)
        return self.raw.write(view)

    def flush(self) -> None:
        self.raw.flush()

    def tell(self) -> int:
        return self.raw.tell()

    def writable(self) -> bool:
        return True

    def readable(self) -> bool:
        return False

    def seekable(self) -> bool:
        return False

    def close(self) -> None:
        self.closed = True


class CacheEntryError(ValueError):
    """An entry that is absent from the index, damaged, or not what its name says."""


class Cache:
    """One client's cache folder: entries written with their SHA-256 and verified on read.

    Build it with :meth:`open` (``folder`` None: a cache that is not used, because its folder
    was not safe). :meth:`read` gives the value of an entry or :data:`MISSING`;
    :meth:`write` stores one. Neither raises for a problem of the cache itself: a damaged entry
    is reported with :func:`notice` and recomputed by the caller; an entry that cannot be
    written (disk full, a value the cache cannot store without pickle) costs time only.
    """

    def __init__(self, folder: Path | None):
        self.folder = folder
        self.notices: list[str] = []

    @classmethod
    def open(cls, name: str) -> Cache:
        """Return the cache folder ``<cache_dir()>/<name>``; an unused one (notice) if unsafe."""
        root = cache_dir()
        for folder in (root, root / name):
            problem = private_folder(folder)
            if problem is not None:
                unused = cls(None)
                unused._notice(
                    f"not using the cache folder {folder}: {problem}. Running without a cache"
                )
                return unused
        return cls(root / name)

    def _notice(self, message: str) -> None:
        self.notices.append(notice(message))

    # --- the index ------------------------------------------------------------------------

    def _read_index(self) -> dict[str, dict[str, str]]:
        path = self.folder / INDEX
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except (OSError, UnicodeDecodeError) as exc:
            self._notice(f"the index {path} cannot be read ({exc}); every entry is recomputed")
            return {}
        try:
            index = json.loads(text)
            if index.get("format") != FORMAT or type(index.get("entries")) is not dict:
                raise ValueError("not a cxlib cache index")
            entries = index["entries"]
            for name, files in entries.items():
                if not _ENTRY.match(name) or type(files) is not dict:
                    raise ValueError(f"entry {name!r}")
                for file, digest in files.items():
                    if not _is_file_of(file, name) or not _HEX.match(str(digest)):
                        raise ValueError(f"file {file!r} of entry {name!r}")
        except (ValueError, AttributeError, TypeError) as exc:
            self._notice(f"the index {path} is damaged ({exc}); every entry is recomputed")
            return {}
        return entries

    @contextmanager
    def _locked(self):
        """Hold the folder's lock while the index is read, changed and written."""
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows: last writer wins (entries re-verified)
            yield
            return
        descriptor = os.open(self.folder / "index.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            yield
        finally:
            os.close(descriptor)

    # --- entries --------------------------------------------------------------------------

    def read(self, name: str, check: Callable[[Any], str | None]) -> Any:
        """Return entry ``name`` if its files match the index and ``check(value)`` is None.

        ``check`` returns why a value is not what the entry must hold (e.g. "not a
        DataFrame"), or None. Anything else than a good value gives :data:`MISSING`, after a
        notice for an entry that was there but could not be trusted.
        """
        if self.folder is None:
            return MISSING
        files = self._read_index().get(name)
        if files is None:
            stray = sorted(p.name for p in self.folder.glob(f"{name}.*") if p.is_file())
            if stray:
                self._notice(
                    f"{self.folder / name}: {', '.join(stray)} without a checksum in the index "
                    "(written by hand, by an older cxlib or by a run that stopped); ignored "
                    "and recomputed"
                )
            return MISSING
        try:
            value = self._load(name, files)
            problem = check(value)
            if problem:
                raise CacheEntryError(problem)
        except Exception as exc:  # noqa: BLE001 - any problem with an entry means: recompute
            self._notice(f"entry {name} in {self.folder} {_why(exc)}; recomputed")
            return MISSING
        return value

    def _load(self, name: str, files: dict[str, str]) -> Any:
        contents = {file: self._verified(file, digest) for file, digest in files.items()}
        documents = [file for file in contents if file.endswith(".json")]
        if len(documents) != 1:
            raise CacheEntryError(f"has {len(documents)} documents in the index, not one")
        document = json.loads(bytes(contents.pop(documents[0])).decode("utf-8"))
        frames_count = len(document.get("frames", [])) if type(document) is dict else 0
        prefix = documents[0].removesuffix(".json")
        names = [f"{prefix}.{i}.arrow" for i in range(frames_count)]
        if sorted(names) != sorted(contents):
            raise CacheEntryError("lists other frame files than its document")
        return decode(document, [read_frame(contents[file]) for file in names])

    def _verified(self, file: str, digest: str) -> Any:
        """Return the bytes of ``file`` (memory-mapped) once their SHA-256 matched ``digest``."""
        import pyarrow as pa

        path = self.folder / file
        if path.is_symlink() or not path.is_file():
            raise CacheEntryError(f"misses its file {file}")
        if path.stat().st_size == 0:
            buffer: Any = b""
        else:
            buffer = pa.memory_map(str(path)).read_buffer()
        if hashlib.sha256(memoryview(buffer)).hexdigest() != digest:
            raise CacheEntryError(f"failed its checksum ({file} changed since it was written)")
        return buffer

    def write(self, name: str, value: Any) -> bool:
        """Store ``value`` as entry ``name``; return False (with a notice) when it could not."""
        if not _ENTRY.match(name):
            raise ValueError(f"cache entry names are lower-case words, got {name!r}")
        if self.folder is None:
            return False
        try:
            document, frames = encode(value)
        except Unstorable as exc:
            self._notice(
                f"entry {name} is not cached: it holds {exc}, which the cache does not store "
                "(it is computed in each process)"
            )
            return False
        prefix = f"{name}.{secrets.token_hex(4)}"
        try:
            files = {}
            for position, frame in enumerate(frames):
                file = f"{prefix}.{position}.arrow"
                files[file] = replace_atomically(
                    self.folder / file, lambda handle, f=frame: write_frame(f, handle)
                )
            text = json.dumps(document, allow_nan=False, separators=(",", ":")).encode()
            files[f"{prefix}.json"] = replace_atomically(
                self.folder / f"{prefix}.json", lambda handle: handle.write(text)
            )
            with self._locked():
                entries = self._read_index()
                entries[name] = files
                index = json.dumps({"format": FORMAT, "entries": entries}, indent=1).encode()
                replace_atomically(self.folder / INDEX, lambda handle: handle.write(index))
                for old in self.folder.glob(f"{name}.*"):  # an earlier write's, or planted
                    if old.name not in files and (
                        _is_file_of(old.name, name) or old.suffix == ".pkl"
                    ):
                        old.unlink(missing_ok=True)
        except (Unstorable, TypeError, ValueError) as exc:  # Arrow refused a frame
            text = " ".join(str(exc).split())[:160]
            self._notice(f"entry {name} is not cached: Arrow cannot store it ({text})")
            return False
        except OSError as exc:  # a full or read-only cache costs speed, not correctness
            self._notice(f"could not write the cache entry {self.folder / name}: {exc}")
            return False
        return True


def _is_file_of(file: str, name: str) -> bool:
    """Whether ``file`` is a name :meth:`Cache.write` gives a file of entry ``name``."""
    pattern = rf"{re.escape(name)}\.[0-9a-f]{{8}}\.(json|\d+\.arrow)"
    return re.fullmatch(pattern, file) is not None


def _why(exc: BaseException) -> str:
    if isinstance(exc, CacheEntryError):
        return str(exc)
    text = " ".join(str(exc).split())[:160]
    return f"could not be read ({type(exc).__name__}: {text})" if text else "could not be read"
