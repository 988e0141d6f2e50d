"""planner: least-cost, diversified critical-minerals sourcing plans from Excel workbooks."""
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("planner")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0+unknown"
