"""The Functions app: assembles the blueprints, nothing else (the host indexes this module)."""

from __future__ import annotations

import azure.functions as func

from sds_app.blueprints.check import check_routes
from sds_app.blueprints.directory import directory_routes
from sds_app.blueprints.health import health_routes
from sds_app.blueprints.profiles import profile_routes
from sds_app.blueprints.sync_worker import sync_triggers
from sds_app.blueprints.verification import verification_functions

# Every HTTP function validates its own bearer tokens (sds_app/auth.py): no function keys.
app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)
app.register_functions(profile_routes)
app.register_functions(verification_functions)
app.register_functions(directory_routes)
app.register_functions(sync_triggers)
app.register_functions(health_routes)
app.register_functions(check_routes)
