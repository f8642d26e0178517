"""Peak memory of bf16 forward+backward over many sequence lengths, with oneDNN's kernel cache at its
default size or capped the way `contentgen/training/train.py` caps it (set after torch is imported, as there).

    .venv/bin/python bench/bench_onednn_cache.py default
    .venv/bin/python bench/bench_onednn_cache.py capped

Run each in its own process: the cache size is read once, at oneDNN's first kernel.
"""

import os
import resource
import sys

import torch

if sys.argv[1:] == ["capped"]:
    os.environ["ONEDNN_PRIMITIVE_CACHE_CAPACITY"] = "16"
torch.manual_seed(0)
layer = torch.nn.Linear(1536, 1536, dtype=torch.bfloat16)  # the 1.5B model's hidden size
for length in range(40, 400):  # a training run's batches: 4 rows, each batch its own length
    rows = torch.randn(4, length, 1536, dtype=torch.bfloat16, requires_grad=True)
    layer(rows).sum().backward()
print(f"{sys.argv[1:]}: peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
