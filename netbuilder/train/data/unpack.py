"""Reading compressed and binary data files without trusting their headers blindly.

NOTE (decompression bombs): a compressed stream is inflated only up to the size its headers
promise (a zip entry's declared size, an IDX header's shape), and never beyond what memory can
hold (``memory.decompression_limit``). A stream that would give more is refused, naming the
file, before it is inflated further. ``.npy`` data is checked against the size its header
declares, so a cut-off file is reported as truncated rather than as something else.
"""
from __future__ import annotations

import io
import math
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np

from ..memory import decompression_limit
from .core import DataError

GZIP_MAGIC = b"\x1f\x8b"
_LOCAL_HEADER = struct.Struct("<4s5H3L2H")  # a zip entry's local header (30 bytes)


def _too_big(source: str, limit: int) -> DataError:
    return DataError(f"{source} decompresses to more than {limit:,} bytes, more than this "
                     "machine's free memory: netbuilder does not read it (a decompression "
                     "bomb, or data too large to train on here).", path=source)


def _over_declared(source: str, declared: int, what: str) -> DataError:
    return DataError(f"{source} decompresses to more than the {declared:,} bytes {what} "
                     "declares: the file is damaged or a decompression bomb, so netbuilder "
                     "does not read it.", path=source)


def gunzip(data: bytes, source: str, declared_size=None) -> bytes:
    """Inflate gzip ``data``. ``declared_size(head)`` may read the first KiB of the result and
    return how many bytes the format says follow in all (None: the memory limit applies)."""
    limit = decompression_limit()
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        head = d.decompress(data, 1024)
        declared = declared_size(head) if declared_size is not None else None
        cap = min(declared, limit) if declared is not None else limit
        if declared is not None and declared > limit:
            raise _too_big(source, limit)
        rest = d.decompress(d.unconsumed_tail, cap - len(head) + 1) if len(head) <= cap else b""
    except zlib.error as exc:
        raise DataError(f"Could not read {source}: it is not valid gzip data ({exc}). The file "
                        "may be truncated; download it again.", path=source) from None
    out = head + rest
    if len(out) > cap:
        raise (_over_declared(source, declared, "its header") if declared is not None
               else _too_big(source, limit))
    if not d.eof:
        raise DataError(f"Could not read {source}: the compressed data ends early (the file is "
                        "truncated). Download it again.", path=source)
    return out


def read_npy_file(path: Path) -> np.ndarray:
    """A ``.npy`` file's array (never unpickled); DataError naming the file otherwise."""
    try:
        with open(path, "rb") as f:
            data = bytearray(path.stat().st_size)
            f.readinto(data)
    except FileNotFoundError:
        raise DataError(f"File not found: {path}.", path=str(path)) from None
    except OSError as exc:
        raise DataError(f"Could not read {path}: {exc.strerror}.", path=str(path)) from None
    return parse_npy(data, str(path))


def parse_npy(data: bytes | bytearray, source: str) -> np.ndarray:
    """Decode ``.npy`` bytes, checking the data against the shape the header declares."""
    f = io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(f)
        read_header = {(1, 0): np.lib.format.read_array_header_1_0,
                       (2, 0): np.lib.format.read_array_header_2_0}.get(version)
        if read_header is None:
            raise ValueError(f"format version {version[0]}.{version[1]} is not read here")
        shape, fortran, dtype = read_header(f)
    except (ValueError, EOFError) as exc:
        raise DataError(f"{source} is not a NumPy .npy file, or its header is damaged "
                        f"({exc}).", path=source) from None
    if dtype.hasobject:
        raise DataError(f"{source} holds Python objects, which netbuilder does not load (they "
                        "could run code): save plain numeric arrays instead.", path=source)
    offset = f.tell()
    count = math.prod(shape)
    expected, held = count * dtype.itemsize, len(data) - offset
    if held != expected:
        state = "truncated" if held < expected else "damaged"
        raise DataError(f"{source} is {state}: its header declares an array of shape "
                        f"{tuple(shape)} and type {dtype} ({expected:,} bytes of data) but the "
                        f"file holds {held:,} bytes after the header.", path=source)
    arr = np.frombuffer(data, dtype, count=count, offset=offset)
    return arr.reshape(shape, order="F" if fortran else "C")


class NpzArchive:
    """An ``.npz`` archive's entries; ``read(key)`` inflates one only up to its declared size
    (which must fit in memory) and checks it against its CRC."""

    def __init__(self, path: Path):
        self.source = str(path)
        try:
            self.raw = path.read_bytes()
            with zipfile.ZipFile(io.BytesIO(self.raw)) as zf:
                infos = zf.infolist()
        except FileNotFoundError:
            raise DataError(f"File not found: {path}.", path=self.source) from None
        except (OSError, zipfile.BadZipFile, EOFError) as exc:
            raise DataError(f"Could not read {path} as an .npz archive: {exc}. The file may be "
                            "truncated.", path=self.source) from None
        self.infos = {i.filename.removesuffix(".npy"): i for i in infos if not i.is_dir()}
        self.files = list(self.infos)

    def read(self, key: str) -> np.ndarray:
        info = self.infos[key]
        source = f"{self.source} [{key}]"
        limit = decompression_limit()
        if info.file_size > limit:
            raise _too_big(source, limit)
        return parse_npy(_member(self.raw, info, source), source)


def _member(raw: bytes, info: zipfile.ZipInfo, source: str) -> bytes:
    start = info.header_offset
    header = raw[start:start + _LOCAL_HEADER.size]
    if len(header) < _LOCAL_HEADER.size or header[:4] != b"PK\x03\x04":
        raise DataError(f"{source}: the archive's entry header is damaged.", path=source)
    fields = _LOCAL_HEADER.unpack(header)
    begin = start + _LOCAL_HEADER.size + fields[-2] + fields[-1]
    packed = raw[begin:begin + info.compress_size]
    if len(packed) < info.compress_size:
        raise DataError(f"{source} is truncated: the archive ends inside it.", path=source)
    if info.compress_type == zipfile.ZIP_STORED:
        if info.compress_size != info.file_size:
            raise _over_declared(source, info.file_size, "the archive")
        out = packed
    elif info.compress_type == zipfile.ZIP_DEFLATED:
        d = zlib.decompressobj(-zlib.MAX_WBITS)
        try:
            out = d.decompress(packed, info.file_size + 1)
        except zlib.error as exc:
            raise DataError(f"{source} is damaged ({exc}).", path=source) from None
        if len(out) > info.file_size or (not d.eof and d.unconsumed_tail):
            raise _over_declared(source, info.file_size, "the archive")
    else:
        raise DataError(f"{source} is compressed with a method netbuilder does not read: save "
                        "it with numpy.savez or numpy.savez_compressed.", path=source)
    if len(out) != info.file_size or zlib.crc32(out) != info.CRC:
        raise DataError(f"{source} is damaged: its data does not match the size and checksum "
                        "the archive records.", path=source)
    return out
