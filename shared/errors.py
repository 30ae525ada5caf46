"""A small error hierarchy with stable codes, mapped to problem+json in one place (shared.web)."""


class MutualAidError(Exception):
    """Base of every error a route may raise; carries its HTTP status and a stable code."""

    status = 400
    code = "bad-request"
    title = "Bad request"

    def __init__(self, detail: str, **extra: object) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra  # more members of the problem+json body (RFC 9457 extension members)


class BadRequest(MutualAidError):
    """A request the API cannot read as one of its operations (an unknown query parameter)."""


class TooManyRequests(MutualAidError):
    status = 429
    code = "too-many-requests"
    title = "Too many requests"


class InvalidInput(MutualAidError):
    status = 422
    code = "invalid-input"
    title = "Invalid input"


class Unauthorized(MutualAidError):
    status = 401
    code = "unauthorized"
    title = "Authentication required"


class Forbidden(MutualAidError):
    status = 403
    code = "forbidden"
    title = "Outside your scope"


class NotFound(MutualAidError):
    status = 404
    code = "not-found"
    title = "Not found"


class Gone(MutualAidError):
    status = 410
    code = "gone"
    title = "No longer kept"


class Conflict(MutualAidError):
    status = 409
    code = "conflict"
    title = "Conflict"


class PreconditionFailed(MutualAidError):
    status = 412
    code = "precondition-failed"
    title = "Precondition failed"


class Unavailable(MutualAidError):
    status = 503
    code = "unavailable"
    title = "Unavailable"
