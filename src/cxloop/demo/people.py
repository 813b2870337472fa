"""Believable people for the demo and for duplicate-detection tests, with known planted duplicates.

A `PeopleGenerator` draws customers country by country from the name pools in data/people.json and
gives each the identities a real customer collects: e-mail addresses, phone numbers written the way
people type them in their own country (the services turn them into E.164), a WhatsApp id, social
handles, a shop account id and anonymous web ids.

`duplicate_of` makes a second profile of the same person the way duplicates really arise: a typo in
the name, a nickname, the name written surname first, a sub-addressed or work e-mail, the same number
seen on WhatsApp. Every value is drawn from one seeded `random.Random`, so a seed always gives the same
people (the ground truth the duplicate tests measure precision and recall against).
"""

from __future__ import annotations

import json
import random
import unicodedata
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources
from typing import Any

import phonenumbers

DUPLICATE_VARIANTS = ("typo", "nickname", "work_email", "whatsapp_profile", "surname_first", "shouting")
SOCIAL_NETWORKS = ("instagram", "x", "facebook", "tiktok")
_US_AREA_CODES = ("212", "312", "415", "617", "206", "305", "512", "303", "404", "202", "718", "213", "646", "773")


@dataclass(frozen=True)
class PersonIdentity:
    kind: str
    value: str
    network: str = ""
    region: str = ""


@dataclass(frozen=True)
class Person:
    given_name: str
    surname: str
    country: str
    locale: str
    time_zone: str
    identities: tuple[PersonIdentity, ...]
    name_order: str = "given_first"  # given_first | surname_first | upper | given_only
    variant: str = ""  # for a planted duplicate: how it differs from the original
    key: int = 0  # the generator's sequence number of the real person behind this profile

    @property
    def name(self) -> str:
        if self.name_order == "surname_first":
            return f"{self.surname} {self.given_name}"
        if self.name_order == "given_only":
            return self.given_name
        if self.name_order == "upper":
            return f"{self.given_name} {self.surname}".upper()
        return f"{self.given_name} {self.surname}"

    def identities_of(self, kind: str) -> list[PersonIdentity]:
        return [i for i in self.identities if i.kind == kind]


@dataclass(frozen=True)
class CountryPool:
    code: str
    weight: int
    locale: str
    time_zones: tuple[str, ...]
    given_names: tuple[str, ...]
    surnames: tuple[str, ...]


@dataclass(frozen=True)
class PeopleData:
    countries: tuple[CountryPool, ...]
    email_domains: tuple[str, ...]
    work_email_domains: tuple[str, ...]
    nicknames: dict[str, tuple[str, ...]] = field(default_factory=dict)


@cache
def people_data() -> PeopleData:
    """The name pools shipped with the package (never read from outside it)."""
    raw: dict[str, Any] = json.loads(resources.files("cxloop.demo").joinpath("data/people.json").read_text("utf-8"))
    countries = tuple(
        CountryPool(
            code=code,
            weight=int(pool["weight"]),
            locale=pool["locale"],
            time_zones=tuple(pool["time_zones"]),
            given_names=tuple(pool["given_names"]),
            surnames=tuple(pool["surnames"]),
        )
        for code, pool in raw["countries"].items()
    )
    return PeopleData(
        countries=countries,
        email_domains=tuple(raw["email_domains"]),
        work_email_domains=tuple(raw["work_email_domains"]),
        nicknames={k: tuple(v) for k, v in raw["nicknames"].items()},
    )


def ascii_slug(text: str) -> str:
    """Lower-case ASCII letters and digits only: what people type in an e-mail address or a handle."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    ascii_only = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    ascii_only = ascii_only.replace("ß", "ss").replace("ł", "l").replace("ı", "i").replace("ø", "o")
    return "".join(ch for ch in ascii_only if ch.isascii() and ch.isalnum())


class PeopleGenerator:
    """Draws people and their duplicates; identities are unique across everything it has drawn."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)  # noqa: S311 - demo data must be reproducible, not secret
        self.data = people_data()
        self._used: set[tuple[str, str, str]] = set()
        self._count = 0

    # --- people ---------------------------------------------------------------------------
    def person(self, *, country: str | None = None) -> Person:
        pool = self._pool(country)
        given = self.rng.choice(pool.given_names)
        surname = self.rng.choice(pool.surnames)
        self._count += 1
        return Person(
            given_name=given,
            surname=surname,
            country=pool.code,
            locale=pool.locale,
            time_zone=self.rng.choice(pool.time_zones),
            identities=tuple(self._identities(given, surname, pool.code)),
            key=self._count,
        )

    def namesake(self, other: Person) -> Person:
        """A different person who happens to share `other`'s full name (a trap for the matcher)."""
        fresh = self.person(country=other.country)
        identities = tuple(self._identities(other.given_name, other.surname, other.country))
        return replace(fresh, given_name=other.given_name, surname=other.surname, identities=identities)

    def relative(self, other: Person) -> Person:
        """Someone of the same family: same surname and country, another given name and own contacts."""
        pool = self._pool(other.country)
        given = self.rng.choice([g for g in pool.given_names if g != other.given_name])
        fresh = self.person(country=other.country)
        identities = tuple(self._identities(given, other.surname, other.country))
        return replace(fresh, given_name=given, surname=other.surname, identities=identities)

    def _pool(self, country: str | None) -> CountryPool:
        if country is not None:
            return next(p for p in self.data.countries if p.code == country)
        return self.rng.choices(self.data.countries, weights=[p.weight for p in self.data.countries])[0]

    def _identities(self, given: str, surname: str, country: str) -> list[PersonIdentity]:
        rng = self.rng
        found: list[PersonIdentity] = [PersonIdentity("email", self.email(given, surname))]
        if rng.random() < 0.2:
            found.append(PersonIdentity("email", self.email(given, surname, work=True)))
        if rng.random() < 0.8:
            found.append(PersonIdentity("phone", self.phone(country), region=country))
        if rng.random() < 0.35:
            found.append(PersonIdentity("whatsapp", self._wa_id(self.phone(country, typed=False))))
        if rng.random() < 0.3:
            network = rng.choice(SOCIAL_NETWORKS)
            found.append(PersonIdentity("social", self._handle(given, surname, network), network=network))
        if rng.random() < 0.55:
            found.append(PersonIdentity("external", self._unique("external", "shop", "SHP-{n:07d}"), network="shop"))
        if rng.random() < 0.4:
            found.append(PersonIdentity("anonymous", self._unique("anonymous", "", "anon-{h}")))
        return found

    # --- identity values ------------------------------------------------------------------
    def email(self, given: str, surname: str, *, work: bool = False) -> str:
        g, s = ascii_slug(given) or "customer", ascii_slug(surname) or "x"
        if work:
            local, domain = f"{g}.{s}", self.rng.choice(self.data.work_email_domains)
        else:
            pattern = self.rng.choice(["{g}.{s}", "{g}{s}", "{i}{s}", "{g}.{s}{n}", "{s}.{g}", "{g}_{s}{y}"])
            local = pattern.format(g=g, s=s, i=g[0], n=self.rng.randint(1, 99), y=self.rng.randint(60, 99))
            domain = self.rng.choice(self.data.email_domains)
        # Two different people rarely pick the very same mailbox name, even at different providers.
        while not work and ("mailbox", "", local) in self._used:
            local = f"{local}{self.rng.randint(2, 999)}"
        address = f"{local}@{domain}"
        while ("email", "", address.lower()) in self._used:
            address = f"{local}{self.rng.randint(2, 99)}@{domain}"
        self._used.add(("mailbox", "", local))
        self._used.add(("email", "", address.lower()))
        return address

    def phone(self, country: str, *, typed: bool = True) -> str:
        """A new valid mobile number of `country`, written in the national format (or E.164 if not typed)."""
        template = phonenumbers.example_number_for_type(country, phonenumbers.PhoneNumberType.MOBILE)
        if template is None:
            raise ValueError(f"phonenumbers has no example mobile number for {country!r}")
        digits = str(template.national_number)
        while True:
            prefix = self.rng.choice(_US_AREA_CODES) if country == "US" else digits[: max(2, len(digits) - 7)]
            candidate = prefix + "".join(str(self.rng.randint(0, 9)) for _ in range(len(digits) - len(prefix)))
            number = phonenumbers.parse(candidate, country)
            e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
            if phonenumbers.is_valid_number(number) and ("phone", "", e164) not in self._used:
                self._used.add(("phone", "", e164))
                break
        if not typed:
            return e164
        if self.rng.random() < 0.15:
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)

    @staticmethod
    def _wa_id(e164: str) -> str:
        return e164.lstrip("+")  # WhatsApp ids are the international number without "+"

    def _handle(self, given: str, surname: str, network: str) -> str:
        base = f"{ascii_slug(given)}{self.rng.choice(['', '.', '_'])}{ascii_slug(surname)}"[:20]
        handle = base
        while ("social", network, handle) in self._used:
            handle = f"{base}{self.rng.randint(1, 9999)}"
        self._used.add(("social", network, handle))
        return handle

    def _unique(self, kind: str, network: str, pattern: str) -> str:
        while True:
            value = pattern.format(n=self.rng.randint(1, 9_999_999), h=f"{self.rng.getrandbits(64):016x}")
            if (kind, network, value) not in self._used:
                self._used.add((kind, network, value))
                return value

    # --- duplicates -----------------------------------------------------------------------
    def duplicate_of(self, original: Person, variant: str | None = None) -> Person:
        """A second profile of the same person, sharing what such profiles really share.

        Variants that need a phone number fall back to "typo" when the original has none free.
        """
        variant = variant or self.rng.choice(DUPLICATE_VARIANTS)
        phone = self._phone_e164(original)
        if variant in ("work_email", "whatsapp_profile") and not phone:
            variant = "typo"
        duplicate = self._variant(original, variant, phone)
        if self.rng.random() < 0.5:
            extra = PersonIdentity("anonymous", self._unique("anonymous", "", "anon-{h}"))
            duplicate = replace(duplicate, identities=(*duplicate.identities, extra))
        return replace(duplicate, variant=variant)

    def _variant(self, original: Person, variant: str, phone: str) -> Person:
        given, surname = original.given_name, original.surname
        email = original.identities_of("email")[0].value
        whatsapp = (PersonIdentity("whatsapp", self._wa_id(phone)),) if phone else ()
        if variant == "typo":
            given, surname = self._typo_in_one(given, surname)
            identities = (PersonIdentity("email", self._sub_address(email)), *whatsapp)
            return replace(original, given_name=given, surname=surname, identities=identities)
        if variant == "nickname":
            given = self._nickname(given)
            second = whatsapp or (PersonIdentity("email", self._sub_address(email)),)
            identities = (PersonIdentity("email", self.email(given, surname)), *second)
            return replace(original, given_name=given, identities=identities)
        if variant == "work_email":
            given, surname = self._typo_in_one(given, surname)
            work = self.email(original.given_name, original.surname, work=True)
            identities = (PersonIdentity("email", work), *whatsapp)
            return replace(original, given_name=given, surname=surname, identities=identities)
        if variant == "whatsapp_profile":
            # Someone who first wrote on WhatsApp: the profile knows only their first name and number.
            return replace(original, name_order="given_only", country="", locale="", time_zone="", identities=whatsapp)
        if variant == "surname_first":
            identities = (PersonIdentity("email", self._sub_address(email)),)
            return replace(original, name_order="surname_first", identities=identities)
        if variant == "shouting":
            identities = (PersonIdentity("email", self._sub_address(email.upper())),)
            return replace(
                original,
                given_name=ascii_spelling(given),
                surname=ascii_spelling(surname),
                name_order="upper",
                identities=identities,
            )
        raise ValueError(f"unknown duplicate variant {variant!r}")

    def _phone_e164(self, person: Person) -> str:
        """The person's phone in E.164, unless it is already their WhatsApp id too (then none is free)."""
        phones = person.identities_of("phone")
        if not phones:
            return ""
        number = phonenumbers.parse(phones[0].value, person.country)
        e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        if any(i.value == self._wa_id(e164) for i in person.identities_of("whatsapp")):
            return ""
        return e164

    def _sub_address(self, email: str) -> str:
        local, domain = email.split("@", 1)
        tag = self.rng.choice(["shop", "bank", "orders", "news", "web"])
        address = f"{local.split('+', 1)[0]}+{tag}@{domain}"
        self._used.add(("email", "", address.lower()))
        return address

    def _nickname(self, given: str) -> str:
        options = self.data.nicknames.get(given)
        if options:
            return self.rng.choice(options)
        return self._typo(given)

    def _typo_in_one(self, given: str, surname: str) -> tuple[str, str]:
        if self.rng.random() < 0.5 and len(surname) > 3:
            return given, self._typo(surname)
        return self._typo(given), surname

    def _typo(self, word: str) -> str:
        """One keyboard slip: two letters swapped, one dropped or one doubled (never the first letter)."""
        if len(word) < 4:
            return word + word[-1]
        position = self.rng.randint(1, len(word) - 2)
        kind = self.rng.choice(["swap", "drop", "double"])
        if kind == "swap" and word[position] != word[position + 1]:
            return word[:position] + word[position + 1] + word[position] + word[position + 2 :]
        if kind == "drop":
            return word[:position] + word[position + 1 :]
        return word[:position] + word[position] + word[position:]


def ascii_spelling(text: str) -> str:
    """The name as typed on a keyboard without accents ("José" → "Jose")."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))
