"""Pages of a list answer: at most `limit` items, after the item a cursor names (the last of the page before)."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Query

from shared.errors import NotFound

T = TypeVar("T")
MOST_ITEMS = 5000  # a page of units or proposals at once; the console's national picture reads one


@dataclass(frozen=True)
class PageQuery:
    """The `limit` and `after` query parameters of a list."""

    limit: int
    after: str | None


def page_query(
    limit: Annotated[int, Query(ge=1, le=MOST_ITEMS, description="At most this many items")] = MOST_ITEMS,
    after: Annotated[
        str | None, Query(max_length=200, description="The `next` of the page before: the items after it")
    ] = None,
) -> PageQuery:
    return PageQuery(limit=limit, after=after)


Paging = Annotated[PageQuery, Depends(page_query)]
PAGED: dict[int | str, dict[str, Any]] = {404: {"description": "`after` names no item of the list (any longer)"}}
"""The responses of a paged list's route, for its decorator."""


def page(items: Sequence[T], *, key: Callable[[T], str], paging: PageQuery) -> tuple[list[T], str | None]:
    """The items of the page, in the list's order, and the cursor of the next page (None on the last).

    Raises NotFound (404) when `after` names no item of the list (it left the list since: start again)."""
    start = 0
    if paging.after is not None:
        keys = [key(item) for item in items]
        if paging.after not in keys:
            raise NotFound(f"after={paging.after!r} names no item of this list now; start again without it")
        start = keys.index(paging.after) + 1
    taken = list(items[start : start + paging.limit])
    more = start + paging.limit < len(items)
    return taken, key(taken[-1]) if more and taken else None
