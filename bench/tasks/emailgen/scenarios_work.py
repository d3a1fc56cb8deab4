"""Scenarios about deliverables: invoices, documents, deadlines, status, updates, proposals, approvals, tasks.

Each scenario writes the core of a message and decides the reply intent by a latent rule from its content.
"""

from __future__ import annotations

import random

from bench.tasks.emailgen.context import Core, Ctx, _amount, _fill, _pick
from bench.tasks.emailgen.vocab import DAYS, DELIVERABLES, DOCS, MONTHS, PROJECTS, PURPOSES, REASONS, SERVICES


def _invoice(rng: random.Random, c: Ctx) -> Core:
    inv = f"INV-{rng.randint(1000, 99999)}"
    large = rng.random() < 0.5
    amount = _amount(rng, large)
    service, month = rng.choice(SERVICES), rng.choice(MONTHS)
    kind = rng.choices(["discrepancy", "wrong_person", "approve", "fyi"], [20, 15, 35, 30])[0]
    alts = ["confirm_receipt", "ask_details", "forward_colleague", "approve", "will_review"]
    lines = [_pick(rng, c, [
        "Please find attached invoice {inv} for {amount}, covering {service} in {month}.",
        "Attached is our invoice {inv} ({amount}) for {service} delivered in {month}.",
    ], [
        "Attached is invoice {inv} for {amount} for the {service} in {month}.",
        "here's the invoice for {month} ({inv}, {amount})",
    ]).format(inv=inv, amount=amount, service=service, month=month)]
    if kind == "discrepancy":
        lines.append(rng.choice([
            "Note that this is higher than the original quote of {q} due to additional hours.",
            "You'll see it's above the {q} we quoted; there were some extra items.",
            "This differs from the quoted {q} because of out-of-scope work.",
        ]).format(q=_amount(rng, large)))
        return Core(lines, "ask_details" if rng.random() < 0.75 else "will_review", alts)
    if kind == "wrong_person":
        lines.append(rng.choice([
            "Apologies if this should go to someone else, I couldn't find the right contact in accounts.",
            "I wasn't sure who handles payables on your side, so sending it to you.",
            "Our usual contact has left, so please let me know who should receive these.",
        ]))
        return Core(lines, "forward_colleague", alts)
    if kind == "approve":
        lines.append(rng.choice([
            "Could you approve it so we can process payment by {day}?",
            "Please approve at your earliest convenience; payment is due {day}.",
            "Can you sign this off so finance can pay it {day}?",
        ]).format(day=rng.choice(DAYS)))
        return Core(lines, "will_review" if large else "approve", alts)
    lines.append(rng.choice(["This is for your records.", "No action needed, just for your files.",
                             "Payment terms are 30 days as usual."]))
    return Core(lines, "confirm_receipt", alts)


def _doc_request(rng: random.Random, c: Ctx) -> Core:
    doc = rng.choice(DOCS)
    ask = _pick(rng, c, [
        "Could you please send me the {doc} from {day}'s meeting?",
        "Would you be able to share the latest version of the {doc}? I need it for {purpose}.",
    ], [
        "Could you send me the {doc} from {day}'s meeting?",
        "Do you have the latest {doc}? Need it to {purpose}.",
        "can u send me the {doc} pls",
        "Mind sharing the {doc} when you get a sec?",
    ]).format(doc=doc, day=rng.choice(DAYS), purpose=_fill(rng, c, rng.choice(PURPOSES)))
    alts = ["send_file", "forward_colleague", "will_do"]
    if rng.random() < 0.25:
        extra = _fill(rng, c, rng.choice([
            "I think {other} might have the most recent version, not sure.",
            "I believe {other}'s team owns it now, but you might know.",
        ]))
        return Core([ask, extra], "forward_colleague", alts)
    if rng.random() < 0.3:
        extra = rng.choice(["No rush, next week is fine.", "It's for a client call in an hour, sorry!"])
        return Core([ask, extra], "send_file", alts)
    return Core([ask], "send_file", alts)


def _deadline(rng: random.Random, c: Ctx) -> Core:
    day = rng.choice(DAYS)
    deliverable = rng.choice(DELIVERABLES)
    kind = rng.choices(["overload", "urgent", "plain"], [30, 20, 50])[0]
    alts = ["commit_deadline", "will_do", "request_extension"]
    if kind == "urgent":
        ask = _pick(rng, c, [
            ("I am sorry for the short notice, but could you send {deliverable} today? "
             "The client has asked for it."),
        ], [
            ("Sorry for the short notice, can you get {deliverable} to me today? "
             "It's urgent, the client is asking."),
            "URGENT: need {deliverable} by end of day today please!",
            "Could you get me {deliverable} in the next couple of hours? Boss is asking.",
        ]).format(deliverable=deliverable)
        return Core([ask], "will_do", alts, None)
    ask = _pick(rng, c, [
        "Could you please send me {deliverable} by {day}?",
        "We will need {deliverable} by {day} for the {company} meeting. Would that be possible?",
    ], [
        "Could you get {deliverable} to me by {day}?",
        "We need {deliverable} by {day} EOD for the {company} meeting, can you do that?",
        "Can I get {deliverable} from you by {day}?",
        "need {deliverable} by {day}, doable?",
    ])
    ask = _fill(rng, c, ask, day=day, deliverable=deliverable)
    if kind == "overload":
        if rng.random() < 0.65:
            extra = _fill(rng, c, rng.choice([
                "I know you're also covering {project} this week, so let me know if that's too tight.",
                "I realise you've got a lot on with the {project} release right now.",
            ]))
            return Core([ask, extra], "request_extension", alts, day)
        quote = ("recipient", [_fill(rng, c, rng.choice([
            "I'm completely slammed with the {project} release until next week.",
            "My week is packed with {company} workshops, so I'm a bit underwater.",
        ]))])
        return Core([ask], "request_extension", alts, day, quote)
    return Core([ask], "commit_deadline", alts, day)


def _status(rng: random.Random, c: Ctx) -> Core:
    deliverable = rng.choice(DELIVERABLES)
    kind = rng.choices(["overdue", "promised", "norush"], [45, 25, 30])[0]
    alts = ["apologise_delay", "confirm_done", "follow_up_later"]
    ask = _pick(rng, c, [
        "I wanted to follow up on {deliverable}. Is there any update?",
        "Could you let me know the status of {deliverable}?",
    ], [
        "Any update on {deliverable}?",
        "Just checking in on {deliverable} - how's it going?",
        "hey, where are we with {deliverable}?",
    ]).format(deliverable=deliverable)
    if kind == "overdue":
        extra = rng.choice([
            "It was due last {day} and the client is asking.", "It's been two weeks now.",
            "We're now past the deadline we agreed.", "This is holding up the rest of the team.",
        ]).format(day=rng.choice(DAYS))
        return Core([ask, extra], "apologise_delay", alts)
    if kind == "promised":
        quote = ("recipient", [rng.choice([
            "I'll send it over tonight.", "Will have it to you by end of day.",
            "Should be done this afternoon.",
        ])])
        return Core([ask, rng.choice(["Did it go out?", "Did you manage to send it?", "Can't see it yet."])],
                    "confirm_done" if rng.random() < 0.8 else "apologise_delay", alts, None, quote)
    extra = rng.choice(["No rush, just wanted to check where it's at.", "No pressure, whenever you can.",
                        "Not urgent, just planning ahead."])
    return Core([ask, extra], "follow_up_later", alts)


def _update(rng: random.Random, c: Ctx) -> Core:
    project = rng.choice(PROJECTS)
    kind = rng.choices(["milestone", "ongoing", "review", "fyi"], [25, 25, 20, 30])[0]
    alts = ["thank", "keep_me_posted", "congratulate", "will_review"]
    head = _pick(rng, c, [
        "Please find below a short update on {project}.",
        "I wanted to share a brief status update on {project}.",
    ], [
        "Quick update on {project}:", "Here's where we are on {project}:",
        "Status update for {project} below.",
    ]).format(project=project)
    items = rng.sample([
        "Backend API: done", "QA: about {pct}% through the test plan", "Design: final mockups signed off",
        "Docs: in progress", "Data migration: scheduled for {day}", "Load testing: starts next week",
        "Security review: booked with {other}", "Budget: on track", "Hiring: two offers out",
        "Mobile: waiting on app store review", "Analytics: dashboards live",
    ], rng.randint(2, 4))
    filled = [_fill(rng, c, it, pct=str(rng.randint(40, 95)), day=rng.choice(DAYS)) for it in items]
    bullets = "\n".join("- " + it for it in filled)
    paras = [head + "\n" + bullets] if rng.random() < 0.6 else [head + " " + "; ".join(filled)]
    if kind == "milestone":
        paras.insert(0, _fill(rng, c, rng.choice([
            "Big news: we launched {project} to all customers this morning!",
            "We signed {company} yesterday, our biggest deal this year.",
            "We hit 10,000 active users over the weekend.",
            "The team shipped the release two weeks ahead of schedule.",
        ]), project=project))
        return Core(paras, "congratulate", alts)
    if kind == "ongoing":
        paras.append(_fill(rng, c, rng.choice([
            "We're still working through the performance issues; I'll send another update {day}.",
            "The vendor integration is still blocked, more news by {day}.",
            "Still waiting on {company} for sign-off, will update you as soon as I hear.",
        ]), day=rng.choice(DAYS)))
        return Core(paras, "keep_me_posted", alts)
    if kind == "review":
        paras.append(rng.choice([
            "The full write-up is in the doc - would appreciate your eyes on the risks section.",
            "Could you review the attached plan before we share it more widely?",
            "I'd value your feedback on the draft timeline attached.",
        ]))
        return Core(paras, "will_review", alts)
    paras.append(rng.choice(["No action needed, just keeping you in the loop.",
                             "Nothing needed from you for now.", "Just FYI."]))
    return Core(paras, "thank", alts)


PROPOSALS = [
    "switch our CI to a hosted service", "move the weekly sync to Thursdays",
    "bring in a contractor for the {project} backlog", "drop support for the legacy {product} app",
    "consolidate our vendors under {company}", "run a pilot with {company} before rolling out",
    "freeze features two weeks before the launch", "hold the team offsite in {city}",
    "move the support rota to a follow-the-sun model", "start charging for {product} integrations",
]


def _proposal(rng: random.Random, c: Ctx) -> Core:
    prop = _fill(rng, c, rng.choice(PROPOSALS))
    kind = rng.choice(["risky", "complex", "cheap"])
    alts = ["agree", "disagree_politely", "ask_to_call", "will_review"]
    ask = _pick(rng, c, [
        "I would like to propose that we {prop}. I would welcome your view.",
        "Having reviewed the options, I recommend we {prop}. Do you agree?",
    ], [
        "I've been thinking we should {prop}. Thoughts?",
        "What do you think about trying to {prop}?",
        "Proposal: let's {prop}. Any objections?",
        "how would you feel if we {prop}?",
    ]).format(prop=prop)
    if kind == "risky":
        extra = _fill(rng, c, rng.choice([
            "It would mean delaying the {project} launch by a month, but I think it's worth it.",
            "It'd cost about {amount} more per year and we'd lose a couple of customers.",
            "We'd have to pause hiring for the rest of the year to pay for it.",
        ]), amount=_amount(rng, True))
        return Core([ask, extra], "disagree_politely", alts)
    if kind == "complex":
        extra = rng.choice(["It's a big change with a lot of moving parts, so happy to talk it through.",
                            "There are a few trade-offs that are hard to explain over email.",
                            "Several teams would be affected, so it's a bit nuanced."])
        return Core([ask, extra], "ask_to_call", alts)
    extra = rng.choice([
        "Should be a quick win and costs nothing.", "Low effort and easy to reverse if it fails.",
        "The team already said they like the idea.",
    ])
    return Core([ask, extra], "agree", alts)


def _approval(rng: random.Random, c: Ctx) -> Core:
    alts = ["approve", "decline_request", "ask_details", "will_review"]
    kind = rng.choice(["pto", "expense", "po"])
    if kind == "pto":
        d1, d2 = sorted(rng.sample(range(5), 2))
        ask = _pick(rng, c, [
            "I would like to request leave from {d1} to {d2} next week. Would that be acceptable?",
        ], [
            "I'd like to take {d1} to {d2} off next week for {reason}. Is that ok?",
            "Could I book {d1}-{d2} as holiday? It's for {reason}.",
            "ok if I take {d1} to {d2} off? {reason}",
        ]).format(d1=DAYS[d1], d2=DAYS[d2], reason=rng.choice(REASONS))
        if rng.random() < 0.35:
            extra = _fill(rng, c, rng.choice(["I know it overlaps with the {project} release.",
                                              "I realise it's the same week as the {company} audit."]))
            return Core([ask, extra], "decline_request", alts, DAYS[d1])
        return Core([ask], "approve", alts, DAYS[d1])
    if kind == "expense":
        large = rng.random() < 0.4
        ask = _pick(rng, c, ["Could you please approve my expense claim for {amount} ({item})?"], [
            "Could you approve my expense claim for {amount}? It's for {item}.",
            "Expense approval needed: {amount} for {item}.",
        ]).format(amount=_amount(rng, large), item=_fill(rng, c, rng.choice(
            ["the client dinner with {company}", "my train to {city}", "a new monitor", "conference tickets",
             "team lunch on {day}"]), day=rng.choice(DAYS)))
        if large and rng.random() < 0.5:
            return Core([ask, rng.choice(["I don't have all the receipts, unfortunately.",
                                          "Some of it was paid in cash, so no itemised receipt."])],
                        "ask_details", alts)
        if large:
            extra = "I know it's over the policy limit, but it was a one-off."
            return Core([ask, extra], "decline_request", alts)
        return Core([ask], "approve", alts)
    large = rng.random() < 0.5
    ask = _pick(rng, c, [
        "We require sign-off on a purchase order for {amount} with {company} for {service}.",
    ], [
        "Need your sign-off on a PO for {amount} with {company} ({service}).",
        "Can you approve the PO for {service}? It's {amount} with {company}.",
    ])
    ask = _fill(rng, c, ask, amount=_amount(rng, large), service=rng.choice(SERVICES))
    return Core([ask], "will_review" if large else "approve", alts)


def _task(rng: random.Random, c: Ctx) -> Core:
    day = rng.choice(DAYS)
    alts = ["will_do", "commit_deadline", "forward_colleague"]
    ask = _pick(rng, c, ["Could you please update the {doc} with the latest figures?"], [
        "Could you update the {doc} with the new numbers?", "Can you book a room for the {project} retro?",
        "Please add {other} to the {project} channel.",
        "Could you send the {company} team the meeting invite?",
        "Can you order more badges for the new starters?",
    ])
    ask = _fill(rng, c, ask)
    kind = rng.choices(["plain", "deadline", "other"], [50, 30, 20])[0]
    if kind == "deadline":
        return Core([ask, f"It needs to be done by {day}."], "commit_deadline", alts, day)
    if kind == "other":
        return Core([ask, _fill(rng, c, "I think {other} usually handles this, but they're out.")],
                    "forward_colleague", alts)
    return Core([ask], "will_do", alts)
