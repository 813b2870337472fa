from cxloop.core.errors import NotFoundError


class TemplateNotFoundError(NotFoundError):
    code = "template_not_found"


class MessageNotFoundError(NotFoundError):
    code = "message_not_found"


class SuppressionNotFoundError(NotFoundError):
    code = "suppression_not_found"
