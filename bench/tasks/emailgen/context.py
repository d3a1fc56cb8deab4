"""What every scenario shares: who writes to whom (`Ctx`), what it returns (`Core`) and the slot-filling helpers."""

from __future__ import annotations

import random
from dataclasses import dataclass

from bench.tasks.emailgen.vocab import (
    CITIES,
    COMPANIES,
    DAYS,
    DELIVERABLES,
    DOCS,
    EVENTS,
    FIRST,
    LAST,
    MONTHS,
    PRODUCTS,
    PROJECTS,
    ROLES,
    SYSTEMS,
    TIMES,
    TITLES,
    VENUES,
)


@dataclass(frozen=True)
class Person:
    first: str
    last: str
    title: str

    @property
    def full(self) -> str:
        return f"{self.first} {self.last}"


@dataclass(frozen=True)
class Ctx:
    """Who writes to whom, and how formally: the scenario text and the email dressing must agree on it."""

    sender: Person
    recipient: Person
    other: Person
    formal: bool
    team: bool
    company: str
    rcompany: str
    role: str


@dataclass
class Core:
    """A scenario's request paragraphs, the intent its latent rule chose, and the intents noise may pick."""

    paras: list[str]
    intent: str
    alts: list[str]
    day: str | None = None
    # (who wrote the quoted mail: "recipient", "sender" or "other"; its lines)
    quote: tuple[str, list[str]] | None = None


def _person(rng: random.Random) -> Person:
    first, gender = rng.choice(FIRST)
    title = "Dr." if rng.random() < 0.12 else TITLES[gender]
    return Person(first, rng.choice(LAST), title)


def _amount(rng: random.Random, large: bool) -> str:
    cur = rng.choice(["$", "$", "€", "£"])
    if large:
        return f"{cur}{rng.randint(12, 95)},{rng.randint(0, 999):03d}.00"
    return f"{cur}{rng.randint(120, 980)}.{rng.randint(0, 99):02d}"


def _other_day(rng: random.Random, day: str | None) -> str:
    return rng.choice([d for d in DAYS if d != day])


def _fill(rng: random.Random, c: Ctx, template: str, **kw: str) -> str:
    """Fill a template; each slot gets a fresh random value unless given, so any template may use any slot."""
    slots = {
        "project": rng.choice(PROJECTS), "company": rng.choice(COMPANIES), "product": rng.choice(PRODUCTS),
        "system": rng.choice(SYSTEMS), "doc": rng.choice(DOCS), "city": rng.choice(CITIES),
        "deliverable": rng.choice(DELIVERABLES), "venue": rng.choice(VENUES), "time": rng.choice(TIMES),
        "month": rng.choice(MONTHS), "other": c.other.first, "role": rng.choice(ROLES),
        "rcompany": c.rcompany, "me": c.sender.first, "you": c.recipient.first,
    }
    slots.update(kw)
    if "event" not in kw:
        slots["event"] = rng.choice(EVENTS).format(**slots)
    return template.format(**slots)


def _pick(rng: random.Random, c: Ctx, formal: list[str], casual: list[str] | None = None) -> str:
    """Choose a template matching the message register (formal senders rarely write casual lines)."""
    if casual is None:
        return rng.choice(formal)
    pool = formal if c.formal else casual
    if rng.random() < 0.15:
        pool = casual if c.formal else formal
    return rng.choice(pool)
