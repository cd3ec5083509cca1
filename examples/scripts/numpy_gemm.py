"""Same-run peer for GemmBench: fp32 GEMM GFLOP/s through numpy's BLAS at the same shapes.

Usage: python3 examples/scripts/numpy_gemm.py [--budget SECONDS]
Median of timed runs (about SECONDS each, at least 3) after warm-up; prints numpy's BLAS config line.
"""
import argparse, statistics, time
import numpy as np

p = argparse.ArgumentParser(); p.add_argument('--budget', type=float, default=1.5)
p.add_argument('--index', type=int, default=None, help='measure only this shape (0-based, GemmBench order)')
p.add_argument('--quiet', action='store_true', help='print only the GFLOP/s figure(s)')
a = p.parse_args()
BT, D, H, V = 2048, 288, 768, 32000
# name, M, N, K, transA, transB, batch (same order as GemmBench.shapes())
SHAPES = [("512^3", 512, 512, 512, 0, 0, 1), ("1024^3", 1024, 1024, 1024, 0, 0, 1), ("2048^3", 2048, 2048, 2048, 0, 0, 1),
          ("q/k/v/o fwd", BT, D, D, 0, 1, 1), ("w1/w3 fwd", BT, H, D, 0, 1, 1), ("w2 fwd", BT, D, H, 0, 1, 1),
          ("cls fwd", BT, V, D, 0, 1, 1), ("q/k/v/o dX", BT, D, D, 0, 0, 1), ("w1/w3 dX", BT, D, H, 0, 0, 1),
          ("w2 dX", BT, H, D, 0, 0, 1), ("cls dX", BT, D, V, 0, 0, 1), ("q/k/v/o dW", D, D, BT, 1, 0, 1),
          ("w1/w3 dW", H, D, BT, 1, 0, 1), ("w2 dW", D, H, BT, 1, 0, 1), ("cls dW", V, D, BT, 1, 0, 1),
          ("attn scores", 256, 256, 48, 0, 1, 48), ("attn out", 256, 48, 256, 0, 0, 48)]
if not a.quiet:
  try:
    cfg = np.show_config(mode='dicts')['Build Dependencies']['blas']
    print(f"# numpy {np.__version__}, BLAS: {cfg.get('name')} {cfg.get('version')}")
  except Exception:
    print(f"# numpy {np.__version__}")
rng = np.random.default_rng(0)
for idx, (name, M, N, K, ta, tb, bt) in enumerate(SHAPES):
    if a.index is not None and idx != a.index: continue
    sa = (K, M) if ta else (M, K); sb = (N, K) if tb else (K, N)
    if bt > 1: sa, sb = (bt,) + sa, (bt,) + sb
    A0 = rng.random(sa, dtype=np.float32); B0 = rng.random(sb, dtype=np.float32)
    A = np.swapaxes(A0, -1, -2) if ta else A0; B = np.swapaxes(B0, -1, -2) if tb else B0
    if bt > 1:  # stacked matmul of transposed views may bypass BLAS in numpy: give it its best case
        A, B = np.ascontiguousarray(A), np.ascontiguousarray(B)
    C = np.empty(((bt,) if bt > 1 else ()) + (M, N), np.float32)
    flop = 2.0 * M * N * K * bt
    t = time.perf_counter(); np.matmul(A, B, out=C); first = time.perf_counter() - t
    if first < 0.5: np.matmul(A, B, out=C)
    reps = int(max(3, min(50, round(a.budget / max(first, 1e-6)))))
    ts = []
    for _ in range(reps):
        t = time.perf_counter(); np.matmul(A, B, out=C); ts.append(time.perf_counter() - t)
    g = flop / statistics.median(ts) / 1e9
    print(f"{g:.1f}" if a.quiet else f"| {name} | {g:.1f} |")
