"""The worker process of :mod:`nn_core.parallel`: ``python -m nn_core.worker IN_FD OUT_FD``.

Started by :class:`nn_core.parallel.Worker` with a single-threaded BLAS; it reads jobs from one
pipe and writes progress and records to the other until the first pipe closes.
"""

import sys
from multiprocessing.connection import Connection

from nn_core.parallel import serve

if __name__ == "__main__":
    inbox = Connection(int(sys.argv[1]), writable=False)
    outbox = Connection(int(sys.argv[2]), readable=False)
    serve(inbox, outbox)
