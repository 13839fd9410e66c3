"""The verification report as a self-contained HTML page."""

from sds_core.verification.page.render import CONTENT_SECURITY_POLICY, META_POLICY, PageLimits, render_page

__all__ = ["CONTENT_SECURITY_POLICY", "META_POLICY", "PageLimits", "render_page"]
