"""Start TensorFlow without its C++ start-up chatter reaching the user's terminal."""

from __future__ import annotations

import os
import sys
import tempfile


def import_tensorflow_quietly() -> None:
    """Import TensorFlow with stderr captured; the capture is shown only if the import fails.

    TensorFlow's native start-up messages (oneDNN notice, CUDA probe) are written straight to
    file descriptor 2 before any logging setting applies, so they are held back at that level.
    """
    if "tensorflow" in sys.modules:
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import tensorflow

            tensorflow.config.list_physical_devices()  # the CUDA probe complains here, once
        except BaseException:
            os.dup2(saved, 2)
            captured.seek(0)
            sys.stderr.write(captured.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)
