"""The public API: ``extractly.__all__`` is pinned and sorted (like httpx's exported members)."""

from __future__ import annotations

import types

import extractly


def test_public_api_is_pinned_and_sorted() -> None:
    # isort-style, as ruff keeps it: CONSTANTS, then Classes, then functions.
    def style(name: str) -> tuple[int, str]:
        return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)

    assert extractly.__all__ == sorted(extractly.__all__, key=style)
    # every public attribute that is not a submodule is pinned in __all__ (which
    # submodules are imported depends on what other tests ran first)
    public = {
        n
        for n in dir(extractly)
        if not n.startswith("_") and not isinstance(getattr(extractly, n), types.ModuleType)
    }
    assert set(extractly.__all__) == public
