#!/usr/bin/env python3
"""Write a torchvision state_dict into an ART checkpoint (format version 1,
docs/checkpoint.md), keeping torchvision's tensor names and layouts (conv
kernels OIHW, linear weights [out, in]); `art train -pretrained FILE` maps
them onto the project's models (shared/model/import.go). See
docs/pretrained.md.

    python3 convert_torchvision.py resnet50-0676ba61.pth resnet50.ckpt

The input is a file saved with torch.save: a state_dict, or a dict holding
one under "state_dict" or "model"; a "module." prefix (DataParallel) is
removed. Dependencies: numpy and torch (CPU is enough); no torchvision and
no network.
"""

import json
import struct
import sys
import zlib
from datetime import datetime, timezone

import numpy as np

MAGIC = b"ARTCKPT\x00"
VERSION = 1
PREAMBLE = struct.Struct("<8sIQQ")  # magic, version, header length, data length
ALIGNMENT = 64
DTYPES = {  # numpy dtype -> checkpoint dtype, as docs/read_checkpoint.py
    np.dtype("<f4"): "float32",
    np.dtype("<f2"): "float16",
    np.dtype("<f8"): "float64",
    np.dtype("<i8"): "int64",
    np.dtype("<i4"): "int32",
    np.dtype("<u8"): "uint64",
    np.dtype("u1"): "uint8",
}


def write_checkpoint(path, tensors, meta):
    """Write tensors (an ordered mapping name -> numpy array) and the meta
    dict as a version-1 checkpoint at path."""
    entries, chunks, offset = [], [], 0
    for name, array in tensors.items():
        array = np.asarray(array, order="C")
        dtype = array.dtype.newbyteorder("<") if array.dtype.byteorder == ">" else array.dtype
        if dtype not in DTYPES:
            raise ValueError(f"tensor {name}: dtype {array.dtype} has no checkpoint dtype")
        raw = array.astype(dtype, copy=False).tobytes(order="C")
        pad = -offset % ALIGNMENT
        chunks.append(b"\x00" * pad)
        offset += pad
        entries.append({"name": name, "dtype": DTYPES[dtype], "shape": list(array.shape),
                        "offset": offset, "length": len(raw), "crc32": zlib.crc32(raw)})
        chunks.append(raw)
        offset += len(raw)
    header = json.dumps({"meta": meta, "tensors": entries}, separators=(",", ":")).encode()
    data = b"".join(chunks)
    head = PREAMBLE.pack(MAGIC, VERSION, len(header), len(data)) + header
    head += b"\x00" * (-len(head) % ALIGNMENT)
    body = head + data
    with open(path, "wb") as f:
        f.write(body)
        f.write(struct.pack("<I", zlib.crc32(body)))


def state_dict_arrays(state):
    """Return name -> numpy array for a state_dict (or a dict wrapping one),
    float tensors as float32 and integer ones as int64."""
    for key in ("state_dict", "model"):
        if key in state and isinstance(state[key], dict):
            state = state[key]
    out = {}
    for name, tensor in state.items():
        if not hasattr(tensor, "detach"):
            continue
        name = name[len("module."):] if name.startswith("module.") else name
        array = tensor.detach().cpu().numpy()
        if array.dtype.kind == "f":
            array = array.astype("<f4")
        elif array.dtype.kind in "iu":
            array = array.astype("<i8")
        else:
            raise ValueError(f"tensor {name}: unsupported dtype {array.dtype}")
        out[name] = array
    if not out:
        raise ValueError("no tensors found (expected a state_dict)")
    return out


def convert(src, dst):
    import torch  # only the conversion needs torch; write_checkpoint does not

    state = torch.load(src, map_location="cpu", weights_only=True)
    tensors = state_dict_arrays(state)
    meta = {
        "method": "torchvision",
        "dataset": "imagenet",
        "normalization": {"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]},
        "notes": "torchvision state_dict with torchvision's names and layouts (OIHW); "
                 "import with art train -pretrained",
        "hyper": {"source": str(src)},
        "created": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    write_checkpoint(dst, tensors, meta)
    return tensors


def main(argv):
    if len(argv) != 2 or argv[0].startswith("-"):
        sys.exit("usage: convert_torchvision.py WEIGHTS.pth OUT.ckpt")
    tensors = convert(argv[0], argv[1])
    print(f"wrote {len(tensors)} tensors to {argv[1]}")


if __name__ == "__main__":
    main(sys.argv[1:])
