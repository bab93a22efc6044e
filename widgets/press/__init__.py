"""The press kit: its model (:mod:`.kit`), its page (:mod:`.page`) and its ZIP (:mod:`.bundle`).

The printed parts (the one-page sheet, the high-resolution cover) are print
pieces: :mod:`widgets.print.press`. This package imports nothing at import time,
so ``widgets.print.press`` can use the model without an import cycle.
"""
