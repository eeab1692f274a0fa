"""Checks for the SVG charts and the HTML report (rsa/plot.c), stdlib only: SVG
well-formedness and element counts (xml.etree), HTML tag balance and self-containment
(html.parser), and a PNG decoder (zlib + struct, filter types 0-4) that tells whether a
browser screenshot shows something."""
import html.parser
import re
import struct
import xml.etree.ElementTree as ET
import zlib

SVG_NS = "{http://www.w3.org/2000/svg}"


def parse_svg(text):
    """Parse a standalone SVG document; raises ValueError when it is not a well-formed SVG."""
    try:
        root = ET.fromstring(text.encode("utf-8"))
    except ET.ParseError as e:
        raise ValueError(f"SVG is not well-formed XML: {e}") from None
    if root.tag != SVG_NS + "svg":
        raise ValueError(f"root element is {root.tag}, not an svg element in the SVG namespace")
    for dim in ("width", "height"):
        v = root.get(dim, "")
        if not re.fullmatch(r"[0-9]+(\.[0-9]+)?", v) or float(v) <= 0:
            raise ValueError(f"svg {dim}={v!r} is not a positive number")
    return root


def by_class(root, cls, tag=None):
    """Elements whose class attribute holds the class word cls (optionally with a given tag)."""
    out = []
    for el in root.iter():
        if tag is not None and el.tag != SVG_NS + tag:
            continue
        if cls in (el.get("class") or "").split():
            out.append(el)
    return out


def bad_numbers(text):
    """Words that mean a non-finite number leaked into the output (nan, inf)."""
    return sorted(set(m.group(0) for m in re.finditer(r"(?i)(?<![a-z0-9_])-?(nan|inf|infinity)(?![a-z0-9_])", text)))


VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class HtmlCheck(html.parser.HTMLParser):
    """Tag balance (every non-void element closed in order) and self-containment: no scripts,
    no external resources (src/href URLs, <link>, CSS url() / @import)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.errors, self.tags, self.text = [], [], {}, []
        self.title, self._in_title, self._in_style, self.svg_depth = "", False, False, 0

    def handle_starttag(self, tag, attrs):
        self.tags[tag] = self.tags.get(tag, 0) + 1
        if tag in ("script", "iframe", "object", "embed", "link", "img"):
            self.errors.append(f"<{tag}> is not allowed in a self-contained report")
        for k, v in attrs:
            if k in ("src", "href", "xlink:href", "action", "data") and v:
                self.errors.append(f"<{tag} {k}={v!r}>: external or linked resource")
            if k.startswith("on"):
                self.errors.append(f"<{tag} {k}>: event handler (script)")
            if k == "style" and v and ("url(" in v or "@import" in v):
                self.errors.append(f"<{tag} style=...>: url() in inline style")
        if tag == "title" and not self.stack.count("svg"):
            self._in_title = True
        if tag == "style":
            self._in_style = True
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        # <x/> : inside SVG a complete element; in HTML only void elements may be written so
        saved = list(self.stack)
        self.handle_starttag(tag, attrs)
        self.stack = saved
        if tag not in VOID and "svg" not in self.stack:
            self.errors.append(f"<{tag}/> self-closed outside SVG")

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> does not close the open <{self.stack[-1] if self.stack else None}>")
            if tag in self.stack:
                while self.stack and self.stack.pop() != tag:
                    pass
            return
        self.stack.pop()
        if tag == "title":
            self._in_title = False
        if tag == "style":
            self._in_style = False

    def handle_data(self, data):
        if self._in_title:
            self.title += data
        if self._in_style and ("url(" in data or "@import" in data):
            self.errors.append("external resource in <style>")
        self.text.append(data)

    def finish(self):
        self.close()
        if self.stack:
            self.errors.append(f"elements left open: {self.stack}")
        return self.errors


def check_html(text):
    """Parse HTML; returns (HtmlCheck, [problems]) and checks the inline SVGs as XML too."""
    problems = []
    if not text.lstrip().lower().startswith("<!doctype html>"):
        problems.append("no <!DOCTYPE html>")
    hc = HtmlCheck()
    hc.feed(text)
    problems += hc.finish()
    if re.search(r"(?i)https?://(?!www\.w3\.org/2000/svg\")", text):
        problems.append("a URL other than the SVG namespace")
    svgs = re.findall(r"<svg\b.*?</svg>", text, flags=re.S)
    roots = []
    for i, s in enumerate(svgs):
        try:
            roots.append(parse_svg(s))
        except ValueError as e:
            problems.append(f"inline svg {i}: {e}")
    hc.svg_roots = roots
    return hc, problems


# ===== PNG =====

def _paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def decode_png(data):
    """Decode an 8-bit non-interlaced greyscale/RGB(A) PNG; returns (width, height, channels, rows)
    with rows a list of bytes objects (unfiltered scanlines)."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat, ihdr = 8, [], None
    while pos + 8 <= len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        ctype = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if ctype == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif ctype == b"IDAT":
            idat.append(body)
        elif ctype == b"IEND":
            break
    if ihdr is None:
        raise ValueError("PNG without IHDR")
    w, h, depth, colour, _comp, _filt, interlace = ihdr
    channels = {0: 1, 2: 3, 4: 2, 6: 4}.get(colour)
    if depth != 8 or channels is None or interlace != 0:
        raise ValueError(f"unsupported PNG: depth {depth}, colour type {colour}, interlace {interlace}")
    raw = zlib.decompress(b"".join(idat))
    stride = w * channels
    if len(raw) < h * (stride + 1):
        raise ValueError("PNG data too short")
    rows, prev = [], bytes(stride)
    bpp = channels
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        if f == 0:
            pass
        elif f == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 0xFF
        elif f == 2:
            line = bytearray((a + b) & 0xFF for a, b in zip(line, prev))
        elif f == 3:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 0xFF
        elif f == 4:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                upleft = prev[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + _paeth(left, prev[i], upleft)) & 0xFF
        else:
            raise ValueError(f"bad PNG filter type {f} in row {y}")
        prev = bytes(line)
        rows.append(prev)
    return w, h, channels, rows


def png_stats(data, step=2):
    """(distinct colours, fraction of non-white pixels) over every step-th pixel of every step-th row."""
    w, h, ch, rows = decode_png(data)
    colours, seen, nonwhite = set(), 0, 0
    for y in range(0, h, step):
        row = rows[y]
        for x in range(0, w, step):
            px = row[x * ch:x * ch + min(ch, 3)] if ch >= 3 else bytes([row[x * ch]]) * 3
            colours.add(px)
            seen += 1
            if px[0] < 245 or px[1] < 245 or px[2] < 245:
                nonwhite += 1
    return len(colours), nonwhite / max(seen, 1)


def encode_png(w, h, rgb_rows, filters=(0,)):
    """A tiny RGB PNG encoder for the decoder's self-test: rows are bytes of 3*w; row y is
    filtered with filters[y % len(filters)] (0 None, 1 Sub, 2 Up, 3 Average, 4 Paeth)."""
    def chunk(t, b):
        return struct.pack(">I", len(b)) + t + b + struct.pack(">I", zlib.crc32(t + b) & 0xFFFFFFFF)
    out, prev, bpp = [], bytes(3 * w), 3
    for y, row in enumerate(rgb_rows):
        f = filters[y % len(filters)]
        line = bytearray(row)
        for i in range(len(row)):
            left = row[i - bpp] if i >= bpp else 0
            upleft = prev[i - bpp] if i >= bpp else 0
            pred = (0, left, prev[i], (left + prev[i]) >> 1, _paeth(left, prev[i], upleft))[f]
            line[i] = (row[i] - pred) & 0xFF
        out.append(bytes([f]) + bytes(line))
        prev = row
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"".join(out))) + chunk(b"IEND", b""))
