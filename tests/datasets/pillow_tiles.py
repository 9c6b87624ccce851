#!/usr/bin/python3
"""The imagenet dataset's tiles as the paper's authors made them, with Pillow (Debian's
python3-pil), for tests/datasets/imagenet_test.cpp to compare with ours byte for byte.

  pillow_tiles.py tiles FOLDER OUT    every .jpeg/.jpg/.png under FOLDER, sorted by relative path
                                      (bytes): Image.open(path).convert("RGB"), gray = (R + G + B)
                                      // 3, 32x64 tiles in raster order, partial edge tiles
                                      dropped; all tiles, concatenated, to OUT
  pillow_tiles.py jpegs FOLDER        writes JPEGs of each kind Pillow reads (gray, colour at three
                                      chroma subsamplings, progressive, Adobe CMYK) into FOLDER
"""
import os
import sys

import numpy
from PIL import Image

TILE_ROWS, TILE_COLUMNS = 32, 64


def image_files(folder):
    found = []
    for root, _, names in os.walk(folder, followlinks=True):
        for name in names:
            if os.path.splitext(name)[1].lower() in (".jpeg", ".jpg", ".png"):
                path = os.path.join(root, name)
                found.append((os.path.relpath(path, folder).replace(os.sep, "/").encode(), path))
    return [path for _, path in sorted(found)]


def tiles(path):
    rgb = numpy.asarray(Image.open(path).convert("RGB"), dtype=numpy.uint16)
    gray = (rgb.sum(axis=2) // 3).astype(numpy.uint8)
    rows, columns = gray.shape[0] // TILE_ROWS, gray.shape[1] // TILE_COLUMNS
    for r in range(rows):
        for c in range(columns):
            yield gray[r * TILE_ROWS:(r + 1) * TILE_ROWS,
                       c * TILE_COLUMNS:(c + 1) * TILE_COLUMNS].tobytes()


def write_jpegs(folder):
    # Smooth gradients with noise: every DCT coefficient and upsampled chroma value matters.
    rng = numpy.random.default_rng(28)
    y, x = numpy.mgrid[0:97, 0:203]
    planes = [(x * 1.1 + y * 0.4) % 256, (y * 2.3) % 256, (x * y * 0.01) % 256, (x + 2 * y) % 256]
    pixels = numpy.stack(planes, axis=2) + rng.normal(0, 12, (97, 203, 4))
    pixels = numpy.clip(pixels, 0, 255).astype(numpy.uint8)
    rgb = Image.fromarray(pixels[:, :, :3], "RGB")
    rgb.convert("L").save(os.path.join(folder, "gray.jpg"), quality=90)
    for subsampling in (0, 1, 2):  # 4:4:4, 4:2:2, 4:2:0
        rgb.save(os.path.join(folder, f"colour-{subsampling}.jpg"), quality=85,
                 subsampling=subsampling)
    rgb.save(os.path.join(folder, "progressive.jpg"), quality=75, progressive=True)
    Image.fromarray(pixels, "CMYK").save(os.path.join(folder, "cmyk.jpg"), quality=90)


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "tiles":
        with open(sys.argv[3], "wb") as out:
            for path in image_files(sys.argv[2]):
                for tile in tiles(path):
                    out.write(tile)
    elif len(sys.argv) == 3 and sys.argv[1] == "jpegs":
        write_jpegs(sys.argv[2])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
