"""alq.select: a batch from numpy arrays, in process, on one rank or many."""

import ctypes
import sys

import numpy as np

from . import _native
from .errors import InputError, UsageError

_FLOATS = "float16, float32 or float64"


def _floats(name, a, ndim):
    a = np.asarray(a)
    if a.dtype.kind != "f" or a.dtype.itemsize not in (2, 4, 8):
        raise InputError("%s: dtype %s, expected %s" % (name, a.dtype, _FLOATS))
    if a.ndim != ndim:
        raise InputError("%s: %d dimension(s), expected %d" % (name, a.ndim, ndim))
    return np.ascontiguousarray(a, dtype=np.float32)


def _integers(name, a, dtype):
    a = np.asarray(a)
    if a.ndim != 1:
        raise InputError("%s: %d dimension(s), expected 1" % (name, a.ndim))
    if a.size and a.dtype.kind not in "iu":
        raise InputError("%s: dtype %s, expected integers (int32, int64 or uint64)" % (name, a.dtype))
    info = np.iinfo(dtype)
    if a.size and a.dtype.kind == "u" and int(a.max()) > info.max:
        row = int(np.argmax(a > np.uint64(info.max)))
        raise InputError("%s: row %d is %d, above the %s range" % (name, row, int(a[row]), np.dtype(dtype).name))
    if a.size and a.dtype.kind == "i" and (a.min() < info.min or a.max() > info.max):
        row = int(np.argmax((a < info.min) | (a > info.max)))
        raise InputError("%s: row %d is %d, outside the %s range" % (name, row, int(a[row]), np.dtype(dtype).name))
    return np.ascontiguousarray(a, dtype=dtype)


def _piece(embeddings, probs, ids):
    """This rank's arrays as the C API takes them."""
    if embeddings is None:
        raise UsageError("alq.select needs embeddings=")
    x = _floats("embeddings", embeddings, 2)
    p = None if probs is None else _floats("probs", probs, 2)
    if p is not None and p.shape[0] != x.shape[0]:
        raise InputError("probs: %d rows but embeddings has %d" % (p.shape[0], x.shape[0]))
    i = None if ids is None else _integers("ids", ids, np.int64)
    if i is not None and i.shape[0] != x.shape[0]:
        raise InputError("ids: %d rows but embeddings has %d" % (i.shape[0], x.shape[0]))
    return x, p, i


def _labeled(labeled_ids, labeled_labels):
    if labeled_ids is None and labeled_labels is None:
        return None, None
    if labeled_ids is None or labeled_labels is None:
        raise UsageError("alq.select needs labeled_ids= and labeled_labels= together")
    li = _integers("labeled_ids", labeled_ids, np.int64)
    ll = _integers("labeled_labels", labeled_labels, np.int32)
    if li.shape[0] != ll.shape[0]:
        raise InputError("labeled_labels: %d rows but labeled_ids has %d" % (ll.shape[0], li.shape[0]))
    return li, ll


def _options_text(named):
    """{"no_prune": True, "candidates": 50} -> b"no-prune;candidates=50"."""
    parts = []
    for key, value in named.items():
        if value is None:
            continue
        key = key.replace("_", "-")
        if value is True or value is False:
            text = key if value else key + "=0"
        else:
            value = str(value)
            if ";" in value:
                raise UsageError("option %s: value '%s' holds ';', which separates options" % (key, value))
            text = key + "=" + value
        parts.append(text)
    return ";".join(parts).encode()


def _mpi4py_world():
    mpi = sys.modules.get("mpi4py.MPI")
    return mpi.COMM_WORLD if mpi is not None else None


def _agree(comm, fn):
    """fn() on every rank; an exception on any rank is raised on all of them
    (the lowest failing rank's), so that no rank enters the selection alone."""
    try:
        value, failure = fn(), None
    except Exception as e:  # noqa: BLE001 -- re-raised below
        value, failure = None, e
    peer = comm if hasattr(comm, "allgather") else _mpi4py_world()
    if peer is not None and peer.Get_size() > 1:
        failures = peer.allgather(None if failure is None else (type(failure), str(failure)))
        first = next((f for f in failures if f is not None), None)
        if first is not None:
            if failure is not None:
                raise failure
            raise first[0](first[1])
    elif failure is not None:
        raise failure
    return value


def _handle(comm):
    if comm is None:
        return _native.world()
    if hasattr(comm, "py2f"):
        _native.library()
        return comm.py2f()
    return int(comm)


def _rank(comm):
    peer = comm if hasattr(comm, "Get_rank") else _mpi4py_world()
    return peer.Get_rank() if peer is not None else 0


def _pointer(a, ctype):
    return None if a is None else a.ctypes.data_as(ctypes.POINTER(ctype))


def select(embeddings=None, probs=None, ids=None, labeled_ids=None, labeled_labels=None, budget=None, strategy=None,
           subpool=None, diversity=None, seed=None, comm=None, name="alq.select", **options):
    """The batch ``alq select`` would choose from these arrays: (ids, scores).

    embeddings: [n, d] floats (float16/32/64), this process's rows of the pool
    (with several processes: contiguous rows in rank order, any sizes).
    probs: [n, C] class probabilities or None.  ids: [n] integers, unique
    over the pool, in any order, or None (the global row index).
    labeled_ids, labeled_labels: the labeled set, read on rank 0 (other ranks
    may pass None).  budget, strategy, subpool ('all' or 'anchoral'),
    diversity ('none', 'exact', 'hier'), seed and **options are alq select's
    options, with '_' for '-' (candidates=, neighbors=, no_prune=True, ...).
    comm: an mpi4py communicator (default: MPI_COMM_WORLD).
    Returns int64 ids in selection order and their float64 scores, the same on
    every rank.  Raises alq.UsageError, alq.InputError, ... with alq's message.
    """
    opts = _options_text(dict(budget=budget, strategy=strategy, subpool=subpool, diversity=diversity, seed=seed,
                              **options))
    handle = _handle(comm)
    x, p, i = _agree(comm, lambda: _piece(embeddings, probs, ids))
    li, ll = _agree(comm, lambda: _labeled(labeled_ids, labeled_labels) if _rank(comm) == 0 else (None, None))
    piece = _native.Pool(name.encode(), x.shape[0], x.shape[1], 0 if p is None else p.shape[1],
                         _pointer(x, ctypes.c_float), _pointer(p, ctypes.c_float), _pointer(i, ctypes.c_int64))
    labeled = _native.Labeled(0 if li is None else li.shape[0], _pointer(li, ctypes.c_int64),
                              _pointer(ll, ctypes.c_int32))
    batch = _native.Batch()
    err = _native.errbuf()
    lib = _native.library()
    with _native.call_lock:
        code = lib.alq_api_select(handle, ctypes.byref(piece), ctypes.byref(labeled), opts, ctypes.byref(batch),
                                  err, len(err))
    _native.check(code, err)
    try:
        n = batch.n
        out_ids = np.ctypeslib.as_array(batch.ids, shape=(n,)).copy() if n else np.zeros(0, np.int64)
        out_scores = np.ctypeslib.as_array(batch.scores, shape=(n,)).copy() if n else np.zeros(0, np.float64)
    finally:
        lib.alq_api_batch_free(ctypes.byref(batch))
    return out_ids, out_scores
