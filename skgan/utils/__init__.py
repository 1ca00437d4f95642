"""Helpers every layer of skgan shares; none of them is public API.

Accepted array layouts and value ranges (``_validation``), argument checks
(``_checks``), progress lines (``_progress``), the choice of device
(``_device``) and atomic file writes (``_files``).
"""
