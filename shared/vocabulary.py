"""Value types shared by the HTTP and event contracts of every service."""

import re
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    ValidationInfo,
)

from shared.forces import forces


def _in_utc(moment: datetime) -> datetime:
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise ValueError("in UTC this is beyond the last time that can be kept (9999-12-31)") from None


UtcDatetime = Annotated[AwareDatetime, AfterValidator(_in_utc)]
"""An RFC 3339 instant with its zone, kept and answered in UTC whatever offset the caller wrote."""

# --- the input policy: what an HTTP body or query may hold (events and answers read tolerantly) ------------

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
_NUMBER_TEXT = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
MAX_COUNT = 10_000  # units of one capability a force keeps or owes: more is a typing slip


def _written_not_number(value: object) -> object:
    # bool too, and a number written as text: pydantic would read 0, 1e9 or "1796404764" as seconds since 1970
    if isinstance(value, int | float) or (isinstance(value, str) and _NUMBER_TEXT.fullmatch(value.strip())):
        raise ValueError("a time is an RFC 3339 string with its zone (2030-01-01T09:00:00Z), not a number")
    return value


def _in_utc_within_range(moment: datetime) -> datetime:
    refusal = f"must be between {EARLIEST:%Y-%m-%dT%H:%M:%SZ} and {LATEST:%Y-%m-%dT%H:%M:%SZ} (UTC)"
    try:
        moment = moment.astimezone(UTC)
    except OverflowError:  # before year 1 or after 9999 in UTC
        raise ValueError(refusal) from None
    if not EARLIEST <= moment <= LATEST:
        raise ValueError(refusal)
    return moment


TEXT_CELLS = {"text_cells": True}
"""Validation context of a reader of text cells (a CSV import): there a number is written as text."""


def _number_not_text(value: object, info: ValidationInfo) -> object:
    if isinstance(value, str) and info.context == TEXT_CELLS:
        return value
    if isinstance(value, str | bool):
        raise ValueError("a number is written as a JSON number, not as text or true/false")
    return value


Instant = Annotated[
    AwareDatetime,
    BeforeValidator(_written_not_number),
    AfterValidator(_in_utc_within_range),
    Field(examples=["2030-01-01T09:00:00Z"]),
]
"""An input instant: an RFC 3339 string with its zone, from 2000-01-01 to 2100-01-01 UTC, kept in UTC."""

WholeNumber = Annotated[int, BeforeValidator(_number_not_text)]
"""An input integer: a JSON number with no fraction (2 or 2.0), never "2" or true."""

Number = Annotated[float, BeforeValidator(_number_not_text)]
"""An input number: a JSON number, never "2.5" or true."""

Flag = Annotated[bool, Strict()]
"""An input flag: true or false, never "yes" or 1."""


# What the policy refuses, written as JSON Schema patterns (ECMA-262 syntax, which Python's re reads the same) so
# the contracts say it: NUL and other C0 controls (a body's text may hold tab, line feed and carriage return), DEL
# and C1 controls (shared.edge refuses them before any model sees them), and instants outside 2000..2100 UTC
# (written with a year from 2000 to 2099, or as the last instant itself). Unpaired surrogates, refused as well,
# are not Unicode text at all, so no pattern can name them.
_BODY_CONTROLS = r"\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f"
_CONTROLS = r"\u0000-\u001f\u007f-\u009f"


def _text_without(controls: str, *, not_blank: bool = False) -> str:
    """A pattern of text holding none of the `controls` (a character class range), and when `not_blank` at least
    one character that is not a space."""
    return rf"^[^{controls}]*[^\s{controls}][^{controls}]*$" if not_blank else rf"^[^{controls}]*$"


BODY_TEXT_PATTERN = _text_without(_BODY_CONTROLS)
HAS_TEXT_PATTERN = _text_without(_BODY_CONTROLS, not_blank=True)
"""Text that must say something: not only spaces (it is trimmed), and no control characters."""
PARAMETER_TEXT_PATTERN = _text_without(_CONTROLS)
NAME_PATTERN = _text_without(_CONTROLS, not_blank=True)
"""A name kept and logged as given (a token's subject): one line, no control characters, not only spaces."""
NAME_LENGTH = 200  # what the services keep of who did something (submitted_by, actor, decided_by, ...)
INSTANT_PATTERN = r"^(20[0-9]{2}-.*|2100-01-01T00:00:00(\.0+)?(Z|[+-]00:00))$"


_BOUNDS = {"ge": "minimum", "le": "maximum", "gt": "exclusiveMinimum", "lt": "exclusiveMaximum"}


def describe_input_policy(schema: dict[str, Any], *, text_pattern: str = BODY_TEXT_PATTERN) -> None:
    """Add the policy's patterns to every string of a JSON Schema (in place, through anyOf/items/properties, not
    through $ref): free text gets `text_pattern` (HAS_TEXT_PATTERN in a body where it must not be empty), an
    RFC 3339 date-time gets INSTANT_PATTERN. Strings with an enum or a pattern of their own are left as they are.
    A number's bound that pydantic wrote under its own name (`ge`) is written as JSON Schema's (`minimum`)."""
    if schema.get("type") in ("integer", "number"):  # a bound pydantic could not place (a number after a validator)
        for bound, keyword in _BOUNDS.items():
            if bound in schema:
                schema[keyword] = schema.pop(bound)
    if schema.get("type") == "string" and "enum" not in schema and "pattern" not in schema:
        if schema.get("format") == "date-time":
            schema["pattern"] = INSTANT_PATTERN
        elif schema.get("minLength", 0) > 0 and text_pattern == BODY_TEXT_PATTERN:
            schema["pattern"] = HAS_TEXT_PATTERN
        else:
            schema["pattern"] = text_pattern
    for key in ("anyOf", "oneOf", "allOf", "prefixItems"):
        for part in schema.get(key, ()):
            describe_input_policy(part, text_pattern=text_pattern)
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            describe_input_policy(schema[key], text_pattern=text_pattern)
    for part in schema.get("properties", {}).values():
        describe_input_policy(part, text_pattern=text_pattern)


def _describe_body(schema: dict[str, Any]) -> None:
    describe_input_policy(schema)  # pydantic hands a function of two parameters the model class as well


class Input(BaseModel):
    """Base of every HTTP body: unknown fields refused at every depth, text trimmed of surrounding spaces.
    (NUL and other control characters are refused before any model sees them: shared.edge; the models' JSON
    Schemas say so with patterns.)"""

    # from_attributes: Python code may hand a GeoPoint or Window where its input twin is expected (checked again)
    model_config = ConfigDict(
        extra="forbid", str_strip_whitespace=True, from_attributes=True, json_schema_extra=_describe_body
    )


class Role(StrEnum):
    """What a caller may do (DESIGN.md, Security); carried as the `role` claim of a bearer token."""

    OPERATOR = "operator"
    RESOURCE_MANAGER = "resource_manager"
    COORDINATOR = "coordinator"
    NATIONAL_COORDINATOR = "national_coordinator"
    AUDITOR = "auditor"
    INTEGRATION = "integration"


class Capability(StrEnum):
    """Codes of the capability catalogue (shared/reference/capabilities.json describes each)."""

    PSU = "PSU"
    CTSFO = "CTSFO"
    AFO = "AFO"
    CBRN_T1 = "CBRN_T1"
    CBRN_T2 = "CBRN_T2"
    POM = "POM"
    POLSA = "POLSA"
    DOG = "DOG"
    MOUNTED = "MOUNTED"
    NEGOTIATOR = "NEGOTIATOR"
    DVI = "DVI"


class Priority(StrEnum):
    P1 = "P1"  # threat to life
    P2 = "P2"  # urgent
    P3 = "P3"  # planned


def _known_force(code: str) -> str:
    if code not in forces():
        raise ValueError(f"unknown force code {code!r}; see GET /v1/forces or reference/forces.csv")
    return code


def _force_codes(schema: dict[str, Any]) -> None:
    schema["enum"] = sorted(forces())


ForceCode = Annotated[
    str, AfterValidator(_known_force), Field(examples=["west-midlands"], json_schema_extra=_force_codes)
]
"""A force code of the reference data (shared/reference/forces.csv), listed as an enum in the contracts."""


class GeoPoint(BaseModel):
    lat: float = Field(ge=49.0, le=61.0, description="WGS84 latitude (UK)")
    lon: float = Field(ge=-9.0, le=3.0, description="WGS84 longitude (UK)")
    description: str = Field("", max_length=200)


class GeoPointInput(GeoPoint, Input):
    lat: Number = Field(ge=49.0, le=61.0, description="WGS84 latitude (UK)")
    lon: Number = Field(ge=-9.0, le=3.0, description="WGS84 longitude (UK)")


class CompositionLine(BaseModel):
    role: str = Field(min_length=1, max_length=100, examples=["sergeant"])
    count: int = Field(ge=1, le=500)


class CompositionLineInput(CompositionLine, Input):
    count: WholeNumber = Field(ge=1, le=500)


class Need(BaseModel):
    capability: Capability
    quantity: int = Field(ge=1, le=500)
    composition: list[CompositionLine] | None = Field(
        None,
        max_length=50,
        description="Overrides the catalogue's default composition of each unit for this request",
    )


class NeedInput(Need, Input):
    quantity: WholeNumber = Field(ge=1, le=500)
    composition: list[CompositionLineInput] | None = Field(  # type: ignore[assignment]
        None,
        max_length=50,
        description="Overrides the catalogue's default composition of each unit for this request",
    )


class LendingScope(StrEnum):
    """How far a force allows a unit to be lent."""

    FORCE = "FORCE"  # not lent: kept for the force's own use
    REGION = "REGION"  # to forces of its own region
    NATIONAL = "NATIONAL"  # to any force


class Window(BaseModel):
    """A period in which a unit is available."""

    start: UtcDatetime
    end: UtcDatetime


class WindowInput(Window, Input):
    start: Instant
    end: Instant
