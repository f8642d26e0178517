"""A task's form from its declared fields (`contentgen.tasks.base.InputField`): one widget per field,
keyed "<prefix>_<field>", and the request read back from them, so a page repeats no field list."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import streamlit as st

from contentgen.tasks import Task
from contentgen.tasks.base import CHOICE, INTEGER, LINES, TURNS

LINES_HEIGHT = 110


def field_input(task: Task, name: str, prefix: str, where: Any = st, *, options: Sequence[str] | None = None,
                format_func: Callable[[Any], str] = str, height: int | None = None) -> None:
    """The widget for one field, in `where` (the page, a column or an expander). `options` replaces the
    field's choices (saved brand profiles, say)."""
    field = task.field(name)
    key, label = f"{prefix}_{name}", field.form_label or field.label
    if field.kind == INTEGER:
        where.number_input(label, min_value=field.minimum, max_value=field.maximum, value=field.default, key=key)
    elif options is not None or field.kind == CHOICE or field.suggestions:
        choices = list(options if options is not None else (field.choices or field.suggestions))
        index = choices.index(field.default) if field.default in choices else 0
        if field.widget == "radio":
            where.radio(label, choices, key=key, horizontal=True, index=index, format_func=format_func)
        else:
            where.selectbox(label, choices, key=key, index=index, format_func=format_func,
                            help=field.help if field.kind == CHOICE else None)
    elif field.kind in (LINES, TURNS) or field.widget == "area":
        where.text_area(label, key=key, height=height or LINES_HEIGHT, placeholder=field.placeholder or None)
    else:
        where.text_input(label, key=key, placeholder=field.placeholder or None)


def form_keys(task: Task, prefix: str) -> list[str]:
    """The session keys of every field the form shows (for keep_inputs)."""
    return [f"{prefix}_{field.name}" for field in task.fields]


def request_from_form(task: Task, prefix: str, **given: Any) -> Any:
    """The request from the form's widgets, read as the CLI and a batch row read typed text; `given`
    adds values the form does not show (更多类似's reference version)."""
    typed = {field.name: st.session_state[f"{prefix}_{field.name}"] for field in task.fields
             if f"{prefix}_{field.name}" in st.session_state}
    return task.request_from_text({**typed, **given})
