"""Whether a file is a Linux kernel module: an ELF relocatable object (``ET_REL``) with a
``.modinfo`` section, read from its headers alone."""

from __future__ import annotations

import struct
from typing import Optional

ELF_MAGIC = b"\x7fELF"
ET_REL = 1


def module_problem(data: bytes) -> Optional[str]:
    """Why ``data`` is not a kernel module (None when it is one)."""
    if len(data) < 64 or not data.startswith(ELF_MAGIC):
        return "it is not an ELF file (no ELF magic)"
    klass, order = data[4], data[5]
    if klass not in (1, 2) or order not in (1, 2):
        return "its ELF header is damaged"
    end = "<" if order == 1 else ">"
    (e_type,) = struct.unpack_from(end + "H", data, 16)
    if e_type != ET_REL:
        kinds = {2: "an executable", 3: "a shared object or executable", 4: "a core dump"}
        return f"it is {kinds.get(e_type, f'an ELF file of type {e_type}')}, not a relocatable"
    names = _section_names(data, end, klass == 2)
    if names is None:
        return "its section headers are damaged or truncated"
    if ".modinfo" not in names:
        return "it is an ELF object without a .modinfo section (not built by kbuild)"
    return None


def _section_names(data: bytes, end: str, wide: bool) -> Optional[list[str]]:
    try:
        if wide:
            shoff, shentsize, shnum, shstrndx = (
                struct.unpack_from(end + "Q", data, 0x28)[0],
                *struct.unpack_from(end + "HHH", data, 0x3A),
            )
            header = end + "IIQQQQIIQQ"
        else:
            shoff, shentsize, shnum, shstrndx = (
                struct.unpack_from(end + "I", data, 0x20)[0],
                *struct.unpack_from(end + "HHH", data, 0x2E),
            )
            header = end + "IIIIIIIIII"
        if shnum == 0 or shstrndx >= shnum or shentsize < struct.calcsize(header):
            return None
        sections = [struct.unpack_from(header, data, shoff + i * shentsize) for i in range(shnum)]
        strtab = sections[shstrndx]
        start, size = strtab[4], strtab[5]
        if start + size > len(data):
            return None
        table = data[start : start + size]
        return [table[s[0] : table.find(b"\0", s[0])].decode("latin-1") for s in sections]
    except struct.error:
        return None
