"""llmu: the library behind the course *Uncertainty in Language Models*."""

__version__ = "0.1.0"
