"""The setup form's Adversarial training group (``TrainingConfig.adversarial``): its fields,
and which of them the chosen attack uses."""
from __future__ import annotations

ADVERSARIAL_TIPS = {
    "method": "Train on adversarial examples too (classify and regress): FGSM or PGD attacks "
              "of a share of each batch",
    "eps": "The attack's size in pixel units (the data's own scale, 0–1 for pictures, before "
           "normalisation): each input value moves at most this much",
    "fraction": "The share of each batch replaced by its adversarial examples",
    "steps": "PGD's signed-gradient steps per example",
    "step_size": "PGD's step (0: 2.5 × ε / steps)"}


def add_adversarial_group(form, layout) -> None:
    """The group's fields on ``form`` (a SetupForm), keyed ``adversarial.<setting>``."""
    from ...train.config import ADVERSARIAL_METHODS

    group = form._group(layout, "Adversarial training")
    form._choice(group, "adversarial.method", ADVERSARIAL_METHODS)
    form._number(group, "adversarial.eps", 0.0, 1e6)
    form._number(group, "adversarial.fraction", 0.0, 1.0, decimals=2, step=0.1)
    form._int(group, "adversarial.steps", 1, 10_000)
    form._number(group, "adversarial.step_size", 0.0, 1e6)
    for name, tip in ADVERSARIAL_TIPS.items():
        form.fields[f"adversarial.{name}"].setToolTip(tip)


def show_adversarial_settings(form, method: str) -> None:
    """ε and the share with an attack chosen; the step settings with PGD only."""
    for name in ("eps", "fraction", "steps", "step_size"):
        rows, row = form.rows[f"adversarial.{name}"]
        rows.setRowVisible(row, method == "pgd" or (method == "fgsm" and name in
                                                    ("eps", "fraction")))
