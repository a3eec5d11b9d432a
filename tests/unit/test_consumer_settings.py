"""The group consumers' keys: one validation in ``ConsumerSettings.from_mapping``."""

from __future__ import annotations

from typing import Any

import pytest

import kaffe
from kaffe._group.settings import ConsumerSettings

CONSUMER_BASE: dict[str, Any] = {
    "endpoints": "h:1",
    "consumer_group": "billing",
    "topics": ["orders"],
    "message_handler": print,
}


@pytest.mark.parametrize("missing", ["consumer_group", "topics", "message_handler"])
def test_consumer_settings_name_a_missing_required_key(missing: str) -> None:
    config = {k: v for k, v in CONSUMER_BASE.items() if k != missing}

    with pytest.raises(kaffe.ConfigError, match=f"missing config key '{missing}' for Consumer"):
        ConsumerSettings.from_mapping(config, component="Consumer")


def test_consumer_settings_build_group_and_fetch_settings() -> None:
    settings = ConsumerSettings.from_mapping({**CONSUMER_BASE, "max_wait_time": 2500})

    assert settings.group.group_id == "billing"
    assert settings.group.topics == ("orders",)
    assert settings.group.name == "billing"
    assert settings.fetch.max_wait_time == 2.5
    assert settings.client.endpoints == (("h", 1),)
    assert settings.values["message_handler"] is print
