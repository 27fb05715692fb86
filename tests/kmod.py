"""Tiny ELF files for tests: a kernel module as kbuild makes one (an ELF64 relocatable object
with a ``.modinfo`` section), and the near misses kdoctor must tell apart from it."""

from __future__ import annotations

import struct


def elf(sections: dict[str, bytes], e_type: int = 1) -> bytes:
    """A little-endian ELF64 file of ``e_type`` (1: ET_REL) holding ``sections``."""
    names = ["", *sections, ".shstrtab"]
    strtab = b"".join(n.encode() + b"\0" for n in names)
    offsets = {n: strtab.index(n.encode() + b"\0") if n else 0 for n in names}
    body, placed = b"", []
    for data in [*sections.values(), strtab]:
        placed.append((64 + len(body), len(data)))
        body += data
    shoff = 64 + len(body)
    ident = b"\x7fELF" + bytes([2, 1, 1]) + bytes(9)
    header = ident + struct.pack(
        "<HHIQQQIHHHHHH", e_type, 62, 1, 0, 0, shoff, 0, 64, 0, 0, 64, len(names), len(names) - 1
    )
    shdrs = bytes(64)  # the null section
    for name, (offset, size) in zip(names[1:], placed):
        shdrs += struct.pack("<IIQQQQIIQQ", offsets[name], 1, 0, 0, offset, size, 0, 0, 1, 0)
    return header + body + shdrs


def kernel_module(modinfo: bytes) -> bytes:
    return elf({".text": b"\xc3", ".modinfo": modinfo})
