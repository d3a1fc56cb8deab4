"""One message -> reply pair: pick a scenario, dress it as an email, then add label noise and pick the reply."""

from __future__ import annotations

import random

from bench.tasks.emailgen.compose import (
    BACKGROUND,
    BACKGROUND_OK,
    CLOSERS_CASUAL,
    CLOSERS_FORMAL,
    DISTRACTORS,
    NO_CLOSER,
    OPENERS_CASUAL,
    OPENERS_FORMAL,
    QUOTE_FILLER,
    _greeting,
    _quote_block,
    _signoff,
    _typos,
)
from bench.tasks.emailgen.context import Ctx, _fill, _other_day, _person
from bench.tasks.emailgen.replies import REPLIES
from bench.tasks.emailgen.scenarios_calendar import _confirm, _event, _meeting, _reschedule, _sick, _travel
from bench.tasks.emailgen.scenarios_people import (
    _customer,
    _hiring,
    _intro,
    _it,
    _news,
    _question,
    _sales,
    _thanks_sorry,
)
from bench.tasks.emailgen.scenarios_work import (
    _approval,
    _deadline,
    _doc_request,
    _invoice,
    _proposal,
    _status,
    _task,
    _update,
)
from bench.tasks.emailgen.vocab import COMPANIES, ROLES

# Probability that the latent rule is overridden by another plausible intent of the same scenario, and that
# an auto-reply answers instead: irreducible noise, so that no model can reach perfect recall.
INTENT_NOISE = 0.10
OOO_RATE = 0.02
# Probability that the reply register (formal/casual) does not follow the message's register.
REGISTER_FLIP = 0.1
# Zipf exponent of paraphrase frequency inside an intent and register: exact match stays ambiguous.
ZIPF_S = 1.6


# (scenario, weight, probability that the sender writes formally, probability of a team-wide greeting)
SCENARIOS = [
    (_meeting, 13, 0.3, 0.1), (_reschedule, 4, 0.3, 0.0), (_event, 6, 0.3, 0.6), (_invoice, 6, 0.7, 0.0),
    (_doc_request, 6, 0.25, 0.0), (_deadline, 7, 0.3, 0.0), (_status, 6, 0.3, 0.0), (_update, 7, 0.3, 0.4),
    (_proposal, 5, 0.25, 0.2), (_approval, 6, 0.25, 0.0), (_hiring, 5, 0.3, 0.0), (_travel, 4, 0.4, 0.0),
    (_it, 7, 0.4, 0.3), (_customer, 6, 0.5, 0.0), (_news, 4, 0.2, 0.5), (_thanks_sorry, 5, 0.2, 0.0),
    (_intro, 4, 0.4, 0.4), (_sales, 4, 0.7, 0.0), (_sick, 3, 0.15, 0.3), (_confirm, 3, 0.3, 0.0),
    (_question, 3, 0.2, 0.0), (_task, 5, 0.2, 0.0),
]

SUBJECTS = {
    "_meeting": "Catch-up", "_reschedule": "Our meeting", "_event": "Invitation", "_invoice": "Invoice",
    "_doc_request": "Documents", "_deadline": "Deadline", "_status": "Status", "_update": "Project update",
    "_proposal": "Proposal", "_approval": "Approval", "_hiring": "Hiring", "_travel": "Travel booking",
    "_it": "IT support ticket", "_customer": "Support request", "_news": "News",
    "_thanks_sorry": "Quick note",
    "_intro": "Introduction", "_sales": "Quick question", "_sick": "Today", "_confirm": "Confirming details",
    "_question": "Question", "_task": "Small favour",
}


def _decorated(rng: random.Random, c: Ctx, core, scenario: str) -> list[str]:
    """The request's paragraphs with what people wrap around it: background, an opener, distractors, a closer."""
    paras = list(core.paras)
    if scenario in BACKGROUND_OK and rng.random() < 0.15:
        paras.insert(0, _fill(rng, c, rng.choice(BACKGROUND)))
    if rng.random() < 0.3:
        paras.insert(0, _fill(rng, c, rng.choice(OPENERS_FORMAL if c.formal else OPENERS_CASUAL)))
    # Distractors (other topics, nothing to answer) go after the first line of the actual request.
    first = len(paras) - len(core.paras) + 1
    for _ in range(rng.choices([0, 1, 2], [60, 32, 8])[0]):
        d = _fill(rng, c, rng.choice(DISTRACTORS), day=_other_day(rng, core.day))
        paras.insert(rng.randint(first, len(paras)), d)
    if scenario not in NO_CLOSER and rng.random() < 0.4:
        paras.append(rng.choice(CLOSERS_FORMAL if c.formal else CLOSERS_CASUAL))
    if rng.random() < 0.35:
        # Merge runs of plain paragraphs into one block, as many people write; bullet lists stay apart.
        merged: list[str] = []
        for p in paras:
            if merged and "\n" not in p and "\n" not in merged[-1]:
                merged[-1] += " " + p
            else:
                merged.append(p)
        paras = merged
    return paras


def _message(rng: random.Random) -> tuple[str, str, str]:
    scenario, _, formal_p, team_p = rng.choices(SCENARIOS, [s[1] for s in SCENARIOS])[0]
    sender = _person(rng)
    recipient, other = _person(rng), _person(rng)
    while recipient.first == sender.first:
        recipient = _person(rng)
    c = Ctx(sender, recipient, other, rng.random() < formal_p, rng.random() < team_p, rng.choice(COMPANIES),
            rng.choice(COMPANIES), rng.choice(ROLES))
    core = scenario(rng, c)
    terse = rng.random() < 0.15 and not c.formal
    paras = _decorated(rng, c, core, scenario.__name__) if not terse else [" ".join(core.paras)]
    sloppy = terse or (not c.formal and rng.random() < 0.4)
    body = "\n\n".join(paras)
    if sloppy or rng.random() < 0.1:
        body = _typos(rng, body, 0.05 if sloppy else 0.02)
    greeting = "" if terse and rng.random() < 0.7 else _greeting(rng, c)
    parts = [greeting, body] if greeting else [body]
    signoff = rng.choice(["", c.sender.first, "Sent from my phone"]) if terse else _signoff(rng, c)
    if signoff:
        parts.append(signoff)
    topic = SUBJECTS[scenario.__name__]
    if core.quote is not None:
        parts.append(_quote_block(rng, c, core.quote[0], core.quote[1], topic))
    elif not terse and rng.random() < 0.38:
        lines = [_fill(rng, c, t) for t in rng.sample(QUOTE_FILLER, rng.randint(1, 3))]
        parts.append(_quote_block(rng, c, rng.choice(["recipient", "other"]), lines, topic))
    message = "\n\n".join(parts)

    intent = core.intent
    if rng.random() < INTENT_NOISE:
        intent = rng.choice(core.alts)
    if rng.random() < OOO_RATE:
        intent = "out_of_office"
    formal_reply = c.formal != (rng.random() < REGISTER_FLIP)
    pool = [r for r in REPLIES[intent][0 if formal_reply else 1] if core.day is not None or "{day}" not in r]
    weights = [1.0 / (rank + 1) ** ZIPF_S for rank in range(len(pool))]
    reply = rng.choices(pool, weights)[0].format(day=core.day)
    return message, reply, intent
