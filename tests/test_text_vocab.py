"""Vocab: deterministic ids, specials, unknown words, decode stopping at eos, JSON and file round trips."""

from __future__ import annotations

import json

import pytest

from pipelib.text.vocab import SPECIALS, Vocab

TEXTS = ["der hund ist gross", "der hund bellt", "die katze ist klein", "der regen"]


def test_build_orders_by_frequency_then_alphabet_after_the_specials():
    v = Vocab.build(TEXTS)
    assert v.tokens[:4] == ("<pad>", "<bos>", "<eos>", "<unk>")
    assert (v.pad_id, v.bos_id, v.eos_id, v.unk_id) == (0, 1, 2, 3)
    # der x3, hund x2, ist x2, then singletons alphabetically
    assert v.tokens[4:] == ("der", "hund", "ist", "bellt", "die", "gross", "katze", "klein", "regen")
    assert len(v) == 13
    assert Vocab.build(list(reversed(TEXTS))) == v  # order of sentences does not matter


def test_min_freq_drops_rare_words_to_unk():
    v = Vocab.build(TEXTS, min_freq=2)
    assert v.tokens[4:] == ("der", "hund", "ist")
    assert v.encode("der katze ist") == [4, v.unk_id, 6]
    with pytest.raises(ValueError, match="min_freq"):
        Vocab.build(TEXTS, min_freq=0)


def test_encode_decode_round_trip_and_unknown_words():
    v = Vocab.build(TEXTS)
    ids = v.encode("die katze ist gross", add_bos_eos=True)
    assert ids[0] == v.bos_id and ids[-1] == v.eos_id and len(ids) == 6
    assert v.decode(ids) == "die katze ist gross"
    unk = v.encode("der zebra bellt")
    assert unk == [v.tokens.index("der"), v.unk_id, v.tokens.index("bellt")]
    assert v.decode(unk) == "der bellt"  # specials (unk included) are skipped
    assert v.encode("") == [] and v.encode("  der   hund ") == v.encode("der hund")


def test_decode_stops_at_eos_and_skips_pad_and_bos():
    v = Vocab.build(TEXTS)
    der, hund = v.encode("der hund")
    assert v.decode([v.bos_id, der, v.pad_id, hund, v.eos_id, der, der]) == "der hund"
    with pytest.raises(IndexError, match="outside"):
        v.decode([len(v)])


def test_specials_in_text_are_not_words():
    v = Vocab.build(["<unk> der <pad> hund"])
    assert v.tokens == (*SPECIALS, "der", "hund")


def test_json_and_file_round_trip(tmp_path):
    v = Vocab.build(TEXTS + ["straße größer"])
    again = Vocab.from_json(v.to_json())
    assert again == v and again.encode("straße ist") == v.encode("straße ist")
    assert Vocab.from_json(json.loads(v.to_json())) == v
    path = tmp_path / "sub" / "vocab.json"
    v.save(path)
    assert Vocab.load(path) == v
    assert [p.name for p in path.parent.iterdir()] == ["vocab.json"]  # no temporary left behind


def test_bad_inputs_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="vocab.json"):
        Vocab.load(tmp_path / "vocab.json")
    (tmp_path / "bad.json").write_text('{"tokens": ["a"]}')
    with pytest.raises(ValueError, match="bad.json"):
        Vocab.load(tmp_path / "bad.json")
    with pytest.raises(ValueError, match="twice"):
        Vocab([*SPECIALS, "a", "a"])
    with pytest.raises(ValueError, match="specials"):
        Vocab(["a", *SPECIALS])
