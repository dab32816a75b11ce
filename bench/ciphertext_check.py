"""Benchmark: the cost of refusing ciphertext in a report (issue 13) next to the decryption itself.

Usage: python bench/ciphertext_check.py [--values 200000]
Encrypts N emails with Sunbird's scheme, then times `decrypt_array` and `looks_encrypted` on the clear
result (what `reports.build.decrypt_columns` adds per PII column) and on the ciphertext (salt unset).
"""

from __future__ import annotations

import argparse
import time

import pyarrow as pa


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--values", type=int, default=200_000)
    args = parser.parse_args()
    from exhaust.pii import decrypt_array, encrypt_array, looks_encrypted

    clear = pa.array([f"learner{i}@school{i % 97}.in" for i in range(args.values)])
    cipher = encrypt_array(clear, "SunBird")
    timings = {}
    start = time.perf_counter()
    decrypted = decrypt_array(cipher, "SunBird")
    timings["decrypt_array"] = time.perf_counter() - start
    start = time.perf_counter()
    assert not any(looks_encrypted(decrypted).to_pylist())
    timings["looks_encrypted (clear values)"] = time.perf_counter() - start
    start = time.perf_counter()
    assert all(looks_encrypted(cipher).to_pylist())
    timings["looks_encrypted (ciphertext)"] = time.perf_counter() - start
    for name, seconds in timings.items():
        print(f"{name}: {seconds:.3f} s for {args.values} values")


if __name__ == "__main__":
    main()
