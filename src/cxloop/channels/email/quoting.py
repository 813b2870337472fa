"""The new part of a reply: quoted history and signatures removed, as mail clients in several languages write them.

Works on plain text (HTML is turned into text first, with blockquotes as "> " lines). It errs on the side of
keeping text: a summary that still holds a signature is better than one that lost the customer's words.
"""

from __future__ import annotations

import re

from cxloop.channels.email.markup import tidy_lines

_VERBS = r"(wrote|writes|schrieb|a écrit|escribió|schreef|ha scritto|skrev|napisał)"
# "On Mon, 6 Jan 2025 at 10:00, Jane <jane@example.com> wrote:" and its translations; Gmail wraps it over two lines.
_ATTRIBUTION = re.compile(
    r"^\s*(On|Am|Le|El|Op|Il|Den|Dnia)\s.{0,250}\s" + _VERBS + r"\s*:\s*$"
    # German, Dutch and Nordic put the verb before the name: "Am 06.01.2025 um 10:00 schrieb Jane Doe <j@x.de>:"
    r"|^\s*(Am|Op|Den)\s.{0,250}\s(schrieb|schreef|skrev)\s.{0,200}:\s*$",
    re.IGNORECASE,
)
# "Jane Doe wrote:" (Thunderbird's short form) counts only when quoted lines follow.
_SHORT_ATTRIBUTION = re.compile(r"^\s*\S.{0,120}\s" + _VERBS + r"\s*:\s*$", re.IGNORECASE)
_SEPARATOR = re.compile(
    r"^\s*[-=_]{2,}\s*("
    r"original message|ursprüngliche nachricht|originalnachricht|message d'origine|mensaje original|"
    r"oorspronkelijk bericht|messaggio originale|originalmeddelande|opprinnelig melding|"
    r"forwarded message|weitergeleitete nachricht|message transféré|mensaje reenviado|doorgestuurd bericht|"
    r"messaggio inoltrato"
    r")\s*[-=_]{2,}\s*$",
    re.IGNORECASE,
)
_FORWARD_INTRO = re.compile(
    r"^\s*(Begin forwarded message|Anfang der weitergeleiteten Nachricht|Début du message réexpédié|"
    r"Inicio del mensaje reenviado|Begin doorgestuurd bericht)\s*:\s*$",
    re.IGNORECASE,
)
_RULE = re.compile(r"^\s*_{10,}\s*$")
_FROM = re.compile(r"^\s*\*?(From|Von|De|Van|Da|Från|Fra|Od)\s*:\*?\s*\S", re.IGNORECASE)
_HEADER_FIELDS = re.compile(
    r"^\s*\*?(Sent|Date|Gesendet|Datum|Envoyé|Enviado|Fecha|Verzonden|Inviato|Skickat|Sendt|"
    r"To|An|À|A|Para|Aan|Till|Til|Subject|Betreff|Objet|Asunto|Onderwerp|Oggetto|Ämne|Emne|Cc)\s*:",
    re.IGNORECASE,
)
_MOBILE = re.compile(
    r"^\s*(Sent from my\s.{1,40}|Sent from (Mail|Outlook) for\s.{1,30}|Get Outlook for\s.{1,30}|"
    r"Sent from Yahoo Mail.{0,40}|Sent with Proton Mail.{0,40}|Von meinem\s.{1,40}\sgesendet|"
    r"Gesendet von meinem\s.{1,40}|Gesendet von Outlook.{0,30}|Envoyé de mon\s.{1,40}|"
    r"Enviado desde mi\s.{1,40}|(Verzonden|Verstuurd) (vanaf|met) mijn\s.{1,40}|Inviato da\s.{1,40})\s*$",
    re.IGNORECASE,
)
_REGARDS = (
    r"(best|kind|warm|warmest|best wishes|many|with kind|yours)?\s*regards|best|cheers|yours|sincerely|"
    r"yours sincerely|yours truly|all the best|best wishes|"
    r"mit freundlichen grüßen|mit freundlichen grüssen|freundliche grüße|viele grüße|beste grüße|liebe grüße|"
    r"herzliche grüße|schöne grüße|grüße|gruß|lg|vg|mfg|"
    r"cordialement|bien cordialement|bien à vous|salutations|sincères salutations|amicalement|bonne journée|"
    r"saludos|un saludo|saludos cordiales|atentamente|un abrazo|"
    r"met vriendelijke groet(en)?|vriendelijke groet(en)?|groeten|groetjes|hartelijke groet(en)?|mvg|"
    r"distinti saluti|cordiali saluti|saluti"
)
_THANKS = (
    r"thanks|thank you|many thanks|thanks again|thx|danke|vielen dank|danke schön|merci|merci beaucoup|gracias|bedankt"
)
_SIGN_OFF = re.compile(r"^\s*(" + _REGARDS + r")\s*(?:[,.!]+\s*(?:[\w .'’-]{1,40})?)?\s*$", re.IGNORECASE)
_THANKS_OFF = re.compile(r"^\s*(" + _THANKS + r")\s*(?:[,.!]+\s*(?P<name>[\w .'’-]{1,40})?)?\s*$", re.IGNORECASE)
_MAX_SIGNATURE_LINES = 10


def summarize(text: str, sender_name: str = "") -> str:
    """What the sender wrote in this message; the whole text when nothing else would be left.

    `sender_name` (the From display name) lets a bare "Maria" under the message be recognised as a signature.
    """
    lines = text.split("\n")
    found = _quote_start(lines)
    if found is not None:
        start, header_lines = found
        lines = lines[:start] + _interleaved_answers(lines[start + header_lines :])
    lines = [line for line in lines if not _is_quoted(line)]
    lines = _cut_name(_strip_signature(lines), sender_name)
    summary = tidy_lines(lines)
    return summary or text.strip()


def _is_quoted(line: str) -> bool:
    return line.lstrip().startswith(">")


def _quote_start(lines: list[str]) -> tuple[int, int] | None:
    """Where the quoted history begins, and how many lines its introduction takes."""
    for index, line in enumerate(lines):
        if not line.strip():
            continue
        if _SHORT_ATTRIBUTION.match(line) and _quote_follows(lines, index + 1):
            return index, 1
        for span in (1, 2, 3):  # Gmail wraps a long attribution line; a blank line ends it
            parts = lines[index : index + span]
            complete = len(parts) == span and all(part.strip() for part in parts)
            if complete and _ATTRIBUTION.match(" ".join(part.strip() for part in parts)):
                return index, span
        if _SEPARATOR.match(line) or _FORWARD_INTRO.match(line) or _header_block_at(lines, index):
            return index, len(lines) - index
        if _RULE.match(line) and _header_block_at(lines, _next_text(lines, index + 1)):
            return index, len(lines) - index
        if _is_quoted(line):
            return index, 0
    return None


def _quote_follows(lines: list[str], index: int) -> bool:
    following = _next_text(lines, index)
    return following < len(lines) and _is_quoted(lines[following])


def _next_text(lines: list[str], index: int) -> int:
    while index < len(lines) and not lines[index].strip():
        index += 1
    return index


def _header_block_at(lines: list[str], index: int) -> bool:
    """Outlook's "From: … Sent: … To: … Subject: …" block that starts a quoted message."""
    if index >= len(lines) or not _FROM.match(lines[index]):
        return False
    fields = [line for line in lines[index + 1 : index + 6] if line.strip()]
    return sum(1 for line in fields if _HEADER_FIELDS.match(line)) >= 2


def _interleaved_answers(rest: list[str]) -> list[str]:
    """Answers written between quoted lines (or below them) are new text; a plain top-post leaves nothing here."""
    seen_quote = False
    answers: list[str] = []
    for line in rest:
        if _is_quoted(line):
            seen_quote = True
        elif seen_quote and (line.strip() or answers):
            answers.append(line)
    if not seen_quote or not tidy_lines(_strip_signature(answers)):
        return []
    return [line for line in rest if not _is_quoted(line)]


def _strip_signature(lines: list[str]) -> list[str]:
    lines = _cut_delimited(lines)
    lines = _cut_mobile(lines)
    return _cut_sign_off(lines)


def _cut_delimited(lines: list[str]) -> list[str]:
    """RFC 3676's "-- " line (and the bare "--" that clients strip it to), when what follows is short enough."""
    for index in range(len(lines) - 1, -1, -1):
        if lines[index].rstrip() == "--" and _content_before(lines, index):
            tail = [line for line in lines[index + 1 :] if line.strip()]
            if len(tail) <= 2 * _MAX_SIGNATURE_LINES:
                return lines[:index]
    return lines


def _cut_mobile(lines: list[str]) -> list[str]:
    text_indexes = [index for index, line in enumerate(lines) if line.strip()]
    for index in text_indexes[-4:]:
        if _MOBILE.match(lines[index]) and _content_before(lines, index):
            return lines[:index]
    return lines


def _cut_sign_off(lines: list[str]) -> list[str]:
    text_indexes = [index for index, line in enumerate(lines) if line.strip()]
    for position in range(len(text_indexes) - 1, max(-1, len(text_indexes) - 2 - _MAX_SIGNATURE_LINES), -1):
        index = text_indexes[position]
        if not _content_before(lines, index):
            break
        tail = [lines[i] for i in text_indexes[position + 1 :]]
        if any(len(line.strip()) > 80 for line in tail):
            continue
        if _SIGN_OFF.match(lines[index]):
            return lines[:index]
        thanks = _THANKS_OFF.match(lines[index])
        if thanks and (tail or thanks.group("name")):
            return lines[:index]
    return lines


def _cut_name(lines: list[str], sender_name: str) -> list[str]:
    """The sender's name, first name or "Last, First" alone on the last line is a signature."""
    tokens = [token for token in re.split(r"[\s,]+", sender_name.casefold()) if len(token) > 1]
    if not tokens:
        return lines
    names = {" ".join(tokens), " ".join(reversed(tokens)), *tokens}
    text_indexes = [index for index, line in enumerate(lines) if line.strip()]
    if not text_indexes:
        return lines
    last = text_indexes[-1]
    if " ".join(lines[last].strip(" -–—,.!").casefold().split()) in names and _content_before(lines, last):
        return lines[:last]
    return lines


def _content_before(lines: list[str], index: int) -> bool:
    return any(line.strip() and not _is_quoted(line) for line in lines[:index])
