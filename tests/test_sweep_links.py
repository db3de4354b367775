"""The Sweeps page's settings in the URL (dashboard/sweep_job.py): encode, decode, bounds."""

import base64
import json
import zlib

import pytest

from dashboard import state
from dashboard import sweep_job as links
from nn_core import ConfigError
from nn_core.optimizers import RULES

SETTINGS = {"rules": ["adam", "sgd", "lion"], "span": (-4, 0), "points": 9, "seeds": 2,
            "confirm": 4, "epochs": 17}  # fmt: skip


def raw_text(data: bytes) -> str:
    return base64.urlsafe_b64encode(zlib.compress(data)).decode()


def raw_link(doc) -> str:
    """A link built by hand (zlib + base64url of the JSON), independent of encode_doc."""
    data = zlib.compress(json.dumps(doc).encode())
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def test_settings_survive_the_round_trip_through_a_link():
    text = links.encode_settings(SETTINGS)
    assert links.decode_settings(text) == SETTINGS
    every = {**SETTINGS, "rules": list(RULES), "span": (-6, 2), "points": 100, "seeds": 10}
    assert links.decode_settings(links.encode_settings(every)) == every
    assert len(links.encode_settings(every)) < links.MAX_SWEEP_LINK_CHARS / 4


def test_a_link_speaks_sweep_configs_own_words():
    doc = json.loads(state.decode_doc(links.encode_settings(SETTINGS)))
    assert doc == {"rules": ["adam", "sgd", "lion"], "lr_min": 1e-4, "lr_max": 1.0,
                   "lr_points": 9, "seeds": 2, "confirm_seeds": 4, "epochs": 17}  # fmt: skip
    # a hand-made link with the same document reads the same
    assert links.decode_settings(raw_link(doc)) == SETTINGS
    # epochs may be left out: the page then uses the comparison's
    no_epochs = {k: v for k, v in doc.items() if k != "epochs"}
    settings = links.decode_settings(raw_link(no_epochs))
    assert "epochs" not in settings
    assert links.decode_settings(links.encode_settings(settings)) == settings


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"rules": ["adam", "nosuchrule"]}, "sweep.rules"),
        ({"rules": []}, "sweep.rules"),
        ({"lr_points": 101}, "sweep.lr_points"),  # SweepConfig allows 200; the form 100
        ({"lr_points": 1}, "sweep.lr_points"),
        ({"seeds": 11}, "sweep.seeds"),
        ({"seeds": "3"}, "sweep.seeds"),
        ({"confirm_seeds": 31}, "sweep.confirm_seeds"),
        ({"epochs": 0}, "sweep.epochs"),
        ({"epochs": True}, "sweep.epochs"),
        ({"lr_min": 3e-4}, "sweep.lr_min"),  # not a power of ten: the slider cannot show it
        ({"lr_max": 1e3}, "sweep.lr_max"),
        ({"lr_min": 1.0, "lr_max": 1e-2}, "sweep.lr_max"),
        ({"select_on": "val_loss"}, "sweep.select_on"),  # not on the page
        ({"axis": "momentum", "axis_values": [0.9]}, "sweep.axis"),
    ],
)
def test_out_of_range_settings_are_refused_with_the_key_named(change, path):
    doc = {**json.loads(state.decode_doc(links.encode_settings(SETTINGS))), **change}
    with pytest.raises(ConfigError) as err:
        links.decode_settings(raw_link(doc))
    assert err.value.path == path


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("not base64 at all!", "damaged"),
        (raw_link({"rules": ["adam"]})[:-6], "damaged"),  # cut short
        (raw_text(b"[1, 2"), "not valid JSON"),
        (raw_link([1, 2]), "must be an object"),
        (raw_text(b"[" * 8000 + b"]" * 8000), "not valid JSON"),  # nested past recursion
    ],
)
def test_damaged_links_are_refused_in_one_line(text, words):
    settings, message = links.settings_from_link(text)
    assert settings is None and words in message and "\n" not in message


def test_oversized_links_are_refused_before_decoding_and_bombs_while_inflating():
    long = "A" * (links.MAX_SWEEP_LINK_CHARS + 1)
    with pytest.raises(ConfigError, match="characters; the limit is"):
        links.decode_settings(long)
    bomb = base64.urlsafe_b64encode(zlib.compress(b" " * 10**6, 9)).decode()
    assert len(bomb) < links.MAX_SWEEP_LINK_CHARS  # small text, a megabyte inflated
    with pytest.raises(ConfigError, match="inflates to more than"):
        links.decode_settings(bomb)


def test_the_configuration_link_still_decodes_through_the_shared_helpers():
    from nn_core import ExperimentConfig

    config = ExperimentConfig.preset("relu-he-fix")
    assert state.decode_config(state.encode_config(config)) == config
    with pytest.raises(ConfigError, match="configuration is"):
        state.decode_config("A" * (state.MAX_LINK_CHARS + 1))


def test_a_configuration_change_keeps_the_sweep_parameter():
    from nn_core import ExperimentConfig

    params = {"sweep": "abc", "config": "old", "other": "x"}
    state.mirror_config(params, ExperimentConfig.preset("default"), "default")
    assert params == {"preset": "default", "sweep": "abc"}
    session: dict = {}
    state.set_config(session, params, ExperimentConfig.preset("relu-he-fix"), None)
    assert params["sweep"] == "abc" and "config" in params and "preset" not in params


def test_the_session_reads_a_link_once_and_mirrors_its_valid_settings():
    session: dict = {}
    params = {links.SWEEP_PARAM: links.encode_settings(SETTINGS)}
    assert links.apply_link(session, params) == ""
    assert session[links.SETTINGS_KEY] == SETTINGS
    session[links.SETTINGS_KEY] = {**SETTINGS, "points": 5}  # the form changed them since
    assert links.apply_link(session, params) == ""  # the same link is not applied again
    assert session[links.SETTINGS_KEY]["points"] == 5
    links.mirror_settings(session, params)
    assert links.decode_settings(params[links.SWEEP_PARAM])["points"] == 5
    params.clear()  # a page switch dropped it: the page puts it back
    links.mirror_settings(session, params)
    assert links.decode_settings(params[links.SWEEP_PARAM])["points"] == 5
    session[links.SETTINGS_KEY] = {**SETTINGS, "rules": []}  # not a sweep: the URL keeps the last
    links.mirror_settings(session, params)
    assert links.decode_settings(params[links.SWEEP_PARAM])["points"] == 5


def test_a_bad_link_warns_keeps_the_settings_and_leaves_the_url():
    session = {links.SETTINGS_KEY: SETTINGS}
    params = {links.SWEEP_PARAM: "%%%", "preset": "default"}
    warning = links.apply_link(session, params)
    assert warning.startswith("Ignored the sweep settings in the link")
    assert session[links.SETTINGS_KEY] == SETTINGS and params == {"preset": "default"}
