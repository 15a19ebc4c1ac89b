from . import recognizers  # noqa: F401  (registers the recognizers)
