"""TensorFlow's native start-up lines, kept off the console and in the log file.

On a machine without a GPU, importing TensorFlow 2.21 prints absl and CUDA lines ("All log messages
before absl::InitializeLog()", "Could not find cuda drivers", "failed call to cuInit") straight to
file descriptor 2, before ``TF_CPP_MIN_LOG_LEVEL`` is read for some of them. No environment variable
silences them all (measured: levels 2 and 3, ``GLOG_minloglevel``, ``ABSL_MIN_LOG_LEVEL``), so Keras is
imported, and TensorFlow's devices listed, with descriptor 2 pointed at a temporary file. The lines are
then logged under ``tensorflow.native``, which the console filter leaves to the log file.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import sys
import tempfile

log = logging.getLogger("tensorflow.native")


@functools.cache
def load_keras_quietly() -> None:
    """Import Keras and start its backend's devices once per process, native lines to the log file."""
    lines: list[str] = []
    try:
        with _native_stderr_into(lines):
            import keras

            if keras.backend.backend() == "tensorflow":
                import tensorflow as tf

                tf.config.list_physical_devices()  # cuInit happens here, not at import
    finally:  # a failed import keeps its native lines too: they may say why
        for line in lines:
            log.info(line)


@contextlib.contextmanager
def _native_stderr_into(lines: list[str]):
    """Point file descriptor 2 at a temporary file for the block; append what was written to ``lines``."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            lines.extend(sink.read().decode(errors="replace").splitlines())
