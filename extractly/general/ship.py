"""Put a trained general adapter into the package, where ``adapter="auto"`` finds it for a schema
with no tuned adapter (``adapter_registry.shipped_general``)::

    python -m extractly.general.ship general-out/      # the folder extractly.general.train wrote

The LoRA tensors are written in float16 (half the float32 file; llama.cpp applies either) with
the adapter's alpha and metadata, and its manifest beside it (the training mix with every
source and license, the settings, the metrics), plus where it came from: the trained file's
sha256 and the conversion. Nothing here trains or evaluates.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from ..adapter_registry import ADAPTER_FILE, GENERAL_PROMPT, MANIFEST_FILE, SHIPPED_GENERAL
from ..model_files import file_sha256


def ship(trained: Path, into: Path = SHIPPED_GENERAL.parent) -> Path:
    """Write the general adapter in ``trained`` (a folder with ``adapter.gguf`` and
    ``manifest.json``) to ``into`` as float16; the written adapter's path."""
    from ..tune.export import read_adapter, write_adapter

    source = trained / ADAPTER_FILE
    manifest = json.loads((trained / MANIFEST_FILE).read_text(encoding="utf-8"))
    if manifest.get("prompt") != GENERAL_PROMPT or not manifest.get("base_model_sha256"):
        raise ValueError(f"{trained}: not a general adapter (its manifest has no "
                         f"'prompt': {GENERAL_PROMPT!r} and base model hash)")
    stored = read_adapter(source)
    target = write_adapter(into / SHIPPED_GENERAL.name, stored.tensors, alpha=stored.alpha,
                           metadata=stored.metadata, half=True)
    manifest["shipped"] = {
        "trained_file_sha256": file_sha256(source),
        "tensors": "float16 (converted from the trained float32 file)",
    }
    text = json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
    (into / MANIFEST_FILE).write_text(text, encoding="utf-8")
    return target


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("trained", type=Path, help="folder extractly.general.train wrote")
    ap.add_argument("--into", type=Path, default=SHIPPED_GENERAL.parent)
    args = ap.parse_args(argv)
    path = ship(args.trained, args.into)
    print(f"{path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
