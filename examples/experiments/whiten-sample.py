#!/usr/bin/env python3
"""How far a 2x2 patch whitening (dlsc_model_init_whitening's estimate: the patches'
covariance, filters V diag(1/sqrt(lambda + 3e-5)), bias -W mean, pixels in 0..1) is from
white on CIFAR-10 training images it was not estimated from, for three samples: 5,000
images of the pool (all classes), a class-balanced draw of 500, and that draw followed by
the pool's airplanes (the first 5,000 images of a student's training set before
2026-11-26, whose pseudo-labeled images are appended class by class).
Usage: examples/experiments/whiten-sample.py CACHE-DIR (holding cifar-10-batches-bin)
Needs Debian's python3-numpy; not part of the library."""
import sys

import numpy as np

folder = sys.argv[1] + '/cifar-10-batches-bin/'
records = np.concatenate([np.fromfile(f'{folder}data_batch_{i}.bin', np.uint8).reshape(-1, 3073)
                          for i in range(1, 6)])[:45000]
labels, pixels = records[:, 0], records[:, 1:].reshape(-1, 3, 32, 32) / 255.0
rng = np.random.default_rng(1)
labeled = np.concatenate([rng.choice(np.where(labels == c)[0], 50, replace=False)
                          for c in range(10)])
pool = np.setdiff1d(np.arange(45000), labeled)


def patch_stats(images):
    x = pixels[images]
    p = np.stack([x[:, c, a:a + 31, b:b + 31] for c in range(3) for a in range(2)
                  for b in range(2)], -1).reshape(-1, 12)
    return p.mean(0), np.cov(p, rowvar=False, bias=True)


sample = rng.choice(pool, 5000, replace=False)
mean, cov = patch_stats(rng.choice(np.setdiff1d(pool, sample), 5000, replace=False))
for name, images in [('5,000 of the pool', sample), ('the 500 labeled', labeled),
                     ('the 500 labeled + the pool\'s airplanes',
                      np.concatenate([labeled, pool[labels[pool] == 0]]))]:
    m, c = patch_stats(images)
    lam, v = np.linalg.eigh(c)
    w = (v / np.sqrt(np.maximum(lam, 0) + 3e-5)).T
    out = w @ cov @ w.T
    e = np.linalg.eigvalsh(out)
    print(f'{name:40s} {len(images):5d} images: whitened variance {e.min():.3f}..{e.max():.3f}, '
          f'largest channel mean {np.abs(w @ (mean - m)).max():.3f}')
