#!/usr/bin/env python3
"""Reference SSIM values for SsimTests, from scikit-image (Debian's python3-skimage 0.19):
structural_similarity(gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=2),
per channel and averaged, on deterministic pairs of images in [-1, 1].
Run: /usr/bin/python3 tests/DivideAssemble.Tests/Fixtures/make_ssim_fixtures.py > tests/DivideAssemble.Tests/Fixtures/ssim.json"""
import json
import numpy as np
from skimage.metrics import structural_similarity

def image(seed, channels, size):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size]
    base = 0.6 * np.sin(2 * np.pi * (x + 2 * y) / 9.0 + seed)
    return np.round(np.clip(np.stack([base * (1 - 0.2 * c) + 0.15 * rng.standard_normal((size, size)) for c in range(channels)]), -1, 1), 4).astype(np.float32)

cases = []
for seed, channels, size, noise in [(1, 1, 24, 0.1), (2, 3, 16, 0.3), (3, 1, 16, 0.0), (4, 3, 20, 0.6)]:
    a = image(seed, channels, size)
    b = np.round(np.clip(a + noise * np.random.default_rng(seed + 100).standard_normal(a.shape), -1, 1), 4).astype(np.float32) if noise > 0 else image(seed + 7, channels, size)
    value = np.mean([structural_similarity(a[c].astype(np.float64), b[c].astype(np.float64), gaussian_weights=True, sigma=1.5,
                                           use_sample_covariance=False, data_range=2.0) for c in range(channels)])
    cases.append({"channels": channels, "size": size, "a": [round(float(v), 4) for v in a.flatten()], "b": [round(float(v), 4) for v in b.flatten()], "ssim": float(value)})
print(json.dumps({"source": "scikit-image " + __import__("skimage").__version__ + " structural_similarity", "cases": cases}))
