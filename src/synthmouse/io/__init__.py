"""Real-world inputs: labelled frames (DeepLabCut, SLEAP, Lightning Pose), keypoint name mappings, video frames,
and the formatter of validation errors in user files.

A foundation package: it imports only :mod:`synthmouse.errors`, :mod:`synthmouse.fileio`,
:mod:`synthmouse.io.schema`, :mod:`synthmouse.io.yamlio` and third-party libraries; every other package may import it.
Import the submodules (``synthmouse.io.labels``, ``.mapping``, ``.video``, ``.validation``) directly.
"""
