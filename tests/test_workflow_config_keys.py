"""Config keys classified by the schema (`x-affects-results`): the README table, the params views
Snakemake compares, and `--config` values given their YAML types."""

import pickle
from pathlib import Path

import pytest

from pipelib import configkeys

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = configkeys.load_schema(ROOT / configkeys.SCHEMA_PATH)


def test_readme_lists_exactly_the_keys_the_schema_marks():
    text = (ROOT / "config/README.md").read_text()
    table = configkeys.readme_table(SCHEMA)
    assert table in text, (
        "config/README.md is out of step with workflow/schemas/config.schema.yaml: run "
        "`python -m pipelib.configkeys config/README.md`"
    )


def _annotations(node, path=()):
    if isinstance(node, dict):
        for key, value in node.items():
            if str(key).startswith("x-"):
                yield (*path, key), value
            yield from _annotations(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _annotations(value, (*path, str(i)))


def test_annotations_are_spelled_right_and_false():
    found = list(_annotations(SCHEMA))
    assert found, "the schema marks no key"
    for path, value in found:
        assert path[-1] == configkeys.ANNOTATION, f"unknown schema extension {'.'.join(path)}"
        assert value is False, f"{'.'.join(path)}: write `x-affects-results: false` (absent means true)"


def test_the_keys_the_project_names_are_classified_as_not_result_changing():
    runtime = {k.key for k in configkeys.iter_keys(SCHEMA) if not k.affects_results}
    assert {"manifest.threads", "signx.latents.device", "manifest.max_reject_fraction",
            "extraction.max_failure_fraction", "resources", "signx.recognition.batch_size",
            "production.autoencoder.train.tracking", "estimators.dwpose.device"} <= runtime
    results = {k.key for k in configkeys.iter_keys(SCHEMA) if k.affects_results}
    assert {"manifest.verify", "signx.augmentation.seed", "signx.efficiency.device",
            "production.autoencoder.batch_size", "estimators.dwpose.backend"} <= results


def test_every_train_section_uses_the_shared_definition():
    # datasets.<name>.predictions.<name>.train is a prediction file for the train split, not a section
    trains = [k.key for k in configkeys.iter_keys(SCHEMA)
              if k.key.endswith(".train") and not k.key.startswith("datasets.")]
    assert len(trains) == 7
    for key in trains:
        node = configkeys.node_at(SCHEMA, key.split("."))
        assert not configkeys.affects_results(configkeys.child(SCHEMA, node, "device")), key


def test_result_view_drops_marked_keys_at_any_depth_and_through_refs():
    section = {"backend": "sapiens_torchscript", "device": "cuda", "threads": 4, "weights": "/w.pt2"}
    node = configkeys.node_at(SCHEMA, ["datasets", "anything", "estimators", "sapiens"])
    assert configkeys.result_view(SCHEMA, section, node) == {"backend": "sapiens_torchscript",
                                                             "weights": "/w.pt2"}
    ae = {"batch_size": 8, "train": {"seed": 1, "device": "cuda", "tracking": {"uri": "none"}}}
    view = configkeys.result_view(SCHEMA, ae, configkeys.node_at(SCHEMA, ["production", "autoencoder"]))
    assert view == {"batch_size": 8, "train": {"seed": 1}}


def test_tracked_section_shows_result_keys_and_hands_the_job_all_of_them():
    def manifest(verify, threads, limit):
        section = {"verify": verify, "threads": threads, "max_reject_fraction": limit}
        return configkeys.tracked(SCHEMA, section, ["manifest"])

    a, b, c = manifest("full", 2, 0.02), manifest("full", 16, 0.5), manifest("quick", 2, 0.02)
    assert repr(a) == repr(b) == "{'verify': 'full'}"  # what Snakemake records and compares
    assert repr(c) != repr(a)
    job_side = pickle.loads(pickle.dumps(b))  # how a script receives params
    assert type(job_side) is dict
    assert job_side == {"max_reject_fraction": 0.5, "threads": 16, "verify": "full"}
    assert list(a) == sorted(a)


@pytest.mark.parametrize(("path", "given", "expected"), [
    (["manifest", "max_reject_fraction"], "0.5", 0.5),
    (["manifest", "threads"], "4", 4),
    (["skeletons", "depth"], "false", False),
    (["evaluation", "beam"], "null", None),
    (["production", "autoencoder", "train", "optimizer", "lr"], "1e-4", 1e-4),
    (["datasets", "x", "root"], "2024", "2024"),  # the schema wants a string there
    (["manifest", "verify"], "quick", "quick"),
])
def test_config_override_strings_get_their_yaml_types(path, given, expected):
    nested = given
    for key in reversed(path):
        nested = {key: nested}
    out = configkeys.coerce_overrides(SCHEMA, nested)
    for key in path:
        out = out[key]
    assert out == expected and type(out) is type(expected)


def test_readme_table_can_be_rewritten_in_place(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{configkeys.README_BEGIN}\nstale\n{configkeys.README_END}\noutro\n")
    readme.write_text(configkeys.replace_table(readme.read_text(), configkeys.readme_table(SCHEMA)))
    text = readme.read_text()
    assert "stale" not in text and "`manifest.threads`" in text and text.endswith("outro\n")
