"""A TrueType font parsed once per process, and a small TrueType subset of it for each document.

OFD readers want the font embedded as a TrueType/OpenType file; ours is a 5 MB collection (TTC) of
which a certificate uses a few hundred glyphs. fontTools' subsetter takes ~500 ms on it (it decompiles
the 540 KB ``post`` table and the layout tables every time), so this module copies raw glyph records
instead: the font's tables are located once, and each subset is the used glyphs (plus the components of
composite glyphs) renumbered in order, with a new ``loca``/``hmtx``/``cmap`` (format 4, and format 12
when a character lies outside the BMP), ``post`` format 3 (no glyph names), the hinting tables and
``name``/``OS/2`` copied as they are, and the layout / vertical tables dropped. About 1 ms for a
certificate; ``tests/certificates/test_ttf_subset.py`` checks glyph outlines and advances against
fontTools.
"""
from __future__ import annotations

import struct
from array import array
from functools import lru_cache
from pathlib import Path

__all__ = ["FontProgram", "font_program"]

_COPIED_TABLES = ("OS/2", "cvt ", "fpgm", "gasp", "name", "prep")
# composite glyph flags (OpenType glyf table)
_ARG_WORDS, _HAVE_SCALE, _MORE, _XY_SCALE, _TWO_BY_TWO = 0x0001, 0x0008, 0x0020, 0x0040, 0x0080


def _checksum(data: bytes) -> int:
    padded = data + b"\0" * (-len(data) % 4)
    words = array("I", padded)
    if words.itemsize != 4:  # pragma: no cover - exotic platforms
        words = array("L", padded)
    if struct.pack("=I", 1) != struct.pack(">I", 1):
        words.byteswap()
    return sum(words) & 0xFFFFFFFF


class FontProgram:
    """One face of a .ttf/.ttc: metrics for layout and :meth:`subset` for embedding."""

    def __init__(self, path: str | Path, index: int = 0):
        self.path = str(path)
        data = Path(path).read_bytes()
        self._data = data
        start = 0
        if data[:4] == b"ttcf":
            count = struct.unpack_from(">I", data, 8)[0]
            if not 0 <= index < count:
                raise ValueError(f"font collection {path} has no face {index}")
            start = struct.unpack_from(">I", data, 12 + 4 * index)[0]
        num_tables = struct.unpack_from(">H", data, start + 4)[0]
        self._tables: dict[str, tuple[int, int]] = {}
        for i in range(num_tables):
            tag, _, offset, length = struct.unpack_from(">4sIII", data, start + 12 + 16 * i)
            self._tables[tag.decode("latin-1")] = (offset, length)
        for required in ("head", "hhea", "maxp", "hmtx", "loca", "glyf", "cmap"):
            if required not in self._tables:
                raise ValueError(f"{path} is not a TrueType-outline font (no {required!r} table)")

        head = self.table("head")
        self.units_per_em = struct.unpack_from(">H", head, 18)[0]
        long_loca = struct.unpack_from(">h", head, 50)[0] == 1
        hhea = self.table("hhea")
        self.ascent, self.descent = struct.unpack_from(">hh", hhea, 4)
        n_hmetrics = struct.unpack_from(">H", hhea, 34)[0]
        self.num_glyphs = struct.unpack_from(">H", self.table("maxp"), 4)[0]

        loca = self.table("loca")
        count = self.num_glyphs + 1
        if long_loca:
            self._loca = struct.unpack_from(f">{count}I", loca)
        else:
            self._loca = tuple(2 * v for v in struct.unpack_from(f">{count}H", loca))
        hmtx = self.table("hmtx")
        pairs = struct.unpack_from(f">{2 * n_hmetrics}H", hmtx)
        self._advance = list(pairs[0::2])
        self._lsb = [v - 0x10000 if v >= 0x8000 else v for v in pairs[1::2]]
        extra = self.num_glyphs - n_hmetrics
        if extra > 0:
            self._advance += [self._advance[-1]] * extra
            self._lsb += list(struct.unpack_from(f">{extra}h", hmtx, 4 * n_hmetrics))
        self.cmap = self._read_cmap()
        self.family_name = self._read_name(1) or Path(path).stem
        self._glyf_offset = self._tables["glyf"][0]
        self._component_cache: dict[int, list[tuple[int, int]]] = {}

    # -- reading ---------------------------------------------------------------------------
    def table(self, tag: str) -> bytes:
        offset, length = self._tables[tag]
        return self._data[offset:offset + length]

    def _read_cmap(self) -> dict[int, int]:
        cmap = self.table("cmap")
        n = struct.unpack_from(">H", cmap, 2)[0]
        subtables = {}
        for i in range(n):
            platform, encoding, offset = struct.unpack_from(">HHI", cmap, 4 + 8 * i)
            subtables[(platform, encoding)] = offset
        for key in ((3, 10), (0, 4), (3, 1), (0, 3)):
            if key in subtables:
                offset = subtables[key]
                fmt = struct.unpack_from(">H", cmap, offset)[0]
                if fmt == 12:
                    return self._cmap12(cmap, offset)
                if fmt == 4:
                    return self._cmap4(cmap, offset)
        raise ValueError(f"{self.path} has no Unicode cmap (format 4 or 12)")

    @staticmethod
    def _cmap4(cmap: bytes, offset: int) -> dict[int, int]:
        seg_x2 = struct.unpack_from(">H", cmap, offset + 6)[0]
        segs = seg_x2 // 2
        ends = struct.unpack_from(f">{segs}H", cmap, offset + 14)
        starts = struct.unpack_from(f">{segs}H", cmap, offset + 16 + seg_x2)
        deltas = struct.unpack_from(f">{segs}H", cmap, offset + 16 + 2 * seg_x2)
        range_pos = offset + 16 + 3 * seg_x2
        ranges = struct.unpack_from(f">{segs}H", cmap, range_pos)
        mapping = {}
        for i in range(segs):
            for code in range(starts[i], ends[i] + 1):
                if code == 0xFFFF:
                    continue
                if ranges[i] == 0:
                    gid = (code + deltas[i]) & 0xFFFF
                else:
                    pos = range_pos + 2 * i + ranges[i] + 2 * (code - starts[i])
                    gid = struct.unpack_from(">H", cmap, pos)[0]
                    if gid:
                        gid = (gid + deltas[i]) & 0xFFFF
                if gid:
                    mapping[code] = gid
        return mapping

    @staticmethod
    def _cmap12(cmap: bytes, offset: int) -> dict[int, int]:
        groups = struct.unpack_from(">I", cmap, offset + 12)[0]
        mapping = {}
        for i in range(groups):
            start, end, gid = struct.unpack_from(">III", cmap, offset + 16 + 12 * i)
            for code in range(start, end + 1):
                mapping[code] = gid + code - start
        return mapping

    def _read_name(self, name_id: int) -> str | None:
        if "name" not in self._tables:
            return None
        name = self.table("name")
        count, strings = struct.unpack_from(">HH", name, 2)
        for i in range(count):
            platform, encoding, _, nid, length, offset = struct.unpack_from(">HHHHHH", name, 6 + 12 * i)
            if nid == name_id and platform == 3 and encoding in (1, 10):
                return name[strings + offset:strings + offset + length].decode("utf-16-be", "replace")
        return None

    # -- metrics ----------------------------------------------------------------------------
    def advance(self, ch: str) -> int:
        """Advance width of *ch* in font units (.notdef's for a character the font lacks)."""
        return self._advance[self.cmap.get(ord(ch), 0)]

    def text_width(self, text: str, size: float) -> float:
        """Advance of *text* at *size* (same unit as *size*)."""
        return sum(self._advance[self.cmap.get(ord(c), 0)] for c in text) * size / self.units_per_em

    # -- subsetting -------------------------------------------------------------------------
    def _glyph(self, gid: int) -> bytes:
        start, end = self._loca[gid], self._loca[gid + 1]
        return self._data[self._glyf_offset + start:self._glyf_offset + end]

    def _components(self, gid: int, glyph: bytes) -> list[tuple[int, int]]:
        """(byte offset of the glyph index, glyph index) of each component of a composite glyph."""
        found = self._component_cache.get(gid)
        if found is None:
            found = self._component_cache[gid] = self._parse_components(glyph)
        return found

    @staticmethod
    def _parse_components(glyph: bytes) -> list[tuple[int, int]]:
        if len(glyph) < 10 or struct.unpack_from(">h", glyph, 0)[0] >= 0:
            return []
        found, pos = [], 10
        while True:
            flags, gid = struct.unpack_from(">HH", glyph, pos)
            found.append((pos + 2, gid))
            pos += 4 + (4 if flags & _ARG_WORDS else 2)
            pos += 2 if flags & _HAVE_SCALE else 4 if flags & _XY_SCALE else 8 if flags & _TWO_BY_TWO else 0
            if not flags & _MORE:
                return found

    def subset(self, text: str) -> bytes:
        """A TrueType font with the glyphs of the characters of *text* (and .notdef)."""
        cmap = self.cmap
        used = {cmap[ord(c)]: None for c in set(text) if ord(c) in cmap}
        glyphs = {0: self._glyph(0)}
        todo = list(used)
        while todo:  # components of composite glyphs, recursively
            gid = todo.pop()
            glyphs[gid] = glyph = self._glyph(gid)
            for _, component in self._components(gid, glyph):
                if component not in used and component < self.num_glyphs:
                    used[component] = None
                    todo.append(component)
        order = [0] + sorted(g for g in used if g != 0)
        new_id = {old: new for new, old in enumerate(order)}

        glyf, loca = bytearray(), [0]
        for old in order:
            glyph = glyphs[old]
            parts = self._components(old, glyph)
            if parts:
                glyph = bytearray(glyph)
                for pos, component in parts:
                    struct.pack_into(">H", glyph, pos, new_id.get(component, 0))
            glyf += glyph
            glyf += b"\0" * (-len(glyf) % 4)
            loca.append(len(glyf))
        count = len(order)
        hmtx = b"".join(struct.pack(">Hh", self._advance[g], self._lsb[g]) for g in order)

        mapping = sorted((ord(c), new_id[self.cmap[ord(c)]]) for c in set(text) if ord(c) in self.cmap)
        head = bytearray(self.table("head"))
        struct.pack_into(">I", head, 8, 0)  # checkSumAdjustment, set below
        struct.pack_into(">h", head, 50, 1)  # long loca
        hhea = bytearray(self.table("hhea"))
        struct.pack_into(">H", hhea, 34, count)
        maxp = bytearray(self.table("maxp"))
        struct.pack_into(">H", maxp, 4, count)
        post = bytearray(self.table("post")[:32] if "post" in self._tables else bytes(32))
        struct.pack_into(">I", post, 0, 0x00030000)
        tables = {
            "cmap": _cmap_table(mapping), "glyf": bytes(glyf), "head": bytes(head), "hhea": bytes(hhea),
            "hmtx": hmtx, "loca": struct.pack(f">{len(loca)}I", *loca), "maxp": bytes(maxp), "post": bytes(post),
        }
        for tag in _COPIED_TABLES:
            if tag in self._tables:
                tables[tag] = self.table(tag)
        return _sfnt(tables)


def _cmap_table(mapping: list[tuple[int, int]]) -> bytes:
    """cmap with a (3,1) format 4 subtable and, for characters beyond the BMP, a (3,10) format 12 one."""
    bmp = [(c, g) for c, g in mapping if c < 0xFFFF]
    segments: list[list[int]] = []  # [start, end, first gid]
    for code, gid in bmp:
        if segments and code == segments[-1][1] + 1 and gid == segments[-1][2] + code - segments[-1][0]:
            segments[-1][1] = code
        else:
            segments.append([code, code, gid])
    segments.append([0xFFFF, 0xFFFF, 0])
    n = len(segments)
    search = 2 ** (n.bit_length() - 1)
    fmt4 = struct.pack(">HHHHHHH", 4, 16 + 8 * n, 0, 2 * n, 2 * search, search.bit_length() - 1, 2 * n - 2 * search)
    fmt4 += struct.pack(f">{n}H", *(s[1] for s in segments)) + b"\0\0"
    fmt4 += struct.pack(f">{n}H", *(s[0] for s in segments))
    fmt4 += struct.pack(f">{n}H", *(((s[2] - s[0]) & 0xFFFF) if s[0] != 0xFFFF else 1 for s in segments))
    fmt4 += bytes(2 * n)  # idRangeOffset: all 0
    subtables = [((3, 1), fmt4)]
    if any(c > 0xFFFF for c, _ in mapping):
        groups = [struct.pack(">III", c, c, g) for c, g in mapping]
        subtables.append(((3, 10), struct.pack(">HHIII", 12, 0, 16 + 12 * len(groups), 0, len(groups))
                          + b"".join(groups)))
    header = struct.pack(">HH", 0, len(subtables))
    offset = 4 + 8 * len(subtables)
    records, body = b"", b""
    for (platform, encoding), data in subtables:
        records += struct.pack(">HHI", platform, encoding, offset + len(body))
        body += data
    return header + records + body


def _sfnt(tables: dict[str, bytes]) -> bytes:
    tags = sorted(tables)
    n = len(tags)
    search = 2 ** (n.bit_length() - 1)
    out = bytearray(struct.pack(">IHHHH", 0x00010000, n, 16 * search, search.bit_length() - 1, 16 * (n - search)))
    offset = 12 + 16 * n
    body = bytearray()
    for tag in tags:
        data = tables[tag]
        out += struct.pack(">4sIII", tag.encode("latin-1"), _checksum(data), offset + len(body), len(data))
        body += data + b"\0" * (-len(data) % 4)
    font = out + body
    head_at = 12 + 16 * n + sum(len(tables[t]) + (-len(tables[t]) % 4) for t in tags[:tags.index("head")])
    struct.pack_into(">I", font, head_at + 8, (0xB1B0AFBA - _checksum(bytes(font))) & 0xFFFFFFFF)
    return bytes(font)


@lru_cache(maxsize=4)
def font_program(path: str, index: int = 0) -> FontProgram:
    """The parsed font at *path* (face *index* of a collection), once per process."""
    return FontProgram(path, index)
