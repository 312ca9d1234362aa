"""The source registry: one declaration per ministry source entity (see ``registry.py``)."""

from sinergi.sources.registry import SOURCES, SourceSpec, get_source

__all__ = ["SOURCES", "SourceSpec", "get_source"]
