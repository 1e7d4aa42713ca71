"""``ragbot doctor``: check each piece of a set-up and say what to fix.

The config first (nothing else can be checked without it), then each source, the store, the
model files, Slack and Discord, the HTTP port and the disk under the data dir. Every check is
one :class:`Finding`; none indexes, loads a model or writes anything.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from bot.app.doctor.findings import Finding, fail, ok, skip, warn
from bot.errors import ConfigError

__all__ = ["Finding", "run_checks"]


def run_checks(config: str | None) -> list[Finding]:
    """Every finding, in the order a user would fix them."""
    from bot.app.settings import find_config_file, load_settings
    from bot.logs import register_settings_secrets

    try:
        path = find_config_file(config)
        settings = load_settings(config)
    except ConfigError as exc:
        return [
            fail("config", str(exc), "fix the file (or run `ragbot init` to write a new one)"),
            skip("everything else", "the config must load first"),
        ]
    register_settings_secrets(settings)
    findings = [_config_finding(path, len(settings.sources))]
    from bot.app.doctor.local import check_disk, check_models, check_port, check_store
    from bot.app.doctor.platforms import check_discord, check_slack
    from bot.app.doctor.sources import check_source

    checks: list[tuple[str, Callable[[], Finding | list[Finding]]]] = [
        *((f"source {s.name}", functools.partial(check_source, s, settings)) for s in settings.sources),
        ("store", functools.partial(check_store, settings)),
        ("model", functools.partial(check_models, settings)),
        ("slack", functools.partial(check_slack, settings.slack)),
        ("discord", functools.partial(check_discord, settings.discord)),
        ("port", functools.partial(check_port, settings)),
        ("disk", functools.partial(check_disk, settings)),
    ]
    for name, check in checks:
        try:
            result = check()
        except Exception as exc:  # one check's surprise must not hide the others' findings
            result = fail(name, f"the check itself failed ({type(exc).__name__}: {exc})", "rerun with -v; report it")
        findings += result if isinstance(result, list) else [result]
    return findings


def _config_finding(path: object, sources: int) -> Finding:
    if path is None:
        return warn("config", "no ragbot.toml here (built-in defaults)", "run `ragbot init`, or pass --config")
    if sources == 0:
        return warn("config", f"{path}: no [[sources]]", "add one (see `ragbot init`)")
    return ok("config", f"{path}: {sources} source(s)")
