"""A user asks, and the reply carries the fact even where it lives in a list, a code block, a
table row or the sentence after a bold label: through the CLI, on a folder where each fact is
written in one place only."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support.processes import only_json, run_cli
from tests.support.project import handbook_config

DOCS = {
    "databases.md": """# Databases

## Large updates

Updates touching more than 1 million rows must be batched:

- Use `batch_update` from the toolkit with `--batch-size 10000`.
- Sleep at least 200 ms between batches so replication lag stays low.

Smaller updates can run as one statement.
""",
    "incidents.md": """# Incidents

## Opening an incident

To open an incident channel, in Slack, run:

```
/incident declare sev2 "short description"
```

The bot then pages the on-call engineer.
""",
    "travel.html": """<html><body><main><h1>Travel</h1><h2 id="hotels">Hotels</h2>
<p>Pick a hotel from the Roam list where you can. Nightly caps by city:</p>
<table><thead><tr><th>City</th><th>Nightly cap</th></tr></thead><tbody>
<tr><td>London</td><td>EUR 240</td></tr><tr><td>Lisbon</td><td>EUR 150</td></tr>
<tr><td>Anywhere else</td><td>EUR 180</td></tr></tbody></table></main></body></html>
""",
    "vpn.md": """# VPN

## Troubleshooting

**Connected but internal sites time out**: usually an MTU problem on hotel or tethered networks.
Set the MTU to 1380 in the VPN client settings and reconnect.

**Sign-in loops**: clear the client cache and sign in again.
""",
}


@pytest.fixture(scope="module")
def structured(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("structured")
    docs = root / "docs"
    docs.mkdir()
    for name, text in DOCS.items():
        (docs / name).write_text(text, encoding="utf-8")
    config = handbook_config(root, docs)
    result = run_cli("--config", str(config), "index")
    assert result.returncode == 0, result.stderr
    return config


@pytest.mark.parametrize(
    ("question", "fact", "page"),
    [
        ("need to update ~3M rows in the orders table, is there a special way?", "--batch-size 10000", "databases.md"),
        (
            "whats the slack command to open an incident channel",
            '/incident declare sev2 "short description"',
            "incidents.md",
        ),
        ("hotel budget for a trip to london?", "City: London, Nightly cap: EUR 240", "travel.html"),
        ("vpn conects but internal sites just time out, i'm on hotel wifi", "MTU to 1380", "vpn.md"),
    ],
)
def test_the_reply_holds_the_fact_from_its_list_code_table_or_definition(
    structured: Path, question: str, fact: str, page: str
) -> None:
    result = run_cli("--config", str(structured), "ask", question, "--json")

    assert result.returncode == 0, result.stderr
    reply = only_json(result.stdout)
    assert reply["answered"], reply
    assert fact in reply["answer"]
    cited = {int(n) for n in re.findall(r"\[(\d+)\]", reply["answer"])}
    assert any(s["n"] in cited and page in s["url"] for s in reply["sources"])


def test_a_code_block_reaches_the_reply_fenced_with_the_marker_outside_it(structured: Path) -> None:
    result = run_cli("--config", str(structured), "ask", "how do I open an incident channel in slack", "--json")

    answer = only_json(result.stdout)["answer"]
    assert '```\n/incident declare sev2 "short description"\n```' in answer
    fenced = answer.split("```")[1]
    assert "[" not in fenced.replace('"', "")  # no [n] marker inside the code
