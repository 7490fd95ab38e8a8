"""The local model in a process of its own: ``python -m providers.ai.embedding_child --model-path DIR``.

Only this process imports torch; when it exits, all of torch's memory goes back to the system, which
freeing objects inside a long-lived process does not do. ``providers.ai.local.LocalEmbedder`` starts it
and ends it after an idle time.

The wire is frames on stdin (requests) and stdout (replies), each a ``>II`` prefix (header length, body
length), a JSON header, then the body:

- once loaded, the child sends ``{"dimension": d}``; if loading fails, ``{"error": message}`` and exits;
- request ``{"texts": [...]}`` -> ``{"rows": n, "cols": d}`` with n*d little-endian float32 (rows
  L2-normalised), or ``{"error": message}`` if encoding failed (the child stays up);
- end of stdin: the child exits (so it never outlives the process that started it).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import struct
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any, Protocol

import numpy as np

from providers.ai.embedder import FloatMatrix

_PREFIX = struct.Struct(">II")
WIRE_FLOAT = np.dtype("<f4")


def write_frame(stream: IO[bytes], header: Mapping[str, Any], body: bytes = b"") -> None:
    head = json.dumps(header, ensure_ascii=False).encode("utf-8")
    stream.write(_PREFIX.pack(len(head), len(body)))
    stream.write(head)
    if body:
        stream.write(body)
    stream.flush()


def _read_exactly(stream: IO[bytes], size: int) -> bytes:
    data = stream.read(size) if size else b""
    if len(data) < size:  # a buffered reader returns less only at end of file
        raise EOFError("the other end closed the pipe")
    return data


def read_frame(stream: IO[bytes]) -> tuple[dict[str, Any], bytes]:
    head_len, body_len = _PREFIX.unpack(_read_exactly(stream, _PREFIX.size))
    header = json.loads(_read_exactly(stream, head_len).decode("utf-8"))
    if not isinstance(header, dict):
        raise ValueError("a frame header must be a JSON object")
    return header, _read_exactly(stream, body_len)


def vectors_reply(vectors: FloatMatrix) -> tuple[dict[str, Any], bytes]:
    rows, cols = vectors.shape
    return {"rows": int(rows), "cols": int(cols)}, np.ascontiguousarray(vectors, dtype=WIRE_FLOAT).tobytes()


def vectors_from_reply(header: Mapping[str, Any], body: bytes) -> FloatMatrix:
    rows, cols = int(header["rows"]), int(header["cols"])
    flat = np.frombuffer(body, dtype=WIRE_FLOAT, count=rows * cols)
    matrix: FloatMatrix = flat.reshape(rows, cols).astype(np.float32)  # a writable copy in native order
    return matrix


class Encoder(Protocol):
    @property
    def dimension(self) -> int: ...

    def encode(self, texts: Sequence[str]) -> FloatMatrix: ...


def serve(encoder: Encoder, inbox: IO[bytes], outbox: IO[bytes]) -> None:
    """Answer requests until ``inbox`` ends."""
    write_frame(outbox, {"dimension": encoder.dimension})
    while True:
        try:
            header, _ = read_frame(inbox)
        except EOFError:
            return
        try:
            vectors = encoder.encode([str(t) for t in header["texts"]])
        except Exception as exc:  # reported to the parent, which raises it there
            write_frame(outbox, {"error": f"{type(exc).__name__}: {exc}"})
            continue
        write_frame(outbox, *vectors_reply(vectors))


def take_stdout() -> IO[bytes]:
    """The replies' stream: the original stdout; fd 1 then points at stderr, so whatever a library prints
    lands in the log instead of in the middle of a reply."""
    outbox = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    sys.stdout.flush()
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    return outbox


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m providers.ai.embedding_child")
    parser.add_argument("--model-path", type=Path, required=True)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args(argv)
    # Ctrl-C reaches the whole process group; the parent ends this process by closing its stdin.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    outbox = take_stdout()
    try:
        from providers.ai.local_model import LocalModel

        model = LocalModel.load(args.model_path, batch_size=args.batch_size)
    except Exception as exc:
        write_frame(outbox, {"error": f"loading the local model failed: {type(exc).__name__}: {exc}"})
        return 1
    try:
        serve(model, sys.stdin.buffer, outbox)
    except BrokenPipeError:  # the parent went away mid-reply
        return 0
    return 0


if __name__ == "__main__":
    code = main()
    # Out at once: every reply is flushed as it is written, and the interpreter's teardown of torch takes seconds
    # (3 s on a busy 2-core machine) that a stopping Marquee would wait out.
    sys.stderr.flush()
    os._exit(code)
