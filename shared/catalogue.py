"""The capability catalogue: what each capability code means and its default composition (data, versioned)."""

import json
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from shared.vocabulary import Capability, CompositionLine

CATALOGUE_JSON = Path(__file__).parent / "reference" / "capabilities.json"


class CapabilityEntry(BaseModel):
    code: Capability
    name: str
    description: str
    kind: Literal["TEAM", "INDIVIDUAL"]
    composition: list[CompositionLine]


class Catalogue(BaseModel):
    version: str
    notes: str = ""
    capabilities: list[CapabilityEntry]


@cache
def catalogue() -> Catalogue:
    """The catalogue, read once; it must describe every capability code and no other."""
    loaded = Catalogue.model_validate(json.loads(CATALOGUE_JSON.read_text(encoding="utf-8")))
    codes = [entry.code for entry in loaded.capabilities]
    if sorted(codes) != sorted(Capability) or len(set(codes)) != len(codes):
        raise ValueError(f"{CATALOGUE_JSON} must describe each capability code exactly once")
    return loaded
