"""One byte-exact JSON text per value, for hashes that must not depend on how a value was written."""

import json
from datetime import datetime
from typing import Any


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces, UTF-8 kept, datetimes in ISO 8601; raises TypeError for anything else not JSON."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_default)


def _default(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot put {type(value).__name__} in canonical JSON")
