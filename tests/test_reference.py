"""docs/cli.md and the README's settings table are generated from the code and kept true by this test
(after changing a command, a setting or a dataset: `python -m exhaust.reference`)."""

from __future__ import annotations

from exhaust import reference
from exhaust.reports import registry
from exhaust.settings import Settings


def test_docs_cli_md_and_the_readme_settings_table_are_up_to_date() -> None:
    assert reference.main(["--check"]) == 0


def test_the_reference_covers_every_command_setting_and_dataset() -> None:
    cli = reference.cli_markdown()
    for heading in (
        "## exhaust report",
        "## exhaust status",
        "## exhaust token create",
        "## exhaust source copy",
    ):
        assert f"\n{heading}\n" in cli
    assert cli.count("Examples:") + cli.count("Example:") >= 13  # every command shows how it is called
    assert all(f"| `{name}` |" in cli for name in registry.NAMES)
    table = reference.settings_table()
    assert all(f"| `EXHAUST_{name.upper()}` |" in table for name in Settings.model_fields)
    assert "| `EXHAUST_URL_EXPIRY_MINUTES` | `30` | Lifetime of signed download URLs. |" in table


def test_flags_read_as_flags_in_help() -> None:
    worker = reference.cli_markdown().split("## exhaust worker\n", 1)[1].split("## ", 1)[0]
    assert "  --once  " in worker.replace("--once                     ", "--once  ")
    assert "<bool>" not in reference.cli_markdown() and "BOOLEAN" not in reference.cli_markdown()
