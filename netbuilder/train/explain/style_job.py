"""Style transfer as a live job: the image being optimised and its loss come out as training
events (``Samples`` of kind ``"stylised"``, ``Metrics``, then ``Finished`` or ``Failed``), read
with ``poll()`` as a training ``Runner``'s are, so a dashboard view shows it sharpening.

The optimisation runs on a thread of this process: a trained model's style transfer is small
(LeNet-5: milliseconds a step), and torch releases the interpreter while it computes.
"""
from __future__ import annotations

import queue
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ...errors import NetbuilderError
from ..events import Failed, Finished, Metrics, Samples
from .model import RunModel

KIND = "stylised"  # the Samples kind: content, style and the current image, in that order


class StyleJob:
    """``job.start()``; ``job.poll()`` on a timer; ``job.stop()`` ends it after its step.
    The current image is sent every ``every`` steps and after the last."""

    def __init__(self, run: RunModel, nodes: Sequence[str], content: str | Path,
                 style: str | Path, content_weight: float = 1.0, style_weight: float = 1000.0,
                 steps: int = 200, lr: float = 0.05, every: int = 5) -> None:
        self.run, self.nodes = run, list(nodes)
        self.content, self.style = content, style
        self.weights = (float(content_weight), float(style_weight))
        self.steps, self.lr, self.every = int(steps), float(lr), max(1, int(every))
        self._events: queue.Queue = queue.Queue()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._work, name="style transfer", daemon=True)
        self._pictures: np.ndarray | None = None

    def start(self) -> StyleJob:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def wait(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def poll(self) -> list:
        """The events sent since the last poll (never blocks)."""
        out = []
        while True:
            try:
                out.append(self._events.get_nowait())
            except queue.Empty:
                return out

    def _work(self) -> None:
        from .style import stylise

        started = time.perf_counter()
        losses: list[float] = []
        try:
            content = self.run.picture(self.content)
            style = self.run.picture(self.style)
            self._pictures = self._uint8(content, style)
            self._send(0, None, content)

            def progress(step: int, loss: float, image) -> bool:
                losses.append(loss)
                if (step + 1) % self.every == 0 or step + 1 == self.steps:
                    self._send(step + 1, loss, image)
                return self._stop.is_set()

            _, _, out = stylise(self.run, self.nodes, content, style, *self.weights,
                                steps=self.steps, lr=self.lr, progress=progress)
            if len(losses) % self.every and len(losses) != self.steps:
                self._send(len(losses), losses[-1], out)  # stopped between two pictures
        except NetbuilderError as exc:
            self._events.put(Failed(message=str(exc), step=len(losses)))
            return
        except Exception as exc:  # noqa: BLE001 (torch's own words, never a silent thread)
            import traceback

            self._events.put(Failed(message=f"Style transfer failed: {exc}", step=len(losses),
                                    traceback=traceback.format_exc()))
            return
        self._events.put(Finished(summary={
            "status": "stopped" if self._stop.is_set() else "finished", "steps": len(losses),
            "first_loss": losses[0] if losses else None,
            "last_loss": losses[-1] if losses else None,
            "seconds": time.perf_counter() - started}))

    def _uint8(self, *inputs) -> np.ndarray:
        """Inputs (1, *Input shape) in the training pictures' range → uint8 (N, C, H, W)."""
        shape = self.run.image_shape()
        if shape is None:
            raise NetbuilderError("Style transfer needs a network whose Input is a picture")
        hi = self.run.x_range[1] or 1.0
        x = np.concatenate([t.detach().cpu().numpy().reshape(1, *shape) for t in inputs])
        return np.round(np.clip(x / hi, 0, 1) * 255).astype(np.uint8)

    def _send(self, step: int, loss: float | None, image) -> None:
        pictures = np.concatenate([self._pictures, self._uint8(image)])
        self._events.put(Samples(step=step, epoch=0, kind=KIND, images=pictures,
                                 labels=["content", "style", f"step {step}"]))
        if loss is not None:
            self._events.put(Metrics(step=step, epoch=0, split="train", values={"loss": loss}))
