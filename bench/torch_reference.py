#!/usr/bin/python3
"""The same architectures in PyTorch, for speed comparisons (bench/run).

Reads dlsc spec strings (as printed by bench-cifar/bench-denoise --print-spec) on
standard input and prints PyTorch's throughput for each, measured like the C benches:

  cifar lines:    NAME <tab> SPEC
      train and inference images/s, batch 128, SGD Nesterov, cross-entropy
  denoise lines:  PATH <tab> BEFORE <tab> AFTER <tab> MASK <tab> N_FFT <tab> HOP <tab> SPEC
      real-time factor of whole-signal denoising (torch.stft with a Hann window, model,
      istft) on 60 s of audio, and training frames/s with batches of 64

Usage: bench/torch_reference.py cifar|denoise THREADS < specs
Not part of the product: Debian's python3-torch, used only to compare.
"""
import math
import sys
import time

import torch
from torch import nn


class Log(nn.Module):
    def __init__(self, eps):
        super().__init__()
        self.eps = eps

    def forward(self, x):
        return torch.log(torch.clamp(x, min=0) + self.eps)


def pair(text):
    a, _, b = text.partition("x")
    return (int(a), int(b or a))


def build(spec):
    """nn.Sequential and input shape (C, H, W) from a dlsc spec string."""
    items = [item.split() for item in spec.split(";") if item.strip()]
    c, h, w = (int(v) for v in items[0][1].split("x"))
    shape, layers = (c, h, w), []
    for words in items[1:]:
        kind, args = words[0], [a for a in words[1:] if "=" not in a]
        opts = dict(a.split("=") for a in words[1:] if "=" in a)
        c, h, w = shape
        if kind == "dense":
            layers += [nn.Flatten(), nn.Linear(c * h * w, int(args[0]), bias=opts.get("bias") != "0")]
            shape = (int(args[0]), 1, 1)
        elif kind in ("conv2d", "conv1d"):
            k = pair(args[1]) if kind == "conv2d" else (1, int(args[1]))
            s = pair(opts.get("stride", "1")) if kind == "conv2d" else (1, int(opts.get("stride", 1)))
            p = pair(opts.get("pad", "0")) if kind == "conv2d" else (0, int(opts.get("pad", 0)))
            layers.append(nn.Conv2d(c, int(args[0]), k, s, p, bias=opts.get("bias") != "0"))
            shape = (int(args[0]), (h + 2 * p[0] - k[0]) // s[0] + 1, (w + 2 * p[1] - k[1]) // s[1] + 1)
        elif kind in ("maxpool", "avgpool"):
            k = pair(args[0])
            s = pair(opts.get("stride", args[0]))
            p = pair(opts.get("pad", "0"))
            pool = nn.MaxPool2d if kind == "maxpool" else nn.AvgPool2d
            layers.append(pool(k, s, p))
            shape = (c, (h + 2 * p[0] - k[0]) // s[0] + 1, (w + 2 * p[1] - k[1]) // s[1] + 1)
        elif kind == "gap":
            layers.append(nn.AdaptiveAvgPool2d(1))
            shape = (c, 1, 1)
        elif kind == "batchnorm":
            layers.append(nn.BatchNorm2d(c, eps=float(opts.get("eps", 1e-5))))
        elif kind == "dropout":
            layers.append(nn.Dropout(float(args[0])))
        elif kind == "log":
            layers.append(Log(float(opts.get("eps", 1e-3))))
        else:
            layers.append({"relu": nn.ReLU, "gelu": nn.GELU, "sigmoid": nn.Sigmoid,
                           "tanh": nn.Tanh, "softplus": nn.Softplus}[kind]())
    return nn.Sequential(*layers), items[0][1]


def rate(step, count, seconds=5.0, slice_seconds=0.25):
    """Items per second of the fastest slice of at least slice_seconds, as dlsc's
    bench_best_rate measures: stolen time on a shared machine hits only some slices."""
    step()
    best, end = 0.0, time.perf_counter() + seconds
    while True:
        calls, start = 0, time.perf_counter()
        while True:
            step()
            calls += 1
            elapsed = time.perf_counter() - start
            if elapsed >= slice_seconds:
                break
        best = max(best, calls * count / elapsed)
        if time.perf_counter() >= end:
            return best


def bench_cifar(line):
    name, spec = line.split("\t")
    model, _ = build(spec)
    batch = 128
    x, y = torch.rand(batch, 3, 32, 32), torch.arange(batch) % 10
    opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9, nesterov=True, weight_decay=5e-4)
    loss_fn = nn.CrossEntropyLoss()

    def train():
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()

    model.train()
    train_rate = rate(train, batch)
    model.eval()
    with torch.no_grad():
        infer_rate = rate(lambda: model(x), batch)
    params = sum(p.numel() for p in model.parameters())
    print(f"{name:6s} {params:10d} {batch:8d} {train_rate:16.0f} {infer_rate:16.0f}", flush=True)


def bench_denoise(line):
    path, before, after, mask, n_fft, hop, spec = line.split("\t")
    before, after, mask = int(before), int(after), int(mask) == 1
    n_fft, hop = int(n_fft), int(hop)
    bins = n_fft // 2 + 1
    model, _ = build(spec)
    window = before + 1 + after
    seconds = 60.0
    t = torch.arange(int(seconds * 16000)) / 16000.0
    x = 0.1 * torch.sin(2 * math.pi * 120 * t) + 0.02 * torch.randn(t.shape)
    hann = torch.hann_window(n_fft)
    model.eval()

    def denoise():
        with torch.no_grad():
            spec_c = torch.stft(x, n_fft, hop, window=hann, return_complex=True)  # bins x frames
            mag = spec_c.abs().T  # frames x bins
            padded = torch.nn.functional.pad(mag, (0, 0, before, after))
            windows = padded.unfold(0, window, 1).permute(0, 2, 1).unsqueeze(1)  # frames,1,W,bins
            out = model(windows).reshape(mag.shape)
            gain = out if mask else out / mag.clamp(min=1e-9)
            return torch.istft(spec_c * gain.T, n_fft, hop, window=hann, length=x.numel())

    denoise()
    best = min(timed(denoise) for _ in range(3))
    batch = 64
    inputs, scale = torch.rand(batch, 1, window, bins) * 10, torch.rand(batch, bins) + 1
    target = 0.5 * scale
    opt = torch.optim.Adam(model.parameters(), lr=1e-5)
    model.train()

    def train():
        opt.zero_grad()
        out = model(inputs).reshape(batch, bins)
        ((out * scale - target) ** 2 if mask else (out - target) ** 2).mean().backward()
        opt.step()

    frames = rate(train, batch, 3.0)
    params = sum(p.numel() for p in model.parameters())
    name = path.rsplit("/", 1)[-1]
    print(f"{name:28s} {params:10d} {seconds / best:11.0f}x {'-':>12s} {frames:14.0f}", flush=True)


def timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main():
    kind, threads = sys.argv[1], int(sys.argv[2])
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    print(f"PyTorch {torch.__version__}, {threads} thread(s)")
    for line in sys.stdin:
        if line.strip():
            (bench_cifar if kind == "cifar" else bench_denoise)(line.rstrip("\n"))


if __name__ == "__main__":
    main()
