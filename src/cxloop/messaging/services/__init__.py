"""The messaging module's operations: the only code that writes its tables.

Use as `from cxloop.messaging import services as messaging_services`.
"""

from cxloop.messaging.services.batch_sending import send_messages
from cxloop.messaging.services.consent import consent_state, record_consents
from cxloop.messaging.services.dispatching import dispatch, dispatch_batch, due_message_ids
from cxloop.messaging.services.links import (
    LinkExpiredError,
    LinkInvalidError,
    customer_for_token,
    preference_centre_actor,
    preference_link,
    unsubscribe_link,
)
from cxloop.messaging.services.sending import send_message
from cxloop.messaging.services.status import apply_delivery_status
from cxloop.messaging.services.suppression import (
    is_suppressed,
    lift_keyword_suppression,
    lift_suppression,
    suppress_address,
)
from cxloop.messaging.services.templates import (
    create_template,
    save_template_version,
    update_template,
)

__all__ = [
    "LinkExpiredError",
    "LinkInvalidError",
    "apply_delivery_status",
    "consent_state",
    "create_template",
    "customer_for_token",
    "dispatch",
    "dispatch_batch",
    "due_message_ids",
    "is_suppressed",
    "lift_keyword_suppression",
    "lift_suppression",
    "preference_centre_actor",
    "preference_link",
    "record_consents",
    "save_template_version",
    "send_message",
    "send_messages",
    "suppress_address",
    "unsubscribe_link",
    "update_template",
]
