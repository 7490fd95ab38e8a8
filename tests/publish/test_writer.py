"""Atomic library folders: complete versions swapped in, unchanged titles reused, crashes harmless."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from sidecar.publish import writer as writer_module
from sidecar.publish.writer import (
    LibraryDir,
    OutFile,
    OutTitle,
    PublishConfigError,
    check_symlinks,
    check_writable,
)

REPO = Path(__file__).resolve().parents[2]


def title(name: str, text: str = "v1") -> OutTitle:
    return OutTitle(
        name,
        (
            OutFile(f"{name}.strm", data=f"/media/{name}.mkv\n".encode()),
            OutFile("movie.nfo", data=f"<movie><title>{name} {text}</title></movie>".encode()),
            OutFile("Season 01", link="/media/somewhere"),
        ),
    )


def snapshot(path: Path) -> dict[str, str]:
    """Every file under ``path`` as the server reads it: through the title links into the store."""
    out: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(path, followlinks=True):
        for name in dirnames + filenames:
            full = Path(dirpath) / name
            rel = str(full.relative_to(path))
            if full.is_symlink() and f"-titles{os.sep}" in os.readlink(full) and full.is_dir():
                continue  # a title folder: walked into
            if full.is_symlink():
                out[rel] = "-> " + os.readlink(full)
                if name in dirnames:
                    dirnames.remove(name)
            elif full.is_file():
                out[rel] = full.read_text()
    return out


def publish(lib: LibraryDir, titles: list[OutTitle], reuse: list[str] = (), **kw: object) -> None:  # type: ignore[assignment]
    version = lib.write_version(titles, reuse, **kw)  # type: ignore[arg-type]
    lib.swap(version, **kw)  # type: ignore[arg-type]


def test_swap_replaces_the_whole_set_and_reuses_unchanged(tmp_path: Path) -> None:
    lib = LibraryDir(tmp_path, "ai-picks/u1/movies")
    publish(lib, [title("A"), title("B")])
    assert lib.link.is_symlink() and not os.path.isabs(os.readlink(lib.link))
    first = snapshot(lib.link)
    assert set(first) >= {"A/A.strm", "A/movie.nfo", "A/Season 01", "B/B.strm"}
    inode = (lib.link / "A" / "movie.nfo").stat().st_ino

    publish(lib, [title("B", "v2"), title("C")], reuse=[])
    assert sorted(os.listdir(lib.link)) == ["B", "C"]
    assert "v2" in (lib.link / "B" / "movie.nfo").read_text()

    publish(lib, [title("D")], reuse=["B", "C"])
    assert sorted(os.listdir(lib.link)) == ["B", "C", "D"]
    assert (lib.link / "C" / "Season 01").is_symlink()
    # one version folder left, beside the link
    versions = [p.name for p in lib.parent.iterdir() if p.name.startswith(".movies.")]
    assert len(versions) == 1 and os.readlink(lib.link) == versions[0]
    assert inode  # reused titles are hard links of the previous files:
    publish(lib, [], reuse=["D"])
    publish(lib, [], reuse=["D"])
    assert sorted(os.listdir(lib.link)) == ["D"]


def test_a_republish_creates_and_removes_folders_only_for_changed_titles(tmp_path: Path) -> None:
    lib = LibraryDir(tmp_path, "ai-picks/u1/movies")
    publish(lib, [title("A"), title("B"), title("C")])
    stored = {name: os.readlink(lib.link / name) for name in "ABC"}
    publish(lib, [title("B", "v2"), title("D")], reuse=["A", "C"])
    assert sorted(os.listdir(lib.link)) == ["A", "B", "C", "D"]
    assert all((lib.link / name).is_symlink() for name in "ABCD")  # a version holds links, not folders
    assert os.readlink(lib.link / "A") == stored["A"] and os.readlink(lib.link / "C") == stored["C"]
    assert os.readlink(lib.link / "B") != stored["B"]
    assert len(os.listdir(lib.store)) == 4  # B's old folder went with the version that used it
    assert "v2" in (lib.link / "B" / "movie.nfo").read_text()


def test_a_library_written_before_titles_were_stored_apart_is_taken_over(tmp_path: Path) -> None:
    lib = LibraryDir(tmp_path, "lib")
    old = tmp_path / ".lib.0old"
    (old / "A").mkdir(parents=True)
    (old / "A" / "movie.nfo").write_text("<movie/>")
    os.symlink(old.name, lib.link)
    inode = (lib.link / "A" / "movie.nfo").stat().st_ino
    publish(lib, [title("B")], reuse=["A"])
    assert (lib.link / "A").is_symlink() and (lib.link / "A" / "movie.nfo").stat().st_ino == inode
    assert not old.exists() and sorted(os.listdir(lib.link)) == ["A", "B"]


def test_a_rewritten_title_links_the_files_whose_bytes_did_not_change(tmp_path: Path) -> None:
    lib = LibraryDir(tmp_path, "lib")
    publish(lib, [title("A")])
    strm, nfo = (lib.link / "A" / "A.strm").stat(), (lib.link / "A" / "movie.nfo").stat()
    publish(lib, [title("A", "rank 2")])  # only the NFO differs, as when a title moves in rank
    assert (lib.link / "A" / "A.strm").stat().st_ino == strm.st_ino
    assert (lib.link / "A" / "movie.nfo").stat().st_ino != nfo.st_ino
    assert "rank 2" in (lib.link / "A" / "movie.nfo").read_text()
    assert (lib.link / "A" / "Season 01").is_symlink()
    changed = OutTitle("A", (OutFile("A.strm", data=b"/media/elsewhere.mkv\n"),))
    publish(lib, [changed])
    assert (lib.link / "A" / "A.strm").read_bytes() == b"/media/elsewhere.mkv\n"
    assert (lib.link / "A" / "A.strm").stat().st_ino != strm.st_ino


def test_reused_titles_keep_their_inodes(tmp_path: Path) -> None:
    lib = LibraryDir(tmp_path, "lib")
    publish(lib, [title("A")])
    before = (lib.link / "A" / "movie.nfo").stat()
    publish(lib, [title("B")], reuse=["A"])
    after = (lib.link / "A" / "movie.nfo").stat()
    assert (before.st_ino, before.st_mtime_ns) == (after.st_ino, after.st_mtime_ns)


@pytest.mark.parametrize("step", ["title", "before-swap"])
def test_a_failure_before_the_swap_leaves_the_previous_library(tmp_path: Path, step: str) -> None:
    lib = LibraryDir(tmp_path, "lib")
    publish(lib, [title("A"), title("B")])
    before = snapshot(lib.link)

    def fault(at: str) -> None:
        if at == step:
            raise RuntimeError(f"injected at {at}")

    with pytest.raises(RuntimeError, match="injected"):
        publish(lib, [title("A", "v2"), title("C")], fault=fault)
    assert snapshot(lib.link) == before
    assert lib.clean_debris() >= 1
    assert snapshot(lib.link) == before
    assert [p.name for p in lib.parent.iterdir() if p.name.startswith(".lib.")] == [os.readlink(lib.link)]


def test_a_failure_after_the_swap_leaves_the_new_library(tmp_path: Path) -> None:
    lib = LibraryDir(tmp_path, "lib")
    publish(lib, [title("A")])

    def fault(at: str) -> None:
        if at == "after-swap":
            raise RuntimeError("injected")

    with pytest.raises(RuntimeError):
        publish(lib, [title("B")], fault=fault)
    assert sorted(os.listdir(lib.link)) == ["B"]
    lib.clean_debris()
    assert sorted(os.listdir(lib.link)) == ["B"]


def test_killing_the_writer_mid_write_leaves_the_previous_library(tmp_path: Path) -> None:
    lib = LibraryDir(tmp_path, "ai-picks/u1/movies")
    publish(lib, [title(f"T{i}") for i in range(5)])
    before = snapshot(lib.link)
    script = textwrap.dedent(
        f"""
        import sys, time
        from pathlib import Path
        from sidecar.publish.writer import LibraryDir, OutFile, OutTitle
        lib = LibraryDir(Path({str(tmp_path)!r}), "ai-picks/u1/movies")
        count = 0
        def fault(at):
            global count
            count += 1
            if count == 3:
                print("mid-write", flush=True)
                time.sleep(60)
        titles = [OutTitle(f"N{{i}}", (OutFile("x.strm", data=b"/m\\n"),)) for i in range(10)]
        version = lib.write_version(titles, fault=fault)
        lib.swap(version)
        """
    )
    with subprocess.Popen(
        [sys.executable, "-c", script], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    ) as proc:
        try:
            assert proc.stdout is not None
            assert proc.stdout.readline().strip() == "mid-write"
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == -signal.SIGKILL
    partial = [p for p in lib.parent.iterdir() if p.name.startswith(".movies.") and p.name != os.readlink(lib.link)]
    assert partial, "the killed writer left its partial version beside the library"
    assert snapshot(lib.link) == before
    lib.clean_debris()
    assert snapshot(lib.link) == before
    assert [p.name for p in lib.parent.iterdir() if p.name.startswith(".movies.")] == [os.readlink(lib.link)]
    assert len(os.listdir(lib.store)) == 5  # the killed writer's titles are gone too


def test_remove_deletes_link_and_versions(tmp_path: Path) -> None:
    lib = LibraryDir(tmp_path, "ai-picks/u1/movies")
    publish(lib, [title("A")])
    lib.remove()
    assert not lib.link.exists() and not lib.link.is_symlink()
    assert not lib.parent.exists()


def test_a_real_folder_in_the_way_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "lib").mkdir()
    with pytest.raises(PublishConfigError, match="real folder"):
        LibraryDir(tmp_path, "lib").current()


def test_unwritable_root_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(PublishConfigError, match=r"not writable.*MARQUEE_STRM_ROOT"):
        check_writable(blocker / "libraries")


def test_symlinks_unsupported_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError(1, "Operation not permitted")

    monkeypatch.setattr(writer_module.os, "symlink", refuse)
    with pytest.raises(PublishConfigError, match=r"does not support symlinks.*STRM mode"):
        check_symlinks(tmp_path)


def test_kept_images_are_the_current_files_whatever_their_extension(tmp_path: Path) -> None:
    lib = LibraryDir(tmp_path, "lib")
    poster = OutFile("poster.jpg", data=b"\xff\xd8 jpeg")
    publish(lib, [OutTitle("A", (*title("A").files, poster))])
    inode = (lib.link / "A" / "poster.jpg").stat().st_ino
    publish(lib, [OutTitle("A", (*title("A", "new text").files, OutFile("poster", keep=True)))])
    assert (lib.link / "A" / "poster.jpg").stat().st_ino == inode
    assert "new text" in (lib.link / "A" / "movie.nfo").read_text()
