"""glibc's moving mmap threshold is fixed before the store server hashes passwords
(edge/adapters/memory.py): otherwise each 19 MiB Argon2 block stays in a malloc arena."""

from __future__ import annotations

import subprocess
import sys

from edge.settings import load_settings


def test_the_mmap_threshold_is_fixed_and_zero_leaves_glibcs_own():
    # In a fresh interpreter, so this one's allocator is left as it was.
    code = ("from edge.adapters.memory import fix_mmap_threshold as fix; "
            "print(fix(1024), fix(0))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["True", "False"]


def test_passwords_still_verify_with_the_fixed_threshold():
    code = ("from edge.adapters.memory import fix_mmap_threshold; fix_mmap_threshold(1024); "
            "from edge.adapters.security.passwords import hash_secret, verify_secret; "
            "h = hash_secret('s3cret-pass'); print(verify_secret(h, 's3cret-pass'), verify_secret(h, 'wrong'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["True", "False"]


def test_the_threshold_is_a_store_setting_with_a_sensible_default():
    assert load_settings(None, environ={}).server.malloc_mmap_threshold_kib == 1024
    env = {"NOVAPOS_SERVER_MALLOC_MMAP_THRESHOLD_KIB": "0"}
    assert load_settings(None, environ=env).server.malloc_mmap_threshold_kib == 0
