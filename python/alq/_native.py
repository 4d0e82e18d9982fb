"""ctypes binding of libalq's flat C API (include/alq/api.h).

The library is found, in order: the path in the ALQ_LIBRARY environment
variable; a libalq.so* next to this package (a packager may copy it there);
the standard loader paths (LD_LIBRARY_PATH, ldconfig: an installed alq).
ctypes releases the GIL for the length of every call.
"""

import ctypes
import ctypes.util
import glob
import os
import threading

from .errors import UsageError, error_for

_ERRLEN = 4096

# One call into libalq at a time per process: its error message is per
# process, and MPI is initialised for serialised calls.  Other Python threads
# run meanwhile (ctypes releases the GIL).
call_lock = threading.Lock()


class Pool(ctypes.Structure):
    _fields_ = [
        ("name", ctypes.c_char_p),
        ("n_rows", ctypes.c_int64),
        ("dim", ctypes.c_int64),
        ("n_classes", ctypes.c_int64),
        ("embeddings", ctypes.POINTER(ctypes.c_float)),
        ("probs", ctypes.POINTER(ctypes.c_float)),
        ("ids", ctypes.POINTER(ctypes.c_int64)),
    ]


class Labeled(ctypes.Structure):
    _fields_ = [
        ("n", ctypes.c_int64),
        ("ids", ctypes.POINTER(ctypes.c_int64)),
        ("labels", ctypes.POINTER(ctypes.c_int32)),
    ]


class Batch(ctypes.Structure):
    _fields_ = [
        ("n", ctypes.c_int64),
        ("ids", ctypes.POINTER(ctypes.c_int64)),
        ("scores", ctypes.POINTER(ctypes.c_double)),
    ]


NAME_MAX = 96  # ALQ_API_NAME_MAX


class Curve(ctypes.Structure):
    _fields_ = [
        ("n", ctypes.c_int64),
        ("strategy", ctypes.POINTER(ctypes.c_char)),
        ("seed", ctypes.POINTER(ctypes.c_uint64)),
        ("round", ctypes.POINTER(ctypes.c_int64)),
        ("labeled", ctypes.POINTER(ctypes.c_int64)),
        ("items", ctypes.POINTER(ctypes.c_int64)),
        ("accuracy", ctypes.POINTER(ctypes.c_double)),
        ("macro_f1", ctypes.POINTER(ctypes.c_double)),
        ("rare_recall", ctypes.POINTER(ctypes.c_double)),
        ("train_seconds", ctypes.POINTER(ctypes.c_double)),
        ("select_seconds", ctypes.POINTER(ctypes.c_double)),
    ]


def _candidates():
    env = os.environ.get("ALQ_LIBRARY")
    if env:
        return [env]
    here = os.path.dirname(os.path.abspath(__file__))
    found = sorted(glob.glob(os.path.join(here, "libalq.so*")))
    system = ctypes.util.find_library("alq")
    return found + ([system] if system else []) + ["libalq.so.0", "libalq.so"]


def _load_mpi_global():
    # Open MPI loads its components with dlopen; they need libmpi's symbols
    # in the global scope, which a library loaded by ctypes (RTLD_LOCAL) does
    # not give them.  mpi4py does the same.
    name = ctypes.util.find_library("mpi")
    if name:
        try:
            ctypes.CDLL(name, mode=ctypes.RTLD_GLOBAL)
        except OSError:
            pass


def _declare(lib):
    P, L, B = ctypes.POINTER(Pool), ctypes.POINTER(Labeled), ctypes.POINTER(Batch)
    lib.alq_api_init.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
    lib.alq_api_init.restype = ctypes.c_int
    lib.alq_api_finalize.argtypes = []
    lib.alq_api_finalize.restype = ctypes.c_int
    lib.alq_api_comm_world.argtypes = []
    lib.alq_api_comm_world.restype = ctypes.c_int  # MPI_Fint is an int in Open MPI and MPICH
    lib.alq_api_select.argtypes = [ctypes.c_int, P, L, ctypes.c_char_p, B, ctypes.c_char_p, ctypes.c_size_t]
    lib.alq_api_select.restype = ctypes.c_int
    lib.alq_api_batch_free.argtypes = [B]
    lib.alq_api_batch_free.restype = None
    lib.alq_api_simulate.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.POINTER(Curve), ctypes.c_char_p,
                                     ctypes.c_size_t]
    lib.alq_api_simulate.restype = ctypes.c_int
    lib.alq_api_curve_free.argtypes = [ctypes.POINTER(Curve)]
    lib.alq_api_curve_free.restype = None
    return lib


_lib = None


def library():
    """The loaded libalq (loaded on first use)."""
    global _lib
    if _lib is None:
        _load_mpi_global()
        tried = []
        for path in _candidates():
            try:
                _lib = _declare(ctypes.CDLL(path))
                break
            except (OSError, AttributeError) as e:
                tried.append("%s (%s)" % (path, e))
        if _lib is None:
            raise UsageError("cannot load libalq: set ALQ_LIBRARY to <build>/libalq.so or install alq; tried "
                             + "; ".join(tried), 2)
    return _lib


def check(code, errbuf):
    """Raises alq's exception when ``code`` is not 0."""
    if code:
        raise error_for(code, errbuf.value.decode("utf-8", "replace"))


def errbuf():
    return ctypes.create_string_buffer(_ERRLEN)


_initialised = False


def world():
    """MPI_COMM_WORLD's Fortran handle, MPI initialised first if nobody has."""
    global _initialised
    lib = library()
    if not _initialised:
        err = errbuf()
        check(lib.alq_api_init(err, _ERRLEN), err)
        import atexit
        atexit.register(lib.alq_api_finalize)
        _initialised = True
    return lib.alq_api_comm_world()
