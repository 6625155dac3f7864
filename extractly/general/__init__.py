"""Material for the general extraction adapter (schema + text -> JSON on any schema).

Training material: synthetic pairs from real schemas (``synth_pairs``: ``instances`` draws valid
objects with realistic values, ``render`` writes them out as varied text), span records
(``spans``: one short line over a flat schema of many nullable strings), and the labelled sets'
train splits, put together by ``mix``; ``train`` runs the recipe.
"""

from .instances import UnsupportedSchemaError, sample_instance
from .pairs import SynthPair, synth_pairs
from .render import Rendered, render

__all__ = ["Rendered", "SynthPair", "UnsupportedSchemaError", "render", "sample_instance",
           "synth_pairs"]
