"""The layer tests' helpers (layer_check.py, op_harness.py) sit beside them; with
--import-mode=importlib their folder is not on sys.path by itself."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
