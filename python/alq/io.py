"""Readers and writers of alq's files (docs/format.md) with h5py.

Pools (read_pool, write_pool), batches (read_batch, write_batch,
write_batch_csv) and round states (read_state; states are written by
``alq select --state`` and ``alq ingest``, which keep their derived sets
consistent).  Writers convert to the dtypes alq reads, write under a
temporary name in the same folder and rename it over the path when complete,
as alq does: a file is either whole or absent.
"""

import os

import numpy as np

from .errors import InputError, OutputError, UsageError

try:
    import h5py
except ImportError:  # alq.select works without it; the readers and writers do not
    h5py = None

FORMAT_VERSION = "0.1.0"  # written as the alq_version attribute


def _need_h5py():
    if h5py is None:
        raise UsageError("alq.io needs h5py (Debian: apt-get install python3-h5py)", 2)


def _staged(path, write):
    _need_h5py()
    tmp = "%s.tmp.%d" % (path, os.getpid())
    try:
        write(tmp)
        os.replace(tmp, path)
    except OSError as e:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise OutputError("cannot write %s: %s" % (path, e.strerror or e)) from e
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _chunk_rows(n, d):
    """alq's chunk height: about 1 MiB of /embeddings, at least 1, at most N."""
    return max(1, min(n, (1 << 20) // (4 * d)))


def _open(path):
    _need_h5py()
    try:
        return h5py.File(path, "r")
    except OSError as e:
        raise InputError("cannot open %s: %s" % (path, e)) from e


def _get(f, name):
    return f[name][()] if name in f else None


def _fixed_string_attr(obj, name, text):
    """A fixed-length, NUL-terminated ASCII attribute, as alq writes (and reads) them."""
    data = text.encode("ascii") + b"\0"
    tid = h5py.h5t.C_S1.copy()
    tid.set_size(len(data))
    tid.set_strpad(h5py.h5t.STR_NULLTERM)
    attr = h5py.h5a.create(obj.id, name.encode(), tid, h5py.h5s.create(h5py.h5s.SCALAR))
    attr.write(np.array(data, dtype="S%d" % len(data)))


def read_pool(path):
    """A pool file as a dict of numpy arrays (None for an absent dataset):
    embeddings, probs, ids, labels, labeled_ids, labeled_labels, classes."""
    with _open(path) as f:
        if "embeddings" not in f:
            raise InputError("%s: dataset /embeddings is missing" % path)
        out = {k: _get(f, k) for k in ("embeddings", "probs", "ids", "labels")}
        out["labeled_ids"] = _get(f, "labeled/ids")
        out["labeled_labels"] = _get(f, "labeled/labels")
        classes = f.attrs.get("classes")
        if classes is None and out["probs"] is not None:
            classes = out["probs"].shape[1]
        out["classes"] = None if classes is None else int(classes)
        return out


def write_pool(path, embeddings, probs=None, ids=None, labels=None, labeled_ids=None, labeled_labels=None,
               classes=None):
    """Writes a pool file alq reads (float32 /embeddings and /probs, int64 /ids,
    int32 /labels and /labeled, chunked as alq's writers chunk).  ``classes``
    defaults to probs' columns, else max label + 1 when labels are given."""
    x = np.ascontiguousarray(embeddings, dtype=np.float32)
    if x.ndim != 2:
        raise InputError("%s: embeddings must be [N][d], got shape %s" % (path, x.shape))
    n, d = x.shape
    arrays = {"embeddings": x}
    if probs is not None:
        arrays["probs"] = np.ascontiguousarray(probs, dtype=np.float32)
    if ids is not None:
        arrays["ids"] = np.ascontiguousarray(ids, dtype=np.int64)
    if labels is not None:
        arrays["labels"] = np.ascontiguousarray(labels, dtype=np.int32)
    for name, a in arrays.items():
        if a.shape[0] != n:
            raise InputError("%s: %s has %d rows but embeddings has %d" % (path, name, a.shape[0], n))
    if classes is None and probs is None and labels is not None and n:
        classes = int(arrays["labels"].max()) + 1
    rows = _chunk_rows(n, d)

    def write(tmp):
        with h5py.File(tmp, "w") as f:
            for name, a in arrays.items():
                f.create_dataset(name, data=a, chunks=(rows,) + a.shape[1:] if n else None)
            if labeled_ids is not None:
                f["labeled/ids"] = np.asarray(labeled_ids, dtype=np.int64)
                f["labeled/labels"] = np.asarray(labeled_labels, dtype=np.int32)
            if classes is not None:
                f.attrs["classes"] = np.int64(classes)
            f.attrs["alq_version"] = FORMAT_VERSION

    _staged(path, write)


def read_batch(path):
    """A batch file: (ids in selection order, scores, root attributes)."""
    with _open(path) as f:
        if "selected/ids" not in f:
            raise InputError("%s: dataset /selected/ids is missing" % path)
        ids = f["selected/ids"][()]
        scores = _get(f, "selected/scores")
        attrs = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}
        return ids, scores, attrs


def write_batch(path, ids, scores, strategy="", pool="", labeled="", seed=0, budget=None):
    """Writes a batch file (no /manifest): what alq export and alq ingest read."""
    i = np.ascontiguousarray(ids, dtype=np.int64)
    s = np.ascontiguousarray(scores, dtype=np.float64)
    if i.shape != s.shape or i.ndim != 1:
        raise InputError("%s: ids and scores must be two [B] arrays, got shapes %s and %s" % (path, i.shape, s.shape))

    def write(tmp):
        with h5py.File(tmp, "w") as f:
            f["selected/ids"] = i
            f["selected/scores"] = s
            for k, v in (("strategy", strategy), ("pool", pool), ("labeled", labeled)):
                _fixed_string_attr(f, k, v)
            f.attrs["seed"] = np.uint64(seed)
            f.attrs["budget"] = np.int64(len(i) if budget is None else budget)
            f.attrs["selected"] = np.int64(len(i))
            f.attrs["alq_version"] = FORMAT_VERSION

    _staged(path, write)


def write_batch_csv(path, ids, scores):
    """The batch as alq select's --csv writes it: ``rank,id,score``, rank from
    1 in selection order, scores with 17 significant digits."""
    def write(tmp):
        with open(tmp, "w") as f:
            f.write("rank,id,score\n")
            for r, (i, s) in enumerate(zip(np.asarray(ids, dtype=np.int64), np.asarray(scores, dtype=np.float64))):
                f.write("%d,%d,%.17g\n" % (r + 1, i, s))

    _staged(path, write)


def read_state(path):
    """A round state as a dict: pool (its identity attributes), answers (ids,
    labels, annotators, rounds, received_at), annotators (names), rounds (a
    list of dicts: round, ids, selected_at, batch), labeled_ids,
    labeled_labels, pending_ids."""
    with _open(path) as f:
        if f.attrs.get("format") not in ("alq-state", b"alq-state"):
            raise InputError("%s: not an alq state file (root attribute format is not alq-state)" % path)
        pool = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f["pool"].attrs.items()}
        answers = {k: _get(f, "answers/" + k) for k in ("ids", "labels", "annotators", "rounds", "received_at")}
        names = [n.decode().rstrip("\0") if isinstance(n, bytes) else str(n) for n in _get(f, "annotators")]
        rounds = []
        for key in sorted(f["rounds"].keys()) if "rounds" in f else []:
            g = f["rounds"][key]
            batch = g.attrs.get("batch", "")
            rounds.append({"round": int(g.attrs["round"]), "ids": g["ids"][()],
                           "selected_at": int(g.attrs["selected_at"]),
                           "batch": batch.decode() if isinstance(batch, bytes) else batch})
        return {"pool": pool, "answers": answers, "annotators": names, "rounds": rounds,
                "labeled_ids": _get(f, "labeled/ids"), "labeled_labels": _get(f, "labeled/labels"),
                "pending_ids": _get(f, "pending/ids")}
