# One operator per file; each helper appends its import and its name to __all__.
__all__ = []
