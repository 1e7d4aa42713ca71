"""The /admin page: the question log's overview, coverage gaps, recent 👎 and escalations, the
sources with a Reindex button, and the trained query encoders, on the ops HTTP server.

:class:`AdminSite` gets the process's core, chat state and :class:`~bot.admin.AdminOps` (the
composition root's, as the chat does) and the token; its ``routes()`` join the ops routes.
"""

from bot.webadmin.auth import MIN_TOKEN_CHARS
from bot.webadmin.site import AdminSite

__all__ = ["AdminSite", "MIN_TOKEN_CHARS"]
