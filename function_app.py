"""The Functions app: assembles the blueprints, nothing else (the host indexes this module)."""

from __future__ import annotations

import azure.functions as func

from sds_app.blueprints.check import bp as check
from sds_app.blueprints.directory import bp as directory
from sds_app.blueprints.health import bp as health
from sds_app.blueprints.profiles import bp as profiles
from sds_app.blueprints.sync_worker import bp as sync_worker
from sds_app.blueprints.verification import bp as verification

# Every HTTP function validates its own bearer tokens (sds_app/auth.py): no function keys.
app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)
app.register_functions(profiles)
app.register_functions(verification)
app.register_functions(directory)
app.register_functions(sync_worker)
app.register_functions(health)
app.register_functions(check)
