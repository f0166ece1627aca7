"""Thread settings for small networks on a laptop CPU.

The course trains tiny networks on tiny batches. For those, a single BLAS /
PyTorch thread is faster than several: starting threads costs more than the
work they share, and when two notebooks (or test workers) run at once, extra
threads only fight over the cores. Chapters call :func:`limit_threads` once
at the top.
"""

from __future__ import annotations

from regcourse._checks import positive_int


def limit_threads(n: int = 1) -> None:
    """Use at most ``n`` threads in NumPy's BLAS and in PyTorch's CPU kernels."""
    n = positive_int("n", n)
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=n)
    try:
        import torch
    except ImportError:  # the NumPy side works without torch
        return
    torch.set_num_threads(n)
