"""Atomic library folders on disk.

The path a library is configured with (``<root>/ai-picks/<user>/movies``) is a symlink to a version
folder beside it (``.movies.<token>``). Publishing writes a complete new version, then swaps the symlink
with one ``rename`` — atomic on POSIX — and only then removes the old version. A crash at any moment
leaves the symlink pointing at a complete version; leftovers are cleared by the next run.

A version folder holds one symlink per title, to the title's folder in a store beside the versions
(``.movies-titles/<id>``). An unchanged title is the same link to the same stored folder in the next
version (same inodes, same mtimes, so the media server sees nothing new, and no folder is created or
deleted for it); only changed titles are written, each into a new stored folder. Stored folders no
version links to any more are removed after the swap (and by the next run's clean-up after a crash).
Every link target is relative, so the layout works unchanged when the media server mounts the root
under another path.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import secrets
import shutil
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from sidecar.errors import JobError

Fault = Callable[[str], None]
"""Test seam: called with a step name ("title", "before-swap", "after-swap") as writing proceeds."""


class PublishConfigError(JobError):
    """The STRM root or the filesystem cannot hold a library as configured; nothing was written."""


@dataclass(frozen=True)
class OutFile:
    """One file of a title: ``data``, a symlink to ``link``, or (``keep``) the current version's files
    named ``<rel>.*`` (an image whose server tag did not change), hard-linked as they are."""

    rel: str
    data: bytes | None = None
    link: str | None = None
    keep: bool = False


@dataclass(frozen=True)
class OutTitle:
    folder: str
    files: tuple[OutFile, ...]


def check_writable(root: Path) -> None:
    try:
        root.mkdir(parents=True, exist_ok=True)
        probe = root / f".marquee-probe-{secrets.token_hex(4)}"
        probe.write_bytes(b"ok")
        probe.unlink()
    except OSError as exc:
        raise PublishConfigError(
            f"The STRM root {root} is not writable ({exc.strerror or exc}); set MARQUEE_STRM_ROOT to a folder "
            "Marquee may write, or fix its permissions. Nothing was published."
        ) from exc


def check_symlinks(root: Path) -> None:
    probe = root / f".marquee-link-probe-{secrets.token_hex(4)}"
    try:
        os.symlink("target-that-need-not-exist", probe)
    except OSError as exc:
        raise PublishConfigError(
            f"The filesystem under {root} does not support symlinks ({exc.strerror or exc}); choose STRM mode "
            "for this output or move MARQUEE_STRM_ROOT to a filesystem with symlinks. Nothing was published."
        ) from exc
    probe.unlink()


class LibraryDir:
    def __init__(self, root: Path, rel: str) -> None:
        self.root = root
        self.link = root / rel
        self.parent = self.link.parent
        self.name = self.link.name
        self.store = self.parent / f".{self.name}-titles"  # not ".<name>.": that is a version or debris

    def current(self) -> Path | None:
        """The version folder the library path points at, if any."""
        if not self.link.is_symlink():
            if self.link.exists():
                raise PublishConfigError(
                    f"{self.link} is a real folder, not a Marquee library link; move it away so Marquee can "
                    "manage this library."
                )
            return None
        target = self.parent / os.readlink(self.link)
        return target if target.is_dir() else None

    def _debris(self) -> Iterable[Path]:
        if not self.parent.is_dir():
            return []
        return (p for p in self.parent.iterdir() if p.name.startswith(f".{self.name}."))

    def clean_debris(self) -> int:
        """Remove versions, swap links and stored titles that a crashed or finished run left behind."""
        current = self.current()
        removed = 0
        for path in self._debris():
            if current is not None and path.name == current.name:
                continue
            remove_path(path)
            removed += 1
        return removed + self.prune_titles()

    def prune_titles(self) -> int:
        """Remove stored title folders that the current version does not link to."""
        if not self.store.is_dir():
            return 0
        current = self.current()
        used: set[str] = set()
        if current is not None:
            with os.scandir(current) as entries:
                used = {os.path.basename(os.readlink(e.path)) for e in entries if e.is_symlink()}
        removed = 0
        with os.scandir(self.store) as stored:
            doomed = [Path(e.path) for e in stored if e.name not in used]
        for path in doomed:
            remove_path(path)
            removed += 1
        return removed

    def _stored(self, folder: str) -> tuple[Path, str]:
        """A new stored folder for ``folder`` and the link to it from a version folder."""
        key = hashlib.sha256(folder.encode()).hexdigest()[:12]
        name = f"{key}-{time.time_ns():x}{secrets.token_hex(2)}"
        return self.store / name, f"../{self.store.name}/{name}"

    def write_version(
        self,
        titles: Sequence[OutTitle],
        reuse: Sequence[str] = (),
        *,
        fault: Fault | None = None,
    ) -> Path:
        """Write a complete version folder: ``reuse`` folders link to the current version's stored ones."""
        self.parent.mkdir(parents=True, exist_ok=True)
        self.store.mkdir(exist_ok=True)
        current = self.current()
        version = self.parent / f".{self.name}.{time.time_ns():x}{secrets.token_hex(2)}"
        version.mkdir()
        written: list[Path] = [version, self.store]
        for folder in reuse:
            source = current / folder if current is not None else None
            if source is None or not source.is_dir():
                raise FileNotFoundError(f"cannot reuse {folder}: not in the current version")
            if source.is_symlink():
                os.symlink(os.readlink(source), version / folder)
                continue
            stored, link = self._stored(folder)  # a version written before titles were stored apart
            _clone_tree(source, stored)
            written.append(stored)
            os.symlink(link, version / folder)
        for title in titles:
            before = current / title.folder if current is not None else None
            stored, link = self._stored(title.folder)
            written += _write_title(stored, title.files, before)
            os.symlink(link, version / title.folder)
            if fault:
                fault("title")
        _fsync_all(written)
        return version

    def swap(self, version: Path, *, fault: Fault | None = None, keep_previous: bool = False) -> Path | None:
        """Point the library path at ``version`` atomically; then remove the previous version and the titles
        only it used, unless ``keep_previous`` (the caller removes them later, off the critical path).
        Returns the previous version."""
        previous = self.current()
        if fault:
            fault("before-swap")
        temp_link = self.parent / f".{self.name}.swap-{secrets.token_hex(4)}"
        os.symlink(version.name, temp_link)
        os.replace(temp_link, self.link)
        _fsync_path(self.parent)
        if fault:
            fault("after-swap")
        if previous is not None and previous != version and not keep_previous:
            remove_path(previous)
            self.prune_titles()
        return previous

    def remove(self) -> None:
        """Delete the library folder (link first, so the path disappears at once) and every version."""
        if self.link.is_symlink():
            self.link.unlink()
        for path in list(self._debris()):
            remove_path(path)
        remove_path(self.store)
        with contextlib.suppress(OSError):
            self.parent.rmdir()  # only when empty (per-user parent)


def _write_title(folder: Path, files: Sequence[OutFile], before: Path | None = None) -> list[Path]:
    """Write one title's files; returns the files and folders to make durable before the swap.

    A file whose bytes equal the same file in ``before`` (the title's folder in the current version) is
    hard-linked instead: a title that only moved in rank keeps its STRM and images untouched, so the media
    server re-reads its NFO alone.
    """
    folder.mkdir()
    durable = [folder]
    for spec in files:
        path = folder / spec.rel
        if path.parent != folder and not path.parent.exists():
            path.parent.mkdir(parents=True)
            durable.append(path.parent)
        if spec.link is not None:
            os.symlink(spec.link, path)
            continue
        if spec.keep:
            _keep(before, folder, spec.rel)
            continue
        data = spec.data or b""
        if before is not None and _link_if_same(before / spec.rel, path, data):
            continue
        with open(path, "xb") as handle:
            handle.write(data)
        durable.append(path)
    return durable


def _keep(before: Path | None, folder: Path, stem: str) -> None:
    if before is None or not before.is_dir():
        return
    for entry in os.scandir(before):
        if entry.name.startswith(f"{stem}.") and entry.is_file(follow_symlinks=False):
            try:
                os.link(entry.path, folder / entry.name)
            except OSError:
                shutil.copy2(entry.path, folder / entry.name)


def _link_if_same(old: Path, new: Path, data: bytes) -> bool:
    try:
        if old.is_symlink() or not old.is_file() or old.stat().st_size != len(data) or old.read_bytes() != data:
            return False
        os.link(old, new)
    except OSError:
        return False
    return True


def _fsync_all(paths: Sequence[Path]) -> None:
    """fsync files and folders concurrently: the filesystem batches them into few journal commits, which
    is an order of magnitude faster than one fsync after another."""
    if len(paths) <= 2:
        for path in paths:
            _fsync_path(path)
        return
    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(_fsync_path, paths))


def _fsync_path(path: Path) -> None:
    flags = os.O_RDONLY | (os.O_DIRECTORY if path.is_dir() else 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _clone_tree(source: Path, dest: Path) -> None:
    """Hard-link every regular file, recreate symlinks and folders; copy when hard links are refused."""
    dest.mkdir()
    with os.scandir(source) as entries:
        for entry in entries:
            target = dest / entry.name
            if entry.is_symlink():
                os.symlink(os.readlink(entry.path), target)
            elif entry.is_dir(follow_symlinks=False):
                _clone_tree(Path(entry.path), target)
            else:
                try:
                    os.link(entry.path, target)
                except OSError as exc:
                    if exc.errno not in (errno.EPERM, errno.EXDEV, errno.ENOTSUP, errno.EMLINK, errno.EACCES):
                        raise
                    shutil.copy2(entry.path, target)


def remove_path(path: Path) -> None:
    """Delete a file, link or folder tree; missing is fine."""
    if path.is_symlink() or path.is_file():
        path.unlink(missing_ok=True)
    elif path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
