"""How a copy of CIFAR-10 was encoded, read from the files themselves: lossless batches, lossless image files,
or JPEG files, whose quality is estimated from their quantisation tables rather than assumed.

A JPEG encoder built on libjpeg (PIL, ImageMagick, OpenCV, most mirrors) scales the standard tables of the
JPEG standard (ITU-T T.81, Annex K.1) by a factor set by the quality 1..100. Comparing a file's luminance
table with the standard table scaled for every quality gives the quality exactly when the file used the
standard tables, and the nearest quality otherwise (reported as approximate).

CIFAR-10's images are 32x32: at JPEG quality 75 with 4:2:0 chroma subsampling the colour is stored at
16x16, and networks trained on the original files lose about 10 points of accuracy on such a copy
(../shared/data/README.md), so every result says which kind of copy it ran on.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import asdict, dataclass

__all__ = ["ORIGINAL_BATCHES", "Encoding", "describe_images", "jpeg_quality", "libjpeg_table", "quality_note"]

# ITU-T T.81 Annex K.1, Table K.1 (luminance), in natural (row-major) order, as PIL reports tables.
STD_LUMINANCE: tuple[int, ...] = (
    16, 11, 10, 16, 24, 40, 51, 61,
    12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77,
    24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101,
    72, 92, 95, 98, 112, 100, 103, 99,
)  # fmt: skip
# PIL's JpegImagePlugin.get_sampling: -1 (not YCbCr 3-channel), 0, 1, 2
_SAMPLING = {0: "4:4:4", 1: "4:2:2", 2: "4:2:0"}
_SAMPLE = 1000  # files inspected per copy: spread evenly over both splits; ~0.1 s


@dataclass(frozen=True)
class Encoding:
    """What the images of a copy are: ``lossy`` (None: not known), the file format, and for JPEG the
    quality (None when the copies disagree or the tables are not libjpeg's) and chroma subsampling."""

    lossy: bool | None
    file_format: str | None = None  # "CIFAR-10 batches", "JPEG", "PNG", ...
    jpeg_quality: int | None = None
    chroma_subsampling: str | None = None  # "4:2:0", "4:2:2", "4:4:4"
    detail: str = ""  # e.g. "qualities 70-90 in a sample" or "approximate: non-standard tables"

    def to_dict(self) -> dict:
        return asdict(self)


ORIGINAL_BATCHES = Encoding(lossy=False, file_format="CIFAR-10 batches")


def libjpeg_table(quality: int, base: Sequence[int] = STD_LUMINANCE) -> list[int]:
    """``base`` scaled as libjpeg's ``jpeg_set_quality`` does (with ``force_baseline``: entries 1..255)."""
    if not 1 <= quality <= 100:
        raise ValueError(f"JPEG quality is 1..100, got {quality}.")
    scale = 5000 // quality if quality < 50 else 200 - 2 * quality
    return [min(max((b * scale + 50) // 100, 1), 255) for b in base]


def jpeg_quality(table: Sequence[int]) -> tuple[int, bool]:
    """``(quality, exact)``: the libjpeg quality whose scaled standard luminance table is ``table``
    (natural order, 64 entries), or the nearest one (least sum of absolute differences) with ``exact``
    False. Where several qualities give the same table (saturated at 1 or 255), the lowest is returned."""
    table = list(table)
    if len(table) != 64:
        raise ValueError(f"a quantisation table has 64 entries, got {len(table)}.")

    def distance(q: int) -> tuple[int, int]:
        return sum(abs(a - b) for a, b in zip(libjpeg_table(q), table, strict=True)), q

    best = min(range(1, 101), key=distance)
    return best, libjpeg_table(best) == table


def _inspect(blob: bytes) -> tuple[str, int | None, bool, str | None]:
    """One file -> (format, quality, exact, chroma subsampling); only the header is parsed."""
    from PIL import Image, JpegImagePlugin

    with Image.open(io.BytesIO(blob)) as im:
        fmt = im.format or "unknown"
        if fmt != "JPEG":
            return fmt, None, True, None
        tables = getattr(im, "quantization", None) or {}
        quality, exact = jpeg_quality(tables[0]) if 0 in tables else (None, False)
        return fmt, quality, exact, _SAMPLING.get(JpegImagePlugin.get_sampling(im))


def describe_images(blobs: Sequence[bytes], sample: int = _SAMPLE) -> Encoding:
    """The encoding of a copy from up to ``sample`` of its files, spread evenly over ``blobs``.

    Lossless formats (PNG, BMP, ...) give ``lossy=False``; JPEG gives ``lossy=True`` with the quality
    when every inspected file agrees on it (else the range goes into ``detail``)."""
    if not blobs:
        return Encoding(lossy=None)
    step = max(1, len(blobs) // sample)
    found = [_inspect(b) for b in blobs[::step]]
    formats = sorted({f for f, *_ in found})
    if formats != ["JPEG"]:
        lossy = "JPEG" in formats
        detail = f"mixed formats in a sample of {len(found)} files" if lossy else ""
        return Encoding(lossy=lossy, file_format="/".join(formats), detail=detail)
    qualities = sorted({q for _, q, _, _ in found if q is not None})
    sampling = sorted({s for *_, s in found if s is not None})
    detail = []
    if len(qualities) > 1:
        detail.append(f"qualities {qualities[0]}-{qualities[-1]} in a sample of {len(found)} files")
    if not all(exact for _, _, exact, _ in found):
        detail.append("approximate: not libjpeg's standard tables")
    return Encoding(
        lossy=True, file_format="JPEG",
        jpeg_quality=qualities[0] if len(qualities) == 1 else None,
        chroma_subsampling=sampling[0] if len(sampling) == 1 else None,
        detail="; ".join(detail),
    )  # fmt: skip


def quality_note(lossy: bool | None, file_format: str | None, jpeg_quality: int | None,
                 chroma_subsampling: str | None, detail: str = "") -> str:  # fmt: skip
    """One line for run-info boxes: what the images are and whether errors compare with the papers'."""
    if lossy is None:
        return ("not recorded (data built in code, or a cache written by an older ecg_lib: load from the "
                "source again to record it)")  # fmt: skip
    if not lossy:
        if file_format == ORIGINAL_BATCHES.file_format:
            return "original CIFAR-10 batches (lossless): errors comparable with the papers'"
        return (f"lossless {file_format} image copy: errors comparable with the papers' if it was made "
                "from the original batches")  # fmt: skip
    parts = [f"quality {jpeg_quality}" if jpeg_quality is not None else "quality unknown"]
    if chroma_subsampling == "4:4:4":
        parts.append("no chroma subsampling")
    elif chroma_subsampling:
        parts.append(f"chroma subsampled {chroma_subsampling}")
    if detail:
        parts.append(detail)
    what = f"lossy {file_format} copy" if file_format and file_format != "JPEG" else "lossy JPEG copy"
    return f"{what} ({', '.join(parts)}) — absolute errors are not comparable with the papers'"
