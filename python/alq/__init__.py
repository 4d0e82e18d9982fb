"""alq: active-learning batch selection for huge pools, from Python.

``alq.select`` runs alq's selection in process on numpy arrays (one process,
or many under mpiexec with mpi4py); ``alq.simulate`` replays campaigns on a
pool file with known labels; ``alq.io`` reads and writes alq's pool,
batch and state files with h5py.  docs/python.md in the alq repository.
"""

from .errors import (AlqError, AlqMemoryError, InputError, InternalError, MPIError, OutputError,
                     UsageError)
from ._select import select
from ._simulate import simulate
from . import io

__version__ = "0.1.0"

__all__ = ["select", "simulate", "io", "AlqError", "InternalError", "UsageError", "InputError", "OutputError",
           "AlqMemoryError", "MPIError"]
