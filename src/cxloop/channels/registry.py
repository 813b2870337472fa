"""Which adapter parses and which sender sends for each channel; filled by each channel's AppConfig.ready."""

from __future__ import annotations

from cxloop.channels.base import InboundAdapter, OutboundSender
from cxloop.core.errors import ValidationError

_adapters: dict[str, InboundAdapter] = {}
_senders: dict[str, OutboundSender] = {}


def register_adapter(adapter: InboundAdapter) -> None:
    _adapters[adapter.channel] = adapter


def register_sender(sender: OutboundSender) -> None:
    _senders[sender.channel] = sender


def adapter_for(channel: str) -> InboundAdapter:
    try:
        return _adapters[channel]
    except KeyError:
        raise ValidationError("No inbound adapter for this channel.", fields={"channel": "not receivable"}) from None


def sender_for(channel: str) -> OutboundSender:
    try:
        return _senders[channel]
    except KeyError:
        raise ValidationError("Messages cannot be sent on this channel.", fields={"channel": "not sendable"}) from None


def sendable_channels() -> list[str]:
    return sorted(_senders)


def receivable_channels() -> list[str]:
    return sorted(_adapters)
