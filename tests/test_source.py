"""ecg_lib.chapters.source: the library's code rendered on a page, and shape walks through a module."""

import inspect

import pytest
import torch

from ecg_lib.chapters import source
from ecg_lib.models import googlenet as G
from ecg_lib.models import resnet as R
from ecg_lib.models import vgg as V


def _block_body(markdown: str) -> str:
    """The text between the code fence's opening line and its closing fence."""
    body = markdown.split("```python\n", 1)[1]
    return body[: body.rindex("```")]


@pytest.mark.parametrize("obj", [R.BasicBlock, R.Bottleneck, R.ZeroPadShortcut, G.Inception, V.vgg])
def test_the_rendered_block_is_the_source_itself(obj):
    text = source.source_text(obj)
    assert _block_body(text) == inspect.getsource(obj)
    lines, first = inspect.getsourcelines(obj)
    assert f"lines {first}-{first + len(lines) - 1}" in text and "ecg_lib/models/" in text


def test_a_marker_range_is_the_lines_between_the_markers():
    text, first, last = source.source_lines(V.VGG.__init__, "layers: OrderedDict", "self.features =")
    lines = text.splitlines()
    assert lines[0].startswith("layers: OrderedDict") and lines[-1].startswith("self.features =")
    assert last - first + 1 == len(lines) == 18
    # the line numbers are the file's: the start marker's line in vgg.py
    file_lines = inspect.getsourcefile(V.VGG)
    with open(file_lines) as f:
        assert "layers: OrderedDict" in f.read().splitlines()[first - 1]


def test_an_unknown_marker_or_name_raises_a_clear_error():
    with pytest.raises(source.SourceError, match="start marker 'no such line' is not in the source of VGG"):
        source.source_text(V.VGG, start="no such line")
    with pytest.raises(source.SourceError, match="end marker 'nowhere' does not follow"):
        source.source_text(V.VGG, start="class VGG", end="nowhere")
    with pytest.raises(source.SourceError, match="assigns no module-level name 'TABLE2'"):
        source.definition_text(G, "TABLE2")


def test_a_table_is_found_by_name_with_its_comment():
    body = _block_body(source.definition_text(G, "TABLE1"))
    assert body.startswith("# Table 1 of the paper")
    assert body.count("InceptionRow(") == len(G.TABLE1) == 9
    assert body.rstrip().endswith(")")


def test_code_block_fence_outgrows_backticks():
    block = source.code_block("x = '```'\n")
    assert block.startswith("````python\n") and block.endswith("\n````")


def test_shape_walk_of_a_downsampling_block():
    block = R.BasicBlock(16, 32, stride=2, shortcut="A")
    block.train()
    steps = source.shape_walk(block, torch.randn(1, 16, 32, 32))
    assert block.training  # the mode is restored
    by_name = {s.name: s for s in steps}
    assert by_name[""].input_shape == (1, 16, 32, 32) and by_name[""].output_shape == (1, 32, 16, 16)
    assert by_name["residual_branch.0"].output_shape == (1, 32, 16, 16)  # the first conv carries the stride
    assert by_name["residual_branch.0"].params == 16 * 32 * 9
    assert by_name["shortcut"].kind == "ZeroPadShortcut" and by_name["shortcut"].params == 0
    assert [s.depth for s in steps[:3]] == [0, 1, 2]
    shallow = source.shape_walk(block, torch.randn(1, 16, 32, 32), max_depth=1)
    assert len(shallow) == 4  # block, branch, shortcut, ReLU
    table = source.shape_walk_table(steps)
    assert table.count("\n") == len(steps) + 1 and "1 × 32 × 16 × 16" in table


def test_shape_walk_of_an_inception_module_concatenates_its_branches():
    module = G.Inception(192, G.TABLE1[0])
    steps = source.shape_walk(module, torch.randn(1, 192, 28, 28), max_depth=1)
    outs = {s.name: s.output_shape[1] for s in steps}
    assert outs == {"": 256, "branch1": 64, "branch3": 128, "branch5": 32, "branch_pool": 32}
