"""Shared test set-up: Qt runs offscreen (no display needed), set before Qt is first imported."""
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
