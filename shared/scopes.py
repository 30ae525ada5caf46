"""Who may read what: pure rules on a Principal (README, "Roles and what each may read and write").

A force's things (its requests with their notes, its units) are read by the people of that force, by
the coordinators of its region, and by national coordinators, auditors and integrations, who read
everything. A proposal is read by whoever reads its request and by the forces it lends units of; a
unit also by the forces it is booked for, while it is. A
force's policy and capacity are read by its resource managers and by every coordinator (mutual aid is
planned across regions on them); the capacity of a region or of the nation by coordinators. Writes
keep their own rules (require, acts_for_force, check_approver). Every refusal is Forbidden (403).
"""

from collections.abc import Iterable
from dataclasses import dataclass

from shared.auth import Principal
from shared.errors import Forbidden
from shared.vocabulary import Role

READ_EVERYTHING = frozenset({Role.NATIONAL_COORDINATOR, Role.AUDITOR, Role.INTEGRATION})
COORDINATORS = frozenset({Role.COORDINATOR, Role.NATIONAL_COORDINATOR})
READ_CAPACITY = frozenset({Role.COORDINATOR, *READ_EVERYTHING})


@dataclass(frozen=True)
class ReadScope:
    """The force-owned things a principal reads: all of them, or those of `force`, or those of `region`."""

    everything: bool = False
    force: str | None = None
    region: str | None = None

    def covers(self, *, force: str, region: str) -> bool:
        """Whether a thing of this force (in this region) is within the scope."""
        return self.everything or force == self.force or (self.region is not None and region == self.region)


def scope_of(principal: Principal) -> ReadScope:
    """What the principal reads of requests and units: everything, its region (a coordinator) or its force."""
    if principal.role in READ_EVERYTHING:
        return ReadScope(everything=True)
    if principal.role is Role.COORDINATOR:
        return ReadScope(region=principal.region)
    return ReadScope(force=principal.force)


def may_read(principal: Principal, *, force: str, region: str, parties: Iterable[str] = ()) -> bool:
    """Whether the principal may read a thing of `force` in `region`, or one that other forces are party to
    (`parties`: the forces a proposal lends units of, the forces a unit is booked for)."""
    if scope_of(principal).covers(force=force, region=region):
        return True
    return principal.force is not None and principal.force in set(parties)


def check_reads(principal: Principal, what: str, *, force: str, region: str, parties: Iterable[str] = ()) -> None:
    """Raise Forbidden unless the principal may read `what`, a thing of `force` in `region` (or of `parties`)."""
    if not may_read(principal, force=force, region=region, parties=parties):
        raise Forbidden(f"{_who(principal)} may not read {what}: it is {force}'s, in {region}")


def check_reads_figures(principal: Principal, *, force: str | None = None) -> None:
    """Raise Forbidden unless the principal may read capacity figures: of one force (its policy and capacity:
    its resource managers too), or of a region or the nation (force None: coordinators, auditors, integrations)."""
    if principal.role in READ_CAPACITY:
        return
    if force is not None and principal.role is Role.RESOURCE_MANAGER and principal.force == force:
        return
    whose = f"{force}'s policy and capacity" if force else "the capacity of a region or the nation"
    raise Forbidden(f"{_who(principal)} may not read {whose}")


def _who(principal: Principal) -> str:
    scope = principal.force or principal.region
    return f"a {principal.role.value}" + (f" of {scope}" if scope else "")
