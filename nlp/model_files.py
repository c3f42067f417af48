"""A model folder on disk: ``weights.npz`` (numpy arrays) and ``meta.json`` (its description).

Shared by the sentiment tiers' models and the cause model, so all are saved, found and refused
the same way.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import numpy as np


def save_model_folder(
    folder: Path, arrays: Mapping[str, np.ndarray], meta: dict, extra_meta: Mapping
) -> None:
    """Write the arrays and the meta; ``extra_meta`` (training notes, blend settings) is kept
    where it does not clash with what the model itself states."""
    folder.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(folder / "weights.npz", **arrays)
    meta = meta | {k: v for k, v in extra_meta.items() if k not in meta}
    (folder / "meta.json").write_text(
        json.dumps(meta, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )


def load_model_folder(
    folder: Path, fmt: int, kind: str, what: str = "sentiment model"
) -> tuple[dict, np.lib.npyio.NpzFile]:
    """The meta and arrays of a model folder of this format and kind; a ValueError naming the
    folder (as a ``what`` folder) otherwise."""
    folder = Path(folder)
    try:
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        arrays = np.load(folder / "weights.npz")
    except FileNotFoundError as exc:
        missing = Path(exc.filename).name
        raise ValueError(f"{folder}: not a {what} folder ({missing} missing)") from None
    if meta.get("format") != fmt or meta.get("kind") != kind:
        raise ValueError(
            f"{folder}: not a {kind} model (format {meta.get('format')!r},"
            f" kind {meta.get('kind')!r})"
        )
    return meta, arrays
