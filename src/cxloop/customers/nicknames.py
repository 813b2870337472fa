"""Common given-name variants, folded to one form so "Bob Smith" meets "Robert Smith".

Used by duplicate detection (customers.duplicates). Keys and values are lower-case and accent-free, as
normalised names are. A nickname that belongs to several names ("pat": Patricia, Patrick) maps to one of
them only: a missed nickname costs a little evidence, a wrong one cannot make two people match alone
(the surname must agree too).
"""

from __future__ import annotations

NICKNAMES: dict[str, str] = {
    nickname: full
    for full, nicknames in {
        "robert": "bob rob bobby robbie bert",
        "william": "bill will billy willy liam",
        "richard": "rick dick rich richie ricky",
        "joseph": "joe joey jo",
        "michael": "mike mick mikey mickey",
        "james": "jim jimmy jamie",
        "thomas": "tom tommy",
        "daniel": "dan danny",
        "samuel": "sam sammy",
        "matthew": "matt",
        "andrew": "andy drew",
        "christopher": "chris kit",
        "edward": "ed ted eddie ned",
        "benjamin": "ben benji",
        "alexander": "alex sasha sandy",
        "nicholas": "nick nicky",
        "anthony": "tony",
        "jonathan": "jon jonny",
        "elizabeth": "liz beth lizzie betty eliza libby",
        "katherine": "kate kathy katie kat",
        "catherine": "cathy cath",
        "margaret": "maggie peggy meg",
        "rebecca": "becky becca",
        "victoria": "vicky tori",
        "jennifer": "jen jenny",
        "patricia": "pat patty trish",
        "eleanor": "ellie nell",
        "jessica": "jess jessie",
        "charlotte": "lottie",
        "susan": "sue susie",
        "deborah": "debbie deb",
        "francisco": "paco pancho",
        "jose": "pepe",
        "dolores": "lola",
        "johannes": "hannes",
        "katharina": "kathi",
        "franziska": "franzi",
        "maximilian": "max",
        "nicolas": "nico",
        "patrick": "paddy",
        "aleksander": "olek",
        "malgorzata": "gosia",
        "katarzyna": "kasia",
        "francesco": "checco",
        "giuseppe": "beppe peppe",
        "willem": "wim",
        "hendrik": "henk",
    }.items()
    for nickname in nicknames.split()
}


def canonical_given_name(given: str) -> str:
    return NICKNAMES.get(given, given)
