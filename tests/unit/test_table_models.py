"""Every table model of the three services builds its rows without parsing a builtin's signature."""

import inspect

from sqlmodel import SQLModel

import services.availability.models
import services.requests.models
import services.tasking.models
import shared.messaging

MODULES = [services.availability.models, services.requests.models, services.tasking.models, shared.messaging]


def table_models() -> list[type[SQLModel]]:
    found: list[type[SQLModel]] = []
    pending = list(SQLModel.__subclasses__())
    while pending:
        model = pending.pop()
        pending.extend(model.__subclasses__())
        if model.model_config.get("table") and inspect.getmodule(model) in MODULES:
            found.append(model)
    return found


def test_no_table_model_has_a_builtin_default_factory() -> None:
    """pydantic inspects a table model's default factories on every row built; a builtin (list, dict) costs
    some 75 microseconds a field to inspect, a function some 5: shared.db.empty_list and empty_dict."""
    models = table_models()
    assert len(models) >= 10
    builtins = [
        f"{model.__name__}.{name}: {field.default_factory!r}"
        for model in models
        for name, field in model.model_fields.items()
        if inspect.isbuiltin(field.default_factory) or isinstance(field.default_factory, type)
    ]
    assert builtins == []
