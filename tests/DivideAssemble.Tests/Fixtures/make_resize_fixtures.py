#!/usr/bin/env python3
"""Writes resize.json: expected outputs of DivideAssemble's shared resize (ImagePreprocessing).

The reference is PyTorch's antialiased bilinear interpolation on float input,
torch.nn.functional.interpolate(x, size, mode="bilinear", antialias=True, align_corners=False),
which is the filter ImagePreprocessing documents (PIL's BILINEAR resampling, without PIL's 8-bit
rounding between passes). Inputs are seeded random planes in [-1, 1] of several sizes, resized down
(by integer and non-integer factors), up, and to non-square targets.

Produced with Debian 12's python3-torch 1.13.1:
    /usr/bin/python3 tests/DivideAssemble.Tests/Fixtures/make_resize_fixtures.py
"""
import json
import os

import torch
import torch.nn.functional as F

CASES = [
    (48, 48, 24, 24),    # halving
    (70, 50, 32, 32),    # non-integer downscale, non-square input
    (28, 28, 32, 32),    # MNIST's upscale
    (17, 23, 64, 40),    # upscale to a non-square target
    (120, 90, 24, 24),   # strong downscale
    (32, 32, 32, 32),    # identity
    (9, 40, 6, 13),      # mixed: up along one axis, down along the other
]


def main():
    torch.manual_seed(0)
    cases = []
    for height, width, new_height, new_width in CASES:
        plane = torch.rand(1, 1, height, width, dtype=torch.float64) * 2 - 1
        plane = plane.to(torch.float32)
        out = F.interpolate(plane, size=(new_height, new_width), mode="bilinear", antialias=True, align_corners=False)
        cases.append({
            "width": width, "height": height, "newWidth": new_width, "newHeight": new_height,
            "input": [round(float(v), 6) for v in plane.flatten()],
            "expected": [round(float(v), 6) for v in out.flatten()],
        })
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "resize.json")
    with open(path, "w") as f:
        json.dump({"generator": f"torch {torch.__version__} interpolate(bilinear, antialias=True, align_corners=False)", "cases": cases}, f)


if __name__ == "__main__":
    main()
