#!/usr/bin/env python3
"""Training-free floor for an MVTec-style category: score each test image by its mean squared
distance to the mean training image (values scaled to [-1, 1]) and report the image AUROC.

    /usr/bin/python3 docs/scripts/mean_image_floor.py ../shared/data/textures/grass

Needs Debian 12's python3-pil, python3-numpy and python3-sklearn.
"""
import os
import sys

import numpy as np
from PIL import Image
from sklearn.metrics import roc_auc_score

root = sys.argv[1]


def load(path):
    return np.asarray(Image.open(path).convert("L"), dtype=np.float64) / 127.5 - 1


train_dir = os.path.join(root, "train", "good")
mean = np.stack([load(os.path.join(train_dir, f)) for f in sorted(os.listdir(train_dir))]).mean(0)
scores, labels = [], []
for defect in sorted(os.listdir(os.path.join(root, "test"))):
    for name in sorted(os.listdir(os.path.join(root, "test", defect))):
        x = load(os.path.join(root, "test", defect, name))
        scores.append(((x - mean) ** 2).mean())
        labels.append(0 if defect == "good" else 1)
print(f"mean-image floor image AUROC: {roc_auc_score(labels, scores):.3f}")
