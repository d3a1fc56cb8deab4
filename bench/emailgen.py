"""Deterministic generator of the built-in `email` task: realistic email message -> short reply pairs.

Run `python -m bench.emailgen [--out DIR]` to regenerate `bench/data/email/` byte for byte.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import random
import re
from dataclasses import dataclass
from pathlib import Path

from bench.text import normalise

VERSION = "1.0.0"
SEED = 20240517
SPLIT_SIZES = {"train": 6000, "dev": 600, "test": 1200}
DEFAULT_OUT = Path(__file__).resolve().parent / "data" / "email"

# Probability that the latent rule is overridden by another plausible intent of the same scenario, and that
# an auto-reply answers instead: irreducible noise, so that no model can reach perfect recall.
INTENT_NOISE = 0.10
OOO_RATE = 0.02
# Probability that the reply register (formal/casual) does not follow the message's register.
REGISTER_FLIP = 0.1
# Zipf exponent of paraphrase frequency inside an intent and register: exact match stays ambiguous.
ZIPF_S = 1.6

DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]
DAY_NAMES = [*DAYS, "Saturday", "Sunday"]

# Replies per intent: (formal paraphrases, casual paraphrases), most frequent first. `{day}` is filled with
# the day named in the message, so a model can learn to pick the matching variant.
REPLIES: dict[str, tuple[list[str], list[str]]] = {
    "accept_meeting": (
        ["That works for me. See you then.", "Confirmed, I will be there.",
         "Confirmed for {day}. See you then.",
         "That time suits me well, thank you.", "Yes, that works. I have added it to my calendar."],
        ["Sounds good, see you then!", "Works for me!", "Works for me, see you {day}.",
         "Perfect, see you there.",
         "Sure, that works.", "Yep, I'm free then."],
    ),
    "propose_other_time": (
        ["Unfortunately I am not available then. Could we do another day?",
         "I have a conflict at that time. Would later in the week work?",
         "Could we find another time? That slot does not work for me.",
         "I am afraid I am out that day. Could you suggest an alternative?"],
        ["Can we do another day? I'm out then.", "That day's tricky for me, how about later in the week?",
         "Any chance we can do a different time?", "I'm busy then, can we move it?",
         "Could we push it a day or two?"],
    ),
    "decline_meeting": (
        ["Thank you, but I will not be able to join this one.",
         "I will have to pass on this one, but please share the notes.",
         "Regrettably I cannot make it. Please go ahead without me."],
        ["I'll skip this one, go ahead without me.", "I'll sit this one out, can you send notes after?",
         "Can't make it, sorry! Fill me in later?", "Going to pass on this one, thanks though."],
    ),
    "ask_agenda": (
        ["Happy to meet. Could you share an agenda beforehand?", "Certainly. What would you like to discuss?",
         "Of course. Could you let me know the purpose of the meeting?"],
        ["Sure, what's it about?", "Happy to chat, what's on your mind?",
         "Sure thing. Anything I should prep?",
         "Yes, what did you want to go over?"],
    ),
    "confirm_attendance": (
        ["Thank you for the invitation. I will be attending.", "I would be delighted to attend.",
         "Please count me in. I look forward to it.", "I am pleased to confirm my attendance."],
        ["Count me in!", "I'll be there!", "Wouldn't miss it!", "See you there on {day}!",
         "I'm in, thanks for organising!"],
    ),
    "decline_invitation": (
        ["Thank you for the kind invitation. Unfortunately I will be away.",
         "Regretfully I have a prior commitment and cannot attend.",
         "I am sorry to miss it, but I am unavailable on that date."],
        ["Sadly can't make it, have a great time!", "Gutted, I'm away then. Have fun!",
         "I'm out that day unfortunately, next time!", "Sorry, I'll miss this one."],
    ),
    "thank": (
        ["Thank you very much.", "Thank you for the update.", "Many thanks for sharing this.",
         "Thank you, much appreciated.", "Thank you for letting me know."],
        ["Thanks!", "Thanks so much!", "Great, thanks for the update!", "Awesome, thank you!",
         "Thanks for the heads up!", "Cheers, thanks!"],
    ),
    "confirm_receipt": (
        ["Received, thank you.", "I confirm receipt. Thank you.", "Well received, thank you.",
         "Thank you, I have received it."],
        ["Got it, thanks!", "Got it.", "Received, thanks!", "Yep, got it.", "Got it, all good."],
    ),
    "ask_details": (
        ["Could you provide some more details?", "Could you clarify what this relates to?",
         "Would you be able to send a breakdown?", "Could you please explain the difference from the quote?",
         "Could you elaborate a little?"],
        ["Can you send me more details?", "What's this for exactly?", "Can you give me a bit more context?",
         "Not sure I follow, can you explain?", "Can you send a breakdown?"],
    ),
    "will_review": (
        ["I will review it and get back to you.", "Thank you. I will take a look and revert shortly.",
         "I will go through it and send my comments by end of day.",
         "Noted. I will review and respond shortly."],
        ["Will take a look and get back to you.", "I'll review it today.", "Thanks, I'll have a look.",
         "Will check it out and let you know.", "Looking at it now."],
    ),
    "approve": (
        ["Approved.", "This is approved.", "Approved, thank you.", "I approve. Please proceed."],
        ["Approved!", "Looks good, approved.", "All good, approved.", "Yep, approved."],
    ),
    "go_ahead": (
        ["Yes, please go ahead.", "Please proceed with the booking.", "That option is fine, please book it."],
        ["Go for it!", "Yes please, book it.", "Go ahead!", "Sounds good, go ahead.",
         "First option works, book it."],
    ),
    "request_extension": (
        ["Would it be possible to extend the deadline by a few days?",
         "I may need a little more time. Could we say early next week?",
         "Could we move the deadline? I am stretched this week."],
        ["Any chance I can have a few more days?", "Can I get this to you next week instead?",
         "I'm swamped, could we push the deadline a bit?", "Could I get an extra day or two?"],
    ),
    "out_of_office": (
        ["I am out of the office with limited access to email. I will respond when I return.",
         "Thank you for your email. I am currently on leave and will reply on my return.",
         "I am away until next week. For urgent matters please contact my colleague."],
        ["I'm out of office until Monday, will reply when I'm back.",
         "Out of office this week with limited email access.",
         "Away at the moment, I'll get back to you next week."],
    ),
    "apologise_delay": (
        ["Apologies for the delay. I will have it to you shortly.",
         "I am sorry for the delay. It is nearly finished.",
         "My apologies, this slipped. I will send it today."],
        ["Sorry, running behind! Will send it today.", "Sorry for the delay, almost done.",
         "Apologies, this fell off my radar. On it now.", "My bad, will get it to you ASAP."],
    ),
    "forward_colleague": (
        ["I am copying my colleague, who is best placed to help.", "I will forward this to the right team.",
         "Let me pass this to the team who handle this.", "Adding my colleague, who can assist with this."],
        ["Looping in the right person here.", "Forwarding to the team who handles this.",
         "Not my area, but I'll pass it on.", "Adding someone who can help."],
    ),
    "follow_up_later": (
        ["Let us revisit this next week.", "I will follow up once I have more information.",
         "Let us come back to this next quarter."],
        ["Let's circle back on this next week.", "I'll get back to you on this later.",
         "Can we pick this up next week?", "Let's revisit after the launch."],
    ),
    "agree": (
        ["I agree, that makes sense.", "I fully agree with your proposal.",
         "That sounds like a sensible approach.",
         "Agreed. Let us proceed on that basis."],
        ["Agreed!", "Totally agree.", "Makes sense to me.", "Good idea, let's do it.", "+1, sounds good."],
    ),
    "disagree_politely": (
        ["I see your point, but I have some concerns.",
         "I am not sure that is the right approach. Could we consider alternatives?",
         "I would be cautious here, as I see some risks.",
         "I respectfully disagree. I think we should hold off."],
        ["Not sure I agree, I think it'd cause problems.", "Hmm, I'm not convinced.",
         "I'd hold off on that for now.",
         "I see where you're coming from, but I'd do it differently."],
    ),
    "ask_to_call": (
        ["Could we discuss this on a call?", "Would you be available for a quick call today?",
         "It may be easier to discuss by phone. When are you free?"],
        ["Can you give me a call?", "Easier to talk, can you call me?", "Got 5 minutes for a quick call?",
         "Call me when you get this."],
    ),
    "send_file": (
        ["Please find the file attached.", "Attached, as requested.", "I have attached the document.",
         "Here is the file you requested."],
        ["Here you go!", "Attached!", "Sure, here it is.",
         "Here you go, let me know if you need anything else.",
         "Sending it over now."],
    ),
    "congratulate": (
        ["Congratulations, well deserved!", "Congratulations to you and the team.",
         "Many congratulations, that is wonderful news.", "Congratulations on this achievement."],
        ["Congrats!", "Congrats, amazing news!", "Huge congrats!", "That's awesome, congrats!",
         "Well done, great work!"],
    ),
    "confirm_done": (
        ["This has already been sent. Please check your inbox.", "This was completed yesterday.",
         "It is done. I sent it this morning."],
        ["Already done!", "Sent it yesterday, check your inbox.", "Done, just sent it.",
         "Yep, that's already taken care of."],
    ),
    "will_do": (
        ["Certainly, I will take care of it.", "Of course, I will handle this.",
         "I will see to it right away.",
         "Understood, I will do that."],
        ["On it!", "Will do!", "Sure, I'll take care of it.", "No problem, I'm on it.", "Leave it with me."],
    ),
    "commit_deadline": (
        ["I will have it ready by {day}.", "You will have it by {day}.",
         "That is fine, I will deliver it by the deadline."],
        ["I'll have it to you by {day}.", "No problem, you'll have it by {day}.", "Should be done by then.",
         "Yep, can do by {day}."],
    ),
    "apologise_issue": (
        ["I am very sorry for the inconvenience. We are looking into it now.",
         "Please accept our apologies. Our team is investigating.",
         "I apologise for the trouble. I will update you shortly.",
         "I am sorry to hear that. We are working on a fix."],
        ["So sorry about this, we're on it.", "Sorry for the trouble, looking into it now.",
         "Ugh, sorry! Checking now.",
         "Really sorry, we'll get it fixed."],
    ),
    "keep_me_posted": (
        ["Thank you. Please keep me informed.", "Please keep me updated on progress.",
         "Thank you, do let me know how it progresses."],
        ["Thanks, keep me posted!", "Keep me in the loop.", "Let me know how it goes!",
         "Keep me posted on progress."],
    ),
    "get_well": (
        ["I am sorry to hear that. I hope you feel better soon.", "Please take care and rest.",
         "Wishing you a speedy recovery."],
        ["Feel better soon!", "Get well soon!", "Take care and rest up!", "Hope you feel better!"],
    ),
    "welcome": (
        ["A warm welcome. I look forward to working with you.",
         "Welcome aboard. Please let me know if I can help.",
         "Welcome, it is great to have you with us."],
        ["Welcome to the team!", "Welcome aboard!", "Great to have you here!",
         "Welcome! Let me know if you need anything."],
    ),
    "nice_to_meet": (
        ["Thank you for the introduction. Pleased to meet you.",
         "Thank you for connecting us. I would be glad to set up a time to talk.",
         "Pleased to make your acquaintance."],
        ["Thanks for the intro! Great to meet you.", "Nice to meet you!",
         "Thanks for connecting us, let's find a time to chat.", "Great to e-meet you!"],
    ),
    "youre_welcome": (
        ["You are very welcome.", "It was my pleasure.", "Happy to help at any time."],
        ["You're welcome!", "Anytime!", "Happy to help!", "Glad it helped!"],
    ),
    "no_worries": (
        ["No problem at all.", "Not a problem, thank you for letting me know.", "That is quite alright."],
        ["No worries!", "No worries at all, these things happen.", "All good!", "Don't worry about it!"],
    ),
    "not_interested": (
        ["Thank you, but we are not interested at this time.",
         "Thank you for reaching out, but this is not a priority for us.",
         "We will pass for now, but thank you."],
        ["Thanks, but not interested.", "Not for us right now, thanks.", "We're all set, thanks.",
         "Please remove me from your list."],
    ),
    "interested": (
        ["This sounds interesting. Could you send more information?",
         "I would be interested in learning more.",
         "Thank you. Could you share pricing details?"],
        ["Sounds interesting, tell me more.", "Could be useful, send me some info?",
         "Interested! What's the pricing?",
         "Sure, happy to hear more."],
    ),
    "will_try": (
        ["Thank you, I will try that and let you know.", "I will give that a try and report back.",
         "Thank you for the suggestion. I will test it."],
        ["Thanks, will try that!", "I'll give it a go and let you know.", "Trying now, will report back.",
         "Ok, will try that now."],
    ),
    "confirm_yes": (
        ["Yes, that is correct.", "Correct, that is right.", "Yes, confirmed."],
        ["Yep, that's right!", "Yes, correct.", "That's right!", "Yep!"],
    ),
    "check_and_revert": (
        ["Let me check and get back to you.", "I will find out and let you know.",
         "Good question. I will look into it and revert."],
        ["Not sure, let me find out.", "Good question, I'll check.", "Let me ask around and get back to you.",
         "I'll dig into it and let you know."],
    ),
    "farewell": (
        ["It has been a pleasure working with you. Best of luck.",
         "Sorry to see you go. All the best in your new role.",
         "Thank you for everything, and best wishes for the future."],
        ["Sad to see you go! Good luck!", "We'll miss you! Keep in touch.", "Best of luck with the new gig!",
         "Good luck, stay in touch!"],
    ),
    "decline_request": (
        ["Unfortunately I cannot approve this at the moment.",
         "I am afraid that will not be possible this time.",
         "I cannot approve this request as it stands."],
        ["Sorry, can't approve this one right now.", "I'm afraid that won't work this time.",
         "Sorry, that won't fly this time.", "Unfortunately not this time, sorry."],
    ),
    "confirm_fixed": (
        ["I confirm it is working now. Thank you.", "Thank you, the issue appears to be resolved.",
         "It is working again. Thank you for the quick fix."],
        ["Working now, thanks!", "All fixed on my end, thanks!", "Yep, that sorted it.",
         "Looks good now, thanks!"],
    ),
    "still_broken": (
        ["Unfortunately the issue persists.", "I am still seeing the same error.",
         "It is still not working on my side."],
        ["Still not working for me.", "Same error, unfortunately.", "Nope, still broken.",
         "Still seeing the issue, sorry!"],
    ),
}

FIRST = [
    ("Sam", "N"), ("Alex", "N"), ("Priya", "F"), ("Jordan", "N"), ("Maria", "F"), ("Tom", "M"),
    ("Aisha", "F"),
    ("Chen", "M"), ("Lucy", "F"), ("Omar", "M"), ("Grace", "F"), ("Daniel", "M"), ("Fatima", "F"),
    ("Luca", "M"),
    ("Hannah", "F"), ("Kenji", "M"), ("Sofia", "F"), ("Ben", "M"), ("Nadia", "F"), ("Raj", "M"),
    ("Emma", "F"),
    ("Carlos", "M"), ("Zoe", "F"), ("Mike", "M"), ("Leila", "F"), ("Noah", "M"), ("Ines", "F"),
    ("Kwame", "M"),
    ("Yuki", "F"), ("Patrick", "M"), ("Olivia", "F"), ("Ahmed", "M"), ("Chloe", "F"), ("Diego", "M"),
    ("Ruth", "F"),
    ("Ivan", "M"), ("Mei", "F"), ("Jamal", "M"), ("Anna", "F"), ("Felix", "M"), ("Taylor", "N"),
    ("Robin", "N"),
    ("Elena", "F"), ("Sean", "M"), ("Amara", "F"), ("Hugo", "M"), ("Nina", "F"), ("Victor", "M"),
    ("Julia", "F"),
    ("Arjun", "M"),
]
LAST = [
    "Patel", "Kim", "Garcia", "Smith", "Nguyen", "Müller", "O'Brien", "Rossi", "Okafor", "Tanaka", "Johnson",
    "Silva",
    "Cohen", "Kowalski", "Andersson", "Dubois", "Haddad", "Lee", "Brown", "Fischer", "Mensah", "Ivanova",
    "Santos",
    "Walsh", "Chen", "Novak", "Hughes", "Bauer", "Khan", "Moreau", "Larsen", "Reyes", "Yamamoto", "Clarke",
    "Ahmed",
    "Murphy", "Schmidt", "Costa", "Wright", "Adeyemi",
]
TITLES = {"F": "Ms.", "M": "Mr.", "N": "Mx."}
COMPANIES = [
    "Acme Corp", "Brightline Logistics", "Castlegate Partners", "Dunmore Foods", "Evergreen Health",
    "Fairway Analytics", "Granite Bank", "Helix Robotics", "Ironbridge Consulting", "Juno Media",
    "Kestrel Air",
    "Lumen Labs", "Maplestone Retail", "Northwind Traders", "Oakridge Legal", "Pioneer Freight", "Quill & Co",
    "Riverside Clinic", "Summit Software", "Tandem Print", "Umbra Studios", "Vista Energy",
    "Westbrook Insurance",
    "Yellowfin Travel", "Zenith Motors",
]
PROJECTS = [
    "Atlas", "Borealis", "Cedar", "Falcon", "Harbor", "Juniper", "Keystone", "Lighthouse", "Meridian",
    "Nimbus",
    "Orion", "Pinecone", "Quartz", "Redwood", "Sapphire", "Tidal", "Vanguard", "Willow", "Zephyr", "Mosaic",
]
PRODUCTS = [
    "CloudSync", "PayFlow", "TrackPro", "Insight 360", "SmartRoster", "DocuVault", "ShipStream", "LedgerLite",
    "the customer portal", "the mobile app", "the booking widget", "the reporting module",
]
SYSTEMS = [
    "the VPN", "the shared drive", "the office Wi-Fi", "Jira", "Salesforce", "the HR portal",
    "the expense tool",
    "Slack", "the build server", "the 3rd floor printer", "Zoom", "Outlook", "the intranet", "SAP",
]
DOCS = [
    "slides", "deck", "contract", "report", "budget spreadsheet", "meeting notes", "proposal", "spec",
    "org chart",
    "Q3 forecast", "onboarding checklist", "signed NDA", "design mockups", "test plan", "pricing sheet",
    "roadmap",
]
DELIVERABLES = [
    "the quarterly report", "the budget draft", "your section of the proposal", "the updated forecast",
    "the design review notes", "the test results", "the hiring plan", "the release notes",
    "the client summary",
    "the board slides", "the pricing analysis", "the vendor comparison", "the risk register",
    "the training plan",
]
EVENTS = [
    "the summer party", "the team offsite", "the holiday dinner", "our product launch event",
    "the quarterly all-hands",
    "the customer summit", "the charity run", "the hackathon", "the leadership workshop", "Friday drinks",
    "the {project} launch party", "a farewell lunch for {other}", "the annual awards night",
    "the team bowling night",
]
VENUES = [
    "the Rooftop Bar", "the Grand Hotel", "Conference Room B", "the Harbourside Pavilion",
    "our London office",
    "the Riverside Café", "the Main Hall", "Pier 9", "the Old Brewery", "the 5th floor terrace",
]
CITIES = [
    "London", "Berlin", "New York", "Chicago", "Singapore", "Toronto", "Madrid", "Dublin", "Austin", "Sydney",
    "Amsterdam", "Tokyo", "Boston", "Paris", "Denver", "Lisbon", "Zurich",
]
ROLES = [
    "Product Manager", "Senior Engineer", "Data Analyst", "Account Executive", "Designer", "Marketing Lead",
    "Operations Manager", "Recruiter", "Finance Analyst", "Support Specialist", "Engineering Manager",
    "Sales Director", "Office Manager", "Head of Partnerships", "QA Lead",
]
TIMES = ["9am", "9:30", "10am", "10:30am", "11am", "noon", "1pm", "1:30pm", "2pm", "2:30pm", "3pm", "3:30pm",
         "4pm",
         "4:30pm"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December"]
PURPOSES = [
    "go over the {project} roadmap", "review the Q3 numbers", "discuss the {company} renewal",
    "walk through the new onboarding flow", "plan the {project} launch", "talk about headcount for next year",
    "sync on the budget", "prep for the board meeting", "discuss the {company} proposal",
    "catch up on hiring",
    "review the {doc}", "go through the {project} retro actions", "align on pricing for {product}",
]
REASONS = ["a family wedding", "a long weekend away", "moving house", "my sister's graduation",
           "a bit of rest"]
HOTELS = ["the Hilton", "the Marriott", "the Hoxton", "Premier Inn", "the Radisson"]
SERVICES = ["consulting services", "design work", "cloud hosting", "catering", "freight", "legal review",
            "software licences", "support hours", "printing", "the training workshop", "office cleaning"]


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


# ------------------------------------------------------------------------------------------------------------
# Small helpers


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


# ------------------------------------------------------------------------------------------------------------
# Scenarios: each writes the core of a message and decides the reply intent by a latent rule from its content.


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


def _question(rng: random.Random, c: Ctx) -> Core:
    ask = _pick(rng, c, ["Would you happen to know when the {company} contract is due for renewal?"], [
        "Do you know when the {company} contract renews?", "What's the status of the {company} account?",
        "Who's the best contact at {company} for {product}?",
        "Do we have a budget code for the {project} work?",
        "quick q - is the {doc} template on the shared drive somewhere?",
    ])
    return Core([_fill(rng, c, ask)], "check_and_revert", ["check_and_revert", "forward_colleague"])


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

# ------------------------------------------------------------------------------------------------------------
# Email dressing: greetings, small talk, distractors, sign-offs, quoted thread and typos.

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
    paras = list(core.paras)
    if not terse:
        if scenario.__name__ in BACKGROUND_OK and rng.random() < 0.15:
            paras.insert(0, _fill(rng, c, rng.choice(BACKGROUND)))
        if rng.random() < 0.3:
            paras.insert(0, _fill(rng, c, rng.choice(OPENERS_FORMAL if c.formal else OPENERS_CASUAL)))
        # Distractors (other topics, nothing to answer) go after the first line of the actual request.
        first = len(paras) - len(core.paras) + 1
        for _ in range(rng.choices([0, 1, 2], [60, 32, 8])[0]):
            d = _fill(rng, c, rng.choice(DISTRACTORS), day=_other_day(rng, core.day))
            paras.insert(rng.randint(first, len(paras)), d)
        if scenario.__name__ not in NO_CLOSER and rng.random() < 0.4:
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
    else:
        paras = [" ".join(paras)]
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


def _reply_intents() -> dict[str, str]:
    """Each normalised whitelist reply and its intent; a reply shared by two intents is a generator bug."""
    out: dict[str, str] = {}
    for intent, registers in REPLIES.items():
        for template in registers[0] + registers[1]:
            for day in DAYS if "{day}" in template else [""]:
                key = normalise(template.format(day=day))
                if out.setdefault(key, intent) != intent:
                    raise ValueError(f"reply {key!r} belongs to both {out[key]!r} and {intent!r}")
    return out


def generate(seed: int = SEED) -> dict[str, list[dict]]:
    """All pairs come from one stream; distinct messages are then shuffled into disjoint splits."""
    _reply_intents()
    rng = random.Random(seed)
    total = sum(SPLIT_SIZES.values())
    seen: set[str] = set()
    rows: list[dict] = []
    while len(rows) < total:
        message, reply, intent = _message(rng)
        if message in seen:
            continue
        seen.add(message)
        rows.append({"message": message, "reply": reply, "intent": intent})
    rng.shuffle(rows)
    splits, start = {}, 0
    for name in ("test", "dev", "train"):
        chunk = rows[start:start + SPLIT_SIZES[name]]
        start += SPLIT_SIZES[name]
        splits[name] = sorted(chunk, key=lambda r: (r["message"], r["reply"], r["intent"]))
    return {name: splits[name] for name in ("train", "dev", "test")}


def manifest_digest(file_hashes: dict[str, str]) -> str:
    """Dataset hash: sha256 of the files' hex digests concatenated in file-name order."""
    return hashlib.sha256("".join(file_hashes[k] for k in sorted(file_hashes)).encode("ascii")).hexdigest()


def write(out_dir: Path, seed: int = SEED) -> dict:
    """Write train/dev/test JSONL and manifest.json into out_dir; return the manifest."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {}
    for split, rows in generate(seed).items():
        data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-8")
        (out_dir / f"{split}.jsonl").write_bytes(data)
        files[f"{split}.jsonl"] = {"rows": len(rows), "sha256": hashlib.sha256(data).hexdigest()}
    manifest = {
        "name": "email", "version": VERSION, "generator_seed": seed, "files": files,
        "sha256": manifest_digest({k: v["sha256"] for k, v in files.items()}),
    }
    (out_dir / "manifest.json").write_bytes((json.dumps(manifest, indent=2) + "\n").encode("utf-8"))
    return manifest


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Regenerate the built-in email task data.")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=SEED, help="generator seed (default: %(default)s)")
    args = parser.parse_args(argv)
    manifest = write(args.out, args.seed)
    rows = ", ".join(f"{k} {v['rows']}" for k, v in manifest["files"].items())
    print(f"wrote {args.out}: {rows}; sha256 {manifest['sha256']}")


if __name__ == "__main__":
    main()
