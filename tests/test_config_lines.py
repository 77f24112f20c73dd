"""Where each table and key of a configuration file starts, for errors naming the line."""

from __future__ import annotations

from gateway.config_lines import toml_lines

TEXT = '''# a comment = not a key
[identity]
sources = [
  "ldap",   # "x = y" inside an array is not a key
]
"quoted key" = 1
notes = """
fake = "inside a string"
"""
okta = { base_url = "https://x" }

[identity . ldap]
attributes.username = "uid"

[[api.keys]]
name = "first"

[[api.keys]]
name = "second"
'''


def test_tables_keys_and_array_tables_are_located() -> None:
    lines = toml_lines(TEXT)

    assert lines == {
        ("identity",): 2,
        ("identity", "sources"): 3,
        ("identity", "quoted key"): 6,
        ("identity", "notes"): 7,
        ("identity", "okta"): 10,
        ("identity", "ldap"): 12,
        ("identity", "ldap", "attributes"): 13,
        ("identity", "ldap", "attributes", "username"): 13,
        ("api", "keys"): 15,
        ("api", "keys", "0"): 15,
        ("api", "keys", "0", "name"): 16,
        ("api", "keys", "1"): 18,
        ("api", "keys", "1", "name"): 19,
    }
