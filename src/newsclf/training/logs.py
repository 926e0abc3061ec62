"""Training logs: one JSON line per event in ``RUN_DIR/train_log.jsonl``, TensorBoard when installed, tqdm."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

from tqdm.auto import tqdm

log = logging.getLogger("newsclf")
LOG_FILE = "train_log.jsonl"


class RunLog:
    """Append-only JSONL log (``{"event": "step"|"epoch", "step": ..., ...}``) mirrored to TensorBoard."""

    def __init__(self, run_dir: Path | None, tensorboard: bool = True):
        self.path = Path(run_dir) / LOG_FILE if run_dir is not None else None
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)  # once, not on every line
        self.writer = None
        if run_dir is not None and tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:  # tensorboard is optional
                pass
            else:
                self.writer = SummaryWriter(log_dir=str(Path(run_dir) / "tensorboard"))

    def rewind(self, step: int) -> None:
        """Drop entries past ``step``: after a resume they are written again, exactly once."""
        if self.path is None or not self.path.is_file():
            return
        keep = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                if json.loads(line).get("step", 0) <= step:
                    keep.append(line)
            except (json.JSONDecodeError, AttributeError):  # a line cut short by a kill
                continue
        self.path.write_text("".join(line + "\n" for line in keep), encoding="utf-8")

    def write(self, record: dict) -> None:
        if self.path is not None:
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(json.dumps(record) + "\n")
        if self.writer is not None:
            prefix = record.get("event", "log")
            for key, value in record.items():
                if isinstance(value, (int, float)) and not isinstance(value, bool) and key != "step":
                    self.writer.add_scalar(f"{prefix}/{key}", value, record.get("step", 0))
            self.writer.flush()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def progress_bar(total: int, initial: int, enabled: bool):
    """A tqdm bar over optimizer steps; the loop sets loss and examples/s as its postfix."""
    return tqdm(total=total, initial=initial, disable=not enabled, unit="step", dynamic_ncols=True,
                file=sys.stderr, desc="train", mininterval=1.0)
