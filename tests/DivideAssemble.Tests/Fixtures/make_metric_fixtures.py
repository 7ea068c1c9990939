#!/usr/bin/env python3
"""Writes metrics.json: expected values for DivideAssemble's metric tests.

Image metrics come from scikit-learn (roc_auc_score, average_precision_score,
precision_recall_curve for F1-max). Pixel AUROC comes from roc_auc_score over all pixels;
AUPRO from the exact reference below (8-connected regions via scipy.ndimage.label, one curve
point per distinct threshold, starting at (0, 0), trapezoid to FPR 0.3, divided by 0.3).

Produced with Debian 12's python3-sklearn 1.2.1 and python3-scipy 1.10.1:
    /usr/bin/python3 tests/DivideAssemble.Tests/Fixtures/make_metric_fixtures.py
"""
import json
import os

import numpy as np
from scipy import ndimage
from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score


def image_case(name, scores, labels):
    scores = np.asarray(scores, dtype=float)
    labels = np.asarray(labels, dtype=int)
    precision, recall, thresholds = precision_recall_curve(labels, scores)
    f1 = np.where(precision + recall > 0, 2 * precision * recall / np.maximum(precision + recall, 1e-300), 0)[:-1]
    best = int(np.argmax(f1))
    return {
        "name": name,
        "scores": scores.tolist(),
        "labels": labels.tolist(),
        "auroc": float(roc_auc_score(labels, scores)),
        "averagePrecision": float(average_precision_score(labels, scores)),
        "f1Max": float(f1[best]),
        "f1Threshold": float(thresholds[best]),
    }


def aupro_exact(maps, masks, max_fpr=0.3):
    structure = np.ones((3, 3), dtype=int)
    regions = []
    negatives = []
    for m, g in zip(maps, masks):
        lab, n = ndimage.label(g, structure=structure)
        for k in range(1, n + 1):
            regions.append(m[lab == k])
        negatives.append(m[g == 0])
    negatives = np.concatenate(negatives)
    thresholds = np.unique(np.concatenate([negatives] + regions))[::-1]
    fprs, pros = [0.0], [0.0]
    neg_sorted = np.sort(negatives)
    reg_sorted = [np.sort(r) for r in regions]
    for t in thresholds:
        fpr = (len(neg_sorted) - np.searchsorted(neg_sorted, t, side="left")) / len(neg_sorted)
        pro = np.mean([(len(r) - np.searchsorted(r, t, side="left")) / len(r) for r in reg_sorted])
        fprs.append(fpr)
        pros.append(pro)
    area = 0.0
    for i in range(1, len(fprs)):
        x0, x1, y0, y1 = fprs[i - 1], fprs[i], pros[i - 1], pros[i]
        if x1 >= max_fpr:
            y = y0 + (y1 - y0) * ((max_fpr - x0) / (x1 - x0)) if x1 > x0 else y1
            area += (max_fpr - x0) * (y0 + y) / 2
            return area / max_fpr
        area += (x1 - x0) * (y0 + y1) / 2
    return area / max_fpr


def pixel_case(name, rng, images, size):
    maps, masks = [], []
    for i in range(images):
        m = (rng.random((size, size)) ** 2) * 0.5
        g = np.zeros((size, size), dtype=np.uint8)
        if i % 3 != 0:  # every third image is normal
            for _ in range(1 + i % 2):
                cy, cx, r = rng.integers(3, size - 3), rng.integers(3, size - 3), rng.integers(1, 4)
                yy, xx = np.ogrid[:size, :size]
                blob = (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
                g[blob] = 1
                m[blob] += rng.random(blob.sum()) * 0.6
        maps.append(np.minimum(m, 3.9).astype(np.float32).astype(float))
        masks.append(g)
    flat_m = np.concatenate([m.ravel() for m in maps])
    flat_g = np.concatenate([g.ravel() for g in masks])
    return {
        "name": name,
        "size": size,
        "maps": [m.ravel().tolist() for m in maps],
        "masks": [g.ravel().tolist() for g in masks],
        "pixelAuroc": float(roc_auc_score(flat_g, flat_m)),
        "aupro": float(aupro_exact(maps, masks)),
    }


def main():
    rng = np.random.default_rng(20261129)
    cases = [
        image_case("perfect", [0.1, 0.2, 0.3, 0.8, 0.9], [0, 0, 0, 1, 1]),
        image_case("inverted", [0.9, 0.8, 0.3, 0.2], [0, 0, 1, 1]),
        image_case("all tied", [0.5] * 6, [0, 1, 0, 1, 1, 0]),
        image_case("ties across classes", [1, 2, 2, 3, 3, 3, 4, 5, 5, 1], [0, 0, 1, 0, 1, 1, 1, 0, 1, 0]),
        image_case("random continuous", rng.normal(size=200) + np.repeat([0, 0.8], 100), np.repeat([0, 1], 100)),
        image_case("random rounded (many ties)", np.round(rng.normal(size=300) + np.repeat([0, 0.5, 1.0], 100), 1), np.repeat([0, 1, 1], 100)),
        image_case("imbalanced", rng.random(61) + np.r_[np.zeros(60), 0.5], np.r_[np.zeros(60, dtype=int), 1]),
    ]
    pixel = [pixel_case("blobs", rng, images=9, size=24)]
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "metrics.json")
    with open(out, "w") as f:
        json.dump({"image": cases, "pixel": pixel}, f)
    print("wrote", out)


if __name__ == "__main__":
    main()
