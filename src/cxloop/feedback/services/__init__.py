"""The feedback module's operations: the only code that writes its tables. Import the submodule you need
(`from cxloop.feedback.services import invitations`)."""
