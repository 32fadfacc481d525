"""kerastune's Keras layers: import this module before `keras.saving.load_model` opens an exported table model."""

from __future__ import annotations

from kerastune.data.layers import FillMissing

__all__ = ["FillMissing"]
