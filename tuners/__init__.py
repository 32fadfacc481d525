"""Building and running keras-tuner searches: configuration, tuners, data, project manifests.

Submodules are imported where they are used; `tuners.search` and `tuners.factory` load TensorFlow.
"""
