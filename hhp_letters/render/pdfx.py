"""PDF/X identification: output intent, Info keys and XMP metadata for PDF/X-1a:2003 and X-4.

Every function returns raw PDF object bodies (the convention of :func:`pdf.stream`); the writer
numbers and places them. What a file needs, by standard:

* **Header.** X-1a:2003 (ISO 15930-4): ``%PDF-1.4`` at most. X-4 (ISO 15930-7): up to 1.6; we
  write ``%PDF-1.6`` so that preflight tools reading "based on PDF 1.6" as "header must say
  1.6" accept it too. Our writer uses no PDF 1.5+ syntax (no object or xref streams) either way.
* **Info.** ``/GTS_PDFXVersion`` is ``PDF/X-1:2003`` plus ``/GTS_PDFXConformance``
  ``PDF/X-1a:2003``, or ``PDF/X-4`` alone (X-4 has no conformance key). ``/Trapped`` must be
  ``/True`` or ``/False``; :class:`pdf.DocInfo` already writes ``/False``. Title, CreationDate
  and ModDate must be present.
* **OutputIntent** ``/S /GTS_PDFX``: required by both. X-1a may leave out the ICC profile
  (``/DestOutputProfile``) when the identifier is a registered characterisation; X-4 must embed
  it. See :func:`profile_for_intent` for when we embed.
* **XMP metadata.** Required by X-4 (``pdfxid:GTS_PDFXVersion``, ``pdf:Trapped``, dates equal to
  Info's, ``xmpMM:DocumentID``/``VersionID``/``RenditionClass``); optional for X-1a, written anyway.
"""

from __future__ import annotations

import hashlib
import re
import struct
import uuid
import zlib
from dataclasses import dataclass
from enum import Enum
from types import MappingProxyType
from xml.sax.saxutils import escape

ICC_REGISTRY = "http://www.color.org"
# uuid5 namespace for xmpMM IDs: fixed, so the same inputs always give the same IDs.
_XMP_NAMESPACE = uuid.UUID("6f7c2b1e-3a51-5d0e-9a43-8d2f1c0b7e64")
_BINARY_COMMENT = b"%\xe2\xe3\xcf\xd3\n"


class PdfxError(ValueError):
    """A PDF/X setting that cannot give a conforming file; the message says how to fix it."""


class PdfxStandard(Enum):
    X1A_2003 = "PDF/X-1a:2003"
    X4 = "PDF/X-4"

    @property
    def version_key(self) -> str:
        """The value of ``GTS_PDFXVersion`` (Info and XMP)."""
        return "PDF/X-1:2003" if self is PdfxStandard.X1A_2003 else "PDF/X-4"

    @property
    def conformance_key(self) -> str | None:
        """The value of ``GTS_PDFXConformance``; X-4 has none."""
        return "PDF/X-1a:2003" if self is PdfxStandard.X1A_2003 else None

    @property
    def pdf_version(self) -> str:
        return "1.4" if self is PdfxStandard.X1A_2003 else "1.6"

    @property
    def header(self) -> bytes:
        """The file header, with the binary comment line (same shape as ``pdf.HEADER``)."""
        return b"%PDF-" + self.pdf_version.encode("ascii") + b"\n" + _BINARY_COMMENT

    @property
    def requires_profile(self) -> bool:
        return self is PdfxStandard.X4

    @classmethod
    def parse(cls, text: str) -> PdfxStandard:
        key = re.sub(r"^(pdf)?x", "", re.sub(r"[^0-9a-z]", "", text.lower()))
        for standard, names in ((cls.X1A_2003, ("1a", "1a2003")), (cls.X4, ("4", "42010"))):
            if key in names:
                return standard
        raise PdfxError(f"unknown PDF/X standard {text!r}: use \"PDF/X-1a:2003\" or \"PDF/X-4\"")


@dataclass(frozen=True)
class OutputCondition:
    """A printing condition as the OutputIntent names it.

    ``identifier`` is the reference name in the ICC Characterization Data Registry when
    ``registry`` is set; a custom condition (``registry=""``) must ship its ICC profile.
    """

    identifier: str
    condition: str  # short human-readable name (/OutputCondition)
    info: str  # the printing condition in words (/Info)
    registry: str = ICC_REGISTRY

    @property
    def registered(self) -> bool:
        return bool(self.registry)


# Reference names of the ICC Characterization Data Registry; /Info paraphrases the registry's
# description (it is for people: no tool compares it). FOGRA51/52 are ISO 12647-2:2013 PC1/PC5.
# Confirm the condition with the print house. Keys are what `[print] output_condition` takes.
OUTPUT_CONDITIONS: MappingProxyType[str, OutputCondition] = MappingProxyType({
    "FOGRA39": OutputCondition(
        "FOGRA39", "Coated FOGRA39 (ISO 12647-2:2004)",
        "Offset printing according to ISO 12647-2:2004/Amd 1, OFCOM, paper type 1 or 2 "
        "(coated art, 115 g/m2), tone value increase curves A (CMY) and B (K)"),
    "FOGRA47": OutputCondition(
        "FOGRA47", "PSO Uncoated ISO12647 (FOGRA47)",
        "Offset printing according to ISO 12647-2:2004/Amd 1, OFCOM, paper type 4 "
        "(uncoated white), tone value increase curves C (CMY) and D (K)"),
    "FOGRA51": OutputCondition(
        "FOGRA51", "PSO Coated v3 (FOGRA51)",
        "Offset printing according to ISO 12647-2:2013 (PC1), OFCOM, printing substrate "
        "PS1 (premium coated), M1 measurement condition"),
    "FOGRA52": OutputCondition(
        "FOGRA52", "PSO Uncoated v3 (FOGRA52)",
        "Offset printing according to ISO 12647-2:2013 (PC5), OFCOM, printing substrate "
        "PS5 (wood-free uncoated), M1 measurement condition"),
    "CGATS21_CRPC6": OutputCondition(
        "CGATS21_CRPC6", "GRACoL 2013 (CGATS21-2 CRPC6)",
        "Characterized Reference Printing Condition 6 of ANSI CGATS.21-2 "
        "(GRACoL 2013, grade 1 coated), M1 measurement condition"),
    "CGATS TR 006": OutputCondition(
        "CGATS TR 006", "GRACoL 2006 Coated #1 (CGATS TR 006)",
        "Commercial offset lithography on grade 1 coated paper per ANSI CGATS TR 006, "
        "ISO 12647-2 paper type 1"),
})

# Names people write for the same conditions.
_ALIASES = MappingProxyType({
    "ISOCOATEDV2": "FOGRA39", "COATEDFOGRA39": "FOGRA39",
    "PSOUNCOATEDISO12647": "FOGRA47",
    "PSOCOATEDV3": "FOGRA51",
    "PSOUNCOATEDV3": "FOGRA52",
    "GRACOL": "CGATS21_CRPC6", "GRACOL2013": "CGATS21_CRPC6", "CRPC6": "CGATS21_CRPC6",
    "GRACOL2006": "CGATS TR 006", "TR006": "CGATS TR 006",
})


def output_condition(name: str) -> OutputCondition:
    """Look up a registered condition by reference name (case and spaces ignored) or alias."""
    key = re.sub(r"[^0-9A-Z]", "", name.upper())
    for known in OUTPUT_CONDITIONS:
        if re.sub(r"[^0-9A-Z]", "", known) == key:
            return OUTPUT_CONDITIONS[known]
    if key in _ALIASES:
        return OUTPUT_CONDITIONS[_ALIASES[key]]
    raise PdfxError(f"unknown output condition {name!r}: use one of "
                    f"{', '.join(OUTPUT_CONDITIONS)}, or give the print house's ICC profile "
                    f"with a custom condition")


@dataclass(frozen=True)
class IccInfo:
    """What an ICC profile's header and ``targ`` tag say about it."""

    version: tuple[int, int]
    device_class: str  # 'prtr' for an output (printer) profile
    colour_space: str  # 'CMYK', 'GRAY', 'RGB '
    pcs: str
    characterisation: str | None  # the registry reference name of the data it was built from

    @property
    def components(self) -> int:
        return {"GRAY": 1, "RGB ": 3, "CMYK": 4}.get(self.colour_space, 0)

    @classmethod
    def parse(cls, data: bytes) -> IccInfo:
        if len(data) < 132 or data[36:40] != b"acsp":
            raise PdfxError("not an ICC profile (no 'acsp' signature): give a .icc file")
        (size,) = struct.unpack(">I", data[:4])
        if size != len(data):
            raise PdfxError(f"ICC profile is truncated: header says {size} bytes, file has "
                            f"{len(data)}")
        (count,) = struct.unpack(">I", data[128:132])
        target: str | None = None
        for i in range(count):
            sig, off, length = struct.unpack(">4sII", data[132 + 12 * i:144 + 12 * i])
            if sig == b"targ" and data[off:off + 4] == b"text":
                text = data[off + 8:off + length].split(b"\0", 1)[0].decode("latin-1").strip()
                if text.startswith("ICCHDAT "):  # the ICC registry's marker for its data sets
                    target = text.removeprefix("ICCHDAT ").strip()
        return cls((data[8], data[9] >> 4), data[12:16].decode("latin-1"),
                   data[16:20].decode("latin-1"), data[20:24].decode("latin-1"), target)


def profile_for_intent(standard: PdfxStandard, condition: OutputCondition,
                       profile: bytes | None) -> bytes | None:
    """The ICC profile to embed as DestOutputProfile, or None to name the condition only.

    A profile is embedded whenever one is given: ISO 15930-4 lets X-1a omit it for a registered
    condition, but Acrobat and InDesign embed it and some house preflight profiles warn when it
    is missing; 120 KB per file buys that peace. Raises :class:`PdfxError` for a profile that
    cannot serve (not CMYK output, or built for another registered condition) and when X-4 or a
    custom condition has none.
    """
    if profile is None:
        if standard.requires_profile:
            raise PdfxError(f"{standard.value} needs the output condition's ICC profile embedded: "
                            f"set [print] icc_profile (the bundled HHP-FOGRA39.icc fits FOGRA39)")
        if not condition.registered:
            raise PdfxError(f"output condition {condition.identifier!r} is not in the ICC "
                            f"registry, so its ICC profile must be embedded: set [print] "
                            f"icc_profile")
        return None
    info = IccInfo.parse(profile)
    if info.device_class != "prtr" or info.colour_space != "CMYK":
        raise PdfxError(f"the ICC profile is a {info.device_class!r} profile for "
                        f"{info.colour_space.strip()!r}; PDF/X needs a CMYK output ('prtr') "
                        f"profile for the press")
    if (info.characterisation is not None and condition.registered
            and info.characterisation.upper() != condition.identifier.upper()):
        raise PdfxError(f"the ICC profile was built from {info.characterisation} data but the "
                        f"output condition is {condition.identifier}: use a profile for "
                        f"{condition.identifier}, or name {info.characterisation} as the "
                        f"output condition")
    return profile


def text_string(text: str) -> bytes:
    """A PDF text string: an escaped ASCII literal, else UTF-16BE with a byte-order mark."""
    if not text.isascii():
        return b"<FEFF" + text.encode("utf-16-be").hex().upper().encode("ascii") + b">"
    data = text.encode("ascii")
    for raw, esc in ((b"\\", b"\\\\"), (b"(", b"\\("), (b")", b"\\)"), (b"\r", b"\\r"),
                     (b"\n", b"\\n")):
        data = data.replace(raw, esc)
    return b"(" + data + b")"


def dest_output_profile(profile: bytes) -> bytes:
    """The ICC stream object body for ``/DestOutputProfile`` (Flate-compressed, ``/N``)."""
    n = IccInfo.parse(profile).components
    packed = zlib.compress(profile, 9)
    return (b"<< /Length %d /Filter /FlateDecode /N %d >>\nstream\n" % (len(packed), n)
            + packed + b"\nendstream")


def output_intent(condition: OutputCondition, profile_ref: int | None) -> bytes:
    """The ``/OutputIntents`` array entry (a dictionary object body)."""
    parts = [b"<< /Type /OutputIntent /S /GTS_PDFX",
             b"/OutputConditionIdentifier " + text_string(condition.identifier),
             b"/OutputCondition " + text_string(condition.condition),
             b"/Info " + text_string(condition.info)]
    if condition.registry:
        parts.append(b"/RegistryName " + text_string(condition.registry))
    if profile_ref is not None:
        parts.append(b"/DestOutputProfile %d 0 R" % profile_ref)
    return b" ".join(parts) + b" >>"


def catalog_entries(intent_ref: int, metadata_ref: int | None) -> bytes:
    """Entries to add to the document catalog dictionary."""
    entries = b"/OutputIntents [%d 0 R]" % intent_ref
    if metadata_ref is not None:
        entries += b" /Metadata %d 0 R" % metadata_ref
    return entries


def info_entries(standard: PdfxStandard) -> bytes:
    """Entries to add to the Info dictionary. ``/Trapped /False`` comes from ``DocInfo``."""
    entries = b"/GTS_PDFXVersion " + text_string(standard.version_key)
    if standard.conformance_key is not None:
        entries += b" /GTS_PDFXConformance " + text_string(standard.conformance_key)
    return entries


_PDF_DATE = re.compile(r"D:(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(Z|[+-]\d{2}'\d{2}'?)?$")


def xmp_date(pdf_date: str) -> str:
    """``D:20261001093000Z`` → ``2026-10-01T09:30:00Z`` (the same instant, as XMP writes it)."""
    m = _PDF_DATE.fullmatch(pdf_date)
    if m is None:
        raise PdfxError(f"date {pdf_date!r} is not a full PDF date like D:20261001000000Z")
    y, mo, d, h, mi, s, tz = m.groups()
    zone = "Z" if tz in (None, "Z") else tz[:3] + ":" + tz[4:6]
    return f"{y}-{mo}-{d}T{h}:{mi}:{s}{zone}"


def xmp_uuid(key: bytes | str) -> str:
    """A ``uuid:`` URN derived from ``key`` (no clock, no randomness)."""
    text = key.hex() if isinstance(key, bytes) else key
    return f"uuid:{uuid.uuid5(_XMP_NAMESPACE, text)}"


_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml(text: str) -> str:
    return escape(_XML_BAD.sub("", text))


@dataclass(frozen=True)
class XmpFields:
    """What the XMP packet says; the strings must equal the Info dictionary's."""

    title: str
    author: str
    subject: str
    keywords: str
    creator: str  # CreatorTool; DocInfo writes the same text as Producer
    producer: str
    date: str  # PDF date of the campaign, e.g. D:20261001000000Z (Create = Modify = Metadata)
    document_key: str  # stable identity of the document, e.g. "campaign/bundle-BF"
    content_digest: bytes  # digest of what the file holds; changes when any page changes
    trapped: bool = False


def xmp_packet(standard: PdfxStandard, fields: XmpFields) -> bytes:
    """The XMP packet (UTF-8) for ``fields``."""
    date = xmp_date(fields.date)
    ns = {"dc": "http://purl.org/dc/elements/1.1/", "xmp": "http://ns.adobe.com/xap/1.0/",
          "pdf": "http://ns.adobe.com/pdf/1.3/", "xmpMM": "http://ns.adobe.com/xap/1.0/mm/"}
    if standard is PdfxStandard.X4:
        ns["pdfxid"] = "http://www.npes.org/pdfx/ns/id/"
        ident = [f"<pdfxid:GTS_PDFXVersion>{standard.version_key}</pdfxid:GTS_PDFXVersion>"]
    else:  # X-1a:2003 predates pdfxid; Acrobat writes these in the pdfx (1.3) schema
        ns["pdfx"] = "http://ns.adobe.com/pdfx/1.3/"
        ident = [f"<pdfx:GTS_PDFXVersion>{standard.version_key}</pdfx:GTS_PDFXVersion>",
                 f"<pdfx:GTS_PDFXConformance>{standard.conformance_key}"
                 f"</pdfx:GTS_PDFXConformance>"]
    decl = "".join(f' xmlns:{k}="{v}"' for k, v in ns.items())
    props = [
        "<dc:format>application/pdf</dc:format>",
        f'<dc:title><rdf:Alt><rdf:li xml:lang="x-default">{_xml(fields.title)}</rdf:li>'
        "</rdf:Alt></dc:title>",
        f"<dc:creator><rdf:Seq><rdf:li>{_xml(fields.author)}</rdf:li></rdf:Seq></dc:creator>",
        f'<dc:description><rdf:Alt><rdf:li xml:lang="x-default">{_xml(fields.subject)}'
        "</rdf:li></rdf:Alt></dc:description>",
        f"<pdf:Keywords>{_xml(fields.keywords)}</pdf:Keywords>",
        f"<pdf:Producer>{_xml(fields.producer)}</pdf:Producer>",
        f"<pdf:Trapped>{'True' if fields.trapped else 'False'}</pdf:Trapped>",
        f"<xmp:CreatorTool>{_xml(fields.creator)}</xmp:CreatorTool>",
        f"<xmp:CreateDate>{date}</xmp:CreateDate>",
        f"<xmp:ModifyDate>{date}</xmp:ModifyDate>",
        f"<xmp:MetadataDate>{date}</xmp:MetadataDate>",
        f"<xmpMM:DocumentID>{xmp_uuid(fields.document_key)}</xmpMM:DocumentID>",
        f"<xmpMM:InstanceID>{xmp_uuid(fields.content_digest)}</xmpMM:InstanceID>",
        "<xmpMM:VersionID>1</xmpMM:VersionID>",
        "<xmpMM:RenditionClass>default</xmpMM:RenditionClass>",
        *ident,
    ]
    body = "\n".join(f"   {p}" for p in props)
    text = ('<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
            '<x:xmpmeta xmlns:x="adobe:ns:meta/">\n'
            ' <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
            f'  <rdf:Description rdf:about=""{decl}>\n{body}\n  </rdf:Description>\n'
            " </rdf:RDF>\n</x:xmpmeta>\n"
            '<?xpacket end="r"?>')
    return text.encode("utf-8")


def metadata_stream(standard: PdfxStandard, fields: XmpFields) -> bytes:
    """The ``/Metadata`` stream object body: uncompressed, so any XMP scanner can find it."""
    packet = xmp_packet(standard, fields)
    return (b"<< /Length %d /Type /Metadata /Subtype /XML >>\nstream\n" % len(packet)
            + packet + b"\nendstream")


def content_digest(*parts: bytes) -> bytes:
    """A digest of the document's bytes so far, for :attr:`XmpFields.content_digest`."""
    sha = hashlib.sha256()
    for part in parts:
        sha.update(part)
    return sha.digest()
