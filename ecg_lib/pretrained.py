"""Trained CIFAR-10 ResNets from a third party, mapped into this library's models.

The four networks are the CIFAR-10 ResNets of He et al. (2016), Sec. 4.2 (6n+2 layers, option A
shortcuts), trained on the original CIFAR-10 by Yerlan Idelbayev and published with the repository
akamaster/pytorch_resnet_cifar10 under the BSD 2-clause licence. The weight files are not part of this
repository: the licence asks that its copyright notice travel with any copy, and weights are data.

:func:`load_pretrained` finds a file (see :data:`HOW_TO_PROVIDE` for the order), checks its sha256,
loads it with ``weights_only=True`` and returns ``get_model(name)`` in eval mode with the weights mapped
into our layout, plus the :class:`~ecg_lib.data.Normalizer` the networks were trained with.

The mapping. Both layouts compute the same function; they differ in the order of channels:

* names: ``module.conv1``/``bn1`` -> ``stem.0``/``stem.1``; ``layer{s}.{i}.conv1/bn1/conv2/bn2`` ->
  ``blocks.{(s-1)*n+i}.residual_branch.0/1/3/4``; ``linear`` -> ``fc``;
* channels: where a stage doubles the width, their option A shortcut puts the ``C`` identity channels
  in the middle (``C/2`` zero channels before and after), ours puts them first and the zeros after.
  So our channel ``o`` of stage 2 is their channel ``perm2[o]`` with ``perm2 = [8..23] + [0..7, 24..31]``
  (identity channels first, then their zero channels in their order), and stage 3 applies the same
  rule to stage 2's order: ``perm3 = [perm2[o] + 16 for o < 32] + [0..15, 48..63]``. Every tensor is
  indexed with the permutation of the stage of each of its channel axes (convolutions: output and
  input; batch norm: its channels; the classifier: its inputs).
"""

from __future__ import annotations

import hashlib
import itertools
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor, nn

from ecg_lib.atomic import atomic_write
from ecg_lib.data import Normalizer, default_cache_dir, default_search_dirs

__all__ = [
    "LICENCE_NOTE",
    "PEER_FOLDER",
    "PRETRAINED",
    "TRAINING",
    "PretrainedError",
    "PretrainedSpec",
    "find_weights",
    "load_pretrained",
    "map_state_dict",
    "pretrained_normalizer",
    "sha256_of",
    "stage_permutations",
    "weights_cache_dir",
]

BASE_URL = "https://github.com/akamaster/pytorch_resnet_cifar10/raw/master/pretrained_models/"
PEER_FOLDER = Path("peer") / "akamaster-cifar-resnet"  # below ./data or ../shared/data
LICENCE_NOTE = (
    "Copyright (c) 2018, Yerlan Idelbayev; BSD 2-clause licence "
    "(https://github.com/akamaster/pytorch_resnet_cifar10/blob/master/LICENSE). "
    "Keep this notice with any copy of the weights."
)
# The normalisation the networks were trained with (their README and training script): RGB in [0, 1].
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


#: How the third party trained them (their repository's trainer.py and README), which is not the
#: paper's schedule: He et al. (2016), Sec. 4.2, train 64k iterations of batch 128 (about 164 epochs),
#: divide the learning rate by 10 at 32k and 48k, and choose on a 45k/5k training/validation split.
TRAINING = (
    "200 epochs of SGD (batch 128, learning rate 0.1 divided by 10 at epochs 100 and 150, momentum 0.9, "
    "weight decay 1e-4), random crops and flips, ImageNet mean/std normalisation, all 50,000 original "
    "training images (no 45k/5k split)"
)


@dataclass(frozen=True)
class PretrainedSpec:
    """Provenance of one trained network, with the publisher's two figures on the original CIFAR-10
    test set, neither of them a measurement of this library:

    ``readme_error``: the test error (percent) in the table of the publisher's README; ``best_prec1``:
    the test accuracy (percent) stored in the ``.th`` file under ``best_prec1``, the best over the 200
    training epochs (their trainer.py keeps the maximum), while the weights in the file are the last
    epoch's. The README figure is the closer description of the weights; say which one is quoted."""

    name: str
    file: str
    sha256: str
    best_prec1: float  # percent accuracy, best epoch (stored in the file)
    readme_error: float  # percent error, the publisher's README table
    params: int
    url: str
    licence: str = LICENCE_NOTE


def _spec(name: str, file: str, sha: str, best: float, readme: float, params: int) -> PretrainedSpec:
    return PretrainedSpec(name, file, sha, best, readme, params, BASE_URL + file)


PRETRAINED: dict[str, PretrainedSpec] = {
    s.name: s
    for s in (
        _spec("resnet20", "resnet20-12fca82f.th",
              "12fca82f0bebc4135bf1f32f6e3710e61d5108578464b84fd6d7f5c1b04036c8", 91.78, 8.27, 269_722),
        _spec("resnet32", "resnet32-d509ac18.th",
              "d509ac1820d7f25398913559d7e81a13229b1e7adc5648e3bfa5e22dc137f850", 92.78, 7.37, 464_154),
        _spec("resnet44", "resnet44-014dd654.th",
              "014dd6541728a1c700b1642ab640e211dc6eb8ed507d70697458dc8f8a0ae2e4", 93.14, 6.90, 658_586),
        _spec("resnet56", "resnet56-4bfd9763.th",
              "4bfd97631478d6b638d2764fd2baff3edb1d7d82252d54439343b6596b9b5367", 93.62, 6.61, 853_018),
    )
}  # fmt: skip

HOW_TO_PROVIDE = """\
The trained {name} weights ({file}, sha256 {sha}...) can be provided in these ways, tried in this order:
  1. load_pretrained({name!r}, path) with the file or the folder holding it;
  2. the ECG_WEIGHTS_DIR environment variable naming a folder that holds {file};
  3. the cache folder {cache} (filled by step 4);
  4. going online once: the file is then downloaded from
     {url}
     checked and kept in the cache folder;
  5. a local copy in {peer}/ below $ECG_DATA_DIR, ./data or ../shared/data (relative to the
     working directory and to the repository); searched here: {search}.
The weights are published under the BSD 2-clause licence: keep its notice (LICENSE) with any copy."""


class PretrainedError(ValueError):
    """Unknown network name, or weights that are missing, truncated or not the published file.

    ``kind`` says which: ``"unknown"`` (name), ``"missing"`` (no file found) or ``"invalid"`` (a file that
    is not the published one, or does not load)."""

    def __init__(self, message: str, kind: str = "invalid") -> None:
        super().__init__(message)
        self.kind = kind


# ----------------------------------------------------------------------------------------------------------
# Finding the file


def weights_cache_dir() -> Path:
    """``<cache>/weights``, with the cache root of :func:`ecg_lib.data.default_cache_dir`."""
    return default_cache_dir() / "weights"


def _search_dirs() -> list[Path]:
    # The data folder first: the shared offline copy keeps the weights beside CIFAR-10 (a git worktree
    # elsewhere than the main checkout has no ../shared beside it, but it has ECG_DATA_DIR).
    data_dir = os.environ.get("ECG_DATA_DIR")
    roots = [Path(data_dir).expanduser()] if data_dir and Path(data_dir).expanduser().is_dir() else []
    roots += [d for d in default_search_dirs() if d not in roots]
    return [d / PEER_FOLDER for d in roots]


def _spec_of(name: str) -> PretrainedSpec:
    if name not in PRETRAINED:
        raise PretrainedError(
            f"No trained weights for {name!r}: trained networks exist for {', '.join(PRETRAINED)} "
            "(the CIFAR-10 ResNets of He et al., 2016, published by akamaster/pytorch_resnet_cifar10).",
            kind="unknown",
        )
    return PRETRAINED[name]


def _how_to(spec: PretrainedSpec, cache: Path, search: Sequence[Path]) -> str:
    return HOW_TO_PROVIDE.format(name=spec.name, file=spec.file, sha=spec.sha256[:12], cache=cache,
                                 url=spec.url, peer=PEER_FOLDER.as_posix(),
                                 search=", ".join(str(s) for s in search) or "(none)")  # fmt: skip


def sha256_of(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _verify(file: Path, spec: PretrainedSpec, cache: Path, search: Sequence[Path]) -> None:
    """A file under the expected name that is not the published one is an error, not a reason to look
    further: it is most likely a truncated copy, and silently skipping it would hide that."""
    size, digest = file.stat().st_size, sha256_of(file)
    if digest != spec.sha256:
        raise PretrainedError(
            f"{file} is not the published {spec.file}: its sha256 is {digest[:12]}... ({size:,} bytes), "
            f"expected {spec.sha256[:12]}.... A truncated or different file? Delete or replace it.\n"
            + _how_to(spec, cache, search)
        )


def _online(url: str, timeout: float = 3.0) -> bool:
    """A quick reachability check of the download host, so offline machines skip it without a long hang."""
    import socket
    from urllib.parse import urlparse

    try:
        with socket.create_connection((urlparse(url).hostname or "", 443), timeout=timeout):
            return True
    except OSError:
        return False


def _download(spec: PretrainedSpec, target: Path, timeout: float = 30.0) -> Path | None:
    """Download into ``target`` atomically; the sha256 is checked before the rename, so a failed or
    wrong download leaves nothing under the final name (and no temporary file)."""
    if not _online(spec.url):
        return None

    def write(f) -> None:
        h = hashlib.sha256()
        with urllib.request.urlopen(spec.url, timeout=timeout) as response:
            for chunk in iter(lambda: response.read(1 << 16), b""):
                h.update(chunk)
                f.write(chunk)
        if h.hexdigest() != spec.sha256:
            raise PretrainedError(f"the download of {spec.url} has sha256 {h.hexdigest()[:12]}..., "
                                  f"expected {spec.sha256[:12]}...; not kept.")  # fmt: skip

    try:
        return atomic_write(target, write)
    except (OSError, urllib.error.URLError, PretrainedError) as exc:  # one source failing: try the next
        print(f"ecg_lib: downloading {spec.file} failed ({exc}); trying local copies.", file=sys.stderr)
        return None


def find_weights(
    name: str,
    path: str | os.PathLike | None = None,
    *,
    cache_dir: str | os.PathLike | None = None,
    download: bool = True,
    search_dirs: Sequence[str | os.PathLike] | None = None,
) -> Path:
    """The verified weight file of ``name`` (see :data:`HOW_TO_PROVIDE` for the order of places).

    ``path`` is explicit: a file (any name) or a folder that must hold the published file name; if it
    does not, that is an error rather than a reason to look elsewhere. ``cache_dir`` replaces the weights
    cache folder, ``search_dirs`` the folders of the last step (``()``: none). Raises
    :class:`PretrainedError`.
    """
    spec = _spec_of(name)
    cache = Path(cache_dir) if cache_dir is not None else weights_cache_dir()
    search = [Path(s) for s in (_search_dirs() if search_dirs is None else search_dirs)]
    if path is not None:
        p = Path(path).expanduser()
        file = p / spec.file if p.is_dir() else p
        if not file.is_file():
            message = f"No weights at path={path}: expected the file {spec.file} or a folder holding it.\n"
            raise PretrainedError(message + _how_to(spec, cache, search), kind="missing")
        _verify(file, spec, cache, search)
        return file
    env = os.environ.get("ECG_WEIGHTS_DIR")
    candidates = [Path(env).expanduser() / spec.file] if env else []
    candidates.append(cache / spec.file)
    for file in candidates:
        if file.is_file():
            _verify(file, spec, cache, search)
            return file
    if download:
        got = _download(spec, cache / spec.file)
        if got is not None:
            return got
    for folder in search:
        if (folder / spec.file).is_file():
            _verify(folder / spec.file, spec, cache, search)
            return folder / spec.file
    raise PretrainedError(
        f"The trained {name} weights ({spec.file}) were not found: "
        + (f"not in ECG_WEIGHTS_DIR={env}, " if env else "ECG_WEIGHTS_DIR is not set, ")
        + "not in the cache, "
        + ("the download failed (offline?)" if download else "downloading was disabled")
        + ", and no local copy was found.\n"
        + _how_to(spec, cache, search),
        kind="missing",
    )


# ----------------------------------------------------------------------------------------------------------
# The mapping


def stage_permutations(widths: Sequence[int] = (16, 32, 64)) -> list[Tensor]:
    """For each stage, ``perm`` with our channel ``o`` = their channel ``perm[o]`` (see the module doc).

    Stage 1 is the identity. Each wider stage keeps the previous stage's channels first, shifted by the
    ``pad`` zero channels their shortcut puts before them, then their zero channels in their order."""
    perms = [torch.arange(widths[0])]
    for prev, width in itertools.pairwise(widths):
        pad = (width - prev) // 2  # their `planes // 4` on each side
        zeros = torch.cat([torch.arange(pad), torch.arange(pad + prev, width)])
        perms.append(torch.cat([perms[-1] + pad, zeros]))
    return perms


def map_state_dict(theirs: dict[str, Tensor], depth: int) -> dict[str, Tensor]:
    """Their ``state_dict`` (``module.`` prefixes allowed) -> ours for ``resnet{depth}``.

    Raises :class:`PretrainedError` when a tensor is missing, left over or of the wrong shape."""
    theirs = {k.removeprefix("module."): v for k, v in theirs.items()}
    n = (depth - 2) // 6
    perm = stage_permutations()
    out: dict[str, Tensor] = {}

    def bn(src: str, dst: str, p: Tensor) -> None:
        for field in ("weight", "bias", "running_mean", "running_var"):
            out[f"{dst}.{field}"] = _take(theirs, f"{src}.{field}")[p]
        # written by newer PyTorch only; unused in eval mode
        out[f"{dst}.num_batches_tracked"] = theirs.pop(f"{src}.num_batches_tracked", torch.tensor(0))

    def conv(src: str, dst: str, p_out: Tensor, p_in: Tensor) -> None:
        out[f"{dst}.weight"] = _take(theirs, f"{src}.weight")[p_out][:, p_in]

    conv("conv1", "stem.0", perm[0], torch.arange(3))
    bn("bn1", "stem.1", perm[0])
    for s in range(3):
        for i in range(n):
            src, dst = f"layer{s + 1}.{i}", f"blocks.{s * n + i}.residual_branch"
            p_in = perm[s - 1] if s > 0 and i == 0 else perm[s]  # the first block of a stage widens
            conv(f"{src}.conv1", f"{dst}.0", perm[s], p_in)
            bn(f"{src}.bn1", f"{dst}.1", perm[s])
            conv(f"{src}.conv2", f"{dst}.3", perm[s], perm[s])
            bn(f"{src}.bn2", f"{dst}.4", perm[s])
    out["fc.weight"] = _take(theirs, "linear.weight")[:, perm[2]]
    out["fc.bias"] = _take(theirs, "linear.bias")
    if theirs:
        raise PretrainedError(f"unexpected tensors for resnet{depth}: {', '.join(sorted(theirs)[:5])}")
    return {k: v.contiguous() for k, v in out.items()}


def _take(d: dict[str, Tensor], key: str) -> Tensor:
    try:
        return d.pop(key)
    except KeyError:
        raise PretrainedError(f"the weights lack {key!r}: not a CIFAR ResNet of this depth?") from None


# ----------------------------------------------------------------------------------------------------------
# Loading


def pretrained_normalizer() -> Normalizer:
    """uint8 CIFAR batches -> these networks' input: ``(x / 255 - mean) / std`` per RGB channel."""
    return Normalizer("channel", torch.tensor(MEAN).view(3, 1, 1), torch.tensor(STD).view(3, 1, 1))


def load_pretrained(
    name: str,
    path: str | os.PathLike | None = None,
    *,
    cache_dir: str | os.PathLike | None = None,
    download: bool = True,
    search_dirs: Sequence[str | os.PathLike] | None = None,
) -> tuple[nn.Module, Normalizer]:
    """``get_model(name)`` in eval mode with the trained weights, and its input normaliser.

    ``name``: ``resnet20``, ``resnet32``, ``resnet44`` or ``resnet56``. The file is found by
    :func:`find_weights` (same keyword arguments), checked against the published sha256 and loaded with
    ``torch.load(..., weights_only=True)`` on the CPU. Raises :class:`PretrainedError` (a ValueError) for
    an unknown name or a missing, truncated or wrong file, naming the ways to provide it::

        model, norm = load_pretrained("resnet56")
        loss, error = evaluate(model, data.test_x, data.test_y, normalizer=norm)
    """
    from ecg_lib.models import get_model

    spec = _spec_of(name)
    file = find_weights(name, path, cache_dir=cache_dir, download=download, search_dirs=search_dirs)
    try:
        # map_location: the files were saved from CUDA tensors
        blob = torch.load(file, map_location="cpu", weights_only=True)
        state = blob["state_dict"] if isinstance(blob, dict) and "state_dict" in blob else blob
    except Exception as exc:  # the sha matched, so this would be a format change of torch itself
        raise PretrainedError(f"{file} could not be loaded ({type(exc).__name__}: {exc}).") from exc
    model = get_model(spec.name)
    model.load_state_dict(map_state_dict(dict(state), int(spec.name.removeprefix("resnet"))))
    return model.eval(), pretrained_normalizer()
