"""Summarise finished runs into leaderboard.md and a self-contained leaderboard.html (plots embedded).

Scans each folder in ``runs`` for run directories (``checkpoint/manifest.json``), Hydra multirun folders included;
one row per run and mean ± std rows for runs that differ only in ``seed``.

Examples:
    python scripts/report.py                                   # runs/ and multirun/ -> runs/report/
    python scripts/report.py runs=multirun/topic output=reports/topic
    python scripts/report.py 'runs=[runs/topic,runs/stance]'
"""

import hydra
from omegaconf import DictConfig, ListConfig

from newsclf.cli import guard, run


@hydra.main(config_path="../configs", config_name="report", version_base="1.3")
@guard
def main(cfg: DictConfig) -> None:
    from newsclf.evaluation.leaderboard import write_leaderboard

    runs = [str(r) for r in cfg.runs] if isinstance(cfg.runs, ListConfig) else [str(cfg.runs)]
    paths = write_leaderboard(runs, cfg.output)
    print("\n".join(f"{kind}: {path}" for kind, path in paths.items()))


if __name__ == "__main__":
    run(main)
