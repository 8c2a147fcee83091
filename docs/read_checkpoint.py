#!/usr/bin/env python3
"""Read an ART checkpoint (format version 1) with numpy; see docs/checkpoint.md.

As a module:

    from read_checkpoint import read_checkpoint
    meta, tensors = read_checkpoint("model.ckpt")
    w = tensors["/stem/conv/weights"]   # numpy array, HWIO

As a script it prints the metadata as JSON on the first line, then one line
per tensor: name, dtype and shape separated by tabs, and with --values a
fourth column holding the values in row-major order, separated by spaces.
"""

import json
import struct
import sys
import zlib

import numpy as np

MAGIC = b"ARTCKPT\x00"
VERSION = 1
PREAMBLE = struct.Struct("<8sIQQ")  # magic, version, header length, data length
ALIGNMENT = 64
DTYPES = {
    "float32": "<f4",
    "float16": "<f2",
    "float64": "<f8",
    "int64": "<i8",
    "int32": "<i4",
    "uint64": "<u8",
    "uint8": "u1",
}


def read_checkpoint(path):
    """Return (meta, tensors): the metadata dict and an ordered dict of
    read-only numpy arrays by name. Raises ValueError if the file is not a
    valid version-1 checkpoint."""
    with open(path, "rb") as f:
        buf = f.read()
    if buf[:8] != MAGIC[: len(buf)] or len(buf) < PREAMBLE.size:
        raise ValueError("not an ART checkpoint (bad magic) or truncated")
    _, version, header_len, data_len = PREAMBLE.unpack_from(buf)
    if version != VERSION:
        raise ValueError(f"unsupported format version {version}")
    data_start = -(-(PREAMBLE.size + header_len) // ALIGNMENT) * ALIGNMENT
    end = data_start + data_len
    if len(buf) != end + 4:
        raise ValueError(f"file is {len(buf)} bytes, header says {end + 4}")
    (crc,) = struct.unpack_from("<I", buf, end)
    if zlib.crc32(buf[:end]) != crc:
        raise ValueError("checksum mismatch")
    header = json.loads(buf[PREAMBLE.size : PREAMBLE.size + header_len])
    tensors = {}
    for t in header["tensors"]:
        start = data_start + t["offset"]
        raw = buf[start : start + t["length"]]
        if zlib.crc32(raw) != t["crc32"]:
            raise ValueError(f"checksum mismatch in tensor {t['name']}")
        dtype = np.dtype(DTYPES[t["dtype"]])
        count = t["length"] // dtype.itemsize
        array = np.frombuffer(buf, dtype=dtype, count=count, offset=start)
        tensors[t["name"]] = array.reshape(t["shape"])
    return header.get("meta", {}), tensors


def main(argv):
    values = "--values" in argv
    paths = [a for a in argv if a != "--values"]
    if len(paths) != 1:
        sys.exit("usage: read_checkpoint.py [--values] FILE")
    meta, tensors = read_checkpoint(paths[0])
    print(json.dumps(meta, sort_keys=True))
    for name, array in tensors.items():
        cols = [name, str(array.dtype), repr(array.shape)]
        if values:
            cols.append(" ".join(repr(v) for v in array.ravel().tolist()))
        print("\t".join(cols))


if __name__ == "__main__":
    main(sys.argv[1:])
