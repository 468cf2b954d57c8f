"""A run's trained model, ready for raw inputs: the editor's Try it, ``netbuilder predict`` and
``evaluate``, and the commands that look inside a network (explain, embed, attack, dream, style)
share it.

A ``Predictor`` rebuilds the model from the run's graph snapshot, loads its latest weights
(reloading when the worker writes a newer checkpoint) and prepares raw samples as training did,
from the run's ``preprocessing.json`` (resize, flattening, the training split's normalisation
statistics, class names) run through the exporters' own ``Preprocess`` code. A run older than
that record gets one refitted from its data split (deterministic for a given seed).
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from ..errors import NetbuilderError
from ..graph import from_json
from .config import stored_setting

GENERATOR_ROLES = ("generator", "decoder")  # blocks that map a latent code to data


class PredictError(NetbuilderError):
    """An input cannot be used, or the run cannot predict; the message says why."""


class Predictor:
    """The model of the run in ``run_dir`` with its newest weights, ready for raw inputs."""

    def __init__(self, run_dir: str | Path, weights: str = "weights.safetensors") -> None:
        self.run_dir = Path(run_dir)
        self.weights_path = self.run_dir / weights
        graph_file = self.run_dir / "graph.json"
        if not graph_file.exists():
            raise PredictError(f"{self.run_dir} holds no graph snapshot (graph.json): not a "
                               f"run folder")
        self.graph_json = graph_file.read_text(encoding="utf-8")
        self.graph = from_json(self.graph_json, str(graph_file))
        try:
            self.config = json.loads((self.run_dir / "config.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self.config = dict(self.graph.training or {})
        inputs = self.graph.inputs()
        if len(inputs) != 1:
            raise PredictError(f"The run's graph has {len(inputs)} Input nodes; trying a "
                               f"model on inputs needs exactly one")
        node = self.graph.node(inputs[0])
        self.input_name = node.name
        self.input_shape = tuple(int(d) for d in node.params["shape"])
        self.tokens = node.params["dtype"] == "int64"  # token ids: whole numbers, as they are
        self.task = str(stored_setting(self.config, "task"))
        self._module = None
        self._mtime = None
        self._record: dict | None = None
        self._preprocess = None
        self._data_meta: dict | None = None
        self._generator = None
        self._ds = None
        self._splits = None
        self._task = None

    # --- what training did to its inputs ------------------------------------------------------

    def preprocessing(self) -> dict:
        """The run's checked preprocessing record (``preprocessing.json``)."""
        if self._record is None:
            from ..compile.preprocess import read_preprocessing

            try:
                record = read_preprocessing(self.run_dir)
            except NetbuilderError as exc:
                raise PredictError(str(exc)) from None
            self._record = record if record is not None else self._refitted_record()
        return self._record

    def _refitted_record(self) -> dict:
        """A record for a run older than ``preprocessing.json``: its Input shape, and the
        normalisation refitted from its own training split."""
        from ..compile.preprocess import check_preprocessing
        from .data import Normalizer

        norm = {"mode": "none"}
        mode = stored_setting(self.config, "normalization")
        names = None
        # the data is read only when it is needed (statistics, class names): it may be large
        if mode != "none" or self.prediction == "classes":
            meta = self.data_meta()
            names = meta["classes"]
            if mode != "none" and meta["kind"] not in (None, "sequence"):
                norm = Normalizer.fit(self._split()[0].x, mode).to_dict()
        shape = list(self.input_shape)
        return check_preprocessing({
            "raw_shape": shape, "input_shape": shape, "resize": None, "flatten": False,
            "normalization": norm, "class_names": None if names is None else list(map(str, names)),
            "task": self.task, "dataset": str(stored_setting(self.config, "dataset"))})

    @property
    def raw_shape(self) -> tuple[int, ...]:
        """A sample as the run's dataset gives it (before resizing or flattening)."""
        return tuple(self.preprocessing()["raw_shape"])

    @property
    def classes(self) -> list[str] | None:
        return self.preprocessing()["class_names"]

    @property
    def normalizer(self):
        """The normalisation training applied to inputs (None when it applied none)."""
        from .data import Normalizer

        norm = self.preprocessing()["normalization"]
        return None if norm["mode"] == "none" else Normalizer.from_dict(norm)

    @property
    def prediction(self) -> str:
        """What the task's model gives: "classes", "values" or "samples" (see ``Task``)."""
        from .tasks import get_task

        try:
            return get_task(self.task).prediction
        except NetbuilderError as exc:
            raise PredictError(str(exc)) from None

    def as_raw(self, x: np.ndarray, source: str = "the samples") -> np.ndarray:
        """Samples (N, ...) as float32 (N, *raw_shape); a clear error naming ``source`` when
        their size is not a raw sample's."""
        x = np.asarray(x)
        if x.dtype.kind not in "biuf":
            raise PredictError(f"{source}: holds {x.dtype} values, not numbers")
        raw = self.raw_shape
        size = math.prod(raw)
        if (x.ndim < 2 or math.prod(x.shape[1:]) != size) and x.size == size:
            x = x.reshape(1, *raw)  # one sample without a batch axis
        if x.ndim < 2 or math.prod(x.shape[1:]) != size or not len(x):
            have = x.shape[1:] if x.ndim >= 2 else x.shape
            raise PredictError(f"{source}: samples of shape {tuple(have)}, but the run takes "
                               f"samples of shape {raw} (Input '{self.input_name}' "
                               f"{self.input_shape})")
        if self.tokens and not np.array_equal(x, np.round(x)):
            raise PredictError(f"{source}: Input '{self.input_name}' takes token ids (whole "
                               f"numbers), not fractions")
        return np.ascontiguousarray(x.reshape(len(x), *raw),
                                    dtype=np.int64 if self.tokens else np.float32)

    def prepare(self, raw: np.ndarray):
        """Raw samples (N, *raw_shape) → the model's input tensor, through the run's
        preprocessing (the ``Preprocess`` code exports carry)."""
        import torch

        from ..compile.preprocess import preprocess_module

        x = torch.from_numpy(self.as_raw(raw))
        if self.tokens:  # ids are never resized nor normalised
            return x.reshape(len(x), *self.input_shape)
        if self._preprocess is None:
            self._preprocess = preprocess_module(self.preprocessing())
        with torch.no_grad():
            return self._preprocess(x)

    def model_input(self, raw: np.ndarray, normalized: bool = True) -> np.ndarray:
        """What the model receives for raw samples (resized, flattened; ``normalized`` or in
        the data's own units), as float32 numpy."""
        t = self.prepare(raw)
        norm = self.normalizer
        if not normalized and norm is not None:
            t = norm.inverse(t)
        return t.numpy()

    # --- data facts -------------------------------------------------------------------------

    def data_meta(self) -> dict:
        """Classes, kind, value range and typical ink extent of the run's dataset (cached;
        loading it is slow: only the drawing pad and the explain views need these)."""
        if self._data_meta is None:
            try:
                ds = self._dataset()
            except NetbuilderError:
                ds = None
            meta = {"classes": None, "kind": None, "x_max": 1.0, "extent": 0.75,
                    "background": None}
            if ds is not None:
                from .batches import image_background

                meta.update(classes=ds.classes, kind=ds.kind, x_max=float(ds.x.max()),
                            extent=_typical_extent(ds.x),
                            background=image_background(ds.x) if ds.kind == "image" else None)
            self._data_meta = meta
        return self._data_meta

    def _dataset(self):
        """The run's dataset as its config names it (cached; a load failure raises)."""
        if self._ds is None:
            from .data import load_dataset

            self._ds = load_dataset(stored_setting(self.config, "dataset"),
                                    **dict(stored_setting(self.config, "dataset_options")))
        return self._ds

    def _split(self):
        """(train, validation) of the dataset fitted to the Input, cut as training cut it."""
        if self._splits is None:
            from .batches import fit_to_input
            from .data import split_dataset

            ds, _ = fit_to_input(self._dataset(), self.graph, lambda _m: None)
            self._splits = split_dataset(ds, float(stored_setting(self.config, "val_split")),
                                         int(stored_setting(self.config, "seed")))
        return self._splits

    def validation_set(self) -> tuple[np.ndarray, np.ndarray | None]:
        """The run's validation samples as training held them out: (x shaped like the Input,
        before normalisation; targets or None)."""
        _, val = self._split()
        if not len(val):
            raise PredictError(f"The run's dataset '{val.name}' has no validation samples "
                               f"(val_split is 0)")
        return val.x.reshape(len(val.x), *self.input_shape).astype(np.float32), val.y

    # --- the model --------------------------------------------------------------------------

    def module(self):
        """The built model with the newest weights (rebuilt only when the file changed)."""
        if not self.weights_path.exists():
            raise PredictError(f"{self.run_dir}: this run has no {self.weights_path.name} yet "
                               f"(weights are written at the end of the first epoch)")
        mtime = self.weights_path.stat().st_mtime_ns
        if self._module is None or mtime != self._mtime:
            from .checkpoint import load_weights

            module = self._module or self.graph.build()
            load_weights(module, self.weights_path)
            module.eval()
            self._module, self._mtime = module, mtime
            self._generator = None
        return self._module

    def task_object(self):
        """The run's task, set up with its training settings and graph."""
        if self._task is None:
            from .config import TrainingConfig
            from .tasks import get_task

            try:
                cfg = TrainingConfig.from_dict(dict(self.config))
                self._task = get_task(cfg.task)(cfg, self.graph)
            except NetbuilderError as exc:
                raise PredictError(str(exc)) from None
        return self._task

    def run_model(self, x):
        """What the model gives for model inputs ``x`` (a tensor already preprocessed), as its
        task says (``Task.model_output``: the first output; an RBM's reconstruction)."""
        import torch

        with torch.no_grad():
            return self.task_object().model_output(self.module(), x)

    def predict(self, raw: np.ndarray) -> np.ndarray:
        """Outputs for raw samples (N, *raw_shape), float32, as numpy."""
        return self.run_model(self.prepare(raw)).float().cpu().numpy()

    def node_module(self, name: str):
        """The sub-module of the node called ``name`` (a clear error when it has none)."""
        from .probe import node_modules

        nodes = node_modules(self.graph, self.module())
        if name not in nodes:
            known = ", ".join(sorted(nodes)) or "none"
            what = "is not a node of" if name not in {n.name for n in self.graph.nodes()} \
                else "has no layer module in"
            raise PredictError(f"Node {name!r} {what} the run's graph '{self.graph.name}'; "
                               f"nodes with a layer: {known}")
        return nodes[name][2]

    def probabilities(self, raw: np.ndarray) -> np.ndarray:
        """Class probabilities (N, K) for raw samples (see ``to_probabilities``)."""
        return to_probabilities(self.predict(raw).reshape(len(raw), -1))

    # --- inputs -----------------------------------------------------------------------------

    def picture_shape(self) -> tuple[int, int, int] | None:
        """(C, H, W) of a raw sample when it is a picture (a flat square counts), else None."""
        raw = self.raw_shape
        if len(raw) == 3 and raw[0] in (1, 3):
            return raw
        if len(raw) == 1 and (side := _square(raw[0])) is not None:
            return 1, side, side
        return None

    def image_input(self, gray_or_rgb: np.ndarray, crop: bool = False) -> np.ndarray:
        """A picture (H, W) or (H, W, 3) with values in [0, 1] → one raw sample, at the size
        of the run's dataset samples (the run's preprocessing then fits it to the Input).

        ``crop`` frames the drawn strokes (a digit drawn small in a corner still fills the
        frame, as in the training digits).
        """
        from PIL import Image

        img = np.asarray(gray_or_rgb, dtype=np.float32)
        if crop:
            # frame the strokes as the training pictures frame theirs (digits fill their 8×8
            # frame, MNIST digits sit in the middle 20×20 of 28×28)
            extent = self.data_meta()["extent"]
            img = _frame_strokes(img, margin=max(0.0, (1.0 / extent - 1.0) / 2))
        shape = self.picture_shape()
        if shape is None:
            raise PredictError(f"Input '{self.input_name}' takes samples of shape "
                               f"{self.raw_shape}, not pictures")
        c, h, w = shape
        if img.ndim == 2:
            img = np.repeat(img[:, :, None], 3, axis=2) if c == 3 else img
        elif c == 1:
            img = img[:, :, :3].mean(axis=2)
        else:
            img = img[:, :, :3]
        pil = Image.fromarray(np.clip(np.round(img * 255), 0, 255).astype(np.uint8))
        pil = pil.resize((w, h), Image.Resampling.BOX if pil.width >= w else
                         Image.Resampling.BILINEAR)
        arr = np.asarray(pil, dtype=np.float32) / 255.0
        arr = arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)
        return arr.reshape(self.raw_shape).astype(np.float32)

    def background(self) -> str | None:
        """"dark" when the run's grey pictures are light strokes on dark (digits), "light" for
        the reverse, None when its inputs are no grey pictures (a run older than the record
        asks its dataset)."""
        if self.picture_shape() is None or self.picture_shape()[0] != 1:
            return None
        record = self.preprocessing()
        if "background" in record and record["background"] is not None:
            return record["background"]
        return self.data_meta()["background"]

    def match_background(self, img: np.ndarray) -> tuple[np.ndarray, bool]:
        """A picture (values in [0, 1]) inverted when it is mostly light and the run's pictures
        are mostly dark (dark ink on paper, digits trained white on black), or the reverse;
        returns (picture, whether it was inverted)."""
        want = self.background()
        light = float(np.mean(img)) > 0.5
        if want is None or light == (want == "light"):
            return img, False
        return 1.0 - img, True

    def rows_input(self, rows: np.ndarray, source: str = "the file") -> np.ndarray:
        """Rows of a data file (N, ...) as raw samples (a clear error when they differ)."""
        rows = np.asarray(rows)
        if rows.ndim == 1:
            rows = rows[None]
        return self.as_raw(rows, source)

    # --- generators -------------------------------------------------------------------------

    def generator(self):
        """(module, latent_shape) of the graph's Generator/Decoder block, or None."""
        if self._generator is None:
            node = next((n for n in self.graph.nodes() if n.spec.block_role in GENERATOR_ROLES
                         and n.inner is not None), None)
            if node is None:
                return None
            from ..compile.codegen import used_nodes
            from ..compile.naming import Namespace

            names = Namespace()
            attr = next(names.create(nid, self.graph.node(nid).name)
                        for nid in used_nodes(self.graph) if nid == node.id)
            sub = getattr(self.module(), attr, None)
            ins = node.inner.inputs()
            if sub is None or len(ins) != 1:
                return None
            # the block's input as the graph feeds it (its inner Input's own shape may be a
            # placeholder), from the shape analysis
            info = self.graph.analyze().nodes.get(node.id)
            if info is not None and info.in_shapes and info.in_shapes[0]:
                latent = tuple(int(d) for d in info.in_shapes[0])
            else:
                latent = tuple(int(d) for d in node.inner.node(ins[0]).params["shape"])
            self._generator = (sub, latent)
        return self._generator

    def sample(self, n: int, seed: int = 0) -> np.ndarray:
        """``n`` samples of a generative run, float32 numpy: the task's dreams (an RBM's Gibbs
        chains), else its generator on latent codes drawn from ``seed``."""
        import torch

        with torch.no_grad():
            dreams = self.task_object().dreams(self.module(), n, seed)
        if dreams is not None:
            return dreams.float().cpu().numpy()
        gen = self.generator()
        if gen is None:
            raise PredictError("--samples: the run's graph has no Generator or Decoder block")
        z = np.random.default_rng(seed).standard_normal((n, *gen[1]))
        return self.generate(z.astype(np.float32))

    def generate(self, z: np.ndarray) -> np.ndarray:
        """The generator's output for latent vectors z (N, *latent), as float32 numpy."""
        import torch

        gen = self.generator()
        if gen is None:
            raise PredictError("This graph has no Generator or Decoder block")
        with torch.no_grad():
            out = gen[0](torch.as_tensor(np.asarray(z, dtype=np.float32)))
        if isinstance(out, (tuple, list)):
            out = out[0]
        return out.float().cpu().numpy()


def to_probabilities(out: np.ndarray) -> np.ndarray:
    """Class probabilities (N, K) from a classifier's outputs: a softmax of logits (outputs
    that already sum to 1 and are non-negative, e.g. after a Softmax node, are kept;
    log-probabilities are exponentiated)."""
    out = np.asarray(out, dtype=np.float64)
    if np.all(out <= 0) and np.allclose(np.exp(out).sum(axis=1), 1, atol=1e-3):
        return np.exp(out)
    if np.all(out >= 0) and np.allclose(out.sum(axis=1), 1, atol=1e-3):
        return out
    z = out - out.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _square(n: int) -> int | None:
    side = round(math.sqrt(n))
    return side if side * side == n and side > 1 else None


def _typical_extent(x: np.ndarray, n: int = 300) -> float:
    """How much of the frame the ink of a typical training picture spans (median over up to
    ``n`` pictures of the larger of its bounding box's height and width fractions)."""
    if x.ndim == 2 and _square(x.shape[1]) is not None:
        side = _square(x.shape[1])
        x = x.reshape(len(x), 1, side, side)
    if x.ndim != 4 or not len(x):
        return 0.75
    fractions = []
    for img in x[:n]:
        ink = img.mean(axis=0)
        hi = float(ink.max())
        if hi <= 0:
            continue
        ys, xs = np.nonzero(ink > 0.2 * hi)
        fractions.append(max((ys.max() - ys.min() + 1) / ink.shape[0],
                             (xs.max() - xs.min() + 1) / ink.shape[1]))
    return float(np.median(fractions)) if fractions else 0.75


def _frame_strokes(img: np.ndarray, margin: float = 0.12) -> np.ndarray:
    """Crop to the bright strokes' bounding box, squared and padded by ``margin``."""
    ink = img if img.ndim == 2 else img.mean(axis=2)
    ys, xs = np.nonzero(ink > 0.05)
    if len(ys) == 0:
        return img
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    side = max(y1 - y0, x1 - x0)
    pad = round(side * margin)
    full = side + 2 * pad
    out = np.zeros((full, full) + img.shape[2:], dtype=img.dtype)
    oy = pad + (side - (y1 - y0)) // 2
    ox = pad + (side - (x1 - x0)) // 2
    out[oy:oy + (y1 - y0), ox:ox + (x1 - x0)] = img[y0:y1, x0:x1]
    return out


def image_from_output(out: np.ndarray, input_shape: tuple | None = None) -> np.ndarray | None:
    """A generated sample (one of ``generate``'s rows) → uint8 (C, H, W), or None."""
    x = np.asarray(out, dtype=np.float32)
    if x.ndim == 1:
        if input_shape is not None and len(input_shape) == 3 and \
                math.prod(input_shape) == x.size:
            x = x.reshape(input_shape)
        elif (side := _square(x.size)) is not None:
            x = x.reshape(1, side, side)
        else:
            return None
    if x.ndim == 2:
        x = x[None]
    if x.ndim != 3 or x.shape[0] not in (1, 3):
        return None
    lo, hi = min(float(x.min()), 0.0), max(float(x.max()), 1.0)
    return np.round((x - lo) / max(hi - lo, 1e-8) * 255).clip(0, 255).astype(np.uint8)

