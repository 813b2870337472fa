from cxloop.core.errors import ConflictError, NotFoundError


class CustomerNotFoundError(NotFoundError):
    code = "customer_not_found"


class IdentityTakenError(ConflictError):
    code = "identity_taken"


class MergeConflictError(ConflictError):
    code = "merge_conflict"


class CustomerMergedError(ConflictError):
    code = "customer_merged"
