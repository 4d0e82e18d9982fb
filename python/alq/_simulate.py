"""alq.simulate: active learning replayed on a pool file with known labels."""

import ctypes

import numpy as np

from . import _native
from ._select import _handle, _options_text

COLUMNS = ("seed", "round", "labeled", "items", "accuracy", "macro_f1", "rare_recall", "train_seconds",
           "select_seconds")


def simulate(pool, strategy, batch, rounds, comm=None, **options):
    """``alq simulate`` in process: the learning curve as a dict of numpy
    columns (strategy, seed, round, labeled, items, accuracy, macro_f1,
    rare_recall, train_seconds, select_seconds), one row per (seed, strategy,
    round), on rank 0 (the other ranks get empty columns).

    pool: an HDF5 pool with /embeddings (features) and /labels.  strategy: a
    name or a list ("anchoral+NAME" runs NAME on the AnchorAL subpool).
    **options are alq simulate's, with '_' for '-': initial=, seeds=, seed=,
    test_fraction=, model='logreg'|'mlp', hidden=, epochs=, annotators=,
    out='curve.csv', plot='curve.svg', quiet=True, ...
    """
    if not isinstance(strategy, str):
        strategy = ",".join(strategy)
    text = _options_text(dict(pool=pool, strategy=strategy, batch=batch, rounds=rounds, **options))
    handle = _handle(comm)
    lib = _native.library()
    curve = _native.Curve()
    err = _native.errbuf()
    with _native.call_lock:
        code = lib.alq_api_simulate(handle, text, ctypes.byref(curve), err, len(err))
    _native.check(code, err)
    try:
        n = curve.n
        names = ctypes.string_at(curve.strategy, n * _native.NAME_MAX) if n else b""
        out = {"strategy": np.array([names[i * _native.NAME_MAX:(i + 1) * _native.NAME_MAX].split(b"\0")[0].decode()
                                     for i in range(n)], dtype=str)}
        for col in COLUMNS:
            out[col] = np.ctypeslib.as_array(getattr(curve, col), shape=(n,)).copy() if n else np.zeros(0)
    finally:
        lib.alq_api_curve_free(ctypes.byref(curve))
    return out
