"""The tags message templates may use: Django's built-ins minus those that reach outside the message.

Left out: `debug` (prints the context and the loaded modules), `load` (tag libraries), `url`, `csrf_token`,
`lorem`, and the loader tags (`include`, `extends`, `block`) that would read other templates.
"""

from __future__ import annotations

from django.template import Library, defaulttags

register = Library()

_ALLOWED = {
    "autoescape": defaulttags.autoescape,
    "comment": defaulttags.comment,
    "cycle": defaulttags.cycle,
    "filter": defaulttags.do_filter,
    "firstof": defaulttags.firstof,
    "for": defaulttags.do_for,
    "if": defaulttags.do_if,
    "ifchanged": defaulttags.ifchanged,
    "now": defaulttags.now,
    "regroup": defaulttags.regroup,
    "resetcycle": defaulttags.resetcycle,
    "spaceless": defaulttags.spaceless,
    "templatetag": defaulttags.templatetag,
    "verbatim": defaulttags.verbatim,
    "widthratio": defaulttags.widthratio,
    "with": defaulttags.do_with,
}
for _name, _compile in _ALLOWED.items():
    register.tag(_name, _compile)
