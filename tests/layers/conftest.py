"""The operation tests' helper (op_harness) sits beside them; with --import-mode=importlib
their folder is not on sys.path by itself."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
