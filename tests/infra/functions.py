"""The app's functions and their bindings, read without disturbing other tests' reads."""

from __future__ import annotations

import json
from typing import Any


def app_bindings() -> dict[str, list[dict[str, Any]]]:
    """name -> bindings of every function of function_app.app.

    get_functions() refuses a second call on one app (it remembers the names it saw), and other
    tests call it too: the memory is emptied for this call and put back after it.
    """
    from function_app import app

    seen = app.functions_bindings
    app.functions_bindings = {}
    try:
        functions = app.get_functions()
    finally:
        app.functions_bindings = seen
    return {f.get_function_name(): json.loads(f.get_function_json())["bindings"] for f in functions}


def http_routes() -> dict[str, tuple[str, str]]:
    """function name -> (method, route) of every HTTP function."""
    routes = {}
    for name, bindings in app_bindings().items():
        for binding in bindings:
            if binding["type"] == "httpTrigger":
                (method,) = binding["methods"]
                routes[name] = (method, binding["route"])
    return routes
