"""Crisp cues found with regular expressions over the canonical text, with a negation window.

The rules do two jobs. They give the classifier features that are stable under rewording of the
rest of the sentence (a thanks needs a thanks word; a recording disclosure needs "record" or
"monitor"), and they veto the classic false positives that embeddings cannot tell apart because the
words are nearly the same ("sorry, could you repeat that" is not an apology, "sorry to hear that" is
empathy, "I'm not going to apologise" is not an apology). They run on the canonical ASR-style text
(see ``text.canonical``), so they cannot lean on punctuation or capitals.

Why no parser: a dependency parse of every turn cost more than the whole rest of scoring, and the
negations that matter for these cues sit just before the cue ("not going to apologise", "isn't
recorded", "can't refund"). A window of a few words before the cue, stopped at a clause boundary,
catches them at a fraction of the cost.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

import numpy as np

# Each cue is a regex over the canonical text; word boundaries are added, and each match is checked
# for a negation just before it. Kept short and general: these are phrasings any agent uses, not
# sentences from the labelled data.
_CUES: dict[str, list[str]] = {
    "greet_open": [
        r"good (morning|afternoon|evening|day)",
        r"hello",
        r"hi( there)?",
        r"hiya",
        r"hey",
        r"thank(s| you) for (calling|contacting|ringing|holding)",
        r"welcome to",
        r"^(morning|afternoon|evening)",
    ],
    "greet_ident": [
        r"my name'?s",
        r"my name is",
        r"this is [a-z]+",
        r"you'?re (through|speaking) to",
        r"you'?ve (reached|called)",
        r"(you are|you're) through to",
        r"speaking",
        r"welcome to",
        r"[a-z]+ speaking",
        r"calling from",
        r"(it's|it is) [a-z]+ (here|from)",
        r"^([a-z]+ ){0,6}(i'm|i am|it's|it is) [a-z]+",
        r"you'?ve got [a-z]+",
        r"(you're|you are) (talking|speaking) (to|with)",
    ],
    "recording": [
        r"(call|calls|conversation|line)s? (is|are|will be|may be|might be|is being|are being|being) "
        r"(recorded|monitored|recording|monitoring)",
        r"(we|i) (record|monitor)",
        r"recorded for",
        r"monitored for",
        r"recording (this|the|our|your)? ?call",
        r"(for|of) (training|quality) (and|or) (quality|training|monitoring)",
    ],
    "further_help": [
        r"anything else",
        r"something else",
        r"any other (way|thing|questions?)",
        r"else (i|we) can",
        r"is (that|there) (it|everything|all)",
        r"anything more",
        r"anything further",
        r"else (you|to) need",
        r"(can|could) i help (you )?with (anything|something)",
    ],
    "thanks": [r"thank(s| you)?", r"thankyou", r"cheers", r"ta", r"appreciate", r"grateful", r"much obliged"],
    "apology": [r"sorry", r"apologi[sz]e", r"apologies", r"apology", r"my bad", r"regret", r"excuse us"],
    # "sorry" that is empathy, not an apology
    "sorry_empathy": [
        r"sorry (to hear|for your loss|about your (loss|mum|dad|husband|wife|father|mother))",
        r"sorry (you're|you are|that you're) (going through|dealing with)",
        r"condolences",
    ],
    # "sorry" that asks for a repeat, reports a bad line, or excuses an interruption
    "sorry_other": [
        r"sorry ([\w']+ ){0,3}(say|repeat|come again|catch|caught|missed|hear you|didn't get)",
        r"sorry ([\w']+ ){0,3}(cut|cutting|breaking|broke|went|gone|go) (out|up|quiet|off)",
        r"sorry ([\w']+ ){0,2}(what|pardon|who|which|how much|where)",
        r"sorry (to|for) (keep|keeping|interrupt|interrupting|bother|bothering)",
    ],
    # "sorry" that dismisses the customer's feelings: no apology, and a sign of unprofessionalism
    "sorry_dismissive": [
        r"sorry (you|that you|if you) (feel|felt|think|see it)",
        r"sorry (you|if you)('re| are) (unhappy|upset)",
    ],
    "hold_word": [r"hold", r"bear with", r"moment", r"minute", r"sec", r"second", r"hang on", r"wait"],
    # the agent putting the customer on hold, or asking them to wait while they go and do something
    "hold_announce": [
        r"(put|pop|place|stick|putting|popping|placing|sticking) you on (a )?"
        r"(brief |quick |short |little )?hold",
        r"(on|a) (brief |quick |short |little )?hold",
        r"bear with (me|us)",
        r"hang on( (a|one|just a) (sec|second|moment|minute|tick|mo))?",
        r"(give|bear with) (me|us) (a|one|two|a few|just a) (sec|secs|second|seconds|moment|moments|minute"
        r"|minutes|tick|mo)",
        r"(while|whilst) i (just )?(check|look|find|speak|have a look|pull|go|ask|get|pop|grab|see)",
        r"(just )?(one|a|two) (sec|second|moment|minute|tick|mo) (while|whilst|please|i'll|let me)",
    ],
    # the agent coming back to the customer after a hold
    "hold_return": [
        r"thank(s| you) (so much |very much |ever so much )?for (holding|waiting|your patience"
        r"|being (so )?patient|bearing with (me|us)|hanging on|hanging on the line|staying on the line)",
        r"(sorry|apologies|apologise) (for|about) (the|that|keeping you|the long|the little) ?"
        r"(wait|waiting|delay|hold)",
        r"sorry (to|for) (keep|keeping|have kept) you( waiting| holding| on hold)?",
        r"(are you )?still (there|with me|on the line)",
        r"(i'm|im|i am) back( with you)?",
        r"(appreciate|appreciated) (you )?(holding|waiting|your patience|you bearing with)",
        r"(thanks|thank you) for bearing with",
        r"(kept|keeping) you (waiting|holding|on hold)",
    ],
    "permission": [
        r"(is|would) (it|that) be (ok|okay|alright|all right|fine)",
        r"(is|would) (it|that) (ok|okay|alright|all right)",
        r"(ok|okay|alright|all right) (if|to|with)",
        r"(do|would) you mind",
        r"mind (holding|if|me)",
        r"(can|could|may|might) i (pop|put|place|stick|just|quickly|briefly|leave|hold)",
        r"(can|could|would) you (bear|hold|hang|wait)",
        r"are you (ok|okay|alright|all right|happy|able) to",
        r"is that (ok|okay|alright|all right|fine)",
        r"hold (ok|okay|alright|fine)",
        r"if that's (ok|okay|alright)",
        r"is a (short|quick|brief) hold",
        r"would you be (ok|okay|happy)",
    ],
    "closing": [
        r"bye",
        r"goodbye",
        r"have a (good|great|lovely|nice|safe|wonderful) \w+",
        r"take care",
        r"all the best",
        r"good luck",
        r"enjoy (the|your)",
        r"speak (to you )?soon",
        r"good (day|night|evening) to you",
    ],
    "identity": [
        r"date of birth",
        r"post ?code",
        r"first line of (the|your) address",
        r"security (question|answer|check|details)",
        r"account number",
        r"registration",
        r"full name",
        r"surname",
        r"confirm (your|the) (name|address|details|identity)",
        r"memorable (word|date)",
        r"policy number",
        r"last four",
        r"passcode",
        r"pin",
    ],
    "follow_up": [
        r"(call|ring|phone|email|text|contact) you (back )?(on|by|tomorrow|next|before|within|this|in)",
        r"give you a (call|ring|bell)",
        r"(be|get) (back )?in touch",
        r"update you",
        r"check in",
        r"call you back",
        r"follow (it )?up",
    ],
    "confirmation": [
        r"(email|text|letter|sms|message|confirmation)(s|ed|ing)?",
        r"in writing",
        r"(a|the) summary",
        r"reference( number)?",
        r"(you'll|you will) (get|receive)",
        r"what happens next",
        r"so (just )?to (recap|confirm)",
    ],
    "ownership": [
        r"leave (it|that|this) with me",
        r"i'?ll make sure",
        r"i will make sure",
        r"personally",
        r"myself",
        r"i'?ll (take care|sort|handle|look after|chase|keep)",
        r"i'?m going to (make sure|sort|handle|chase)",
        r"my responsibility",
    ],
    "active_listening": [
        r"so (just )?to (check|confirm|make sure)",
        r"if i'?ve understood",
        r"(what|so) you'?re saying",
        r"so you'?re (after|looking|saying|telling)",
        r"so (you|you'd|you would) (want|need|like|'d like|would like)",
        r"is that right",
        r"have i got that right",
        r"just so i understand",
        r"let me (just )?make sure i",
    ],
    "empathy": [
        r"(i|i can) (can )?(imagine|understand|appreciate)",
        r"must (be|have been)",
        r"that sounds",
        r"(frustrating|stressful|worrying|upsetting|annoying|difficult|horrible|awful)",
        r"not (what|how) you",
        r"completely understand",
        r"oh no",
        r"oh (dear|gosh)",
        r"(that's|that is|sounds|it's|must be) (really |so |such |very |a bit |pretty )?"
        r"(tough|hard|rough|a nightmare|awful|horrible|rubbish|a pain|worrying|stressful|upsetting|scary)",
        r"nightmare",
        r"i (can )?see why",
        r"i (totally |completely )?get (it|that)",
        r"makes (complete |total |perfect )?sense",
        r"understandabl[ey]",
        r"no wonder",
        r"last thing you need",
        r"(can't|cannot) be easy",
        r"(worried|upset|stressed|anxious)",
    ],
    # the customer voicing dissatisfaction with the product or service
    "dissatisfied": [
        r"(not|never) (happy|good enough|acceptable|fair)",
        r"(unhappy|disappointed|ridiculous|unacceptable|appalling|shocking|disgusting|useless|rubbish)",
        r"fed up",
        r"(a|an absolute) joke",
        r"waste of",
        r"complain(t|ts|ing)?",
        r"(still|again) (not|no|nothing|hasn't|haven't|hasnt|havent|isn't|isnt)",
        r"(nobody|no one|no-one) (has|have|had|told|called|rang|came|turned up|explained)",
        r"never (arrived|turned up|came|showed up|got|received|heard)",
        r"(over ?charged|charged (me )?twice|double charged)",
        r"i want (a refund|my money|it sorted|this sorted|an apology|to complain)",
        r"(third|second|fourth) time",
        r"(so|really|very) (annoyed|frustrated|angry|upset|cross)",
        r"not (very |really |at all )?(impressed|pleased|best pleased|ideal|great|on)",
        r"(a|an absolute|a real|such a|bit of a) (pain|nuisance|hassle|shambles|mess|farce)",
        r"(annoying|frustrating|infuriating|maddening|aggravating)",
        r"let (me )?down",
        r"(sick|tired) of",
        r"had enough",
        r"(messed|mucked|screwed) (it |this |me )?up",
        r"what'?s the point",
        r"how (hard|difficult) (can|is) it",
        r"(keeps|kept|keep) (happening|breaking|failing|going wrong)",
        r"(promised|told|assured) (me|us) (it|that|you|they|he|she|i'd|we'd)",
        r"(paying|paid|pay) (good money )?for (this|that|it|nothing)",
    ],
    "explanation": [
        r"because",
        r"the reason",
        r"that's why",
        r"which is why",
        r"what('s| has) happened",
        r"so what happens is",
        r"how it works",
        r"the way it works",
        r"(is|are) (usually|normally|always)",
        r"means",
        r"whenever",
        r"once (it's|it is|it has|you|the|we|they|that's)",
        r"(it|that|this) (applies|tells me|shows|means)",
        r"(the|our) (policy|rule|rules|process|system) (is|says|means)",
        r"what (happened|happens|went wrong) (is|was)",
        r"(so|then) you (pay|get|won't|don't|can't|need)",
        r"that's (how|the reason)",
    ],
    # an action just taken or a state just reached: the form most resolutions take
    "action_taken": [
        r"(i've|i have|we've|we have) (just |now |also |already )?"
        r"([a-z]+ed|set up|sent|put|made|taken|given|done)",
        r"(you're|you are|that's|that is|it's|it is) (all |now )?(booked|sorted|set up|done|moved|fixed"
        r"|cancelled|renewed|gone through|approved|credited|refunded|reconnected|back on)",
        r"(we'll|we will|i'll|i will) (get|have) (it|that|them|your \w+) "
        r"(repaired|replaced|fixed|sorted|sent)",
        r"no charge",
    ],
    # passing the problem on rather than solving it: escalation, referral, chasing, review
    "referral": [
        r"escalat(e|ed|ing)",
        r"pass(ed|ing)? (it|this|that|your \w+) (on|over|to)",
        r"refer(red|ring)? (it|you|this)",
        r"(raise|raised|log|logged) (a|an|it|this) (complaint|ticket|query|case)",
        r"(another|the other|the relevant|our \w+) (team|department)",
        r"chas(e|ed|ing)",
        r"(someone|somebody|they)('ll| will) (be in touch|get back|call you|look into)",
        r"(ask|asked) (the|our) \w+ (team|department) to",
        r"fill (in|out) (a|the) form",
    ],
    "resolution": [
        r"i'?ve (refunded|credited|waived|sent|booked|raised|cancelled|arranged|applied|fixed|reset)",
        r"i'?ve (moved|set up|added|changed|removed|taken|updated|re ?sent|resent|sorted|processed|issued)",
        r"i'?ve (reversed|replaced|rebooked|booked|cleared|unblocked|reconnected|corrected|put through)",
        r"(it's|that's|you're|it is|that is|you are) (all )?(booked|sorted|fixed|done|reconnected|cleared)",
        r"taken (it|that|them) off",
        r"i'?ll (refund|credit|waive|send|book|arrange|fix|reset|replace|cancel)",
        r"(refund|replacement|credit)",
        r"(no|free of) charge",
    ],
    "refusal": [
        r"(can't|cannot|can not|unable to) (do|help|book|change|refund)",
        r"nothing (i|we) can do",
        r"no point",
    ],
    # The drivers of vulnerability in FCA FG21/1 (health, life events, resilience, capability), one cue
    # each in the words any caller uses for them, so the model can weigh a death above a hospital
    # appointment. Cues for the learned model, never a judgement by themselves.
    "loss": [
        r"passed away",
        r"(died|death|bereave\w*|funeral|widow\w*|late (husband|wife|mum|mother|dad|father|partner|son))",
        r"lost (my|our) (husband|wife|partner|mum|mother|dad|father|son|daughter|baby)",
        r"(miscarriage|lost the baby|no longer with us)",
    ],
    "health": [
        r"(cancer|chemo\w*|radiotherapy|terminal\w*|dementia|alzheimer\w*|parkinson\w*)",
        r"(stroke|diagnos\w*)",
        r"(disab\w*|wheelchair|mobility|crutches|walking (stick|frame)|oxygen|dialysis|transplant)",
        r"(hearing aid|deaf|hard of hearing|partially sighted|blind|sight loss|my eyes|can't see)",
        r"(operation|surgery|in hospital|out of hospital|long term (condition|illness)|seriously ill)",
        r"(arthritis|copd|epilep\w*|multiple sclerosis|ms|autis\w*|learning disability)",
    ],
    "mental_health": [
        r"(mental health|anxiety|anxious|depress\w*|panic attacks?|ptsd)",
        r"(breakdown|suicidal)",
        r"(not coping|can't cope|cannot cope|(my )?nerves|signed off|not sleeping|haven't slept)",
        r"(overwhelmed|falling apart|can't think straight)",
    ],
    "money_trouble": [
        r"(can't|cannot|can not|couldn't|won't be able to) (afford|pay|manage|make (the|this|that))",
        r"(in debt|debts|arrears|behind (on|with)|bailiffs?|eviction|evicted|repossess\w*)",
        r"(redundan\w*|lost (my|our|his|her) (job|income)|hours (cut|reduced|were cut)|out of work)",
        r"(universal credit|benefits|food bank|pension credit|payday loan|overdraft)",
        r"(money'?s (really |very )?tight|between (eating|heating))",
        r"struggling (to pay|with (money|the bills|bills))",
    ],
    "life_event": [
        r"(domestic abuse|abusive|violent|fled|refuge|restraining order)",
        r"(split up|separated|divorce\w*|left me|moved out|kicked (me|us) out)",
        r"(house fire|flood(ed|ing)?|homeless|nowhere to (go|stay)|temporary accommodation)",
        r"(carer|caring for|care home|look after (my|him|her))",
    ],
    "capability": [
        r"(confus\w*|i don't understand|i do not understand|i'm lost|you've lost me|not very good with)",
        r"(can't read|reading'?s not|don't read|not good with (forms|computers|technology|english))",
        r"(don't do (computers|the internet|online)|never used (a|the) computer)",
        r"my (son|daughter) (does|used to)",
        r"(power of attorney|on (his|her|their) behalf|speaking for (my|him|her))",
        r"(english is not|my english|second language|interpreter)",
    ],
    # Figures of speech that borrow the words of the cues above ("I'm dying to know").
    "figurative": [
        r"dying (to|for|here)",
        r"(killing me|kill me|nearly killed|died laughing|over my dead body)",
        r"(heart attack|give me a heart)",
        r"(doing my head in|driving me (mad|crazy|up the wall)|sick (of|to death)|end of my tether)",
    ],
    # What an agent does for a customer in difficulty: adjusts the call, offers a scheme or a specialist,
    # points to free help, or asks consent to note the circumstances.
    "adjust_call": [
        r"(slow down|slowly|one step at a time|step by step|take your time|in your own time|no rush)",
        r"(large print|braille|text relay|relay uk|easy read|in writing|by text instead|another format)",
        r"(speak (up|louder)|repeat (that|it|anything)|go (over|through) (that|it) again)",
        r"check (you|that you)'?re",
        r"(extra time|more time|call (you )?back (at|when)|better time for you)",
    ],
    "support_scheme": [
        r"(payment|mortgage) (break|holiday|plan|arrangement|pause)",
        r"(breathing space|hardship (fund|scheme|program\w*|grant))",
        r"(pause|hold|freeze|stop|suspend) (the |any |all )?"
        r"(collections?|payments?|interest|charges|letters|recovery)",
        r"(bereavement|support|specialist|vulnerable customers?|welfare|care|extra help) "
        r"(team|service|unit|line)",
        r"(priority (services? )?(register|list)|case (worker|handler|manager)|named contact|single point)",
        r"(waive|write off|reduce) (the |that |your )?(fee|charge|balance|debt|penalty)",
    ],
    "signpost": [
        r"(stepchange|step change|national debtline|citizens advice|moneyhelper|money helper|samaritans)",
        r"(mind|cruse|age uk|shelter|macmillan|scope|rnib|refuge|turn2us|debt advice|free advice)",
        r"(charity|charities|helpline|free (and )?(confidential|independent)|your gp|a counsellor)",
    ],
    "note_consent": [
        r"((make|add|put|leave) a (note|flag|marker)|note (it|that|this) on)",
        r"(don't have to (explain|repeat)|won't have to (explain|repeat)|explain (it|this) again)",
        r"(is it ok|are you (happy|ok|okay)|would you (like|be happy)) (for me |if i )?(to )?"
        r"(record|note|make a note|add)",
    ],
    "unprofessional": [
        r"you should( have|'ve| really have)",
        r"not (really )?(my|our) (department|problem|job|concern)",
        r"(not|isn't|it's not|hardly) rocket science",
        r"not (that )?difficult",
        r"(i've|i have) already (said|told)",
        r"calm down",
        r"up to you",
        r"no point",
        r"like i said",
        r"if you (had|'d) (read|listened)",
        r"dunno",
        r"whatever",
        r"you're meant to",
        r"obviously",
        r"(your|your own) (fault|responsibility|problem|lookout)",
        r"i (already |just )?(said|told you)",
        r"as i (said|told you|explained)",
        r"(not|isn't|it's not) (really )?(our|my) (problem|fault|issue)",
        # blaming the customer
        r"you (were|are) (supposed|meant) to",
        r"you (need|needed|have|had) to (read|check|look|listen)",
        r"(if|had) you (read|checked|looked|listened)",
        r"you (didn't|never|did not) (read|check|look|listen)",
        r"(it's|it is|it was) (all |clearly |right there )?(in|on) the "
        r"(terms|website|letter|email|contract|app|small print|paperwork|form)",
        r"(most|other) people (manage|know|read|check|seem)",
        r"everyone else",
        r"people always",
        # condescension and dismissiveness
        r"not (that |exactly |very )?(hard|complicated|complex)",
        r"(it's|it is|it's a) (very |really )?(simple|easy|basic)",
        r"anyone (can|could)",
        r"(are|were) you (even )?listening",
        r"did you (even )?(read|check|look)",
        r"i don't make the rules",
        r"(take it or leave it|deal with it|tough luck)",
        r"(that's|it's) (just )?(how|the way) it is",
        r"(nobody|no one|no-one)('s| is) forcing you",
        r"(go|take your business) elsewhere",
        r"not (a )?magic(ian)?",
        r"magic wand",
        r"(pretty|fairly|quite|really) obvious",
        r"(that's|it's|that is) (kind of |really |all )?on you",
        r"(the )?risk you take",
        r"could( have|'ve) just",
        r"(already told you|told you that already|said that already)",
        r"what do you want me to (say|do)",
        r"i don't (do|set|make) the",
        r"good luck with that",
        # sarcasm openers
        r"^(oh |well )?(sure|great|brilliant|wonderful|lovely|fantastic),? (i'll|we'll|so|because|just)",
    ],
}

# MULTILINE: a call is scanned as one text, one turn per line, and "^" means the start of a turn.
_COMPILED = {
    name: re.compile(r"\b(?:" + "|".join(pats) + r")\b", re.MULTILINE) for name, pats in _CUES.items()
}
# "sorry" cues that mean something other than an apology
_NOT_APOLOGY = ("sorry_empathy", "sorry_other", "sorry_dismissive")
RULE_NAMES: tuple[str, ...] = (*_CUES, "apology_clean", "hold_ask", "greeting_full")
# Words that negate a cue when they sit within NEGATION_WINDOW words before it in the same clause.
_NEGATORS = {"not", "never", "no", "nt", "cannot", "nothing", "nobody", "neither", "nor", "without"}
NEGATION_WINDOW = 3
# Words that start a new clause: a negator before them does not reach a cue after them.
_CLAUSE_BREAK = {"but", "and", "so", "because", "though", "although", "however", "which", "whereas"}
_WORD = re.compile(r"[a-z']+")
_THANKS_FOR_NOTHING = re.compile(r"\bthanks? (you )?for nothing\b")


@dataclass
class RuleHit:
    name: str
    start: int  # character offsets in the canonical text
    end: int
    negated: bool


def _is_negator(word: str) -> bool:
    return word in _NEGATORS or word.endswith("n't")


def negated(canonical: str, start: int) -> bool:
    """Whether a negator sits in the few words before ``start`` without a clause break between."""
    before = _WORD.findall(canonical[:start])[-NEGATION_WINDOW:]
    for word in reversed(before):
        if word in _CLAUSE_BREAK:
            return False
        if _is_negator(word):
            return True
    return False


def find_hits(canonical: str) -> list[RuleHit]:
    return call_hits([canonical])[0]


def call_hits(canonicals: list[str]) -> list[list[RuleHit]]:
    """Cue hits per turn. Each pattern scans the whole call once (turns joined by newlines, which
    no pattern crosses): one regex call per cue family instead of one per family and turn."""
    joined = "\n".join(canonicals)
    starts = [0]
    for c in canonicals[:-1]:
        starts.append(starts[-1] + len(c) + 1)
    out: list[list[RuleHit]] = [[] for _ in canonicals]
    for name, rx in _COMPILED.items():
        for m in rx.finditer(joined):
            k = bisect.bisect_right(starts, m.start()) - 1
            start, end = m.start() - starts[k], m.end() - starts[k]
            out[k].append(RuleHit(name, start, end, negated(canonicals[k], start)))
    return out


def _flags(canonical: str, hits: list[RuleHit]) -> dict[str, float]:
    flags = dict.fromkeys(RULE_NAMES, 0.0)
    for hit in hits:
        if not hit.negated:
            flags[hit.name] = 1.0
    # An apology cue counts only when no empathy/repeat-request/dismissive "sorry" covers it.
    covering = [(h.start, h.end) for h in hits if h.name in _NOT_APOLOGY]
    flags["apology_clean"] = float(
        any(
            h.name == "apology" and not h.negated and not any(s <= h.start < e for s, e in covering)
            for h in hits
        )
    )
    # The customer thanking or "thanks for nothing" is handled by speaker attribution and the veto.
    if flags["thanks"] and _THANKS_FOR_NOTHING.search(canonical):
        flags["thanks"] = 0.0
    flags["hold_ask"] = float(flags["hold_word"] and flags["permission"])
    flags["greeting_full"] = float(flags["greet_open"] and flags["greet_ident"])
    return flags


def turn_flags(canonical: str) -> dict[str, float]:
    """Rule features of one turn: 1.0 when a cue fires un-negated, plus the derived vetoed/combined cues."""
    return _flags(canonical, find_hits(canonical))


def call_flags(canonicals: list[str]) -> np.ndarray:
    """Rule features of every turn of a call, one row per turn in RULE_NAMES order."""
    rows = [_flags(c, h) for c, h in zip(canonicals, call_hits(canonicals), strict=True)]
    return np.array([[f[n] for n in RULE_NAMES] for f in rows], dtype=np.float32).reshape(
        len(canonicals), len(RULE_NAMES)
    )
