"""Material for the general extraction adapter (schema + text -> JSON on any schema).

So far: synthetic training pairs from real schemas (``synth_pairs``): ``instances`` draws valid
objects with realistic values, ``render`` writes them out as varied text. The adapter itself,
its training recipe and its evaluation on left-out data sets are not built yet.
"""

from .instances import UnsupportedSchemaError, sample_instance
from .pairs import SynthPair, synth_pairs
from .render import Rendered, render

__all__ = ["Rendered", "SynthPair", "UnsupportedSchemaError", "render", "sample_instance",
           "synth_pairs"]
