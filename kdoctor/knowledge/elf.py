"""Whether a file is a Linux kernel module: an ELF relocatable object (``ET_REL``) with a
``.modinfo`` section, read from its headers alone."""

from __future__ import annotations

import struct
from typing import Optional

from kdoctor.i18n import N_, _

ELF_MAGIC = b"\x7fELF"
ET_REL = 1

#: what an ELF file that is not relocatable is, by its type (``e_type``)
_NOT_RELOCATABLE = {
    2: N_("it is an executable, not a relocatable"),
    3: N_("it is a shared object or executable, not a relocatable"),
    4: N_("it is a core dump, not a relocatable"),
}


def module_problem(data: bytes) -> Optional[str]:
    """Why ``data`` is not a kernel module (None when it is one)."""
    if len(data) < 64 or not data.startswith(ELF_MAGIC):
        return _("it is not an ELF file (no ELF magic)")
    klass, order = data[4], data[5]
    if klass not in (1, 2) or order not in (1, 2):
        return _("its ELF header is damaged")
    end = "<" if order == 1 else ">"
    (e_type,) = struct.unpack_from(end + "H", data, 16)
    if e_type != ET_REL:
        if e_type in _NOT_RELOCATABLE:
            return _(_NOT_RELOCATABLE[e_type])
        return _("it is an ELF file of type {type}, not a relocatable").format(type=e_type)
    names = _section_names(data, end, klass == 2)
    if names is None:
        return _("its section headers are damaged or truncated")
    if ".modinfo" not in names:
        return _("it is an ELF object without a .modinfo section (not built by kbuild)")
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


#: ``e_machine`` of the architectures kdoctor meets, by the name ``uname -m`` gives them
MACHINES = {"x86_64": 62, "i686": 3, "aarch64": 183, "armv7l": 40, "riscv64": 243, "ppc64le": 21}


def machine_of(data: bytes) -> Optional[int]:
    """An ELF file's ``e_machine`` (None: not an ELF header)."""
    if len(data) < 20 or not data.startswith(ELF_MAGIC) or data[5] not in (1, 2):
        return None
    (machine,) = struct.unpack_from("<H" if data[5] == 1 else ">H", data, 18)
    return int(machine)


def architecture_problem(data: bytes, arch: str) -> Optional[str]:
    """Why the module cannot load into a kernel of ``arch`` (it was built for another
    architecture), or None (it was built for it, or the architecture is not one kdoctor knows)."""
    wanted, found = MACHINES.get(arch), machine_of(data)
    if wanted is None or found is None or found == wanted:
        return None
    names = {number: name for name, number in MACHINES.items()}
    return _("it was built for {found}, not {arch}").format(
        found=names.get(found, _("ELF machine {number}").format(number=found)), arch=arch
    )
