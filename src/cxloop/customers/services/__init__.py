"""The customers module's operations: the only code that writes its tables.

Use as `from cxloop.customers import services as customer_services`.
"""

from cxloop.customers.services.attributes import (
    define_attribute,
    delete_attribute,
    validate_attributes,
)
from cxloop.customers.services.batch import PreparedResolution, prepare_resolution, resolve_batch
from cxloop.customers.services.export import export_customer
from cxloop.customers.services.identities import (
    add_identity,
    remove_identity,
    set_identity_verified,
)
from cxloop.customers.services.merging import (
    accept_suggestion,
    dismiss_suggestion,
    merge_customers,
    suggest_merge,
    unmerge,
)
from cxloop.customers.services.profiles import (
    create_customer,
    delete_customer,
    update_customer,
)
from cxloop.customers.services.resolution import Resolution, resolve_customer

__all__ = [
    "PreparedResolution",
    "Resolution",
    "accept_suggestion",
    "add_identity",
    "create_customer",
    "define_attribute",
    "delete_attribute",
    "delete_customer",
    "dismiss_suggestion",
    "export_customer",
    "merge_customers",
    "prepare_resolution",
    "remove_identity",
    "resolve_batch",
    "resolve_customer",
    "set_identity_verified",
    "suggest_merge",
    "unmerge",
    "update_customer",
    "validate_attributes",
]
