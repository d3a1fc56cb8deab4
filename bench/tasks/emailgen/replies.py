"""The reply whitelist: paraphrases per intent, kept apart from the messages so the label space reads at a glance."""

from __future__ import annotations

from bench.tasks.emailgen.vocab import DAYS
from bench.tasks.text import normalise

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
