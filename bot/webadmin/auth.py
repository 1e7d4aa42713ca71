"""Who may see the admin page: one shared token, signed session cookies, CSRF tokens, a login limit.

- **Off unless configured**: without ``RAGBOT_ADMIN_TOKEN`` (or with one shorter than
  :data:`MIN_TOKEN_CHARS`) there is no admin page at all.
- **Login** compares the token in constant time (``hmac.compare_digest`` over SHA-256 digests,
  so not even its length leaks) and issues a session cookie: HttpOnly, SameSite=Strict, Path
  /admin, and Secure when the request came over TLS (directly or per ``X-Forwarded-Proto``).
- **Sessions are signed, not stored**: the cookie carries its expiry and a nonce, signed with a
  key derived from the token. Every replica that has the token accepts it, and changing the
  token logs everyone out.
- **CSRF**: every form carries a token derived from the session (the login form's from a
  pre-login cookie); a POST without the right one is refused.
- **Login attempts are limited** per client address and in total, so the token can't be guessed
  at network speed from one place or many.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass

__all__ = ["AdminAuth", "LoginLimiter", "Session", "MIN_TOKEN_CHARS", "SESSION_COOKIE", "LOGIN_COOKIE"]

MIN_TOKEN_CHARS = 12
SESSION_COOKIE = "ragbot_admin"
LOGIN_COOKIE = "ragbot_admin_login"
SESSION_TTL_S = 12 * 3600


@dataclass(frozen=True)
class Session:
    nonce: str
    expires: int
    csrf: str  # what every form of this session must send back


class AdminAuth:
    def __init__(self, token: str | None) -> None:
        token = (token or "").strip()
        self.enabled = len(token) >= MIN_TOKEN_CHARS
        self.too_short = bool(token) and not self.enabled
        self._digest = hashlib.sha256(token.encode()).digest()
        self._key = hmac.new(token.encode(), b"ragbot-admin-session-v1", hashlib.sha256).digest()
        self._revoked: dict[str, int] = {}  # logged-out nonces -> their expiry
        self._lock = threading.Lock()

    def check_token(self, offered: str) -> bool:
        """Constant time: both sides are hashed first, so the comparison never sees their lengths."""
        given = hashlib.sha256(offered.strip().encode()).digest()
        return self.enabled and hmac.compare_digest(given, self._digest)

    def _sign(self, message: str) -> str:
        return hmac.new(self._key, message.encode(), hashlib.sha256).hexdigest()

    # -- sessions -----------------------------------------------------------------------
    def new_session(self, now: float | None = None) -> tuple[str, Session]:
        """A fresh session: the cookie value and what it stands for."""
        expires = int((now if now is not None else time.time()) + SESSION_TTL_S)
        nonce = secrets.token_urlsafe(18)
        body = f"{expires}.{nonce}"
        return f"{body}.{self._sign('session:' + body)}", Session(nonce, expires, self._csrf(nonce))

    def session(self, cookie: str | None, now: float | None = None) -> Session | None:
        """The session a cookie proves, or None (missing, forged, expired, logged out)."""
        if not self.enabled or not cookie or cookie.count(".") != 2:
            return None
        expires_text, nonce, signature = cookie.split(".")
        if not hmac.compare_digest(signature, self._sign(f"session:{expires_text}.{nonce}")):
            return None
        try:
            expires = int(expires_text)
        except ValueError:
            return None
        if expires < (now if now is not None else time.time()):
            return None
        with self._lock:
            if nonce in self._revoked:
                return None
        return Session(nonce, expires, self._csrf(nonce))

    def end(self, session: Session) -> None:
        """Log out: this session's cookie is refused from now on (by this process)."""
        now = time.time()
        with self._lock:
            self._revoked = {n: e for n, e in self._revoked.items() if e > now}
            self._revoked[session.nonce] = session.expires

    def _csrf(self, nonce: str) -> str:
        return self._sign("csrf:" + nonce)[:40]

    def csrf_ok(self, session: Session, offered: str | None) -> bool:
        return bool(offered) and hmac.compare_digest(str(offered), session.csrf)

    # -- the login form's own CSRF token, before there is a session ----------------------------
    def login_form(self) -> tuple[str, str]:
        """A pre-login cookie value and the form token that goes with it."""
        nonce = secrets.token_urlsafe(18)
        return nonce, self._sign("login:" + nonce)[:40]

    def login_csrf_ok(self, cookie: str | None, offered: str | None) -> bool:
        if not cookie or not offered:
            return False
        return hmac.compare_digest(str(offered), self._sign("login:" + cookie)[:40])


class LoginLimiter:
    """At most ``per_client`` failed logins per address and ``overall`` in all within ``window_s``."""

    def __init__(self, per_client: int = 5, overall: int = 30, window_s: float = 300.0) -> None:
        self.per_client = per_client
        self.overall = overall
        self.window_s = window_s
        self._failures: deque[tuple[float, str]] = deque()
        self._lock = threading.Lock()

    def _trim(self, now: float) -> None:
        while self._failures and self._failures[0][0] <= now - self.window_s:
            self._failures.popleft()

    def wait_s(self, client: str, now: float | None = None) -> int | None:
        """Seconds until ``client`` may try again, or None if it may now."""
        now = now if now is not None else time.time()
        with self._lock:
            self._trim(now)
            mine = [t for t, c in self._failures if c == client]
            if len(mine) >= self.per_client:
                return max(1, int(mine[0] + self.window_s - now) + 1)
            if len(self._failures) >= self.overall:
                return max(1, int(self._failures[0][0] + self.window_s - now) + 1)
            return None

    def failed(self, client: str, now: float | None = None) -> None:
        with self._lock:
            self._failures.append((now if now is not None else time.time(), client))
