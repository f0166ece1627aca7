"""regcourse: the package behind the course "Regularization in Deep Learning".

- ``regcourse.numpy``: a small torch.nn written in NumPy, every backward by hand.
- ``regcourse.torch``: the PyTorch twins, same names, any device.
- ``regcourse.data``, ``regcourse.plots``, ``regcourse.experiments``: offline
  datasets, the house-style figures, and multi-seed runs.

Import the side you need: ``import regcourse.numpy as rnp`` or
``import regcourse.torch as rt`` (the torch side imports PyTorch).
"""

from regcourse.history import History
from regcourse.threads import limit_threads

__all__ = ["History", "limit_threads"]
__version__ = "0.1.0"
