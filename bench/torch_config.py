# bench/torch_config.py — how the PyTorch peer runs here, for the bench's
# JSON: its version, threads, the BLAS it was built against and the one
# the loader gives it (Debian's torch calls libblas.so.3, whichever the
# alternatives system points at), and, where that is OpenBLAS, the kernel
# OpenBLAS chose (a peer below its own capability is never a baseline).
import ctypes
import ctypes.util
import os
import re

import torch


def describe():
    built = re.search(r"BLAS_INFO=([^,\s]+)", torch.__config__.show())
    lib = "/usr/lib/x86_64-linux-gnu/libblas.so.3"
    real = os.path.realpath(lib) if os.path.exists(lib) else "none"
    core = "n/a"
    try:
        blas = ctypes.CDLL(lib)
        blas.openblas_get_corename.restype = ctypes.c_char_p
        core = blas.openblas_get_corename().decode()
    except (OSError, AttributeError):
        pass
    return (f"torch {torch.__version__}, {torch.get_num_threads()} threads, built for BLAS "
            f"{built.group(1) if built else 'unknown'}, libblas.so.3 is {real}, OpenBLAS kernel {core}")
