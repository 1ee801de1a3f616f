"""Static analysis of a Megatron-Bridge tree: catalog, config reader, nearest family, lint."""

__version__ = "0.1.0"
