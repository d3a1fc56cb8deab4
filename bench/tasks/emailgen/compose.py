"""Email dressing around a scenario's core: greetings, small talk, distractors, sign-offs, quoted thread, typos."""

from __future__ import annotations

import datetime as dt
import random
import re

from bench.tasks.emailgen.context import Ctx, Person, _fill
from bench.tasks.emailgen.vocab import DAY_NAMES, MONTHS

DISTRACTORS = [
    "Also, FYI the all-hands has moved to {day} at {time}.",
    "Unrelated, but {system} will be down briefly tonight.",
    "PS: don't forget timesheets are due {day}.", "Side note: {other} is back from leave on {day}.",
    "By the way, the invoice from {company} was paid last week.",
    "Also, thanks again for the help with the {project} deck last week.",
    "FYI, I've put the notes from {day}'s meeting in the team folder.",
    "On another note, the coffee machine on 4 is finally fixed!",
    "Also, {other} says congrats on the {project} release.",
    "Separately, I'm out {day} afternoon for a dentist appointment.",
    "Unrelated: has anyone seen my blue notebook? Left it in Room 3.",
    "Reminder that the office is closed on {day} for the deep clean.",
    "The parking garage will be closed {day}, so plan accordingly.",
    "Quick heads up that {company} renewed for another year.",
    "Oh and the {city} trip got approved, so that's sorted.",
    "I'm also still waiting on {other} for the {doc}, will chase.",
    "We're ordering pizza for the team on {day} if you're around.",
    "Also, sorry I missed your call earlier, I was in back-to-back meetings.",
    "PS: the {project} retro got cancelled, so you have an hour back.",
]
OPENERS_FORMAL = ["I hope this email finds you well.", "I hope you are doing well.",
                  "I hope you had a pleasant weekend.",
                  "Thank you for your time last week.", "I trust you are well."]
OPENERS_CASUAL = ["Hope you had a good weekend!", "Hope your week's going well.", "Quick one for you.",
                  "Happy Monday!",
                  "Hope you're surviving the week.", "Hope the {city} trip was good!", "Hope all's well."]
CLOSERS_FORMAL = ["Please let me know if you have any questions.", "I look forward to hearing from you.",
                  "Thank you in advance.", "Many thanks for your help."]
CLOSERS_CASUAL = ["Let me know!", "Thanks in advance!", "Let me know what you think.", "Appreciate it!",
                  "Thanks!",
                  "Cheers."]
QUOTE_FILLER = [
    "Thanks for the call earlier.", "Let me know if you need anything else.",
    "See notes below from today's meeting.",
    "Looping you in on this thread.", "Following up on our chat last week.",
    "Let's keep this thread for {project}.",
    "Sharing for visibility.", "Adding {other} for context.", "I've updated the {doc} with your comments.",
    "Happy to discuss whenever suits.", "We can pick this up after the {company} call.",
]
BACKGROUND = [
    ("For context, the {company} team raised this during last week's review, and {other} asked us to make "
     "sure we have a plan before the end of the quarter. I've pulled together what I could find so far, "
     "but there are still a few gaps."),
    ("A bit of background: we've been going back and forth on this with {company} for a while now, and I'd"
     " like to get it wrapped up before {project} takes over everyone's calendar next month."),
    ("As you know, things have been hectic since the reorg, and a few of these threads have been sitting "
     "in my inbox longer than I'd like. I'm trying to clear the backlog this week."),
    ("The short version is that {other} is out for a couple of weeks and I'm covering, so apologies if I'm"
     " missing context. I've read through the thread below and the notes in the {doc}."),
    ("I spoke to {other} about this yesterday and we both think it's worth sorting out now rather than "
     "waiting for the next planning cycle, especially with the {company} renewal coming up in {month}."),
    ("Some context in case it's useful: the numbers in the {doc} are from last month, the budget for "
     "{project} has not changed, and the {city} team is still waiting on a decision from us."),
]
# Scenarios where a paragraph of background before the request reads naturally.
BACKGROUND_OK = {
    "_meeting", "_invoice", "_doc_request", "_deadline", "_status", "_update", "_proposal", "_approval",
    "_customer", "_question", "_task", "_hiring",
}
# Announcements and thank-you notes, which do not end with "let me know what you think".
NO_CLOSER = {"_news", "_thanks_sorry", "_sick", "_intro"}
TYPO_WORD = re.compile(r"[A-Za-z]{4,}")


def _greeting(rng: random.Random, c: Ctx) -> str:
    r = c.recipient
    if c.team:
        return rng.choice(["Dear all,", "Hello everyone,", "Good morning all,"] if c.formal else
                          ["Hey team,", "Hi all,", "Hi everyone,", "Team,", "Morning all!", "All -"])
    if c.formal:
        return rng.choice([f"Dear {r.title} {r.last},", f"Dear {r.first},", f"Hello {r.first},",
                           f"Good morning {r.first},", f"Dear {r.first} {r.last},", ""])
    return rng.choice([f"Hi {r.first},", f"Hi {r.first},", f"Hey {r.first},", f"Hi {r.first}!", f"{r.first},",
                       f"{r.first} -", "Hi,", "Morning!", "", ""])


def _signoff(rng: random.Random, c: Ctx) -> str:
    s = c.sender
    if c.formal:
        sig = rng.choice(["Best regards", "Kind regards", "Regards", "Sincerely", "Many thanks",
                          "Best wishes"])
        phone = f"T: +1 (555) {rng.randint(100, 999)}-{rng.randint(1000, 9999)}"
        block = rng.choice([s.first, s.full, f"{s.full}\n{c.role}, {c.company}",
                            f"{s.full}\n{c.role} | {c.company}\n{phone}"])
        return f"{sig},\n{block}"
    return rng.choice([f"Thanks,\n{s.first}", f"Cheers,\n{s.first}", f"Best,\n{s.first}", s.first,
                       f"- {s.first[0]}",
                       f"Thx\n{s.first}", "", f"{s.first}\n\nSent from my iPhone", "Sent from my phone",
                       f"Thanks!\n{s.first}\n\nSent from Outlook for Android"])


def _email_of(p: Person, company: str) -> str:
    local = f"{p.first}.{p.last}".lower().replace("'", "").replace("ü", "u")
    return f"{local}@{re.sub(r'[^a-z]', '', company.lower())}.com"


def _quote_block(rng: random.Random, c: Ctx, who: str, lines: list[str], topic: str) -> str:
    author = {"recipient": c.recipient, "sender": c.sender}.get(who, c.other)
    company = c.rcompany if who == "recipient" else c.company
    when = dt.date(2024, 1, 1) + dt.timedelta(days=rng.randrange(365))
    # Own name tables instead of strftime, whose day and month names follow the locale.
    dow, month = DAY_NAMES[when.weekday()], MONTHS[when.month - 1]
    hour, minute = rng.randint(7, 19), rng.randrange(60)
    if rng.random() < 0.12:
        clock = f"{hour % 12 or 12}:{minute:02d} {'AM' if hour < 12 else 'PM'}"
        sent = f"{dow}, {month} {when.day}, {when.year} {clock}"
        return "\n".join([
            "________________________________", f"From: {author.full} <{_email_of(author, company)}>",
            f"Sent: {sent}", f"Subject: RE: {topic}", "", *lines,
        ])
    address = f"{author.full} <{_email_of(author, company)}>"
    header = rng.choice([
        f"On {dow[:3]}, {when.day} {month[:3]} {when.year} at {hour:02d}:{minute:02d}, {address} wrote:",
        f"On {dow[:3]}, {month[:3]} {when.day}, {author.full} wrote:",
        f"On {dow} {author.first} wrote:",
    ])
    quoted = [">" if not ln else "> " + ln for ln in lines]
    if rng.random() < 0.2:
        quoted += [">", "> " + f"{author.first}"]
    if rng.random() < 0.25:
        # An older message quoted inside the quote, as long threads accumulate.
        older = [_fill(rng, c, t) for t in rng.sample(QUOTE_FILLER, rng.randint(1, 3))]
        earlier = DAY_NAMES[(when - dt.timedelta(days=rng.randint(1, 9))).weekday()][:3]
        quoted += [">", f"> On {earlier}, {c.sender.full} wrote:"]
        quoted += [">> " + ln for ln in older]
    return header + "\n" + "\n".join(quoted)


def _typos(rng: random.Random, text: str, rate: float) -> str:
    """Swap, drop or double a letter in a few words, as hurried writers do."""

    def mangle(m: re.Match[str]) -> str:
        w = m.group(0)
        if rng.random() >= rate:
            return w
        i = rng.randrange(1, len(w) - 1)
        op = rng.randrange(3)
        if op == 0:
            return w[:i] + w[i + 1] + w[i] + w[i + 2:]
        if op == 1:
            return w[:i] + w[i + 1:]
        return w[:i] + w[i] + w[i:]

    return TYPO_WORD.sub(mangle, text)
