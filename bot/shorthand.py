"""Chat shorthand read as the words the docs spell out.

People type "can i deploy to prod on a fri" and "how many approvals does a PR need"; the docs say
"production", "Friday" and "pull request". The encoder reads "prod" and "PR" as noise and
keyword search finds nothing, so the right page scores low and the answer-or-refuse decision
counts the question's key words as unknown to the docs. Before retrieval, a shorthand word is
replaced by its spelt-out form, but only where the docs use that form and not the shorthand
itself (a corpus that writes "PR" is searched for "PR"). The list is general chat and engineering
shorthand, not any one team's (words that are also ordinary English, "sat", "sun", "wed", are left
out): teams add their own under ``[retrieval] shorthand``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

__all__ = ["SHORTHAND", "expand_shorthand"]

# shorthand -> spelt-out forms, most common meaning first (the first one the docs use is taken)
SHORTHAND: dict[str, tuple[str, ...]] = {
    # work chat
    "pto": ("paid time off", "time off", "vacation"),
    "ooo": ("out of office",),
    "wfh": ("work from home", "remote"),
    "mgr": ("manager",),
    "mgmt": ("management",),
    "eng": ("engineering", "engineer"),
    "dept": ("department",),
    "hq": ("headquarters", "office"),
    "mtg": ("meeting",),
    "mtgs": ("meetings",),
    "conf": ("conference", "configuration"),
    "comms": ("communications", "communication"),
    "reimb": ("reimbursement",),
    "equip": ("equipment",),
    "ins": ("insurance",),
    "approx": ("approximately", "about"),
    "asap": ("as soon as possible",),
    "eta": ("estimated time",),
    "info": ("information",),
    "ppl": ("people",),
    "b4": ("before",),
    "pls": ("please",),
    "plz": ("please",),
    "thx": ("thanks",),
    # time
    "hr": ("human resources", "hour"),
    "hrs": ("hours",),
    "min": ("minutes", "minimum"),
    "mins": ("minutes",),
    "sec": ("security", "seconds", "section"),
    "secs": ("seconds",),
    "wk": ("week",),
    "wks": ("weeks",),
    "mo": ("month",),
    "mos": ("months",),
    "yr": ("year",),
    "yrs": ("years",),
    "qtr": ("quarter",),
    "mon": ("monday",),
    "tue": ("tuesday",),
    "tues": ("tuesday",),
    "thu": ("thursday",),
    "thur": ("thursday",),
    "thurs": ("thursday",),
    "fri": ("friday",),
    # engineering
    "pr": ("pull request",),
    "prs": ("pull requests",),
    "prod": ("production",),
    "stg": ("staging",),
    "dev": ("development", "developer"),
    "env": ("environment",),
    "envs": ("environments",),
    "repo": ("repository",),
    "repos": ("repositories",),
    "config": ("configuration",),
    "cfg": ("configuration",),
    "db": ("database",),
    "dbs": ("databases",),
    "pg": ("postgres", "postgresql"),
    "k8s": ("kubernetes",),
    "infra": ("infrastructure",),
    "auth": ("authentication", "authorization"),
    "pw": ("password",),
    "pwd": ("password",),
    "passwd": ("password",),
    "creds": ("credentials",),
    "msg": ("message",),
    "msgs": ("messages",),
    "req": ("request", "requirement"),
    "reqs": ("requests", "requirements"),
    "pkg": ("package",),
    "pkgs": ("packages",),
    "dep": ("dependency",),
    "deps": ("dependencies",),
    "perf": ("performance",),
    "impl": ("implementation",),
    "dir": ("directory",),
    "dirs": ("directories",),
    "tmp": ("temporary",),
    "max": ("maximum",),
    "docs": ("documentation",),
    "admin": ("administrator",),
    "acct": ("account",),
    "addr": ("address",),
    "sev": ("severity",),
    "ack": ("acknowledge",),
    "prio": ("priority",),
}

# a bare word: not part of a path, name or URL (a full stop may end the sentence after it)
_WORD = re.compile(r"(?<![\w./-])[A-Za-z0-9]+(?![\w/-])(?!\.\w)")
# what the asker quotes (`env`, "permission denied for db") is searched as typed
_QUOTED = re.compile(r"`[^`]*`|\"[^\"]*\"")


def expand_shorthand(
    question: str,
    in_corpus: Callable[[str], bool] | None = None,
    extra: Mapping[str, tuple[str, ...]] | None = None,
) -> str:
    """``question`` with each shorthand word replaced by the first spelt-out form whose words the
    docs all use (each word checked on its own, not as a phrase). Quoted text is left as typed.

    ``in_corpus`` says whether the docs contain a word (None: no way to ask, so the shorthand is
    spelt out wherever the list knows it); ``extra``: the team's own shorthand, checked first."""
    table = {**SHORTHAND, **{k.lower(): tuple(v) for k, v in (extra or {}).items()}}

    def replace(match: re.Match[str]) -> str:
        word = match.group()
        forms = table.get(word.lower())
        if not forms:
            return word
        if in_corpus is None:
            return forms[0]
        if in_corpus(word.lower()):
            return word  # the docs use the shorthand themselves
        for form in forms:
            if all(in_corpus(part) for part in form.split()):
                return form
        return word

    pieces, start = [], 0
    for quoted in _QUOTED.finditer(question):
        pieces += [_WORD.sub(replace, question[start : quoted.start()]), quoted.group()]
        start = quoted.end()
    return "".join(pieces) + _WORD.sub(replace, question[start:])
