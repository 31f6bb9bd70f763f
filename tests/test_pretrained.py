"""ecg_lib.pretrained: the mapping of the peer's trained CIFAR-10 ResNets into our layout (proven against an
independent build of their layout), their accuracy on the shared test set, and the errors for missing,
truncated, wrong or unknown weights."""

import json
import os
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from ecg_lib.pretrained import (
    PRETRAINED,
    PretrainedError,
    find_weights,
    load_pretrained,
    map_state_dict,
    pretrained_normalizer,
    stage_permutations,
)

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
DATA_DIR = Path(os.environ.get("ECG_DATA_DIR") or SHARED)
PEER = DATA_DIR / "peer" / "akamaster-cifar-resnet"
if not PEER.is_dir():
    PEER = SHARED / "peer" / "akamaster-cifar-resnet"
NAMES = ("resnet20", "resnet32", "resnet44", "resnet56")
needs_peer = pytest.mark.skipif(
    not all((PEER / PRETRAINED[n].file).is_file() for n in NAMES), reason=f"no peer weights in {PEER}"
)


# ---------------------------------------------------------------------------------------------------------
# An independent build of the peer's layout, written from the format facts in ../shared/data/README.md
# (not from their code): conv1/bn1, layer1..3 of n blocks each (conv1/bn1/conv2/bn2), option A shortcuts
# that subsample and pad planes // 4 zero channels on BOTH sides, global average pooling, `linear`.


class PeerBlock(nn.Module):
    def __init__(self, in_planes: int, planes: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.widen = stride != 1 or in_planes != planes
        self.pad = planes // 4

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        short = F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, self.pad, self.pad)) if self.widen else x
        return F.relu(out + short)


class PeerResNet(nn.Module):
    def __init__(self, depth: int) -> None:
        super().__init__()
        n = (depth - 2) // 6
        self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        planes_in = 16
        for s, planes in enumerate((16, 32, 64), start=1):
            blocks = []
            for i in range(n):
                blocks.append(PeerBlock(planes_in, planes, 2 if s > 1 and i == 0 else 1))
                planes_in = planes
            setattr(self, f"layer{s}", nn.Sequential(*blocks))
        self.linear = nn.Linear(64, 10)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.layer3(self.layer2(self.layer1(out)))
        return self.linear(out.mean((2, 3)))


def _peer_state(name: str) -> dict:
    blob = torch.load(PEER / PRETRAINED[name].file, map_location="cpu", weights_only=True)
    return blob["state_dict"]


def test_stage_permutations_are_permutations_that_follow_the_identity_channels():
    p1, p2, p3 = stage_permutations()
    for p, width in ((p1, 16), (p2, 32), (p3, 64)):
        assert sorted(p.tolist()) == list(range(width))
    # their stage-2 shortcut holds stage-1 channel i at 8 + i; ours at i
    assert p2[:16].tolist() == list(range(8, 24))
    assert p3[:32].tolist() == [int(c) + 16 for c in p2]


@needs_peer
@pytest.mark.parametrize("name", NAMES)
def test_mapped_weights_give_the_peer_layouts_logits(name, one_thread):
    depth = int(name.removeprefix("resnet"))
    peer = PeerResNet(depth)
    state = {k.removeprefix("module."): v for k, v in _peer_state(name).items()}
    peer.load_state_dict(state, strict=False)  # old files lack num_batches_tracked (unused in eval)
    assert all(k.endswith("num_batches_tracked") for k in set(peer.state_dict()) - set(state))
    peer.eval()
    ours, normalizer = load_pretrained(name, PEER)
    assert not ours.training
    x = torch.randn(16, 3, 32, 32, generator=torch.Generator().manual_seed(depth))
    with torch.no_grad():
        assert torch.allclose(ours(x), peer(x), atol=1e-5, rtol=0)
        images = torch.randint(0, 256, (8, 3, 32, 32), dtype=torch.uint8)
        assert torch.allclose(ours(normalizer(images)), peer(normalizer(images)), atol=1e-5, rtol=0)


def test_mapping_matches_an_independent_build_with_random_weights(one_thread):
    """The same proof without the files: random weights and batch-norm statistics in their layout."""
    torch.manual_seed(0)
    peer = PeerResNet(20)
    for m in peer.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.normal_()
            m.running_var.uniform_(0.5, 2)
            m.weight.data.normal_()
            m.bias.data.normal_()
    peer.eval()
    state = {"module." + k: v for k, v in peer.state_dict().items()}
    from ecg_lib.models import get_model

    ours = get_model("resnet20")
    ours.load_state_dict(map_state_dict(state, 20))
    ours.eval()
    x = torch.randn(4, 3, 32, 32)
    with torch.no_grad():
        assert torch.allclose(ours(x), peer(x), atol=1e-5, rtol=0)


def test_normalizer_is_the_peers():
    norm = pretrained_normalizer()
    x = torch.full((1, 3, 1, 1), 255, dtype=torch.uint8)
    expected = (1 - torch.tensor([0.485, 0.456, 0.406])) / torch.tensor([0.229, 0.224, 0.225])
    assert torch.allclose(norm(x).flatten(), expected)


# ---------------------------------------------------------------------------------------------------------
# Accuracy on the shared lossy copy's test set (all 10,000 images), pinned: measured here, and equal to
# ../shared/data/README.md's 81.03 / 82.56 / 82.67 / 83.20 %. On the original test set the publisher's
# README table gives 91.73 / 92.63 / 93.10 / 93.39 % (8.27 / 7.37 / 6.90 / 6.61 % error) and the files'
# best_prec1 (best epoch) 91.78 / 92.78 / 93.14 / 93.62 %: the copy costs about 10 points.

CORRECT_ON_SHARED_COPY = {"resnet20": 8103, "resnet32": 8256, "resnet44": 8267, "resnet56": 8320}


@pytest.mark.slow
@needs_peer
@pytest.mark.parametrize("name", NAMES)
def test_accuracy_on_the_shared_copys_test_set_is_pinned(name, cifar10):
    if "cifar10-jpeg" not in cifar10.source:
        pytest.skip(f"the pinned counts are for ../shared/data/cifar10-jpeg.tar.gz, not {cifar10.source}")
    assert cifar10.n_test == 10_000
    model, norm = load_pretrained(name, PEER)
    correct = 0
    with torch.no_grad():
        for start in range(0, 10_000, 1000):
            logits = model(norm(cifar10.test_x[start : start + 1000]))
            correct += int((logits.argmax(1) == cifar10.test_y[start : start + 1000]).sum())
    assert correct == CORRECT_ON_SHARED_COPY[name]


# ---------------------------------------------------------------------------------------------------------
# Errors


def _no_env(monkeypatch) -> None:
    monkeypatch.delenv("ECG_WEIGHTS_DIR", raising=False)
    monkeypatch.delenv("ECG_DATA_DIR", raising=False)


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(PretrainedError, match="resnet20, resnet32, resnet44, resnet56") as info:
        load_pretrained("resnet110")
    assert isinstance(info.value, ValueError)


def test_missing_file_names_the_ways_to_provide_it(tmp_path, monkeypatch):
    _no_env(monkeypatch)
    with pytest.raises(PretrainedError, match=r"(?s)not found.*ECG_WEIGHTS_DIR.*downloaded from.*BSD"):
        load_pretrained("resnet20", cache_dir=tmp_path / "cache", download=False, search_dirs=[])
    with pytest.raises(PretrainedError, match=r"(?s)No weights at path=.*ECG_WEIGHTS_DIR"):
        load_pretrained("resnet20", tmp_path / "nowhere")
    assert not (tmp_path / "cache").exists()


@needs_peer
def test_truncated_and_wrong_files_are_refused(tmp_path, monkeypatch):
    _no_env(monkeypatch)
    spec = PRETRAINED["resnet20"]
    good = (PEER / spec.file).read_bytes()
    (tmp_path / spec.file).write_bytes(good[: len(good) // 2])
    with pytest.raises(PretrainedError, match=r"(?s)not the published.*truncated.*ECG_WEIGHTS_DIR"):
        load_pretrained("resnet20", tmp_path)
    # the right bytes under another network's name: the sha256 tells them apart
    (tmp_path / "other.th").write_bytes((PEER / PRETRAINED["resnet32"].file).read_bytes())
    with pytest.raises(PretrainedError, match="sha256"):
        load_pretrained("resnet20", tmp_path / "other.th")
    # a broken file found through ECG_WEIGHTS_DIR is reported, not skipped
    monkeypatch.setenv("ECG_WEIGHTS_DIR", str(tmp_path))
    with pytest.raises(PretrainedError, match="not the published"):
        find_weights("resnet20", cache_dir=tmp_path / "cache", download=False, search_dirs=[])


@needs_peer
def test_lookup_order_env_then_cache_then_search(tmp_path, monkeypatch):
    _no_env(monkeypatch)
    spec = PRETRAINED["resnet20"]
    cache, env, search = tmp_path / "cache", tmp_path / "env", tmp_path / "search"
    for d in (cache, env, search):
        d.mkdir()
        (d / spec.file).write_bytes((PEER / spec.file).read_bytes())
    kw = {"cache_dir": cache, "download": False, "search_dirs": [search]}
    monkeypatch.setenv("ECG_WEIGHTS_DIR", str(env))
    assert find_weights("resnet20", **kw) == env / spec.file
    monkeypatch.delenv("ECG_WEIGHTS_DIR")
    assert find_weights("resnet20", **kw) == cache / spec.file
    (cache / spec.file).unlink()
    assert find_weights("resnet20", **kw) == search / spec.file


def test_failed_download_leaves_the_cache_clean(tmp_path, monkeypatch):
    """A download that breaks off, or whose bytes are not the published file, leaves nothing behind."""
    import io

    from ecg_lib import pretrained

    _no_env(monkeypatch)
    monkeypatch.setattr(pretrained, "_online", lambda url, timeout=3.0: True)

    class Broken(io.BytesIO):
        def read(self, n=-1):
            data = super().read(n)
            if self.tell() > 3000:
                raise OSError("connection reset")
            return data

    for response in (lambda: Broken(b"x" * 10_000), lambda: io.BytesIO(b"not the weights")):
        monkeypatch.setattr(pretrained.urllib.request, "urlopen", lambda url, timeout, r=response: r())
        cache = tmp_path / "cache"
        with pytest.raises(PretrainedError, match="not found"):
            load_pretrained("resnet20", cache_dir=cache, search_dirs=[])
        assert not cache.exists() or list(cache.iterdir()) == []


@needs_peer
def test_download_is_verified_and_kept_in_the_cache(tmp_path, monkeypatch):
    import io

    from ecg_lib import pretrained

    _no_env(monkeypatch)
    spec = PRETRAINED["resnet20"]
    monkeypatch.setattr(pretrained, "_online", lambda url, timeout=3.0: True)
    seen = []

    def urlopen(url, timeout):
        seen.append(url)
        return io.BytesIO((PEER / spec.file).read_bytes())

    monkeypatch.setattr(pretrained.urllib.request, "urlopen", urlopen)
    load_pretrained("resnet20", cache_dir=tmp_path, search_dirs=[])
    assert seen == [spec.url] and [p.name for p in tmp_path.iterdir()] == [spec.file]
    # the second call reads the cache
    load_pretrained("resnet20", cache_dir=tmp_path, search_dirs=[])
    assert len(seen) == 1


# ---------------------------------------------------------------------------------------------------------
# `python -m ecg_lib pretrained`


def test_cli_lists_the_four_with_provenance_and_where_found(tmp_path, monkeypatch, capsys):
    from ecg_lib.cli import main

    _no_env(monkeypatch)
    monkeypatch.setenv("ECG_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    assert main(["pretrained", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in rows] == list(NAMES)
    # two figures on the original test set: the README table's error, and the best epoch's best_prec1
    assert [r["readme_error"] for r in rows] == [8.27, 7.37, 6.90, 6.61]
    assert [r["best_prec1"] for r in rows] == [91.78, 92.78, 93.14, 93.62]
    assert rows[3]["sha256"] == PRETRAINED["resnet56"].sha256 and rows[3]["url"].endswith(
        "resnet56-4bfd9763.th"
    )
    if not PEER.is_dir():
        return
    # the table: file, sha256 prefix, reported accuracy, and where each file is (or "not found")
    (tmp_path / "w").mkdir()
    (tmp_path / "w" / PRETRAINED["resnet20"].file).write_bytes(
        (PEER / PRETRAINED["resnet20"].file).read_bytes()
    )
    (tmp_path / "w" / PRETRAINED["resnet32"].file).write_bytes(b"truncated")
    assert main(["pretrained", "--path", str(tmp_path / "w")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:6] == ["network", "file", "sha256", "README", "error", "best_prec1"]
    assert lines[1].split()[:5] == ["resnet20", "resnet20-12fca82f.th", "12fca82f0beb...", "8.27%", "91.78%"]
    assert lines[1].endswith(str(tmp_path / "w" / PRETRAINED["resnet20"].file))
    assert "INVALID" in lines[2] and "sha256" in lines[2]
    assert lines[3].endswith("not found") and lines[4].endswith("not found")


@needs_peer
def test_best_prec1_is_the_value_stored_in_each_file() -> None:
    # PretrainedSpec.best_prec1 is read from the files, not from the README (whose table differs)
    for name, spec in PRETRAINED.items():
        stored = torch.load(PEER / spec.file, map_location="cpu", weights_only=True)["best_prec1"]
        assert round(float(stored), 2) == spec.best_prec1, name
        assert round(100 - spec.best_prec1, 2) != spec.readme_error, name  # the two figures differ
