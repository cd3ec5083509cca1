"""Writes dynamic_maps.json: bitsandbytes' dynamic ("tree") quantization maps, built the way
bitsandbytes' create_dynamic_map builds them (torch float32 linspace, midpoints, powers of ten,
Python list, sort, float32 tensor). Written from the construction described in the QLoRA/8-bit
optimizer papers and the issue; run with Debian's python3 + python3-torch:
    /usr/bin/python3 make_dynamic_maps.py > dynamic_maps.json
"""
import json
import torch


def dynamic_map(signed, max_exponent_bits, total_bits):
    data = []
    non_sign_bits = total_bits - 1
    for i in range(max_exponent_bits):
        n = 2 ** (i + non_sign_bits - max_exponent_bits) + 1 if signed \
            else 2 ** (i + non_sign_bits - max_exponent_bits + 1) + 1
        boundaries = torch.linspace(0.1, 1, n, dtype=torch.float32)
        means = (boundaries[:-1] + boundaries[1:]) / 2.0
        scale = 10 ** (-(max_exponent_bits - 1) + i)
        data += (scale * means).tolist()
        if signed:
            data += (-scale * means).tolist()
    data.append(0)
    data.append(1.0)
    data.sort()
    return torch.tensor(data, dtype=torch.float32).tolist()


print(json.dumps({
    "torch": torch.__version__,
    "signed8": dynamic_map(True, 7, 8),
    "unsigned8": dynamic_map(False, 7, 8),
    "signed4": dynamic_map(True, 3, 4),
}))
