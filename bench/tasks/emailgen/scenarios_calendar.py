"""Scenarios about time: meetings, rescheduling, events, travel, sick days and confirmations.

Each scenario writes the core of a message and decides the reply intent by a latent rule from its content.
"""

from __future__ import annotations

import random

from bench.tasks.emailgen.context import Core, Ctx, _amount, _fill, _other_day, _pick
from bench.tasks.emailgen.vocab import CITIES, DAYS, EVENTS, HOTELS, PURPOSES, TIMES, VENUES


def _conflict(rng: random.Random, c: Ctx, paras: list[str], alts: list[str], day: str) -> Core:
    """A meeting on a day the recipient is known to be away: the answer is another time."""
    quote = None
    if rng.random() < 0.6:
        paras.append(_fill(rng, c, rng.choice([
            "I know you're at {event} on {day}, but it's the only slot I have.",
            ("I saw on your calendar that you're travelling to {city} on {day}, "
             "but thought I'd ask anyway."),
            "I realise you're on leave on {day}, but wanted to check before I book a room.",
        ]), day=day))
    else:
        quote = ("recipient", [_fill(rng, c, rng.choice([
            "Heads up, I'm out of the office on {day} and {day2} this week.",
            "I'll be at the {city} office on {day}, so won't be around.",
            "Just so you know, I'm on leave on {day}.",
            "I'm in workshops all day {day}, back to normal after that.",
        ]), day=day, day2=_other_day(rng, day))])
    return Core(paras, "propose_other_time", alts, day, quote)


def _meeting(rng: random.Random, c: Ctx) -> Core:
    day, time = rng.choice(DAYS), rng.choice(TIMES)
    kind = rng.choices(["conflict", "optional", "vague", "plain"], [25, 15, 15, 45])[0]
    purpose = _fill(rng, c, rng.choice(PURPOSES))
    alts = ["accept_meeting", "propose_other_time", "decline_meeting", "ask_agenda"]
    if kind == "vague":
        ask = _pick(rng, c, [
            ("Would you have some time on {day} at {time}? "
             "There is something I would like to discuss with you."),
            "Could we arrange a short meeting on {day} at {time}?",
        ], [
            "Do you have some time {day} at {time}? Something's come up I'd like to chat about.",
            "Can we find 30 minutes on {day} around {time}? Nothing urgent.",
            "Are you around {day} at {time}? Would like to grab you for a bit.",
            "got time for a quick chat {day} {time}?",
        ]).format(day=day, time=time)
        return Core([ask], "ask_agenda", alts, day)
    ask = _pick(rng, c, [
        "Would you be available on {day} at {time} to {purpose}?",
        "I would like to schedule a meeting on {day} at {time} to {purpose}. Would that suit you?",
        "Could we meet on {day} at {time} to {purpose}?",
    ], [
        "Could we meet on {day} at {time} to {purpose}?",
        "Are you free {day} at {time}? I'd like to {purpose}.",
        "Would {day} at {time} work for a quick call to {purpose}?",
        "I'd like to grab 30 minutes on {day} ({time}) to {purpose}. Does that work?",
        "Can we do {time} on {day} to {purpose}?",
        "can we meet {day} {time} to {purpose}",
    ]).format(day=day, time=time, purpose=purpose)
    paras = [ask]
    quote = None
    if kind == "conflict":
        return _conflict(rng, c, paras, alts, day)
    if kind == "optional":
        paras.append(rng.choice([
            "It's optional, only join if it's useful for you.",
            "No pressure if you're busy, we can manage without you.",
            "Totally optional, just letting you know in case you want to join.",
            "Attendance is optional; I will circulate notes afterwards.",
        ]))
        return Core(paras, "decline_meeting" if rng.random() < 0.7 else "accept_meeting", alts, day)
    if rng.random() < 0.35:
        # A quoted absence on a *different* day: the model has to compare days, not just spot "out of office".
        quote = ("recipient", [_fill(rng, c, rng.choice([
            "Heads up, I'm out of the office on {day2}.",
            "I'll be at the {city} office on {day2}, so won't be around.",
            "Just so you know, I'm on leave on {day2}.",
        ]), day2=_other_day(rng, day))])
    return Core(paras, "accept_meeting", alts, day, quote)


def _reschedule(rng: random.Random, c: Ctx) -> Core:
    day, day2 = rng.sample(DAYS, 2)
    ask = _pick(rng, c, [
        "I am afraid I need to reschedule our meeting on {day}. Would {day2} at {time} suit you instead?",
        "Unfortunately something has come up. Could we move our {day} meeting to {day2} at {time}?",
    ], [
        "Something came up, can we move our {day} catch-up to {day2} at {time}?",
        "Would you mind if we pushed {day}'s sync to {day2}, same time?",
        "Sorry to do this, but can we shift {day} to {day2} at {time}?",
        "need to move our {day} 1:1 - does {day2} {time} work?",
    ]).format(day=day, day2=day2, time=rng.choice(TIMES))
    alts = ["accept_meeting", "propose_other_time", "no_worries"]
    if rng.random() < 0.3:
        quote = ("recipient", [_fill(rng, c, rng.choice([
            "Reminder that I'm off on {day2}, back the day after.",
            "I'm at the {city} office on {day2} and {day3}.",
        ]), day2=day2, day3=_other_day(rng, day2))])
        return Core([ask], "propose_other_time", alts, day2, quote)
    return Core([ask], "accept_meeting", alts, day2)


def _event(rng: random.Random, c: Ctx) -> Core:
    day = rng.choice(DAYS)
    event = _fill(rng, c, rng.choice(EVENTS))
    kind = rng.choices(["conflict", "tbc", "plain"], [25, 15, 60])[0]
    alts = ["confirm_attendance", "decline_invitation", "ask_details"]
    lines = [_pick(rng, c, [
        "You are cordially invited to {event} on {day} at {venue}. Kindly RSVP by {rsvp}.",
        "We are delighted to invite you to {event}, taking place on {day} at {venue}.",
    ], [
        "You're invited to {event} on {day} at {venue}! Please RSVP by {rsvp}.",
        "Save the date: {event} is happening {day} at {venue} 🎉",
        "We're doing {event} on {day} at {venue}, would love to see you there.",
    ]).format(event=event, day=day, venue=rng.choice(VENUES), rsvp=_other_day(rng, day))]
    if rng.random() < 0.5:
        lines.append(rng.choice([
            "Drinks and food are on the company, plus-ones welcome.", "There will be a short speech at 7pm.",
            "Dress code is smart casual.", "Vegetarian and vegan options will be available.",
            "Let us know about any dietary requirements.",
        ]))
    quote = None
    if kind == "tbc":
        lines.append(rng.choice(["Exact time and agenda to be confirmed.", "Details TBC, more info soon.",
                                 "Timings still being finalised."]))
        return Core(lines, "ask_details" if rng.random() < 0.6 else "confirm_attendance", alts, day)
    if kind == "conflict":
        if rng.random() < 0.5:
            lines.append(rng.choice([
                "I know you might be on holiday that week, but wanted to include you anyway.",
                "I realise it clashes with your trip, but didn't want to leave you off the list.",
            ]))
        else:
            quote = ("recipient", [_fill(rng, c, rng.choice([
                "I'm on holiday from {day} for a week, back the following {day2}.",
                "FYI I'm in {city} {day} for the client visit.",
            ]), day=day, day2=_other_day(rng, day))])
        return Core(lines, "decline_invitation", alts, day, quote)
    return Core(lines, "confirm_attendance", alts, day)


def _travel(rng: random.Random, c: Ctx) -> Core:
    city, day = rng.choice(CITIES), rng.choice(DAYS)
    alts = ["thank", "confirm_receipt", "go_ahead", "decline_request"]
    if rng.random() < 0.5:
        flight = f"{rng.choice(['BA', 'LH', 'UA', 'AF', 'KL', 'DL', 'SQ'])}{rng.randint(10, 999)}"
        ask = _pick(rng, c, [
            "Your trip to {city} is confirmed: flight {flight} departing {day} at {time}, hotel {hotel}.",
        ], [
            "You're all booked for {city}! Flight {flight} on {day} at {time}, staying at {hotel}.",
            "Booked: {flight} to {city}, {day} {time}. Hotel is {hotel}.",
        ]).format(city=city, flight=flight, day=day, time=rng.choice(TIMES),
                  hotel=rng.choice(HOTELS))
        if rng.random() < 0.5:
            extra = "Please check the details and let us know of any changes."
            return Core([ask, extra], "confirm_receipt", alts, day)
        return Core([ask, rng.choice(["Have a great trip!", "Safe travels!", "Enjoy!"])], "thank", alts, day)
    ask = _pick(rng, c, [
        "I have found two options for your trip to {city} on {day}. Shall I book the first one?",
    ], [
        ("Found two flights to {city} on {day}: a 7am direct or a cheaper one with a stop. "
         "Shall I book the direct?"),
        "For {city} on {day}, the direct flight is {amount}. Want me to book it?",
    ]).format(city=city, day=day, amount=_amount(rng, False))
    if rng.random() < 0.3:
        extra = f"It's about {_amount(rng, False)} over the travel budget, though."
        return Core([ask, extra], "decline_request", alts, day)
    return Core([ask], "go_ahead", alts, day)


def _sick(rng: random.Random, c: Ctx) -> Core:
    ask = _pick(rng, c, ["I am unwell today and will be taking a sick day."], [
        "Feeling under the weather, taking the day off.", "Woke up with a fever, I'll be offline today.",
        "I've got a nasty cold, working from home and keeping it light.",
        "not feeling great, signing off early today",
        "Doctor says I need a few days of rest, so I'll be out until {day}.",
    ])
    extra = rng.choice(["", "I've moved my meetings to next week.", "{other} is covering anything urgent.",
                        ""])
    paras = [_fill(rng, c, ask, day=rng.choice(DAYS))] + ([_fill(rng, c, extra)] if extra else [])
    return Core(paras, "get_well", ["get_well", "thank", "no_worries"])


def _confirm(rng: random.Random, c: Ctx) -> Core:
    day = rng.choice(DAYS)
    ask = _pick(rng, c, ["Just to confirm, we are meeting at {venue} on {day} at {time}?"], [
        "Just to confirm, we're meeting at {venue} on {day} at {time}?",
        "Double checking - the deadline for {deliverable} is still {day}, right?",
        "We're still on for {day}, yes?", "Is the {company} call still {day} at {time}?",
    ])
    return Core([_fill(rng, c, ask, day=day)], "confirm_yes", ["confirm_yes", "check_and_revert"], day)
