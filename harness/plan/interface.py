"""Which signatures of an export the plan calls, and by which input and output names.

The zoo's exports all use ZOO (train/predict/save/restore, output "loss", input
"checkpoint_path", no metrics, no weights by value); a user's export gets its own Interface
from discovery (certify) or flags.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Interface:
    train: str = "train"  # the signature that runs one optimizer step
    loss: str = "loss"  # its scalar output
    predict: str | None = "predict"  # inference; None: the export has none
    save: str | None = "save"  # save(<path>) writes every variable; None: none
    save_path: str = "checkpoint_path"  # the save signature's string input
    restore: str | None = "restore"  # restore(<path>); None: none
    restore_path: str = "checkpoint_path"
    tags: tuple[str, ...] = ("serve",)  # the meta graph every runtime loads
    metrics: tuple[str, ...] = ()  # the train signature's other scalar outputs, compared step by step beside the loss
    get_weights: str | None = None  # a signature with no inputs returning the variables by value; None: none
    set_weights: str | None = None  # the signature taking them back as inputs (named as get_weights' outputs)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: dict) -> "Interface":
        return cls(**{**raw, "tags": tuple(raw.get("tags", ("serve",))), "metrics": tuple(raw.get("metrics", ()))})


ZOO = Interface()
