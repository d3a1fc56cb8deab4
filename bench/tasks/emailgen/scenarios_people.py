"""Scenarios about people and outside parties: hiring, IT, customers, news, thanks, intros, sales, questions.

Each scenario writes the core of a message and decides the reply intent by a latent rule from its content.
"""

from __future__ import annotations

import random

from bench.tasks.emailgen.context import Core, Ctx, _amount, _fill, _person, _pick
from bench.tasks.emailgen.vocab import DAYS, MONTHS, PRODUCTS, ROLES, SYSTEMS, TIMES


def _hiring(rng: random.Random, c: Ctx) -> Core:
    cand = _person(rng).full
    role = rng.choice(ROLES)
    kind = rng.choice(["interview", "feedback", "offer"])
    if kind == "interview":
        day = rng.choice(DAYS)
        ask = _pick(rng, c, [
            "Would you be available to interview {cand} for the {role} position on {day} at {time}?",
        ], [
            "Could you interview {cand} for the {role} role on {day} at {time}?",
            "Can you do a 45 min interview with {cand} ({role}) {day} at {time}?",
        ]).format(cand=cand, role=role, day=day, time=rng.choice(TIMES))
        alts = ["accept_meeting", "propose_other_time"]
        if rng.random() < 0.3:
            quote = ("recipient", [f"Note I'm off on {day}, back the day after."])
            return Core([ask], "propose_other_time", alts, day, quote)
        return Core([ask], "accept_meeting", alts, day)
    alts = ["agree", "disagree_politely", "ask_to_call", "approve"]
    if kind == "offer":
        ask = _pick(rng, c, ["Could you sign off on the offer for {cand} ({role}) at {amount}?"], [
            "Can you sign off on the offer for {cand} at {amount}? They're keen to start soon.",
            "Offer for {cand} ({role}) is ready, {amount} base. OK to send?",
        ]).format(cand=cand, role=role, amount=_amount(rng, True))
        return Core([ask], "approve", alts)
    verdict = rng.choice(["strong", "weak", "mixed"])
    notes = {
        "strong": ["excellent on system design and clearly a great communicator",
                   "very strong technically and the team loved them"],
        "weak": ["struggled with the basics and arrived twenty minutes late",
                 "couldn't explain their past projects and seemed disengaged"],
        "mixed": ["great culture fit but shaky on the technical round",
                  "strong on paper but the references were lukewarm"],
    }[verdict]
    ask = _pick(rng, c, [
        "My feedback on {cand} for the {role} role: {note}. I suggest we make an offer. Do you agree?",
    ], [
        "Feedback on {cand} ({role}): {note}. I'd lean towards an offer. Agree?",
        "Just interviewed {cand} - {note}. Shall we move forward?",
    ]).format(cand=cand, role=role, note=rng.choice(notes))
    intent = {"strong": "agree", "weak": "disagree_politely", "mixed": "ask_to_call"}[verdict]
    return Core([ask], intent, alts)


def _it(rng: random.Random, c: Ctx) -> Core:
    system = rng.choice(SYSTEMS)
    alts = ["confirm_receipt", "will_try", "confirm_fixed", "still_broken", "check_and_revert"]
    kind = rng.choices(["notice", "tryit", "fixed", "question"], [25, 25, 30, 20])[0]
    if kind == "notice":
        day = rng.choice(DAYS)
        ask = _pick(rng, c, [
            "Please note that {system} will be unavailable on {day} from {t1} to {t2} for maintenance.",
        ], [
            "Heads up: {system} will be down {day} from {t1} to {t2} for maintenance. Save your work!",
            "{system} maintenance window {day} {t1}-{t2}, expect a short outage.",
        ])
        ask = ask.format(system=system, day=day, t1=rng.choice(TIMES), t2=rng.choice(TIMES))
        return Core([ask[0].upper() + ask[1:]], "confirm_receipt", alts, day)
    if kind == "tryit":
        ask = rng.choice([
            "Could you try clearing your browser cache and logging in to {system} again?",
            "Can you restart your laptop and try {system} once more? If that doesn't work, we'll remote in.",
            "Please try reinstalling the {system} client from the self-service portal.",
        ]).format(system=system)
        return Core([ask], "will_try", alts)
    if kind == "fixed":
        os_user, os_fix = rng.choice(["Windows", "Mac"]), rng.choice(["Windows", "Mac"])
        ask = rng.choice([
            "We've deployed a fix for the {system} login issue for {os} users. Can you confirm it's working?",
            "The {system} problem should now be resolved on {os} machines, please let us know.",
        ]).format(system=system, os=os_fix)
        paras = [ask]
        quote = None
        if rng.random() < 0.5:
            paras.insert(0, f"Re your ticket about {system} crashing on your {os_user} laptop:")
        else:
            quote = ("recipient", [f"{system[0].upper() + system[1:]} keeps crashing on my {os_user} laptop.",
                                   "Not sure if it's just me?"])
        return Core(paras, "confirm_fixed" if os_user == os_fix else "still_broken", alts, None, quote)
    ask = _pick(rng, c, ["Do you know whether {system} supports single sign-on?"], [
        "Do you know if {system} can export to CSV?", "Any idea who owns the {system} licence renewal?",
        "Is there a way to get {system} on my phone?",
    ]).format(system=system)
    return Core([ask], "check_and_revert", alts)


def _customer(rng: random.Random, c: Ctx) -> Core:
    product = rng.choice(PRODUCTS)
    alts = ["apologise_issue", "ask_to_call", "forward_colleague", "check_and_revert", "will_do"]
    kind = rng.choices(["urgent", "outage", "billing", "howto"], [20, 30, 25, 25])[0]
    if kind in ("urgent", "outage"):
        ask = _pick(rng, c, [
            ("We have been unable to use {product} since {time} this morning, "
             "which is affecting our operations."),
        ], [
            "{product} has been down since {time} and we can't process orders.",
            "Your {product} keeps throwing errors for our whole team.",
            "{product} is super slow again today, pages take a minute to load.",
        ]).format(product=product, time=rng.choice(TIMES))
        ask = ask[0].upper() + ask[1:]
        if kind == "urgent":
            extra = rng.choice(["This is critical - we need someone on the phone right now.",
                                "We're losing thousands per hour, please call me ASAP.",
                                "Escalating: I need to speak to someone immediately."])
            return Core([ask, extra], "ask_to_call", alts)
        return Core([ask, rng.choice(["Can you look into it?", "Please advise.", "Is this a known issue?"])],
                    "apologise_issue", alts)
    if kind == "billing":
        ask = _pick(rng, c, [
            "It appears we were charged twice for {month}. Could you please look into this?",
        ], [
            "We were charged twice for {month}, can you sort this out?",
            "Our {month} invoice has the wrong VAT number on it.",
        ]).format(month=rng.choice(MONTHS))
        if rng.random() < 0.4:
            extra = "I wasn't sure who handles billing, so sending to you."
            return Core([ask, extra], "forward_colleague", alts)
        return Core([ask], "apologise_issue", alts)
    ask = _pick(rng, c, ["Could you tell us whether {product} supports exporting reports to Excel?"], [
        "Is there a way to export reports from {product}?", "Does {product} integrate with Salesforce?",
        "Can we add more users to {product} without upgrading our plan?",
    ]).format(product=product)
    return Core([ask], "check_and_revert", alts)


def _news(rng: random.Random, c: Ctx) -> Core:
    alts = ["congratulate", "farewell", "thank"]
    if rng.random() < 0.3:
        ask = _pick(rng, c, [
            "After five wonderful years, I have decided to leave {rcompany}. My last day will be {day}.",
        ], [
            "After {n} great years I'm moving on - my last day is {day}.",
            ("Some personal news: I've accepted a role at {company} "
             "and will be leaving at the end of the month."),
            "It's my last week here! Thanks for everything.",
        ])
        return Core([_fill(rng, c, ask, day=rng.choice(DAYS), n=str(rng.randint(2, 9)))], "farewell", alts)
    ask = _pick(rng, c, ["I am pleased to announce that {who} has been promoted to {role}."], [
        "Some news: I've been promoted to {role}!",
        "We had a baby girl on {day}! Everyone's healthy and happy.",
        "I passed my certification exam!", "Our team won the {project} innovation award!",
        "I got engaged over the weekend!", "{who} just closed the {company} deal, our biggest this year!",
    ])
    return Core([_fill(rng, c, ask, day=rng.choice(DAYS), who=c.other.full)], "congratulate", alts)


def _thanks_sorry(rng: random.Random, c: Ctx) -> Core:
    alts = ["youre_welcome", "no_worries", "thank"]
    if rng.random() < 0.5:
        ask = _pick(rng, c, ["Thank you very much for your help with {thing}. It made a real difference."], [
            "Thanks so much for your help with {thing}!", "Just wanted to say thanks for covering {thing}.",
            "You saved me with {thing}, thank you!", "thx for sorting {thing}",
        ])
        thing = rng.choice(["the {company} pitch", "the budget", "the {project} demo",
                            "the client call on {day}",
                            "the {doc}", "the move"])
        thing = _fill(rng, c, thing, day=rng.choice(DAYS))
        return Core([_fill(rng, c, ask, thing=thing)], "youre_welcome", alts)
    ask = _pick(rng, c, ["My apologies for missing our call on {day}; {excuse}."], [
        "Sorry I missed our call on {day}, {excuse}.", "So sorry for the late reply, {excuse}.",
        "Apologies, I completely forgot to send the {doc} yesterday. Sent now.",
    ])
    excuse = rng.choice(["my previous meeting overran", "I was stuck on a train",
                         "a client emergency came up",
                         "my laptop died"])
    return Core([_fill(rng, c, ask, day=rng.choice(DAYS), excuse=excuse)], "no_worries", alts)


def _intro(rng: random.Random, c: Ctx) -> Core:
    newbie = _person(rng)
    alts = ["welcome", "nice_to_meet", "thank"]
    if rng.random() < 0.5:
        ask = _pick(rng, c, ["Please join me in welcoming {n}, who joins us as {role} from {company}."], [
            "Please welcome {n}, who's joining us as {role} starting {day}!",
            "Say hi to {n}, our new {role}! {first} comes from {company}.",
        ])
        ask = _fill(rng, c, ask, n=newbie.full, first=newbie.first, day=rng.choice(DAYS))
        return Core([ask], "welcome", alts)
    ask = _pick(rng, c, [
        "I would like to introduce you to {n} at {company}, who {reason}. I will let you two connect.",
    ], [
        "Introducing you to {n} from {company} - {reason}. I'll let you two take it from here!",
        "Meet {n}! They {reason}, thought you should talk.",
    ])
    reason = rng.choice(["leads data science there", "is looking for a partner on logistics",
                         "ran a similar migration last year", "is hiring engineers in {city}"])
    return Core([_fill(rng, c, ask, n=newbie.full, reason=_fill(rng, c, reason))], "nice_to_meet", alts)


def _sales(rng: random.Random, c: Ctx) -> Core:
    alts = ["not_interested", "interested", "ask_to_call"]
    pitch = _fill(rng, c, rng.choice([
        "I'm {me} from {company}. We help teams like yours cut cloud costs by up to 40%.",
        "My name is {me} and I work with {company} on automating invoice processing.",
        "{company} has just launched a new platform for managing field teams.",
        "We're offering a free audit of your website's conversion funnel this month.",
    ]))
    ask = rng.choice(["Do you have 15 minutes next week for a quick demo?",
                      "Would you be open to a short call?",
                      "Can I send over a case study?"])
    if rng.random() < 0.4:
        hook = _fill(rng, c, rng.choice([
            "Following up on your request for a demo on our website.",
            "You mentioned at {event} that you're evaluating tools in this space.",
            "Your colleague {other} suggested I get in touch about your renewal.",
        ]))
        return Core([hook, pitch, ask], "interested", alts)
    return Core([pitch, ask], "not_interested", alts)


def _question(rng: random.Random, c: Ctx) -> Core:
    ask = _pick(rng, c, ["Would you happen to know when the {company} contract is due for renewal?"], [
        "Do you know when the {company} contract renews?", "What's the status of the {company} account?",
        "Who's the best contact at {company} for {product}?",
        "Do we have a budget code for the {project} work?",
        "quick q - is the {doc} template on the shared drive somewhere?",
    ])
    return Core([_fill(rng, c, ask)], "check_and_revert", ["check_and_revert", "forward_colleague"])
