"""The safetensors member of model files: readable alone, refused when damaged.

``tests/test_persistence.py`` covers the container (ZIP, JSON header,
checksums); here the checksum is recomputed after every edit, so that each
damage reaches the safetensors reader and the checks behind it.
"""

import hashlib
import json
import re
import textwrap
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load, save
from sklearn.datasets import load_digits

from skgan.persistence import load_model, save_model
from tests._tiny import tiny_gan

MEMBER = "weights.safetensors"
GUIDE = Path(__file__).parents[1] / "docs" / "user_guide" / "estimator.rst"


@pytest.fixture(scope="module")
def fitted():
    X, y = load_digits(return_X_y=True)
    return tiny_gan(epochs=1, conditional=True, ema_decay=0.9).fit(X[:96], y[:96])


@pytest.fixture
def saved(fitted, tmp_path):
    return save_model(fitted, tmp_path / "model.skgan")


def members(path):
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def write_weights(path, blob, header=None):
    """Replace the safetensors member by ``blob``, with a matching checksum."""
    files = members(path)
    meta = json.loads(files["skgan.json"])
    if header is not None:
        meta = header(meta)
    meta["tensors_sha256"] = hashlib.sha256(blob).hexdigest()
    files["skgan.json"] = json.dumps(meta)
    files[MEMBER] = blob
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)


def edit_tensors(path, edit):
    """Rewrite the member with ``edit(flat tensors)`` applied (checksum kept valid)."""
    flat = load(members(path)[MEMBER])
    edit(flat)
    write_weights(path, save(flat))


def refused(path, match):
    with pytest.raises(ValueError, match=match) as info:
        load_model(path)
    assert str(path) in str(info.value)


# ------------------------------------------------------------- readable alone


def test_the_guide_snippet_opens_the_weights_with_safetensors_alone(
    fitted, tmp_path, monkeypatch
):
    """The user guide's code block runs as written, on a file saved here."""
    blocks = re.findall(
        r"\.\. code-block:: python\n\n((?:(?:   .*)?\n)+)", GUIDE.read_text()
    )
    snippets = [b for b in blocks if "safetensors" in b]
    assert len(snippets) == 1, "the guide's safetensors snippet is missing"
    code = textwrap.dedent(snippets[0])
    monkeypatch.chdir(tmp_path)
    save_model(fitted, "xray_gan.skgan")
    namespace = {}
    exec(compile(code, str(GUIDE), "exec"), namespace)
    weights = namespace["weights"]
    assert isinstance(weights["generator.to_image.0.bias"], np.ndarray)
    state = fitted.generator_.state_dict()
    assert {k for k in weights if k.startswith("generator.")} == {
        f"generator.{k}" for k in state
    }
    for key, value in state.items():
        np.testing.assert_array_equal(weights[f"generator.{key}"], value.numpy())


def test_tensor_names_and_a_network_loaded_from_them(fitted, saved):
    flat = load(members(saved)[MEMBER])
    prefixes = {name.split(".")[0] for name in flat}
    assert prefixes == {
        "generator",
        "discriminator",
        "generator_ema",
        "generator_optimizer",
        "discriminator_optimizer",
        "rng_state",
    }
    assert "generator_optimizer.state.0.exp_avg" in flat
    assert flat["rng_state"].dtype == torch.uint8
    # The moving average's tensors, prefix removed, fit a network of its kind.
    copy = tiny_gan(conditional=True).fit(*load_digits(return_X_y=True)).generator_
    prefix = "generator_ema."
    copy.load_state_dict(
        {k[len(prefix) :]: v for k, v in flat.items() if k.startswith(prefix)}
    )
    for key, value in fitted.generator_ema_.state_dict().items():
        assert torch.equal(copy.state_dict()[key], value)


def test_optimizer_moments_keep_their_memory_order(fitted, saved):
    loaded = load_model(saved)
    for name in ("_generator_optimizer", "_discriminator_optimizer"):
        mine = getattr(fitted, name).state_dict()["state"]
        theirs = getattr(loaded, name).state_dict()["state"]
        for index, entries in mine.items():
            for key, value in entries.items():
                assert theirs[index][key].stride() == value.stride(), (name, key)
                assert torch.equal(theirs[index][key], value)
    assert any(
        v.dim() == 4 and not v.is_contiguous()
        for entries in fitted._generator_optimizer.state_dict()["state"].values()
        for v in entries.values()
    ), "the fixture should train channels-last"


# ------------------------------------------------------------------- refusals


@pytest.mark.parametrize("cut", [0, 4, 9, 100, -1])
def test_truncated_member_is_refused(saved, cut):
    blob = members(saved)[MEMBER]
    write_weights(saved, blob[:cut] if cut >= 0 else blob[:-1])
    refused(saved, "weights.safetensors (is truncated|is not a valid safetensors)")


def test_corrupted_header_is_refused(saved):
    blob = bytearray(members(saved)[MEMBER])
    blob[8:12] = b"#!?\xff"
    write_weights(saved, bytes(blob))
    refused(saved, "corrupt header")


def test_header_with_overlapping_offsets_is_refused(saved):
    blob = members(saved)[MEMBER]
    size = int.from_bytes(blob[:8], "little")
    header = json.loads(blob[8 : 8 + size])
    name = next(k for k in header if k != "__metadata__")
    start, stop = header[name]["data_offsets"]
    header[name]["data_offsets"] = [start, stop + 4]
    text = json.dumps(header).encode().ljust(size)[:size]
    write_weights(saved, blob[:8] + text + blob[8 + size :])
    refused(saved, "not a valid safetensors file|corrupt header")


def test_oversize_header_is_refused_before_parsing(saved):
    blob = members(saved)[MEMBER]
    write_weights(saved, (2**40).to_bytes(8, "little") + blob[8:])
    refused(saved, "implausibly large header")


def test_unsupported_dtype_in_the_header_is_refused(saved):
    blob = members(saved)[MEMBER]
    size = int.from_bytes(blob[:8], "little")
    text = blob[8 : 8 + size].replace(b'"dtype":"U8"', b'"dtype":"C64"', 1)
    write_weights(saved, blob[:8] + text + blob[8 + size :])
    refused(saved, "unsupported dtype 'C64'")


@pytest.mark.parametrize(
    "name, make",
    [
        ("generator.to_image.0.bias", lambda t: t.double()),
        ("discriminator.features.3.running_mean", lambda t: t.half()),
        ("generator_optimizer.state.0.exp_avg", lambda t: t.double()),
    ],
    ids=["weight", "buffer", "moment"],
)
def test_wrong_dtype_is_refused(saved, name, make):
    edit_tensors(saved, lambda flat: flat.update({name: make(flat[name])}))
    refused(saved, "do not fit.*(float64|float16)")


@pytest.mark.parametrize(
    "name",
    [
        "generator.to_image.0.bias",
        "generator_ema.project.0.weight",
        "discriminator_optimizer.state.0.exp_avg_sq",
        "generator_optimizer.state.2.step",
    ],
    ids=["weight", "average", "moment", "step"],
)
def test_wrong_shape_is_refused(saved, name):
    edit_tensors(saved, lambda flat: flat.update({name: torch.zeros(3, 2)}))
    refused(saved, "do not fit the networks")


def test_a_bad_random_state_is_refused(saved):
    edit_tensors(saved, lambda flat: flat.update(rng_state=torch.zeros(3)))
    refused(saved, "RNG state|random state")


def test_extra_tensors_are_refused(saved):
    edit_tensors(saved, lambda flat: flat.update({"payload": torch.zeros(4)}))
    refused(saved, "does not list: payload")


def test_missing_tensors_are_refused(saved):
    edit_tensors(saved, lambda flat: flat.pop("generator.to_image.0.bias"))
    refused(saved, "lacks the tensors generator.to_image.0.bias")


def with_group(layout, name, entry):
    return layout | {"groups": layout["groups"] | {name: entry}}


@pytest.mark.parametrize(
    "edit, match",
    [
        (lambda lay: {"groups": lay["groups"]}, "bad tensors_layout"),
        (lambda lay: lay | {"channels_last": ["rng_state"]}, "not 4-d"),
        (lambda lay: lay | {"channels_last": ["nothing"]}, "bad tensors_layout"),
        (lambda lay: lay | {"channels_last": "x"}, "bad tensors_layout"),
        (lambda lay: with_group(lay, "_rng_state", {"kind": "x"}), "bad"),
        (
            lambda lay: with_group(lay, "_rng_state", {"kind": "tensor", "prefix": 1}),
            "bad tensors_layout",
        ),
        (
            lambda lay: with_group(
                lay, "generator_", lay["groups"]["generator_"] | {"keys": [1]}
            ),
            "bad tensors_layout",
        ),
        (
            lambda lay: with_group(
                lay,
                "_generator_optimizer",
                lay["groups"]["_generator_optimizer"] | {"state": [[0, ["step"]]] * 2},
            ),
            "listed twice",
        ),
        (
            lambda lay: with_group(
                lay, "extra_", {"kind": "tensor", "prefix": "extra"}
            ),
            "lacks the tensors extra",
        ),
        (lambda lay: {"channels_last": []}, "bad tensors_layout"),
        (lambda lay: 3, "tensors_layout is not a JSON object"),
    ],
    ids=[
        "no-memory-order",
        "nhwc-1d",
        "nhwc-unknown",
        "nhwc-type",
        "kind",
        "prefix",
        "module-keys",
        "optimizer-duplicates",
        "extra-group",
        "no-groups",
        "not-an-object",
    ],
)
def test_tampered_layout_is_refused(saved, edit, match):
    def change(header):
        header["tensors_layout"] = edit(header["tensors_layout"])
        return header

    write_weights(saved, members(saved)[MEMBER], header=change)
    refused(saved, match)


def test_unknown_tensor_group_is_refused(saved):
    def change(header):
        header["tensors_layout"]["groups"]["extra_"] = {
            "kind": "tensor",
            "prefix": "extra",
        }
        return header

    flat = load(members(saved)[MEMBER])
    flat["extra"] = torch.zeros(2)
    write_weights(saved, save(flat), header=change)
    refused(saved, "unknown tensor groups")
