"""LA-branded Word letterheads: docxtpl under our Jinja2 environment, and a template lint.

Values are escaped for Word XML by the environment (autoescape), so ``&``, ``<``, quotes and
``{{ }}`` in spreadsheet text print literally; line breaks in feedback become line breaks.
Placeholders that are not ours are errors (StrictUndefined), never blanks.
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import io
import re
import struct
import zipfile
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from docx.opc.oxml import serialize_part_xml
from docx.oxml.ns import nsmap as docx_nsmap
from docx.oxml.parser import parse_xml as docx_parse_xml
from docx.shared import Mm
from docxtpl import DocxTemplate, InlineImage, Listing
from jinja2 import TemplateError, UndefinedError
from jinja2.exceptions import SecurityError
from lxml import etree  # type: ignore[import-untyped]  # no stubs installed

from hhp_letters.campaign import Authority
from hhp_letters.errors import InternalError, RenderError
from hhp_letters.model import LetterJob
from hhp_letters.problems import Origin, Problem, error, warning
from hhp_letters.render.templating import environment, unsafe_constructs

PLACEHOLDERS = {
    "first_name": "the participant's first name",
    "last_name": "the participant's last name",
    "name_line": "first and last name, for the address",
    "address": "the address lines, POST TOWN and postcode, one per line",
    "address_1": "address line 1", "address_2": "address line 2",
    "address_3": "address line 3", "town": "POST TOWN", "postcode": "postcode",
    "feedback_1": "the manager's first line", "feedback_2": "the manager's second line",
    "signatory": "signatory.name and signatory.title", "signature": "the signature image",
    "date": "the letter date", "authority": "the council's name", "area": "the area",
    "team": "the participant's team", "manager_first_name": "the team manager's first name",
    "reference": "the letter's reference (also in the manifest; not identifying)",
    "legal_first_name": "the first name as on the list (first_name greets by the known-as name)",
}
# A .docx is a zip: refuse parts that would inflate past these before reading them.
MAX_DOCX_BYTES = 64 << 20
MAX_DOCX_RATIO = 200
FIXED_TIME = (2000, 1, 1, 0, 0, 0)
_SMART = "\u2018\u2019\u201c\u201d"
_TAG = re.compile(r"\{[{%#](.*?)[}%#]\}", re.DOTALL)
_PARAGRAPH = re.compile(r"<w:p[ >].*?</w:p>", re.DOTALL)
_TEXT = re.compile(r"<w:t(?: [^>]*)?>([^<]*)</w:t>")
_XML_PARTS = re.compile(r"word/(document|header\d*|footer\d*)\.xml")


def _xml_parts(path: Path) -> dict[str, str]:
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name).decode("utf-8") for name in zf.namelist()
                if _XML_PARTS.fullmatch(name)}


def docx_too_large(path: Path) -> str | None:
    """The part of a .docx that would inflate too far (a damaged or hostile file), if any."""
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        return None  # not a zip at all: the lint says so
    with zf:
        total = 0
        for info in zf.infolist():
            total += info.file_size
            ratio = info.file_size / max(1, info.compress_size)
            if info.file_size > MAX_DOCX_BYTES or (info.file_size > 4 << 20
                                                   and ratio > MAX_DOCX_RATIO):
                return info.filename
        return None if total <= 4 * MAX_DOCX_BYTES else "(all parts together)"


def _jinja_source(template: DocxTemplate) -> str:
    """The template's body, headers and footers as docxtpl hands them to Jinja."""
    template.init_docx()
    xml: str = template.patch_xml(template.get_xml())
    for uri in (template.HEADER_URI, template.FOOTER_URI):
        for _, part in template.get_headers_footers(uri):
            xml += template.patch_xml(template.get_part_xml(part))
    return xml


def lint_template(path: Path, shown: str, origin: Origin,
                  sample: Callable[[DocxTemplate], bytes] | None = None) -> list[Problem]:
    """Problems a Word template would cause: unknown or misspelt placeholders, placeholders
    Word split across runs, smart quotes inside tags, Jinja syntax errors, what could bypass
    escaping or the sandbox. ``sample`` fills it for one synthetic letter, so anything the
    sandbox forbids is found now, not when the letters are made."""
    problems: list[Problem] = []
    try:
        big = docx_too_large(path)
        if big is not None:
            return [error("template_format", origin, f"{shown}: its part {big} would unpack "
                          "far larger than a letterhead can need (a damaged or hostile file)",
                          "open it in Word and save it again as .docx")]
        parts = _xml_parts(path)
        template = DocxTemplate(str(path))
        env = environment()
        names = template.get_undeclared_template_variables(jinja_env=env)
        unsafe = unsafe_constructs(_jinja_source(template), env)
    except TemplateError as exc:
        return [error("template_syntax", origin, f"{shown}: template error: {exc}",
                      "fix the {{ }} / {% %} tags in Word")]
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, UnicodeDecodeError) as exc:
        # what python-docx and zipfile raise for a file that is not a sound .docx
        return [error("template_format", origin, f"{shown} is not a readable .docx ({exc})",
                      "save the letterhead from Word as .docx")]
    for what in unsafe:
        problems.append(error("template_unsafe", origin, f"{shown}: the template uses {what}",
                              "remove it in Word: a letterhead holds {{ placeholders }} only"))
    for name in sorted(names - set(PLACEHOLDERS)):
        close = difflib.get_close_matches(name, PLACEHOLDERS, n=1)
        hint = f"did you mean {{{{ {close[0]} }}}}?" if close else (
            "use only: " + ", ".join(sorted(PLACEHOLDERS)))
        problems.append(error("template_unknown_placeholder", origin,
                              f"{shown}: {{{{ {name} }}}} is not a placeholder hhp-letters "
                              "fills, so the letter would be wrong", hint))
    for part, xml in sorted(parts.items()):
        for para in _PARAGRAPH.findall(xml):
            runs = _TEXT.findall(para)
            text = "".join(runs)
            for match in _TAG.finditer(text):
                tag = match.group(0)
                if any(q in tag for q in _SMART):
                    problems.append(error(
                        "template_smart_quotes", origin,
                        f"{shown} ({part}): {tag} has curly quotes, which Jinja2 cannot read",
                        "retype the quotes inside the tag as straight quotes (turn off "
                        "AutoCorrect 'straight quotes with smart quotes')"))
                elif not any(tag in r for r in runs):
                    problems.append(warning(
                        "template_split_placeholder", origin,
                        f"{shown} ({part}): Word split {tag} across formatting runs; it is "
                        "joined before rendering, but takes the first run's formatting",
                        "select the placeholder, clear its formatting and type it again in "
                        "one go"))
            for broken in re.findall(r"\{\s+\{[^}]*\}\s*\}|\{\{[^}]*\}\s+\}", text):
                problems.append(error(
                    "template_split_placeholder", origin,
                    f"{shown} ({part}): {broken!r} has a space between its braces and would "
                    "print as typed", "write placeholders as {{ name }} with no space "
                    "between the two braces"))
    if sample is not None and not any(p.is_error for p in problems):
        try:
            sample(template)
        except RenderError as exc:
            problems.append(error("template_unsafe" if "not allowed" in exc.message
                                  else "template_error", origin, exc.message, exc.hint or ""))
    return problems


# Placeholders that are the same on every letter of an authority: a template whose headers
# and footers use only these can be filled for a whole bundle in one document.
_SAME_FOR_ALL = frozenset({"date", "authority", "area", "signatory", "signature"})
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_BATCH_MARK = "hhpBatchBreak"
# pPr children that come before pageBreakBefore (ECMA-376 CT_PPrBase order)
_BEFORE_BREAK = frozenset({f"{_W}pStyle", f"{_W}keepNext", f"{_W}keepLines"})
# Fields whose result depends on the page's place in the document: in a batch, letter k would
# show page k.
_PAGE_FIELDS = re.compile(r"\b(PAGE|NUMPAGES|SECTIONPAGES)\b")


class _BatchTemplate(DocxTemplate):  # type: ignore[misc]
    """The template's body repeated once per letter, each letter starting on a new page
    (``pageBreakBefore`` on its first paragraph, from the second letter on)."""

    def get_xml(self) -> str:
        body = copy.deepcopy(self.docx._element.body)  # the template's own tree stays as is
        first = body[0] if len(body) else None
        if first is None or first.tag != f"{_W}p":
            raise InternalError("a batch template whose body does not start with a paragraph "
                                "(checked by batchable)")
        ppr = first.find(f"{_W}pPr")
        if ppr is None:
            ppr = etree.Element(f"{_W}pPr")
            first.insert(0, ppr)
        if ppr.find(f"{_W}pageBreakBefore") is None:
            at = sum(1 for child in ppr if child.tag in _BEFORE_BREAK)
            ppr.insert(at, etree.Element(f"{_W}{_BATCH_MARK}"))
        xml: str = self.xml_to_string(body)
        mark = xml.find(f"<w:{_BATCH_MARK}/>")
        if mark >= 0:
            xml = (xml[:mark] + "{% if not loop.first %}<w:pageBreakBefore/>{% endif %}"
                   + xml[mark + len(f"<w:{_BATCH_MARK}/>"):])
        opened = xml.index(">") + 1  # the end of <w:body ...>
        closing = xml.rfind("<w:sectPr")
        if closing < 0:
            closing = xml.rfind("</w:body>")
        names = ", ".join(f"{n}=letter.{n}" for n in sorted(PLACEHOLDERS))
        return (xml[:opened] + "{% for letter in letters %}{% with " + names + " %}"
                + xml[opened:closing] + "{% endwith %}{% endfor %}" + xml[closing:])


class WordLetter:
    """One authority's Word template for one run."""

    def __init__(self, path: Path, authority: Authority, signature: Path, date_text: str,
                 shown: str) -> None:
        self.path = path
        self.source = path.read_bytes()
        self.authority = authority
        self.signature = signature
        self.date_text = date_text
        self.shown = shown
        self.env = environment(autoescape=True)
        self.batchable = self._batchable()
        # prepared on first use: a _Prepared, or False when docxtpl must fill every letter
        self._single: _Prepared | bool | None = None
        self._batch: _Prepared | bool | None = None

    def _batchable(self) -> bool:
        """Can a bundle be one document? The body must start with a paragraph; the template
        has one section, no first-page header and no page-number fields (letter k of a batch
        is page k); headers and footers use only placeholders the same on every letter."""
        parts = _xml_parts(self.path)
        try:
            root = etree.fromstring(parts.get("word/document.xml", "").encode("utf-8"))
        except etree.XMLSyntaxError:
            return False
        body = root.find(f"{_W}body")
        if body is None or not len(body) or body[0].tag != f"{_W}p":
            return False
        if root.find(f".//{_W}titlePg") is not None:
            return False  # a first-page header: letter 2 of a batch would show page 2's
        if len(root.findall(f".//{_W}sectPr")) > 1:
            return False  # sections of its own: a batch would repeat and mix them
        for name, xml in parts.items():
            if _PAGE_FIELDS.search(" ".join(re.findall(r'w:instr="([^"]*)"', xml)
                                            + re.findall(r"<w:instrText[^>]*>([^<]*)", xml))):
                return False
            if name != "word/document.xml":
                text = "".join(_TEXT.findall(xml))
                used = {m.group(1).split(".")[0].split("|")[0].strip()
                        for m in _TAG.finditer(text)}
                if used - _SAME_FOR_ALL:
                    return False
        return True

    def context(self, job: LetterJob, signature: Any) -> dict[str, Any]:
        """The placeholders' values; ``signature`` is what ``{{ signature }}`` renders as."""
        lines = job.address_lines
        street = lines[:-2]
        a = self.authority
        return {
            "first_name": job.first_name, "last_name": job.last_name,
            "name_line": job.name_line, "address": Listing("\n".join(lines)),
            "address_1": street[0] if street else "",
            "address_2": street[1] if len(street) > 1 else "",
            "address_3": street[2] if len(street) > 2 else "",
            "town": lines[-2], "postcode": lines[-1],
            "feedback_1": Listing(job.feedback[0]), "feedback_2": Listing(job.feedback[1]),
            "signatory": {"name": a.signatory.name, "title": a.signatory.title},
            "signature": signature,
            "date": self.date_text, "authority": a.name, "area": a.display_area,
            "team": job.team, "manager_first_name": job.manager_first_name,
            "reference": job.reference, "legal_first_name": job.legal_first_name or
            job.first_name,
        }

    def render(self, job: LetterJob) -> bytes:
        """The filled-in .docx, with fixed zip times so the same input gives the same bytes."""
        if self._single is None:
            self._single = _Prepared.make(self, DocxTemplate)
        return self._render(self._single, DocxTemplate, job.title,
                            lambda signature: self.context(job, signature))

    def render_batch(self, jobs: Sequence[LetterJob], title: str) -> bytes:
        """One .docx holding every letter of ``jobs``, each starting on a new page."""
        if self._batch is None:
            self._batch = _Prepared.make(self, _BatchTemplate)

        def context(signature: Any) -> dict[str, Any]:
            letters = [self.context(job, signature) for job in jobs]
            return {**letters[0], "letters": letters}

        return self._render(self._batch, _BatchTemplate, title, context)

    def _render(self, prepared: _Prepared | bool, kind: type[DocxTemplate], title: str,
                context: Callable[[Any], dict[str, Any]]) -> bytes:
        if isinstance(prepared, _Prepared):
            try:
                return self._guard(lambda: prepared.fill(context, title))
            except _SlowPath:
                pass  # the signature where the prepared letter has none: docxtpl itself
        template = kind(io.BytesIO(self.source))
        image = InlineImage(template, str(self.signature),
                            width=Mm(self.authority.signature_width))
        return self._guard(lambda: self._fill(template, context(image), title))

    def _fill(self, template: DocxTemplate, context: Mapping[str, Any], title: str) -> bytes:
        """docxtpl's own render (the prepared path's reference, and its fallback)."""
        template.render(context, jinja_env=self.env, autoescape=True)
        self._set_properties(template, title)
        buf = io.BytesIO()
        template.save(buf)
        with zipfile.ZipFile(buf) as zf:
            return _zip([_member(i.filename, zf.read(i)) for i in zf.infolist()])

    def _set_properties(self, template: DocxTemplate, title: str) -> None:
        props = template.docx.core_properties
        props.title, props.author = title, self.authority.name
        props.subject, props.keywords = "", "hhp-letters letters"

    def _guard(self, fill: Callable[[], bytes]) -> bytes:
        try:
            return fill()
        except UndefinedError as exc:
            raise RenderError(f"{self.shown}: {exc.message}",
                              hint="run `hhp-letters check` to list the template's "
                                   "placeholders") from exc
        except SecurityError as exc:
            raise RenderError(f"{self.shown}: not allowed in a template: {exc}",
                              hint="remove it in Word: a letterhead holds {{ placeholders }} "
                                   "only") from exc
        except TemplateError as exc:
            raise RenderError(f"{self.shown}: template error: {exc}") from exc


# --------------------------------------------------------------------------------------------
# Filling one template many times: docxtpl's steps, with what does not change done once.
#
# docxtpl parses the whole package, compiles each part's Jinja source, renders, re-serialises
# every part (a python-docx template carries ~800 kB of styles) and zips it all again, for
# every letter: ~270 ms. Only the body, headers, footers, footnotes and the core properties
# differ between letters, so a template is rendered once by docxtpl itself (the "probe", with
# a fixed synthetic letter) to learn the package around them; each letter then renders those
# parts with the Jinja templates compiled once and reuses every other member's compressed
# bytes (~3 ms). The steps per part are docxtpl's own (patch_xml, the render's line and brace
# fixes, resolve_listing, fix_tables, the docPr renumbering), so the parts read the same.

_DOCUMENT = "word/document.xml"
_CORE = "docProps/core.xml"
_FOOTNOTES_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.footnotes+xml"
_PROBE_TITLE_TEXT = "hhp-letters probe"
_PROBE_TITLE = b"<dc:title>hhp-letters probe</dc:title>"
_W_BODY = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}body"
_DOS_DATE = ((FIXED_TIME[0] - 1980) << 9) | (FIXED_TIME[1] << 5) | FIXED_TIME[2]


class _SlowPath(Exception):
    """The letter puts the signature in a part where the probe letter did not."""


@dataclass(frozen=True)
class _Drawing:
    """The signature's drawing XML as the probe's InlineImage made it for this part."""

    xml: str

    def __html__(self) -> str:
        return self.xml


class _NoSignature:
    """The signature in a part the probe did not put it in: fill with docxtpl instead."""

    def __html__(self) -> str:
        raise _SlowPath

    def __str__(self) -> str:
        raise _SlowPath


class _RecordingImage(InlineImage):  # type: ignore[misc]
    """docxtpl's InlineImage, remembering the drawing XML it made for each part."""

    def __init__(self, template: DocxTemplate, path: str, width: Any,
                 record: dict[str, str]) -> None:
        super().__init__(template, path, width=width)
        self.record = record

    def _insert_image(self) -> str:
        xml: str = super()._insert_image()
        self.record[str(self.tpl.current_rendering_part.partname)] = xml
        return xml


@dataclass(frozen=True)
class _Member:
    """A zip member, compressed once."""

    name: str
    deflated: bytes
    crc: int
    size: int


def _member(name: str, data: bytes) -> _Member:
    packer = zlib.compressobj(6, zlib.DEFLATED, -15)
    return _Member(name, packer.compress(data) + packer.flush(), zlib.crc32(data), len(data))


def _zip(members: Sequence[_Member]) -> bytes:
    """A deflated zip of ``members`` in order, every time stamp FIXED_TIME: the same members
    give the same bytes."""
    out = io.BytesIO()
    central = []
    for m in members:
        name = m.name.encode("utf-8")
        flags = 0x800 if not m.name.isascii() else 0
        central.append(struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, flags, 8, 0,
                                   _DOS_DATE, m.crc, len(m.deflated), m.size, len(name), 0, 0,
                                   0, 0, 0, out.tell()) + name)
        out.write(struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, flags, 8, 0, _DOS_DATE, m.crc,
                              len(m.deflated), m.size, len(name), 0) + name + m.deflated)
    start = out.tell()
    directory = b"".join(central)
    out.write(directory + struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(members),
                                      len(members), len(directory), start, 0))
    return out.getvalue()


@dataclass(frozen=True)
class _Part:
    name: str  # zip member
    partname: str  # as python-docx names it ("/word/header1.xml")
    encoding: str
    template: Any  # the compiled Jinja template
    reparse: bool  # headers and footers are parsed and re-serialised; footnotes are not


class _Prepared:
    """One template, probed once: its parts' compiled templates and the package around them."""

    def __init__(self, helper: DocxTemplate, body: Any, parts: tuple[_Part, ...],
                 members: tuple[_Member, ...], document: bytes, core: bytes,
                 signatures: Mapping[str, str]) -> None:
        self.helper = helper  # docxtpl's stateless steps (fix_tables, resolve_listing)
        self.body = body
        self.parts = parts
        self.members = members
        self.document = document
        self.core = core
        self.signatures = signatures

    @classmethod
    def make(cls, letter: WordLetter, kind: type[DocxTemplate]) -> _Prepared | bool:
        """Probe ``letter``'s template; False when it needs docxtpl for every letter."""
        probe = kind(io.BytesIO(letter.source))
        try:
            probe.render_init()
            props = probe.docx.core_properties
            if any("{" in (getattr(props, k) or "") for k in ("comments", "identifier",
                                                               "language")):
                return False  # properties docxtpl renders per letter and we would not
            env = letter.env
            body = env.from_string(_for_jinja(probe.patch_xml(probe.get_xml())))
            parts: list[_Part] = []
            for uri in (probe.HEADER_URI, probe.FOOTER_URI):
                for _key, part in probe.get_headers_footers(uri):
                    xml = probe.get_part_xml(part)
                    parts.append(_Part(str(part.partname).lstrip("/"), str(part.partname),
                                       probe.get_headers_footers_encoding(xml),
                                       env.from_string(_for_jinja(probe.patch_xml(xml))), True))
            for part in probe.docx.part.package.parts:
                if part.content_type == _FOOTNOTES_TYPE:
                    blob = part.blob.decode("utf-8") if isinstance(part.blob, bytes) \
                        else part.blob
                    parts.append(_Part(str(part.partname).lstrip("/"), str(part.partname),
                                       "utf-8", env.from_string(_for_jinja(
                                           probe.patch_xml(blob))), False))
            record: dict[str, str] = {}
            image = _RecordingImage(probe, str(letter.signature),
                                    Mm(letter.authority.signature_width), record)
            job = LetterJob("PROBE-1", letter.authority, "Alex", "Example",
                            ("1 Example Street", "EXAMPLETOWN", "AB1 2CD"),
                            ("Your work is noticed.", "Thank you."), "",
                            Origin("(probe letter)"), team="Example team",
                            manager_first_name="Sam", reference="HHP-PROB-E001")
            context = letter.context(job, image)
            if kind is _BatchTemplate:
                context = {**context, "letters": [context]}
            probe.render(context, jinja_env=env, autoescape=True)
            letter._set_properties(probe, _PROBE_TITLE_TEXT)
            buf = io.BytesIO()
            probe.save(buf)
        except (TemplateError, RenderError, ValueError, KeyError, _SlowPath):
            return False  # every letter goes through docxtpl, which reports the fault
        with zipfile.ZipFile(buf) as zf:
            raw = {i.filename: zf.read(i) for i in zf.infolist()}
        if _DOCUMENT not in raw or _PROBE_TITLE not in raw.get(_CORE, b""):
            return False
        members = tuple(_member(name, data) for name, data in raw.items())
        return cls(kind(io.BytesIO(letter.source)), body, tuple(parts), members,
                   raw[_DOCUMENT], raw[_CORE], record)

    def fill(self, context: Callable[[Any], dict[str, Any]], title: str) -> bytes:
        def render(template: Any, partname: str) -> str:
            xml = self.signatures.get(partname)
            values = context(_Drawing(xml) if xml is not None else _NoSignature())
            listed: str = self.helper.resolve_listing(_from_jinja(template.render(values)))
            return listed

        new: dict[str, bytes] = {}
        tree = self.helper.fix_tables(render(self.body, "/" + _DOCUMENT))
        for n, element in enumerate(tree.xpath("//wp:docPr", namespaces=docx_nsmap),
                                    start=1001):
            element.attrib["id"] = str(n)  # docxtpl's fix_docpr_ids
        root = docx_parse_xml(self.document)
        root.replace(root.find(_W_BODY), tree)
        new[_DOCUMENT] = serialize_part_xml(root)
        for part in self.parts:
            xml = render(part.template, part.partname).encode(part.encoding)
            new[part.name] = serialize_part_xml(docx_parse_xml(xml)) if part.reparse else xml
        new[_CORE] = self.core.replace(_PROBE_TITLE, b"<dc:title>%s</dc:title>" % escape(
            title).encode("utf-8"), 1)
        return _zip([_member(m.name, new[m.name]) if m.name in new else m
                     for m in self.members])


def _for_jinja(xml: str) -> str:
    return re.sub(r"<w:p([ >])", r"\n<w:p\1", xml)  # as docxtpl's render_xml_part


def _from_jinja(xml: str) -> str:
    xml = re.sub(r"\n<w:p([ >])", r"<w:p\1", xml)
    return (xml.replace("{_{", "{{").replace("}_}", "}}").replace("{_%", "{%")
            .replace("%_}", "%}"))


_CREATION = re.compile(rb"/CreationDate\s*\(D:(\d{14})")
_MOD = re.compile(rb"/ModDate\s*\(D:(\d{14})")
_CHECKSUM = re.compile(rb"/DocChecksum\s*/([0-9A-Fa-f]+)")
_ID = re.compile(rb"/ID\s*\[\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*\]")


def make_deterministic(pdf: bytes, day: str) -> bytes:
    """LibreOffice stamps the clock into /CreationDate and derives /ID and /DocChecksum from
    it; replace them in place with same-length values (so the cross-reference table stays
    right): the date with ``day`` (YYYYMMDD), /DocChecksum with zeros, the /ID with a digest
    of the rest of the file."""
    stamp = (day + "000000").encode("ascii")[:14]

    def fix_date(match: re.Match[bytes]) -> bytes:
        return match.group(0)[:-14] + stamp

    out = _MOD.sub(fix_date, _CREATION.sub(fix_date, pdf))
    out = _CHECKSUM.sub(lambda m: m.group(0)[:-len(m.group(1))] + b"0" * len(m.group(1)), out)
    found = _ID.search(out)
    if found is None:
        return out
    (a0, a1), (b0, b1) = found.span(1), found.span(2)
    zeroed = out[:a0] + b"0" * (a1 - a0) + out[a1:b0] + b"0" * (b1 - b0) + out[b1:]
    digest = hashlib.md5(zeroed, usedforsecurity=False).hexdigest().upper().encode("ascii")
    ident = (digest * (1 + (a1 - a0) // len(digest)))[:a1 - a0]
    ident2 = (digest * (1 + (b1 - b0) // len(digest)))[:b1 - b0]
    return out[:a0] + ident + out[a1:b0] + ident2 + out[b1:]
