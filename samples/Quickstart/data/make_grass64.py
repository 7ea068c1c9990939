#!/usr/bin/env python3
"""Builds the Quickstart's embedded data set, grass64/, from the project's grass texture set.

Source: ../shared/data/textures/grass (crops of scikit-image's public-domain grass.png with
synthetic defects painted in). This keeps every 2nd training image (100) and a quarter of the
test images (10 normal, 6 per defect type with masks), downscaled from 128x128 to 64x64
(images: Lanczos; masks: nearest neighbour, then binarised).
Run from the repository root with Debian's python3-pil:
    /usr/bin/python3 samples/Quickstart/data/make_grass64.py ../shared/data/textures/grass
"""
import os
import sys

from PIL import Image

src = sys.argv[1]
dst = os.path.join(os.path.dirname(os.path.abspath(__file__)), "grass64")


def save(image_path, out_path, mask=False):
    os.makedirs(os.path.dirname(out_path), exist_ok=True)
    img = Image.open(image_path).convert("L")
    img = img.resize((64, 64), Image.NEAREST if mask else Image.LANCZOS)
    if mask:
        img = img.point(lambda v: 255 if v > 127 else 0)
    img.save(out_path, optimize=True)


train = sorted(os.listdir(os.path.join(src, "train", "good")))
for name in train[::2]:
    save(os.path.join(src, "train", "good", name), os.path.join(dst, "train", "good", name))
for defect in sorted(os.listdir(os.path.join(src, "test"))):
    names = sorted(os.listdir(os.path.join(src, "test", defect)))
    keep = names[::4] if defect == "good" else names[::4][:6]
    for name in keep:
        save(os.path.join(src, "test", defect, name), os.path.join(dst, "test", defect, name))
        if defect != "good":
            stem = os.path.splitext(name)[0]
            save(os.path.join(src, "ground_truth", defect, stem + "_mask.png"),
                 os.path.join(dst, "ground_truth", defect, stem + "_mask.png"), mask=True)
print("wrote", dst)
