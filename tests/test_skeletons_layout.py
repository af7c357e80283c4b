"""The two 178-point layouts: SLRTP's drawing edges, layout checks, each layout drawn with its own edges."""

from __future__ import annotations

import numpy as np
import pytest

from pipelib.production import render
from pipelib.skeletons.layout import (
    FACE,
    HOLISTIC,
    LAYOUTS,
    SLRTP,
    chain_edges,
    check_layout,
    layout_mismatch,
    slrtp_chains,
)


def test_slrtp_edges_are_keypoint_def_edges():
    chains = slrtp_chains()
    edges = {part: chain_edges(c) for part, c in chains.items()}
    assert sum(len(e) for e in edges.values()) == 146
    assert len(edges["face"]) == 96
    assert all(FACE.start <= j < FACE.stop for e in edges["face"] for j in e)
    assert all(j < 8 for e in edges["body"] for j in e) and len(edges["body"]) == 8
    assert len(edges["right_hand"]) == len(edges["left_hand"]) == 21
    assert frozenset((8, 13)) in edges["right_hand"] and frozenset((46, 29)) in edges["left_hand"]
    # body and hands share the slot order; the body is drawn with the same bones in both layouts
    assert edges["body"] == chain_edges(render.part_chains(HOLISTIC)["body"])


def test_only_seven_slrtp_face_edges_are_holistic_contour_edges():
    ours = chain_edges(render.part_chains(HOLISTIC)["face"])
    assert len(ours & chain_edges(slrtp_chains()["face"])) == 7


def test_layout_checks_and_mismatch_sentences():
    assert set(LAYOUTS) == {HOLISTIC, SLRTP} and check_layout(SLRTP, "x") == SLRTP
    with pytest.raises(ValueError, match="datasets.d.predictions.p: skeleton layout 'openpose' is unknown"):
        check_layout("openpose", "datasets.d.predictions.p")
    assert layout_mismatch(SLRTP, SLRTP, "ground truth") == ""
    assert layout_mismatch(None, SLRTP, "ground truth") == ""
    note = layout_mismatch(HOLISTIC, SLRTP, "the slrtp back-translator")
    assert note.startswith("holistic178 poses meet the slrtp back-translator of layout slrtp178")


def test_each_layout_is_drawn_with_its_own_face_edges():
    theirs_only = chain_edges(slrtp_chains()["face"]) - chain_edges(render.part_chains(HOLISTIC)["face"])
    a, b = sorted(min(theirs_only, key=sorted))
    pose = np.zeros((178, 3), np.float32)
    pose[a, :2], pose[b, :2] = (-0.5, -0.5), (0.5, -0.5)
    mask = np.zeros(178, bool)
    mask[[a, b]] = True  # only two face points: no dots, only their edge if the layout has one
    blank = render.draw_skeleton(pose, np.zeros(178, bool))
    assert (render.draw_skeleton(pose, mask, layout=HOLISTIC) == blank).all()
    assert (render.draw_skeleton(pose, mask, layout=SLRTP) != blank).any()
    with pytest.raises(ValueError, match="unknown"):
        render.draw_skeleton(pose, mask, layout="coco")
