"""The layer tests' helper (layer_check.py) sits beside them; with --import-mode=importlib its
folder is not on sys.path by itself."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
