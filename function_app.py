"""The Functions app: assembles the blueprints, nothing else (the host indexes this module)."""

from __future__ import annotations

import azure.functions as func

from sds_app.blueprints.profiles import bp as profiles

# Every HTTP function validates its own bearer tokens (sds_app/auth.py): no function keys.
app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)
app.register_functions(profiles)
