"""The enumerations of the domain, lower-case strings as docs/contract.md states them."""

from enum import StrEnum


class TaxonClass(StrEnum):
    mammal = "mammal"
    bird = "bird"
    reptile = "reptile"
    amphibian = "amphibian"
    fish = "fish"
    invertebrate = "invertebrate"


class IucnCategory(StrEnum):
    EX = "EX"
    EW = "EW"
    CR = "CR"
    EN = "EN"
    VU = "VU"
    NT = "NT"
    LC = "LC"
    DD = "DD"
    NE = "NE"


class CitesAppendix(StrEnum):
    I = "I"  # noqa: E741 - the appendix is called I
    II = "II"
    III = "III"


class SocialStructure(StrEnum):
    solitary = "solitary"
    pair = "pair"
    group = "group"


class ClimateZone(StrEnum):
    tropical = "tropical"
    arid = "arid"
    temperate = "temperate"
    cold = "cold"


class EnclosureClimate(StrEnum):
    tropical = "tropical"
    arid = "arid"
    temperate = "temperate"
    cold = "cold"
    controlled = "controlled"


class EnclosureKind(StrEnum):
    indoor = "indoor"
    outdoor = "outdoor"
    mixed = "mixed"
    aviary = "aviary"
    aquatic = "aquatic"
    terrarium = "terrarium"


class Sex(StrEnum):
    male = "male"
    female = "female"
    unknown = "unknown"
    mixed = "mixed"


class Origin(StrEnum):
    diplomatic_gift = "diplomatic_gift"
    donation = "donation"
    loan = "loan"
    purchase = "purchase"
    exchange = "exchange"
    captive_born = "captive_born"
    wild_caught = "wild_caught"
    confiscation = "confiscation"
    rescue = "rescue"
    unknown = "unknown"


class AnimalStatus(StrEnum):
    alive = "alive"
    deceased = "deceased"
    transferred_out = "transferred_out"


class Category(StrEnum):
    """The Five Domains plus the cases zoos are actually criticised for."""

    nutrition = "nutrition"
    environment = "environment"
    health = "health"
    behaviour = "behaviour"
    human_interaction = "human_interaction"
    transport = "transport"
    mortality = "mortality"
    other = "other"


class IncidentStatus(StrEnum):
    reported = "reported"
    under_review = "under_review"
    confirmed = "confirmed"
    resolved = "resolved"
    dismissed = "dismissed"


class EventKind(StrEnum):
    created = "created"
    report_added = "report_added"
    status_changed = "status_changed"
    severity_changed = "severity_changed"
    title_changed = "title_changed"
    reply_added = "reply_added"  # the zoo's representative replied (app/models/reply.py)
